/**
 * @module Caller authentication (first form): the `dapr-api-token` header against configured tokens.
 */
import { createHash, timingSafeEqual } from "node:crypto";
import { ApiError, invalidApiToken } from "./errors";

/** A configured caller token and the app-id it acts as. */
export interface CallerCredential {
  appId: string;
  token: string;
  /** A rotated-out token is accepted until this time (ms since the epoch). */
  notAfter?: number;
}

/** Who is calling: the app-id every scope and key prefix derives from. */
export interface Caller {
  appId: string;
  /** How the caller proved itself. */
  via: "token" | "anonymous";
}

/** How requests without a valid token are treated. */
export interface AuthPolicy {
  callers: readonly CallerCredential[];
  /** Serve unauthenticated callers as `anonymousAppId` (only when no tokens are configured). */
  allowAnonymous: boolean;
  anonymousAppId: string;
}

function digest(value: string): Buffer {
  return createHash("sha256").update(value, "utf8").digest();
}

/**
 * Authenticates a request by its `dapr-api-token` header. Every configured token is compared, in
 * constant time over equal-length digests, so timing reveals neither which token nor how much matched.
 * @throws PlainTextError 401 `invalid api token` (as daprd) when the token is missing or wrong
 * @throws {@link ApiError} 503 `ERR_NO_CALLERS_CONFIGURED` when no caller is configured at all
 */
export function authenticate(policy: AuthPolicy, presented: string | null, now: number = Date.now()): Caller {
  if (policy.callers.length === 0) {
    if (policy.allowAnonymous) return { appId: policy.anonymousAppId, via: "anonymous" };
    throw new ApiError(
      "ERR_NO_CALLERS_CONFIGURED",
      "no caller is configured: set API_TOKEN (or ALLOW_ANONYMOUS=true for local development) and restart",
    );
  }
  if (presented === null || presented === "") throw invalidApiToken();
  const presentedDigest = digest(presented);
  let match: CallerCredential | undefined;
  for (const caller of policy.callers) {
    const valid = caller.notAfter === undefined || caller.notAfter > now;
    if (timingSafeEqual(presentedDigest, digest(caller.token)) && valid && match === undefined) match = caller;
  }
  if (match === undefined) throw invalidApiToken();
  return { appId: match.appId, via: "token" };
}
