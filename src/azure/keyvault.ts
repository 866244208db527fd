/**
 * @module Key Vault clients: one `SecretClient` per vault and identity, created once per app and shared.
 *
 * A token is only ever sent where it belongs:
 * - challenge-resource verification (the vault host must end in `.` + the host of the resource the
 *   401 challenge names) is on for every host, whatever configuration or an event says, the local
 *   emulator included: it serves `https://<name>.vault.localhost:<port>` and names the resource
 *   `https://vault.localhost`, the loopback mirror of `<name>.vault.azure.net` and `https://vault.azure.net`
 *   (`*.localhost` names are loopback, RFC 6761, so connections to them go to 127.0.0.1);
 * - the credential behind a `SecretClient` hands out tokens for Key Vault audiences only, so even a
 *   host that passes (or skips) verification can never obtain, say, an ARM token.
 *
 * Every call has a deadline: the caller's abort signal combined with
 * {@link KEY_VAULT_DEFAULTS.requestTimeoutInMs}; the token request has its own. A 429 (or a 503 with
 * `Retry-After`) is answered at once as {@link KeyVaultThrottledError} instead of the SDK sleeping
 * through `Retry-After`: the secret cache decides whether the wait fits the reader's deadline.
 */
import type { AccessToken, GetTokenOptions, TokenCredential } from "@azure/core-auth";
import type { PipelinePolicy } from "@azure/core-rest-pipeline";
import * as https from "node:https";
import { ManagedIdentityCredential } from "@azure/identity";
import { SecretClient } from "@azure/keyvault-secrets";
import { ManagedIdentityApplication } from "@azure/msal-node";
import { allClouds } from "./clouds";
import { asAbortSignal, operationDeadlinePolicy } from "./deadline";
import type { CredentialOptions, CredentialSource } from "./credential";
import { retryAfterOf, ThrottledError } from "./errors";
import { upstreamPolicies } from "./upstreamTelemetry";

/** How to reach a vault. */
export type SecretClientOptions = CredentialOptions;

/** Deadlines of Key Vault calls, in milliseconds. */
export interface KeyVaultTimeouts {
  /** One Key Vault operation (all its HTTP round trips) when the caller sets no deadline. */
  requestTimeoutInMs: number;
  /** One token request to the identity endpoint. */
  tokenTimeoutInMs: number;
}

/** Defaults: a request's reads are bounded by 10 s, a token request by 5 s. */
export const KEY_VAULT_DEFAULTS: KeyVaultTimeouts = { requestTimeoutInMs: 10_000, tokenTimeoutInMs: 5_000 };

/** Thrown when a vault's challenge asks for a token that is not for Key Vault. */
export class KeyVaultAudienceError extends Error {
  override readonly name = "KeyVaultAudienceError";
  constructor(scope: string) {
    super(`refused to get a token for ${scope}: Key Vault clients only get tokens for Key Vault`);
  }
}

/** Thrown when the identity endpoint does not answer within the token deadline. */
export class TokenTimeoutError extends Error {
  override readonly name = "AbortError";
  constructor(ms: number) {
    super(`the token request did not complete within ${ms} ms`);
  }
}

/** Key Vault throttled (429, or 503 with `Retry-After`); thrown without waiting, for the caller to decide. */
export class KeyVaultThrottledError extends ThrottledError {
  override readonly name = "KeyVaultThrottledError";
  constructor(statusCode: number, retryAfterInMs: number | undefined) {
    super(statusCode, retryAfterInMs, "Key Vault");
  }
}

/** Turns throttling responses into an immediate error, so the SDK's retry policy never sleeps on them. */
function throttlingPolicy(): PipelinePolicy {
  return {
    name: "vaultstateThrottling",
    async sendRequest(request, next) {
      const response = await next(request);
      const retryAfterInMs = retryAfterOf(response.headers);
      if (response.status === 429 || (response.status === 503 && retryAfterInMs !== undefined)) throw new KeyVaultThrottledError(response.status, retryAfterInMs);
      return response;
    },
  };
}

/** The emulator's Key Vault audience: only names under `localhost` (loopback) can pass verification for it. */
export const LOCAL_KEY_VAULT_SCOPE = "https://vault.localhost/.default";

/** Names under `localhost` are loopback (RFC 6761 §6.3); most resolvers do not know that, so the client says it. */
const loopbackNames = new https.Agent({
  keepAlive: true,
  lookup: (_hostname, options, callback) => {
    const family = options.family === 6 ? 6 : 4;
    const address = family === 6 ? "::1" : "127.0.0.1";
    if (options.all === true) (callback as unknown as (err: null, addresses: { address: string; family: number }[]) => void)(null, [{ address, family }]);
    else callback(null, address, family);
  },
});

/** Connects requests for `*.localhost` hosts to the loopback interface; every other host resolves as usual. */
function loopbackNamesPolicy(): PipelinePolicy {
  return {
    name: "vaultstateLoopbackNames",
    sendRequest(request, next) {
      const host = new URL(request.url).hostname.toLowerCase();
      if (request.agent === undefined && (host === "localhost" || host.endsWith(".localhost")) && request.url.startsWith("https:")) request.agent = loopbackNames;
      return next(request);
    },
  };
}

/** The token scopes of Key Vault in every known cloud, e.g. `https://vault.azure.net/.default`. */
export function keyVaultScopes(options: { inAzure?: boolean } = {}): Set<string> {
  // Outside Azure, also the local emulator's audience (a token for it is useless anywhere else).
  const scopes = new Set<string>(options.inAzure === false ? [LOCAL_KEY_VAULT_SCOPE] : []);
  for (const cloud of allClouds()) {
    scopes.add(`https://${cloud.keyVaultSuffix}/.default`);
    scopes.add(`https://${cloud.keyVaultSuffix}//.default`);
  }
  return scopes;
}

/**
 * Wraps a credential so it only issues Key Vault tokens, and gives up after the token deadline (or
 * when the caller's signal aborts) instead of waiting on a stalled identity endpoint.
 */
export function keyVaultOnlyCredential(credential: TokenCredential, tokenTimeoutInMs: number, allowed: ReadonlySet<string> = keyVaultScopes()): TokenCredential {
  return {
    async getToken(scopes: string | string[], options?: GetTokenOptions): Promise<AccessToken | null> {
      const list = Array.isArray(scopes) ? scopes : [scopes];
      const refused = list.find((s) => !allowed.has(s.toLowerCase()));
      if (refused !== undefined || list.length === 0) throw new KeyVaultAudienceError(refused ?? "no scope");
      const callerSignal = options?.abortSignal !== undefined ? asAbortSignal(options.abortSignal) : undefined;
      const signal = AbortSignal.any([AbortSignal.timeout(tokenTimeoutInMs), ...(callerSignal !== undefined ? [callerSignal] : [])]);
      if (signal.aborted) throw new TokenTimeoutError(tokenTimeoutInMs);
      return new Promise<AccessToken | null>((resolve, reject) => {
        const onAbort = (): void => reject(callerSignal?.aborted === true ? (callerSignal.reason as unknown) : new TokenTimeoutError(tokenTimeoutInMs));
        signal.addEventListener("abort", onAbort, { once: true });
        credential.getToken(list, { ...options, abortSignal: signal }).then(
          (token) => {
            signal.removeEventListener("abort", onAbort);
            resolve(token);
          },
          (e: unknown) => {
            signal.removeEventListener("abort", onAbort);
            reject(e);
          },
        );
      });
    },
  };
}

/** Returns the shared client of a vault for an identity. */
export type SecretClientSource = (vaultUrl: string, options?: SecretClientOptions) => SecretClient;

/**
 * A per-app cache of vault clients. Retries inside the SDK are kept short because the secret cache
 * above it rides out longer outages with stale values and its own jittered backoff.
 * @param options.inAzure - whether the app runs in Azure (outside it, the emulator's audience is allowed too)
 * @param options.timeouts - deadlines, default {@link KEY_VAULT_DEFAULTS}
 */
export function createSecretClientSource(credentials: CredentialSource, options: { inAzure: boolean; timeouts?: Partial<KeyVaultTimeouts> }): SecretClientSource {
  const timeouts: KeyVaultTimeouts = { ...KEY_VAULT_DEFAULTS, ...Object.fromEntries(Object.entries(options.timeouts ?? {}).filter(([, v]) => v !== undefined)) };
  const clients = new Map<string, SecretClient>();
  const scopes = keyVaultScopes({ inAzure: options.inAzure });
  const identityApps = new Map<string, ManagedIdentityApplication>();
  return (vaultUrl, identity = {}) => {
    const key = JSON.stringify([vaultUrl, identity.clientId ?? "", identity.tenantId ?? "", identity.clientSecret !== undefined]);
    let client = clients.get(key);
    if (client === undefined) {
      const credential = credentials(identity);
      // Challenge-resource verification stays on (the SDK default) for every vault.
      client = new SecretClient(vaultUrl, keyVaultOnlyCredential(credential, timeouts.tokenTimeoutInMs, scopes), {
        retryOptions: { maxRetries: 2, retryDelayInMs: 200, maxRetryDelayInMs: 2_000 },
        additionalPolicies: [
          { policy: operationDeadlinePolicy(timeouts.requestTimeoutInMs), position: "perCall" },
          { policy: throttlingPolicy(), position: "perRetry" },
          { policy: tokenExpiryPolicy(cacheBypass(credential, identity.clientId, identityApps, scopes)), position: "perRetry" },
          { policy: loopbackNamesPolicy(), position: "perRetry" },
          // Last, so it sits next to the wire and sees every attempt's own status (429s included).
          ...upstreamPolicies("keyvault").additionalPolicies,
        ],
        userAgentOptions: { userAgentPrefix: "vaultstate" },
      });
      clients.set(key, client);
    }
    return client;
  };
}

/**
 * Recovers from a token Key Vault calls expired while the credential still trusts it (clock skew, early
 * revocation). The service answers 401 with `[TokenExpired]` and its plain challenge; the SDK's auth
 * policy then asks the credential again and gets the same token back from the credential's cache, until
 * its own refresh minutes later. Placed below the auth policy, this policy refreshes the token past the
 * credential's cache, once per request, and answers the SDK with a claims challenge in place of the plain
 * one: the SDK then drops its cached token, fetches the fresh one and retries once.
 */
export function tokenExpiryPolicy(refreshPastCache: (scope: string) => Promise<void>): PipelinePolicy {
  const handled = new WeakSet<object>();
  return {
    name: "vaultstateTokenExpiry",
    async sendRequest(request, next) {
      const response = await next(request);
      if (response.status !== 401 || handled.has(request) || !(response.bodyAsText ?? "").includes("[TokenExpired]")) return response;
      const resource = /\bresource="([^"]+)"/.exec(response.headers.get("www-authenticate") ?? "")?.[1];
      if (resource === undefined) return response;
      handled.add(request);
      await refreshPastCache(`${resource.replace(/\/+$/, "")}/.default`);
      // "Tokens issued from now on": what the service itself sends in a CAE challenge.
      const claims = JSON.stringify({ access_token: { nbf: { essential: true, value: String(Math.floor(Date.now() / 1000)) } } });
      response.headers.set("WWW-Authenticate", `Bearer error="insufficient_claims", claims="${Buffer.from(claims).toString("base64")}"`);
      return response;
    },
  };
}

/**
 * How to get past a credential's token cache. MSAL-based credentials skip their cache for a claims
 * request, except `ManagedIdentityCredential`, which drops the claims; for it, MSAL's managed identity
 * app (whose token cache is process-wide, shared with the credential) is asked with `forceRefresh`.
 */
function cacheBypass(credential: unknown, clientId: string | undefined, identityApps: Map<string, ManagedIdentityApplication>, scopes: ReadonlySet<string>): (scope: string) => Promise<void> {
  if (!(credential instanceof ManagedIdentityCredential)) return async () => undefined;
  return async (scope) => {
    // Like every token behind a SecretClient: Key Vault audiences only, whatever a challenge names.
    if (!scopes.has(scope.toLowerCase())) return;
    const key = clientId ?? "";
    let app = identityApps.get(key);
    if (app === undefined) {
      app = new ManagedIdentityApplication(clientId !== undefined ? { managedIdentityIdParams: { userAssignedClientId: clientId } } : {});
      identityApps.set(key, app);
    }
    await app.acquireToken({ resource: scope, forceRefresh: true });
  };
}
