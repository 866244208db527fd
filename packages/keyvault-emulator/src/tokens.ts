/**
 * @module keyvault-emulator/tokens: RS256 access tokens the emulator signs, their validation and the JWKS.
 *
 * Built on node:crypto rather than jose because jose 6 is ESM-only and this project compiles to CommonJS;
 * the tests cross-check the tokens and the JWKS with jose. Times come from the emulator clock, so a clock
 * shift expires tokens.
 */
import { createHash, createPrivateKey, createPublicKey, generateKeyPairSync, type KeyObject, randomUUID, sign, verify } from "node:crypto";
import { type Clock, toUnixSeconds } from "./clock";
import { isRecord } from "./model";

/** Claims of the tokens the emulator issues (Entra ID v1.0 or v2.0 access-token shape). */
export interface AccessTokenClaims {
  aud: string;
  iss: string;
  iat: number;
  nbf: number;
  exp: number;
  oid: string;
  sub: string;
  tid: string;
  ver: "1.0" | "2.0";
  uti: string;
  /** v1.0 tokens: application (client) id. */
  appid?: string;
  appidacr?: string;
  idp?: string;
  /** v2.0 tokens: application (client) id. */
  azp?: string;
  azpacr?: string;
  /** Managed identity resource id (user-assigned identities). */
  xms_mirid?: string;
  [claim: string]: unknown;
}

/** Who a token is for. */
export interface TokenSubject {
  objectId: string;
  clientId: string;
  resourceId?: string;
}

/** Options for {@link TokenIssuer.mint}. */
export interface MintOptions {
  audience: string;
  subject: TokenSubject;
  lifetimeSeconds: number;
  /** "1.0" (managed identity tokens, `iss` = sts.windows.net) or "2.0" (`iss` = the emulator's OIDC issuer). */
  version?: "1.0" | "2.0";
  /** Extra claims (roles, scp, ...); cannot override the registered ones. */
  extraClaims?: Record<string, unknown>;
}

/** A signed token. */
export interface MintedToken {
  token: string;
  claims: AccessTokenClaims;
}

/** Why a token was refused. */
export type TokenFailureReason = "malformed" | "unknownKey" | "signature" | "expired" | "notYetValid" | "audience" | "issuer";

/** Outcome of {@link TokenIssuer.verify}. */
export type TokenCheck =
  | { ok: true; claims: AccessTokenClaims }
  | { ok: false; reason: TokenFailureReason; message: string; claims?: AccessTokenClaims };

/** Public key set (RFC 7517). */
export interface Jwks {
  keys: Array<Record<string, unknown>>;
}

/** Tolerated clock skew when checking `exp`/`nbf`, like Entra ID's token validation defaults. */
export const CLOCK_SKEW_SECONDS = 300;

/** Options for {@link TokenIssuer}. */
export interface TokenIssuerOptions {
  tenantId: string;
  clock: Clock;
  /** PKCS#8 PEM RSA key; a fresh 2048-bit key when absent. Pass one to keep tokens valid across restarts. */
  privateKeyPem?: string;
  /** The v2.0 issuer, e.g. `http://127.0.0.1:<port>/<tenant>/v2.0` (set once the identity listener is up). */
  v2Issuer?: string;
}

function b64url(v: Buffer | string): string {
  return Buffer.from(v).toString("base64url");
}

function decodeSegment(segment: string): unknown {
  try {
    return JSON.parse(Buffer.from(segment, "base64url").toString("utf8"));
  } catch {
    return undefined;
  }
}

function isClaims(v: unknown): v is AccessTokenClaims {
  return (
    isRecord(v) &&
    typeof v.aud === "string" &&
    typeof v.iss === "string" &&
    typeof v.exp === "number" &&
    typeof v.nbf === "number" &&
    typeof v.oid === "string" &&
    typeof v.tid === "string"
  );
}

/** Signs and validates the emulator's access tokens. */
export class TokenIssuer {
  readonly tenantId: string;
  /** JWK thumbprint (RFC 7638) of the signing key, sent as the JWT `kid`. */
  readonly kid: string;
  /** The v2.0 issuer; undefined until the OIDC endpoint is known. */
  v2Issuer: string | undefined;
  private readonly clock: Clock;
  private readonly privateKey: KeyObject;
  private readonly publicKey: KeyObject;

  /** @param options - see {@link TokenIssuerOptions} */
  constructor(options: TokenIssuerOptions) {
    this.tenantId = options.tenantId;
    this.clock = options.clock;
    this.v2Issuer = options.v2Issuer;
    if (options.privateKeyPem) {
      this.privateKey = createPrivateKey(options.privateKeyPem);
      this.publicKey = createPublicKey(this.privateKey);
    } else {
      const pair = generateKeyPairSync("rsa", { modulusLength: 2048 });
      this.privateKey = pair.privateKey;
      this.publicKey = pair.publicKey;
    }
    const jwk = this.publicKey.export({ format: "jwk" });
    const thumbprintInput = JSON.stringify({ e: jwk.e, kty: "RSA", n: jwk.n });
    this.kid = createHash("sha256").update(thumbprintInput).digest("base64url");
  }

  /** The issuer of v1.0 tokens (what managed identity tokens carry). */
  get v1Issuer(): string {
    return `https://sts.windows.net/${this.tenantId}/`;
  }

  /** The signing key's PEM (to persist it across restarts). */
  exportPrivateKeyPem(): string {
    return this.privateKey.export({ format: "pem", type: "pkcs8" }).toString();
  }

  /** The public keys, as served at the JWKS endpoint. */
  jwks(): Jwks {
    const jwk = this.publicKey.export({ format: "jwk" });
    return { keys: [{ kty: "RSA", use: "sig", alg: "RS256", kid: this.kid, n: jwk.n, e: jwk.e, issuer: this.v2Issuer }] };
  }

  /**
   * Signs a token valid from now (emulator clock) for `lifetimeSeconds`.
   * @param options - audience, subject, lifetime, version
   * @throws RangeError for a v2.0 token before the v2 issuer is known, or a non-positive lifetime
   */
  mint(options: MintOptions): MintedToken {
    if (!(options.lifetimeSeconds > 0)) throw new RangeError("lifetimeSeconds must be positive");
    const version = options.version ?? "1.0";
    if (version === "2.0" && !this.v2Issuer) throw new RangeError("the v2.0 issuer is not configured");
    const now = toUnixSeconds(this.clock.now());
    const { objectId, clientId, resourceId } = options.subject;
    const registered: AccessTokenClaims =
      version === "1.0"
        ? {
            aud: options.audience,
            iss: this.v1Issuer,
            iat: now,
            nbf: now,
            exp: now + Math.floor(options.lifetimeSeconds),
            appid: clientId,
            appidacr: "2",
            idp: this.v1Issuer,
            oid: objectId,
            sub: objectId,
            tid: this.tenantId,
            uti: b64url(randomUUID()),
            ver: "1.0",
            ...(resourceId === undefined ? {} : { xms_mirid: resourceId }),
          }
        : {
            aud: options.audience,
            iss: this.v2Issuer ?? "",
            iat: now,
            nbf: now,
            exp: now + Math.floor(options.lifetimeSeconds),
            azp: clientId,
            azpacr: "2",
            oid: objectId,
            sub: objectId,
            tid: this.tenantId,
            uti: b64url(randomUUID()),
            ver: "2.0",
          };
    const claims: AccessTokenClaims = { ...(options.extraClaims ?? {}), ...registered };
    const header = { typ: "JWT", alg: "RS256", kid: this.kid };
    const signingInput = `${b64url(JSON.stringify(header))}.${b64url(JSON.stringify(claims))}`;
    const signature = sign("sha256", Buffer.from(signingInput), this.privateKey);
    return { token: `${signingInput}.${b64url(signature)}`, claims };
  }

  /**
   * Validates signature, issuer, audience and lifetime (emulator clock, {@link CLOCK_SKEW_SECONDS} leeway).
   * @param token - the compact JWT from `Authorization: Bearer`
   * @param audiences - accepted `aud` values
   */
  verify(token: string, audiences: readonly string[]): TokenCheck {
    const parts = token.split(".");
    if (parts.length !== 3) return { ok: false, reason: "malformed", message: "The token is not a compact JWS." };
    const [h = "", p = "", s = ""] = parts;
    const header = decodeSegment(h);
    const claims = decodeSegment(p);
    if (!isRecord(header) || !isClaims(claims)) return { ok: false, reason: "malformed", message: "The token cannot be decoded." };
    if (header.alg !== "RS256" || header.kid !== this.kid) {
      return { ok: false, reason: "unknownKey", message: `Unable to resolve the key used for signature validation. EncodedJwtHeader: '${h}'.`, claims };
    }
    if (!verify("sha256", Buffer.from(`${h}.${p}`), this.publicKey, Buffer.from(s, "base64url"))) {
      return { ok: false, reason: "signature", message: "The token signature is invalid.", claims };
    }
    const issuers = [this.v1Issuer, ...(this.v2Issuer ? [this.v2Issuer] : [])];
    if (!issuers.includes(claims.iss) || claims.tid !== this.tenantId) {
      return { ok: false, reason: "issuer", message: `Invalid issuer. Expected one of ${issuers.join(", ")}, found ${claims.iss}.`, claims };
    }
    if (!audiences.includes(claims.aud)) {
      return { ok: false, reason: "audience", message: `Invalid audience. Expected ${audiences[0] ?? ""}, found: ${claims.aud}.`, claims };
    }
    const now = toUnixSeconds(this.clock.now());
    if (claims.exp + CLOCK_SKEW_SECONDS <= now) return { ok: false, reason: "expired", message: "Token expired.", claims };
    if (claims.nbf - CLOCK_SKEW_SECONDS > now) return { ok: false, reason: "notYetValid", message: "Token not yet valid.", claims };
    return { ok: true, claims };
  }
}
