/**
 * @module `secretstores.azure.keyvault`: secrets from Azure Key Vault, authenticated with Microsoft
 * Entra ID (managed identity first), with Dapr's metadata and per-request options.
 */
import type { SecretClient } from "@azure/keyvault-secrets";
import { cloudByName, cloudByVaultHost } from "../../../../azure/clouds";
import { azureErrorFacts, failureKind, isAbortError, isTransientAzureError, throttling } from "../../../../azure/errors";
import type { SecretClientSource } from "../../../../azure/keyvault";
import type { SecretStoreFeature } from "../../../features";
import { AZURE_METADATA_ALIASES, type ComponentProperties, getProperty, MetadataError, parseInteger } from "../../../metadata";
import {
  type BulkGetSecretRequest,
  type BulkGetSecretResponse,
  type GetSecretRequest,
  type GetSecretResponse,
  InvalidSecretNameError,
  type NameListingSecretStore,
  type OperationOptions,
  type RotatableSecretStore,
  SecretNotFoundError,
  SecretStoreUnavailableError,
  type SecretVersionInfo,
  type VersionedSecretStore,
} from "../../secretStore";
import { mapWithConcurrency } from "../../../../shared/concurrency";

/** Typed metadata of the Key Vault secret store. */
export interface KeyVaultMetadata {
  /** `https://<name>.<suffix>` or the `vaultUri` override, without a trailing slash. */
  vaultUrl: string;
  clientId: string | undefined;
  tenantId: string | undefined;
  clientSecret: string | undefined;
}

/**
 * Parses Key Vault metadata (pure): `vaultName` (a bare name, or the legacy FQDN form that also picks
 * the cloud), `azureEnvironment`/`azureCloud`, the Entra ID fields with Dapr's aliases, and vaultstate's
 * `vaultUri` override.
 * @throws {@link MetadataError} naming the field
 */
export function parseKeyVaultMetadata(properties: ComponentProperties): KeyVaultMetadata {
  const environmentName = getProperty(properties, ...AZURE_METADATA_ALIASES.environment);
  let cloud = cloudByName(environmentName ?? "AzurePublicCloud");
  if (cloud === undefined) throw new MetadataError("azureEnvironment", `unknown azureEnvironment "${environmentName}"`);
  const identity = {
    clientId: getProperty(properties, ...AZURE_METADATA_ALIASES.clientId),
    tenantId: getProperty(properties, ...AZURE_METADATA_ALIASES.tenantId),
    clientSecret: getProperty(properties, ...AZURE_METADATA_ALIASES.clientSecret),
  };
  const override = getProperty(properties, "vaultUri", "vaultUrl");
  if (override !== undefined) {
    let url: URL;
    try {
      url = new URL(override);
    } catch {
      throw new MetadataError("vaultUri", `vaultUri "${override}" is not a URL`);
    }
    if (url.protocol !== "https:") throw new MetadataError("vaultUri", "vaultUri must use https (the Key Vault SDK refuses anything else)");
    // Challenge verification stays on whatever the URL (src/azure/keyvault.ts decides, not metadata).
    return { vaultUrl: url.origin, ...identity };
  }
  const vaultName = getProperty(properties, "vaultName");
  if (vaultName === undefined) throw new MetadataError("vaultName", 'missing required metadata field "vaultName" (or "vaultUri")');
  let name = vaultName.trim().toLowerCase();
  // Legacy form: an FQDN like myvault.vault.azure.cn names the vault and the cloud at once.
  if (name.includes(".")) {
    const fromHost = cloudByVaultHost(name);
    if (fromHost === undefined) throw new MetadataError("vaultName", `vaultName "${vaultName}" is neither a vault name nor a Key Vault host name`);
    cloud = fromHost;
    name = name.slice(0, name.indexOf("."));
  }
  if (!/^[a-z][a-z0-9-]{1,22}[a-z0-9]$/.test(name)) throw new MetadataError("vaultName", `vaultName "${vaultName}" is not a valid Key Vault name`);
  return { vaultUrl: `https://${name}.${cloud.keyVaultSuffix}`, ...identity };
}

/**
 * Per-request `version_id` (pure): Key Vault versions are 32 hex characters; anything with other
 * characters (`..`, `/`) would change the request path, so it is refused.
 * @throws {@link MetadataError}
 */
export function parseVersionId(metadata: Readonly<Record<string, string>>): string | undefined {
  const raw = metadata.version_id;
  if (raw === undefined || raw === "") return undefined;
  if (!/^[0-9a-zA-Z]{1,64}$/.test(raw)) throw new MetadataError("version_id", "metadata.version_id must be a Key Vault version id (letters and digits)");
  return raw;
}

/** Key Vault object names: 1–127 of `0-9a-zA-Z-`. */
const SECRET_NAME = /^[0-9a-zA-Z-]{1,127}$/;

/**
 * Refuses a name Key Vault can never hold (pure), so it costs no call and reads as a 400 instead
 * of Key Vault's own error.
 * @throws {@link InvalidSecretNameError}
 */
export function validateKeyVaultSecretName(name: string): void {
  if (!SECRET_NAME.test(name)) throw new InvalidSecretNameError("not a valid Key Vault secret name (1-127 letters, digits and hyphens)");
}

/** Key Vault names are case-insensitive: `DEMO-SECRET` and `demo-secret` are one secret (pure). */
export function keyVaultSecretNameKey(name: string): string {
  return name.toLowerCase();
}

/** Per-request metadata: `version_id` on get, `maxresults` on bulk (the only ones Dapr's AKV reads). */
export function parseMaxResults(metadata: Readonly<Record<string, string>>): number | undefined {
  const raw = metadata.maxresults;
  return raw === undefined || raw === "" ? undefined : parseInteger("maxresults", raw, 0, { min: 1 });
}

/**
 * Translates an SDK or credential error into the contract's errors. Key Vault error messages never
 * contain secret values, so they are kept for the caller to see (daprd passes them on too).
 */
export function translateKeyVaultError(e: unknown, secretName: string | undefined): Error {
  if (isAbortError(e)) return new SecretStoreUnavailableError("timeout", "Key Vault request timed out or was cancelled", { cause: e });
  const facts = azureErrorFacts(e);
  const status = facts?.status;
  if (status === 404 && secretName !== undefined) return new SecretNotFoundError(secretName, { cause: e });
  const throttled = throttling(e);
  if (throttled !== undefined) {
    return new SecretStoreUnavailableError("throttled", `Key Vault is throttling requests (${throttled.status})`, { retryAfterInMs: throttled.retryAfterInMs, cause: e });
  }
  if (isTransientAzureError(e)) {
    return new SecretStoreUnavailableError("unavailable", status !== undefined ? `Key Vault answered ${status}` : `Key Vault is unreachable: ${failureKind(e)}`, { cause: e });
  }
  if (status !== undefined) {
    const code = facts?.code !== undefined ? ` ${facts.code}` : "";
    return new Error(`Key Vault answered ${status}${code}: ${(e instanceof Error ? e.message : "").split("\n")[0]}`, { cause: e });
  }
  return e instanceof Error ? e : new Error("Key Vault request failed");
}

/** How many secret values a bulk read fetches at once (Key Vault allows thousands per 10 s). */
const BULK_CONCURRENCY = 16;

/** Dependencies of the Key Vault store: the app's vault clients (tests can pass their own). */
export interface KeyVaultSecretStoreDeps {
  getClient: SecretClientSource;
}

/**
 * Creates a Key Vault secret store.
 * @example
 * const store = createKeyVaultSecretStore({ getClient: createAzureClients(settings.environment).secretClient });
 * await store.init({ vaultName: "myvault", azureClientId: "<user-assigned identity client id>" });
 */
export function createKeyVaultSecretStore(deps: KeyVaultSecretStoreDeps): KeyVaultSecretStore {
  const getClient = deps.getClient;
  let client: SecretClient | undefined;
  let vaultUrl = "";

  const requireClient = (): SecretClient => {
    if (client === undefined) throw new Error("Key Vault secret store used before init");
    return client;
  };

  async function readValue(name: string, version: string | undefined, options?: OperationOptions): Promise<{ value: string; version: SecretVersionInfo }> {
    try {
      const secret = await requireClient().getSecret(name, { version, abortSignal: options?.abortSignal });
      return { value: secret.value ?? "", version: { version: secret.properties.version, updatedOn: secret.properties.updatedOn?.getTime() } };
    } catch (e) {
      throw translateKeyVaultError(e, name);
    }
  }

  return {
    async init(properties) {
      const metadata = parseKeyVaultMetadata(properties);
      vaultUrl = metadata.vaultUrl;
      client = getClient(metadata.vaultUrl, {
        clientId: metadata.clientId,
        tenantId: metadata.tenantId,
        clientSecret: metadata.clientSecret,
      });
    },
    features(): readonly SecretStoreFeature[] {
      return [];
    },
    requestMetadataKeys: { get: ["version_id"], bulk: ["maxresults"] },
    validateSecretName: validateKeyVaultSecretName,
    secretNameKey: keyVaultSecretNameKey,
    async getSecret(request: GetSecretRequest, options?: OperationOptions): Promise<GetSecretResponse> {
      validateKeyVaultSecretName(request.name);
      const version = parseVersionId(request.metadata);
      const read = await readValue(request.name, version, options);
      return { data: { [request.name]: read.value }, version: read.version };
    },
    async listSecretNames(request: BulkGetSecretRequest, options?: OperationOptions): Promise<string[]> {
      const maxResults = parseMaxResults(request.metadata);
      const names: string[] = [];
      try {
        for await (const properties of requireClient().listPropertiesOfSecrets({ abortSignal: options?.abortSignal })) {
          // Disabled secrets cannot be read; daprd's store lists only enabled ones.
          if (properties.enabled === false) continue;
          names.push(properties.name);
          if (maxResults !== undefined && names.length >= maxResults) break;
        }
      } catch (e) {
        throw translateKeyVaultError(e, undefined);
      }
      return names;
    },
    async bulkGetSecret(request: BulkGetSecretRequest, options?: OperationOptions): Promise<BulkGetSecretResponse> {
      const names = await this.listSecretNames(request, options);
      // A pool, not lockstep batches: a slow GET holds one slot, not a whole batch.
      const values = await mapWithConcurrency(names, BULK_CONCURRENCY, (name) => readValue(name, undefined, options));
      const data: Record<string, Record<string, string>> = {};
      names.forEach((name, i) => {
        data[name] = { [name]: values[i]?.value ?? "" };
      });
      return { data };
    },
    async currentVersions(options?: OperationOptions): Promise<Map<string, SecretVersionInfo>> {
      const versions = new Map<string, SecretVersionInfo>();
      try {
        // One listing for the whole vault: the items carry the current version's attributes, no values.
        for await (const properties of requireClient().listPropertiesOfSecrets({ abortSignal: options?.abortSignal })) {
          versions.set(keyVaultSecretNameKey(properties.name), { version: properties.version, updatedOn: properties.updatedOn?.getTime() });
        }
      } catch (e) {
        throw translateKeyVaultError(e, undefined);
      }
      return versions;
    },
    vaultUrl: () => vaultUrl,
    rotationTarget: (secretName) => ({ vaultUrl, secretName }),
    async close() {
      // The client is shared per vault (src/azure) and outlives this component instance.
      client = undefined;
    },
  };
}

/** The Key Vault store: lists names and versions, knows its vault, and its secrets can be rotated. */
export type KeyVaultSecretStore = VersionedSecretStore & NameListingSecretStore & RotatableSecretStore;
