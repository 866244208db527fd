/**
 * @module Azure credentials: the one place that builds a `TokenCredential`.
 *
 * In Azure the app authenticates with its managed identity (user-assigned when a client id is given);
 * elsewhere `DefaultAzureCredential` walks the developer chain (env, workload identity, managed
 * identity endpoint such as our emulator's, Azure CLI, …).
 */
import type { TokenCredential } from "@azure/core-auth";
import { ClientSecretCredential, DefaultAzureCredential, ManagedIdentityCredential } from "@azure/identity";

/** Which identity to use. */
export interface CredentialOptions {
  /** Client id of a user-assigned managed identity, or of an app registration (Dapr `azureClientId`). */
  clientId?: string;
  /** Tenant of an app registration (Dapr `azureTenantId`). */
  tenantId?: string;
  /** Client secret of an app registration (Dapr `azureClientSecret`); prefer managed identity. */
  clientSecret?: string;
}

/** Returns the credential of an identity; one instance per identity, so tokens are shared. */
export type CredentialSource = (options?: CredentialOptions) => TokenCredential;

/**
 * A credential cache for one app. Credentials cache their tokens, so sharing one per identity keeps
 * token requests to a minimum; keeping the cache per app lets two apps in one process (tests) differ.
 * @param environment - the settings' environment snapshot (decides whether a managed identity endpoint is there)
 */
export function createCredentialSource(environment: Readonly<Record<string, string>>): CredentialSource {
  const credentials = new Map<string, TokenCredential>();
  return (options = {}) => {
    const key = JSON.stringify([options.clientId ?? "", options.tenantId ?? "", options.clientSecret ?? ""]);
    let credential = credentials.get(key);
    if (credential === undefined) {
      credential = createCredential(options, environment);
      credentials.set(key, credential);
    }
    return credential;
  };
}

/**
 * Chooses the credential type (pure apart from construction).
 * @param environment - the settings' environment snapshot
 */
export function createCredential(options: CredentialOptions, environment: Readonly<Record<string, string>>): TokenCredential {
  if (options.clientSecret !== undefined && options.clientId !== undefined && options.tenantId !== undefined) {
    return new ClientSecretCredential(options.tenantId, options.clientId, options.clientSecret);
  }
  // An App Service-style identity endpoint means a managed identity is there (Azure, or our emulator):
  // use it directly rather than probing the developer chain first.
  if (environment.IDENTITY_ENDPOINT !== undefined && environment.IDENTITY_HEADER !== undefined) {
    return options.clientId !== undefined ? new ManagedIdentityCredential({ clientId: options.clientId }) : new ManagedIdentityCredential();
  }
  return new DefaultAzureCredential(options.clientId !== undefined ? { managedIdentityClientId: options.clientId } : {});
}
