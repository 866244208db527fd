/**
 * @module `secretstores.local.env`: secrets from the process environment (development only).
 */
import type { SecretStoreFeature } from "../../../features";
import { type ComponentProperties, getProperty } from "../../../metadata";
import { type BulkGetSecretResponse, type GetSecretRequest, type GetSecretResponse, SecretNotFoundError, type SecretStore } from "../../secretStore";

/** Typed metadata of the env secret store. */
export interface EnvSecretStoreMetadata {
  prefix: string;
}

/** Parses the env store's metadata (pure). */
export function parseEnvSecretStoreMetadata(properties: ComponentProperties): EnvSecretStoreMetadata {
  return { prefix: getProperty(properties, "prefix") ?? "" };
}

/**
 * Variables never exposed, compared case-insensitively: Dapr's (`APP_API_TOKEN`, `DAPR_*`) plus this
 * app's own credentials, because vaultstate serves a public endpoint where daprd serves localhost.
 */
const HIDDEN = new Set(["APP_API_TOKEN", "API_TOKEN", "IDENTITY_HEADER", "MSI_SECRET", "AZURE_CLIENT_SECRET", "AZUREWEBJOBSSTORAGE"]);

/** Whether a variable may be exposed through the env secret store. */
export function isExposable(name: string): boolean {
  const upper = name.toUpperCase();
  return !HIDDEN.has(upper) && !upper.startsWith("DAPR_");
}

/** Dependencies of the env store. */
export interface EnvSecretStoreDeps {
  env: Readonly<Record<string, string>>;
}

/**
 * Creates an env secret store over a snapshot of the environment.
 * Unlike Dapr (which answers 200 with an empty value), an unset or hidden variable is
 * {@link SecretNotFoundError}, so every secret store has one not-found behaviour.
 */
export function createEnvSecretStore(deps: EnvSecretStoreDeps): SecretStore {
  let prefix = "";

  const lookup = (name: string): string | undefined => {
    const full = `${prefix}${name}`;
    if (!isExposable(full) || !isExposable(name)) return undefined;
    return Object.prototype.hasOwnProperty.call(deps.env, full) ? deps.env[full] : undefined;
  };

  return {
    async init(properties) {
      prefix = parseEnvSecretStoreMetadata(properties).prefix;
    },
    features(): readonly SecretStoreFeature[] {
      return [];
    },
    async getSecret(request: GetSecretRequest): Promise<GetSecretResponse> {
      const value = lookup(request.name);
      if (value === undefined) throw new SecretNotFoundError(request.name);
      return { data: { [request.name]: value } };
    },
    async bulkGetSecret(): Promise<BulkGetSecretResponse> {
      const data: Record<string, Record<string, string>> = {};
      for (const [full, value] of Object.entries(deps.env)) {
        if (!full.startsWith(prefix) || !isExposable(full)) continue;
        const name = full.slice(prefix.length);
        if (name === "" || !isExposable(name)) continue;
        data[name] = { [name]: value };
      }
      return { data };
    },
    async close() {},
  };
}
