/**
 * @module Microsoft Entra ID access tokens: validation with `jose` against the issuer's keys
 * (OIDC discovery, cached JWKS), with an allow-list of asymmetric algorithms only.
 */
import type { JWTPayload, createRemoteJWKSet } from "jose" with { "resolution-mode": "import" };
import { isRecord } from "../shared/guards";

/** `jose` is ESM-only: loaded with a dynamic import from this CommonJS build. */
type Jose = typeof import("jose", { with: { "resolution-mode": "import" } });
type KeySet = ReturnType<typeof createRemoteJWKSet>;

/** How tokens are validated. */
export interface EntraIdOptions {
  /** Accepted issuers, e.g. `https://login.microsoftonline.com/<tenant>/v2.0` (and the v1 `https://sts.windows.net/<tenant>/`). */
  issuers: readonly string[];
  /** Accepted audiences, e.g. `api://vaultstate` or the app registration's client id. */
  audiences: readonly string[];
  /** Signature algorithms accepted; `none` and HMAC (`HS*`) are refused whatever is configured. */
  algorithms?: readonly string[];
  /** Allowed clock skew for `exp`/`nbf`, in seconds. */
  clockToleranceInSeconds?: number;
}

/** The claims vaultstate uses to find the caller. */
export interface EntraIdentity {
  objectId: string | undefined;
  /** `azp` (v2 tokens) or `appid` (v1 tokens): the client application. */
  clientId: string | undefined;
  tenantId: string | undefined;
}

/** Validates access tokens. */
export interface EntraIdValidator {
  /**
   * @throws Error with a reason (never the token) when the token is not acceptable
   */
  validate(token: string): Promise<EntraIdentity>;
}

const ASYMMETRIC = /^(RS|PS|ES)(256|384|512)$|^EdDSA$/;

/** The algorithms actually allowed: the configured ones minus anything that is not asymmetric (pure). */
export function allowedAlgorithms(configured: readonly string[] | undefined): string[] {
  return (configured ?? ["RS256"]).filter((a) => ASYMMETRIC.test(a));
}

/** Whether a bearer value has the shape of a JWT (three base64url parts), as opposed to an API token. */
export function looksLikeJwt(value: string): boolean {
  return /^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*$/.test(value);
}

function stringClaim(payload: JWTPayload, name: string): string | undefined {
  const v = payload[name];
  return typeof v === "string" ? v : undefined;
}

/**
 * Creates a validator. Keys are fetched from each issuer's `jwks_uri` (found by OIDC discovery) on
 * first use and cached by `jose` (refetched on an unknown `kid`, rate-limited).
 */
export function createEntraIdValidator(options: EntraIdOptions): EntraIdValidator {
  const algorithms = allowedAlgorithms(options.algorithms);
  if (algorithms.length === 0) throw new Error("no acceptable (asymmetric) algorithm is configured for Entra ID tokens");
  const joseModule: Promise<Jose> = import("jose");
  const keySets = new Map<string, Promise<KeySet>>();

  const keySetFor = (issuer: string): Promise<KeySet> => {
    let keySet = keySets.get(issuer);
    if (keySet === undefined) {
      keySet = (async () => {
        const jose = await joseModule;
        const response = await fetch(`${issuer.replace(/\/+$/, "")}/.well-known/openid-configuration`, { signal: AbortSignal.timeout(10_000) });
        if (!response.ok) throw new Error(`OIDC discovery for ${issuer} answered ${response.status}`);
        const document: unknown = await response.json();
        const jwksUri = isRecord(document) ? document.jwks_uri : undefined;
        if (typeof jwksUri !== "string") throw new Error(`OIDC discovery for ${issuer} has no jwks_uri`);
        return jose.createRemoteJWKSet(new URL(jwksUri), { cacheMaxAge: 24 * 60 * 60 * 1000, cooldownDuration: 30_000 });
      })();
      keySet.catch(() => keySets.delete(issuer));
      keySets.set(issuer, keySet);
    }
    return keySet;
  };

  return {
    async validate(token) {
      const jose = await joseModule;
      let unverified: JWTPayload;
      try {
        unverified = jose.decodeJwt(token);
      } catch {
        throw new Error("the bearer token is not a JWT");
      }
      const issuer = typeof unverified.iss === "string" ? options.issuers.find((i) => i === unverified.iss) : undefined;
      if (issuer === undefined) throw new Error("the token's issuer is not accepted");
      const keys = await keySetFor(issuer);
      let payload: JWTPayload;
      try {
        ({ payload } = await jose.jwtVerify(token, keys, {
          issuer,
          audience: [...options.audiences],
          algorithms,
          clockTolerance: options.clockToleranceInSeconds ?? 60,
          requiredClaims: ["exp"],
        }));
      } catch (e) {
        throw new Error(`the token was rejected: ${e instanceof Error ? (e as { code?: string }).code ?? e.name : "invalid"}`);
      }
      return { objectId: stringClaim(payload, "oid"), clientId: stringClaim(payload, "azp") ?? stringClaim(payload, "appid"), tenantId: stringClaim(payload, "tid") };
    },
  };
}
