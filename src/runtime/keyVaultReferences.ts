/**
 * @module App Service–style Key Vault references, accepted as component metadata values and as the
 * app's own settings: `@Microsoft.KeyVault(SecretUri=https://<vault>/secrets/<name>[/<version>])` and
 * `@Microsoft.KeyVault(VaultName=<vault>;SecretName=<name>[;SecretVersion=<version>])`.
 */
import type { SecretStore, SecretVersionInfo } from "../components/secretstores/secretStore";
import type { CachedSecretStore } from "./secretCache";

/** A parsed reference. Versionless references follow the latest version; pinned ones never change. */
export interface KeyVaultReference {
  vaultUrl: string;
  secretName: string;
  version: string | undefined;
}

/** Thrown for a value that looks like a reference but is malformed. */
export class KeyVaultReferenceError extends Error {
  override readonly name = "KeyVaultReferenceError";
}

const REFERENCE = /^@Microsoft\.KeyVault\((.*)\)\s*$/is;

/** Whether a value is meant as a Key Vault reference. */
export function isKeyVaultReference(value: string): boolean {
  return REFERENCE.test(value.trim());
}

/**
 * Parses a reference (pure). `VaultName` form uses the public cloud's `vault.azure.net`, as App
 * Service does.
 * @throws {@link KeyVaultReferenceError} describing what is wrong (the value itself is not echoed)
 */
export function parseKeyVaultReference(value: string): KeyVaultReference {
  const match = REFERENCE.exec(value.trim());
  if (match === null) throw new KeyVaultReferenceError("not a @Microsoft.KeyVault(...) reference");
  const body = (match[1] ?? "").trim();
  const parts = new Map<string, string>();
  for (const part of body.split(";")) {
    if (part.trim() === "") continue;
    const eq = part.indexOf("=");
    if (eq === -1) throw new KeyVaultReferenceError("Key Vault reference parts must be Name=Value");
    parts.set(part.slice(0, eq).trim().toLowerCase(), part.slice(eq + 1).trim());
  }
  const secretUri = parts.get("secreturi");
  if (secretUri !== undefined) {
    let url: URL;
    try {
      url = new URL(secretUri);
    } catch {
      throw new KeyVaultReferenceError("SecretUri is not a URL");
    }
    const segments = url.pathname.split("/").filter((s) => s !== "");
    if (url.protocol !== "https:" || segments[0] !== "secrets" || segments.length < 2 || segments.length > 3) {
      throw new KeyVaultReferenceError("SecretUri must look like https://<vault>/secrets/<name>[/<version>]");
    }
    return { vaultUrl: url.origin, secretName: decodeURIComponent(segments[1] ?? ""), version: segments[2] };
  }
  const vaultName = parts.get("vaultname");
  const secretName = parts.get("secretname");
  if (vaultName === undefined || secretName === undefined || vaultName === "" || secretName === "") {
    throw new KeyVaultReferenceError("a Key Vault reference needs SecretUri, or VaultName and SecretName");
  }
  const version = parts.get("secretversion");
  return { vaultUrl: `https://${vaultName.toLowerCase()}.vault.azure.net`, secretName, version: version === "" ? undefined : version };
}

/** Resolves references through one (cached) Key Vault store per vault. */
export interface KeyVaultReferenceResolver {
  /** Reads the referenced secret (through the cache) and reports which version it was. */
  resolve(value: string): Promise<{ value: string; reference: KeyVaultReference; version?: SecretVersionInfo }>;
  /** The vault stores created so far, by vault URL (for refresh and invalidation). */
  stores(): ReadonlyMap<string, CachedSecretStore>;
  close(): Promise<void>;
}

/**
 * Creates a resolver. `createStore` makes an (uninitialised) Key Vault store, from the provider
 * registry; `wrap` puts the shared secret cache in front of each vault's store.
 * @param clientId - user-assigned identity for references (App Service's `keyVaultReferenceIdentity`)
 */
export function createKeyVaultReferenceResolver(options: {
  clientId?: string;
  createStore: () => SecretStore;
  wrap: (store: SecretStore, name: string) => CachedSecretStore;
}): KeyVaultReferenceResolver {
  const stores = new Map<string, Promise<CachedSecretStore>>();
  const ready = new Map<string, CachedSecretStore>();
  const storeFor = (vaultUrl: string): Promise<CachedSecretStore> => {
    let store = stores.get(vaultUrl);
    if (store === undefined) {
      store = (async () => {
        const created = options.wrap(options.createStore(), `@Microsoft.KeyVault(${vaultUrl})`);
        await created.init({ vaultUri: vaultUrl, ...(options.clientId !== undefined ? { azureClientId: options.clientId } : {}) });
        ready.set(vaultUrl, created);
        return created;
      })();
      stores.set(vaultUrl, store);
      store.catch(() => stores.delete(vaultUrl));
    }
    return store;
  };
  return {
    async resolve(value) {
      const reference = parseKeyVaultReference(value);
      const store = await storeFor(reference.vaultUrl);
      const { data, version } = await store.getSecret({ name: reference.secretName, metadata: reference.version !== undefined ? { version_id: reference.version } : {} });
      return { value: data[reference.secretName] ?? "", reference, version };
    },
    stores: () => ready,
    async close() {
      await Promise.all([...ready.values()].map((s) => s.close()));
    },
  };
}
