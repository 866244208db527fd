/**
 * @module Key Vault clients: one `SecretClient` per vault and identity, created once and shared.
 */
import { SecretClient } from "@azure/keyvault-secrets";
import { getCredential, type CredentialOptions } from "./credential";

/** How to reach a vault. */
export interface SecretClientOptions extends CredentialOptions {
  /**
   * Skip the check that the vault host matches the challenge resource: needed for an emulator or a
   * private endpoint that does not end in the cloud's vault suffix.
   */
  disableChallengeResourceVerification?: boolean;
}

const clients = new Map<string, SecretClient>();

/**
 * Returns the shared client for a vault, creating it on first use. Retries inside the SDK are kept
 * short because the secret cache above it rides out longer outages with stale values and its own
 * jittered backoff.
 */
export function getSecretClient(vaultUrl: string, options: SecretClientOptions = {}): SecretClient {
  const key = JSON.stringify([vaultUrl, options.clientId ?? "", options.tenantId ?? "", options.clientSecret !== undefined, options.disableChallengeResourceVerification ?? false]);
  let client = clients.get(key);
  if (client === undefined) {
    client = new SecretClient(vaultUrl, getCredential(options), {
      disableChallengeResourceVerification: options.disableChallengeResourceVerification ?? false,
      retryOptions: { maxRetries: 2, retryDelayInMs: 200, maxRetryDelayInMs: 2_000 },
      userAgentOptions: { userAgentPrefix: "vaultstate" },
    });
    clients.set(key, client);
  }
  return client;
}
