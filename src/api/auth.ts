/**
 * @module Caller authentication and authorisation: API tokens (`dapr-api-token` or
 * `Authorization: Bearer`), Microsoft Entra ID access tokens, roles, and anonymous local access.
 */
import { hash, timingSafeEqual } from "node:crypto";
import { isIPv4, isIPv6 } from "node:net";
import type { EntraIdValidator } from "./entraId";
import { looksLikeJwt } from "./entraId";
import type { CallerRole, CallerToken, EntraCaller } from "../runtime/runtime";
import { apiError, invalidApiToken } from "./errors";

/** What a caller may do; each role includes the ones before it (defined once, with the Caller documents). */
export type { CallerRole };

const ROLE_RANK: Readonly<Record<CallerRole, number>> = { reader: 0, writer: 1, admin: 2 };

/**
 * What authentication reads of a configured caller token (the runtime's {@link CallerToken}); the
 * role defaults to `writer`.
 */
export type CallerCredential = Pick<CallerToken, "appId" | "token" | "notAfter"> & Partial<Pick<CallerToken, "role">>;

/** Who is calling: the app-id every scope and key prefix derives from, and its role. */
export interface Caller {
  appId: string;
  role: CallerRole;
  /** How the caller proved itself. */
  via: "token" | "entraId" | "anonymous";
}

/** Everything authentication needs. */
export interface AuthPolicy {
  callers: readonly CallerCredential[];
  entraCallers?: readonly EntraCaller[];
  entraId?: EntraIdValidator;
  /** Serve unauthenticated loopback callers as `anonymousAppId` (only when no caller is configured). */
  allowAnonymous: boolean;
  anonymousAppId: string;
}

/** The parts of a request authentication reads. */
export interface AuthRequest {
  headers: { get(name: string): string | null };
  url: string;
  /**
   * The peer address of the connection, as the platform vouches for it (see `ApiRequest.clientAddress`);
   * the only thing that tells a loopback caller apart.
   */
  clientAddress?: string;
}

function digest(value: string): Buffer {
  // One-shot: no Hash object per request (every request digests the token it presents).
  return hash("sha256", value, "buffer");
}

/** Whether an IP address is a loopback address (127.0.0.0/8, ::1, or 127.x mapped into IPv6). */
export function isLoopbackAddress(address: string): boolean {
  const lower = address.toLowerCase();
  const v4 = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/.exec(lower)?.[1] ?? lower;
  if (isIPv4(v4)) return v4.startsWith("127.");
  return isIPv6(lower) && /^(?:0{0,4}:){2,7}0{0,3}1$|^::1$/.test(lower);
}

/**
 * Whether a request came over a loopback connection: decided by the connection's peer address alone.
 * The `Host` header, the URL and `X-Forwarded-*` are whatever the client wrote, so they never count; a
 * request whose address the platform does not vouch for is not loopback.
 */
export function isLoopbackRequest(request: Pick<AuthRequest, "clientAddress">): boolean {
  return request.clientAddress !== undefined && isLoopbackAddress(request.clientAddress);
}

/** The credential presented: `dapr-api-token` wins (what the Dapr SDKs send), then a bearer token. */
export function presentedCredential(headers: AuthRequest["headers"]): string | null {
  const daprToken = headers.get("dapr-api-token");
  if (daprToken !== null) return daprToken;
  const authorization = headers.get("authorization");
  const match = authorization === null ? null : /^Bearer\s+(\S+)\s*$/i.exec(authorization);
  return match?.[1] ?? null;
}

/**
 * Digests of the configured tokens, per caller list: a runtime build makes its list once, so each
 * token is hashed once per build instead of on every request.
 */
const tokenDigests = new WeakMap<readonly CallerCredential[], readonly Buffer[]>();

function digestsOf(callers: readonly CallerCredential[]): readonly Buffer[] {
  let digests = tokenDigests.get(callers);
  if (digests === undefined) {
    digests = callers.map((caller) => digest(caller.token));
    tokenDigests.set(callers, digests);
  }
  return digests;
}

/**
 * Digests of presented credentials that matched a configured token, per caller list: a caller sends
 * the same token on every request, and digesting it cost more CPU than anything else in serving a
 * cached secret. Only a credential that matched is kept, so there is at most one entry per configured
 * token, whatever clients send; any other credential is digested every time. Looking a string up
 * reveals nothing about its prefix, and the comparison below stays constant-time over every token.
 */
const matchedDigests = new WeakMap<readonly CallerCredential[], Map<string, Buffer>>();

/** Finds the token caller in constant time over every configured token. */
function matchToken(callers: readonly CallerCredential[], presented: string, now: number): CallerCredential | undefined {
  const known = matchedDigests.get(callers);
  const remembered = known?.get(presented);
  const presentedDigest = remembered ?? digest(presented);
  const digests = digestsOf(callers);
  let match: CallerCredential | undefined;
  for (let i = 0; i < callers.length; i++) {
    const caller = callers[i];
    const configured = digests[i];
    if (caller === undefined || configured === undefined) continue;
    const valid = caller.notAfter === undefined || caller.notAfter > now;
    if (timingSafeEqual(presentedDigest, configured) && valid && match === undefined) match = caller;
  }
  if (match !== undefined && remembered === undefined) {
    if (known === undefined) matchedDigests.set(callers, new Map([[presented, presentedDigest]]));
    else known.set(presented, presentedDigest);
  }
  return match;
}

/**
 * Authenticates a request.
 * @throws PlainTextError 401 `invalid api token` (as daprd) for a missing, wrong, expired or forged credential,
 *   and for a caller without credentials that is not on a loopback connection in anonymous mode
 * @throws {@link ApiError} 403 `ERR_PERMISSION_DENIED` for a valid Entra ID token of an unknown principal
 * @throws {@link ApiError} 503 `ERR_NO_CALLERS_CONFIGURED` when no caller is configured at all
 */
export async function authenticate(policy: AuthPolicy, request: AuthRequest, now: number = Date.now()): Promise<Caller> {
  const outcome = authenticateNow(policy, request, now);
  return "entraToken" in outcome ? authenticateEntraId(policy, outcome.entraToken) : outcome;
}

/** The caller a configured token signs in as: one frozen object per token, not one per request. */
const tokenCallers = new WeakMap<CallerCredential, Caller>();

function tokenCaller(token: CallerCredential): Caller {
  let caller = tokenCallers.get(token);
  if (caller === undefined) {
    caller = Object.freeze({ appId: token.appId, role: token.role ?? "writer", via: "token" });
    tokenCallers.set(token, caller);
  }
  return caller;
}

/**
 * {@link authenticate} up to the one step that must wait: API tokens and anonymous access are decided
 * here without a promise (the router's path for every token-authenticated request); an Entra ID
 * token comes back as `{ entraToken }` for {@link authenticateEntraId}.
 * @throws as {@link authenticate}
 */
export function authenticateNow(policy: AuthPolicy, request: AuthRequest, now: number = Date.now()): Caller | { entraToken: string } {
  const entraCallers = policy.entraCallers ?? [];
  const presented = presentedCredential(request.headers);
  if (policy.callers.length === 0 && entraCallers.length === 0) {
    if (policy.allowAnonymous && presented === null) {
      if (isLoopbackRequest(request)) return { appId: policy.anonymousAppId, role: "writer", via: "anonymous" };
      // Anonymous mode serves loopback connections only: anyone else is an unauthenticated caller.
      throw invalidApiToken();
    }
    throw apiError("noCallersConfigured", {});
  }
  if (presented === null || presented === "") throw invalidApiToken();
  const token = matchToken(policy.callers, presented, now);
  if (token !== undefined) return tokenCaller(token);
  if (policy.entraId !== undefined && entraCallers.length > 0 && looksLikeJwt(presented)) return { entraToken: presented };
  throw invalidApiToken();
}

/**
 * Validates an Entra ID access token and finds its caller.
 * @throws as {@link authenticate}
 */
export async function authenticateEntraId(policy: AuthPolicy, presented: string): Promise<Caller> {
  const entraCallers = policy.entraCallers ?? [];
  if (policy.entraId === undefined) throw invalidApiToken();
  let identity;
  try {
    identity = await policy.entraId.validate(presented);
  } catch {
    throw invalidApiToken();
  }
  const caller = entraCallers.find(
    (c) => (identity.objectId !== undefined && c.objectIds.includes(identity.objectId)) || (identity.clientId !== undefined && c.clientIds.includes(identity.clientId)),
  );
  if (caller === undefined) throw apiError("unknownEntraIdCaller", {});
  return { appId: caller.appId, role: caller.role, via: "entraId" };
}

/**
 * Checks a caller's role against what a route needs.
 * @throws {@link ApiError} 403 `ERR_PERMISSION_DENIED`
 */
export function authorize(caller: Caller, needed: CallerRole, action: string): void {
  if (ROLE_RANK[caller.role] < ROLE_RANK[needed]) {
    throw apiError("roleRequired", { caller: caller.appId, role: caller.role, action, needed });
  }
}
