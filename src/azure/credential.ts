/**
 * @module Azure credentials: the one place that builds a `TokenCredential`, once per identity.
 *
 * In Azure the app authenticates with its managed identity (user-assigned when a client id is given);
 * elsewhere `DefaultAzureCredential` walks the developer chain (env, workload identity, managed
 * identity endpoint such as our emulator's, Azure CLI, …).
 */
import type { TokenCredential } from "@azure/core-auth";
import { ClientSecretCredential, DefaultAzureCredential, ManagedIdentityCredential } from "@azure/identity";
import { settings } from "../config/settings";

/** Which identity to use. */
export interface CredentialOptions {
  /** Client id of a user-assigned managed identity, or of an app registration (Dapr `azureClientId`). */
  clientId?: string;
  /** Tenant of an app registration (Dapr `azureTenantId`). */
  tenantId?: string;
  /** Client secret of an app registration (Dapr `azureClientSecret`); prefer managed identity. */
  clientSecret?: string;
}

const credentials = new Map<string, TokenCredential>();

/**
 * Returns the shared credential for an identity, creating it on first use. Credentials cache their
 * tokens, so sharing one per identity keeps token requests to a minimum.
 */
export function getCredential(options: CredentialOptions = {}): TokenCredential {
  const key = JSON.stringify([options.clientId ?? "", options.tenantId ?? "", options.clientSecret ?? ""]);
  let credential = credentials.get(key);
  if (credential === undefined) {
    credential = createCredential(options, settings().environment);
    credentials.set(key, credential);
  }
  return credential;
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
