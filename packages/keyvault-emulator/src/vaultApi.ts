/**
 * @module keyvault-emulator/vaultApi: the Key Vault secrets REST API of one vault, as an HTTP handler.
 *
 * Order of checks per request: challenge auth (before the body is read, because the SDK's first request
 * carries no token and an empty body) → token validation → route → api-version → fault injection → name
 * validation → role check → body → store.
 */
import { randomUUID } from "node:crypto";
import type { IncomingMessage, ServerResponse } from "node:http";
import { decodeBackup, encodeBackup, type SecretBackupPayload } from "./backup";
import { type Clock } from "./clock";
import { isKeyVaultError, KeyVaultError, kvErrors } from "./errors";
import { type FaultInjector, type RequestLog, type RequestLogEntry } from "./faults";
import { BodyError, delay, parseJsonBody, readBody, sendJson } from "./http";
import { parseRestoreBody, parseSetSecretBody, parseUpdateSecretBody, validateSecretName } from "./model";
import { decodeSkipToken, encodeSkipToken, paginate, parseMaxResults } from "./paging";
import type { PrincipalDirectory } from "./principals";
import { forbiddenError, isAuthorized, type PermissionModel, type SecretOperation } from "./rbac";
import type { SecretVersionView, VaultStore } from "./store";
import type { AccessTokenClaims, TokenFailureReason, TokenIssuer } from "./tokens";
import {
  toDeletedSecretBundle,
  toDeletedSecretItem,
  toSecretBundle,
  toSecretItem,
  type WireContext,
  type WireListResult,
} from "./wire";

/** api-versions of the secrets API the emulator accepts: every version `@azure/keyvault-secrets` 4.12 can send, and every preview. */
export const SUPPORTED_API_VERSIONS: readonly string[] = [
  "2016-10-01",
  "7.0",
  "7.1",
  "7.2",
  "7.3",
  "7.4",
  "7.5",
  "7.6-preview.1",
  "7.6-preview.2",
  "7.6",
  "2025-07-01",
  "2026-04-01",
  // Preview versions of the secrets API (azure-rest-api-specs keyvault data-plane preview folders).
  "7.0-preview",
  "7.1-preview",
  "7.2-preview",
  "7.3-preview",
  "7.4-preview.1",
  "7.5-preview.1",
  "2025-06-01-preview",
  "2026-01-01-preview",
];

/** A matched route. */
export interface RouteMatch {
  operation: SecretOperation;
  secretName?: string;
  version?: string;
}

/** Outcome of {@link matchRoute}. */
export type RouteResult = ({ ok: true } & RouteMatch) | { ok: false; error: KeyVaultError };

function safeDecode(segment: string): string {
  try {
    return decodeURIComponent(segment);
  } catch {
    return segment;
  }
}

/**
 * Maps method and path to an operation, exactly as `@azure/keyvault-secrets` 4.12 builds them
 * (`GET /secrets/{name}/` with a trailing slash means the current version).
 * @param method - HTTP method
 * @param pathname - URL path, without query
 */
export function matchRoute(method: string, pathname: string): RouteResult {
  const segs = pathname.split("/").slice(1).map(safeDecode);
  const collection = (segs[0] ?? "").toLowerCase();
  const m = method.toUpperCase();
  const route = (operation: SecretOperation, secretName?: string, version?: string): RouteResult => ({
    ok: true,
    operation,
    ...(secretName === undefined ? {} : { secretName }),
    ...(version === undefined ? {} : { version }),
  });
  const notAllowed = (): RouteResult => ({ ok: false, error: kvErrors.methodNotAllowed(m, pathname) });
  if (collection === "secrets") {
    const name = segs[1];
    const third = segs[2];
    if (name === undefined || (name === "" && segs.length === 2)) return m === "GET" ? route("listSecrets") : notAllowed();
    if (segs.length === 2 && name.toLowerCase() === "restore" && m === "POST") return route("restoreSecret");
    if (segs.length === 2) {
      if (m === "PUT") return route("setSecret", name);
      if (m === "DELETE") return route("deleteSecret", name);
      if (m === "GET") return route("getSecret", name, "");
      if (m === "PATCH") return route("updateSecret", name, "");
      return notAllowed();
    }
    if (segs.length === 3 && third !== undefined) {
      const lower = third.toLowerCase();
      if (lower === "versions" && m === "GET") return route("listSecretVersions", name);
      if (lower === "backup" && m === "POST") return route("backupSecret", name);
      if (m === "GET") return route("getSecret", name, third);
      if (m === "PATCH") return route("updateSecret", name, third);
      return notAllowed();
    }
  }
  if (collection === "deletedsecrets") {
    const name = segs[1];
    if (name === undefined || (name === "" && segs.length === 2)) return m === "GET" ? route("listDeletedSecrets") : notAllowed();
    if (segs.length === 2) {
      if (m === "GET") return route("getDeletedSecret", name);
      if (m === "DELETE") return route("purgeDeletedSecret", name);
      return notAllowed();
    }
    if (segs.length === 3 && segs[2]?.toLowerCase() === "recover") return m === "POST" ? route("recoverDeletedSecret", name) : notAllowed();
  }
  return { ok: false, error: kvErrors.unknownRoute(m, pathname) };
}

/**
 * Checks the `api-version` query parameter (`URLSearchParams` already decodes the SDK's `api%2Dversion`).
 * @param query - the request's query
 * @returns the version
 * @throws KeyVaultError 400 when missing or unknown
 */
export function checkApiVersion(query: URLSearchParams): string {
  const v = query.get("api-version");
  if (v === null || v === "") throw kvErrors.missingApiVersion();
  if (!SUPPORTED_API_VERSIONS.includes(v)) throw kvErrors.unknownApiVersion(v);
  return v;
}

/** How the vault challenges clients. */
export interface ChallengeSettings {
  /** `authorization="…"`: `https://login.microsoftonline.com/<tenant>`. */
  authorization: string;
  /** `resource="…"`; the scope the SDK asks the credential for is `<resource>/.default`. */
  resource: string;
  /** `aud` values accepted in tokens. */
  audiences: readonly string[];
  /**
   * How to answer a token the emulator clock finds expired or not yet valid: "plain" sends the ordinary
   * challenge, as the real service does (the SDK alone then keeps its cached token); "cae" sends the
   * continuous-access-evaluation challenge (`error="insufficient_claims"`), which makes the SDK drop its
   * cached token and ask the credential again.
   */
  expiredTokenChallenge: "cae" | "plain";
}

/** ARM context used in 403 messages. */
export interface AzureContext {
  subscriptionId: string;
  resourceGroup: string;
  location: string;
}

/** Everything a vault handler needs. */
export interface VaultHandlerDeps {
  vaultName: string;
  store: VaultStore;
  permissionModel: PermissionModel;
  issuer: TokenIssuer;
  challenge: ChallengeSettings;
  principals: PrincipalDirectory;
  faults: FaultInjector;
  requestLog: RequestLog;
  clock: Clock;
  azure: AzureContext;
  backupKey: Buffer;
  /** Origin used when the Host header is missing or odd. */
  fallbackOrigin: string;
  /** Operation log sink (names and versions only, never values). */
  logger?: (line: string) => void;
}

const MAX_BODY_BYTES = 1024 * 1024;
const SERVICE_VERSION = "1.9.0.0-vaultstate-emulator";

/** The 401 message the service sends for each token problem (observed wording where known). */
function unauthorizedMessage(reason: TokenFailureReason, detail: string): string {
  switch (reason) {
    case "expired":
      return "[TokenExpired] Error validating token: 'S2S12086'.";
    case "audience":
      return `AKV10022: ${detail}`;
    case "issuer":
      return `AKV10032: ${detail}`;
    case "unknownKey":
      return `AKV10046: ${detail}`;
    default:
      return `Error validating token: ${detail}`;
  }
}

function challengeHeader(c: ChallengeSettings): string {
  return `Bearer authorization="${c.authorization}", resource="${c.resource}"`;
}

function caeChallengeHeader(nowSeconds: number): string {
  // Same shape as the service's CAE challenge; the SDK base64-decodes `claims` and passes them to getToken.
  const claims = Buffer.from(JSON.stringify({ access_token: { nbf: { essential: true, value: String(nowSeconds) } } })).toString("base64");
  return `Bearer realm="", authorization_uri="https://login.microsoftonline.com/common/oauth2/authorize", error="insufficient_claims", claims="${claims}"`;
}

function originOf(req: IncomingMessage, fallback: string): string {
  const host = req.headers.host;
  return host && /^[A-Za-z0-9.\-:[\]]+$/.test(host) ? `https://${host}` : fallback;
}

/**
 * Creates the request handler of one vault.
 * @param deps - store, auth and diagnostics
 */
export function createVaultHandler(deps: VaultHandlerDeps): (req: IncomingMessage, res: ServerResponse) => void {
  return (req, res) => {
    handle(deps, req, res).catch((e: unknown) => {
      // A bug in the emulator: answer like a server error instead of hanging the client.
      deps.logger?.(`[kv-emulator] internal error: ${e instanceof Error ? e.message : String(e)}`);
      sendJson(res, 500, new KeyVaultError(500, "InternalServerError", "Emulator internal error.").toBody());
    });
  };
}

async function handle(deps: VaultHandlerDeps, req: IncomingMessage, res: ServerResponse): Promise<void> {
  const started = Date.now();
  const method = (req.method ?? "GET").toUpperCase();
  const url = new URL(req.url ?? "/", "https://emulator.invalid");
  const route = matchRoute(method, url.pathname);
  const requestId = randomUUID();
  const baseHeaders: Record<string, string> = {
    "Cache-Control": "no-cache",
    "x-ms-request-id": requestId,
    "x-ms-keyvault-service-version": SERVICE_VERSION,
    "x-ms-keyvault-region": deps.azure.location,
    "X-Content-Type-Options": "nosniff",
  };
  const clientRequestId = req.headers["x-ms-client-request-id"];
  if (typeof clientRequestId === "string") baseHeaders["x-ms-client-request-id"] = clientRequestId;

  const logEntry: Omit<RequestLogEntry, "seq" | "status" | "durationMs"> = {
    time: new Date(deps.clock.now()).toISOString(),
    listener: "vault",
    vault: deps.vaultName,
    method,
    path: url.pathname,
    operation: route.ok ? route.operation : "unknown",
    ...(route.ok && route.secretName !== undefined ? { secretName: route.secretName } : {}),
    ...(route.ok && route.version ? { version: route.version } : {}),
  };
  const finish = (status: number, extra: Partial<RequestLogEntry> = {}): void => {
    const entry = deps.requestLog.record({ ...logEntry, ...extra, status, durationMs: Date.now() - started });
    deps.logger?.(
      `[kv-emulator] ${status} ${entry.operation} vault=${deps.vaultName}` +
        (entry.secretName === undefined ? "" : ` name=${entry.secretName}`) +
        (entry.version ? ` version=${entry.version}` : "") +
        (entry.principalId ? ` principal=${entry.principalId}` : "") +
        (entry.fault ? ` fault=${entry.fault}` : "") +
        ` ${entry.durationMs}ms`,
    );
  };
  const fail = (error: KeyVaultError, extra: Partial<RequestLogEntry> = {}): void => {
    sendJson(res, error.status, error.toBody(), { ...baseHeaders, ...error.headers });
    finish(error.status, extra);
  };

  // 1. Challenge: answer before touching the body.
  const authorization = req.headers.authorization;
  const bearer = authorization?.match(/^Bearer\s+(\S+)\s*$/i)?.[1];
  if (!bearer) {
    req.resume();
    fail(
      new KeyVaultError(401, "Unauthorized", "AKV10000: Request is missing a Bearer or PoP token.", undefined, {
        "WWW-Authenticate": challengeHeader(deps.challenge),
      }),
    );
    return;
  }
  const check = deps.issuer.verify(bearer, deps.challenge.audiences);
  if (!check.ok) {
    req.resume();
    const timeProblem = check.reason === "expired" || check.reason === "notYetValid";
    const header =
      timeProblem && deps.challenge.expiredTokenChallenge === "cae"
        ? caeChallengeHeader(Math.floor(deps.clock.now() / 1000))
        : challengeHeader(deps.challenge);
    fail(new KeyVaultError(401, "Unauthorized", unauthorizedMessage(check.reason, check.message), undefined, { "WWW-Authenticate": header }));
    return;
  }
  const claims: AccessTokenClaims = check.claims;
  const principalExtra = { principalId: claims.oid };

  try {
    if (!route.ok) throw route.error;
    const apiVersion = checkApiVersion(url.searchParams);

    const fault = deps.faults.take(route.operation, deps.vaultName);
    if (fault?.latencyMs) await delay(fault.latencyMs);
    if (fault?.reset) {
      req.socket.destroy();
      finish(0, { ...principalExtra, fault: "reset" });
      return;
    }
    if (fault?.status !== undefined) {
      req.resume();
      fail(kvErrors.injected(fault.status, fault.retryAfterSeconds), { ...principalExtra, fault: "status" });
      return;
    }

    if (route.secretName !== undefined) validateSecretName(route.secretName);
    if (!isAuthorized(deps.principals.roleAssignments(), claims.oid, deps.vaultName, route.operation)) {
      throw forbiddenError({
        model: deps.permissionModel,
        operation: route.operation,
        caller: { appId: claims.appid ?? claims.azp ?? "", objectId: claims.oid, issuer: claims.iss },
        vault: deps.vaultName,
        ...deps.azure,
        ...(route.secretName === undefined ? {} : { secretName: route.secretName }),
      });
    }

    let body: unknown;
    try {
      body = parseJsonBody(await readBody(req, MAX_BODY_BYTES));
    } catch (e) {
      if (e instanceof BodyError) throw kvErrors.badParameter("The request body is too large or could not be read.");
      throw kvErrors.badParameter("The request body is not valid JSON.");
    }

    const ctx: WireContext = {
      origin: originOf(req, deps.fallbackOrigin),
      recoveryLevel: deps.store.recoveryLevel,
      ...(deps.store.recoverableDays === undefined ? {} : { recoverableDays: deps.store.recoverableDays }),
    };
    const result = execute(deps, route, body, ctx, url, apiVersion);
    sendJson(res, result.status, result.body, baseHeaders);
    finish(result.status, { ...principalExtra, ...(result.version ? { version: result.version } : {}) });
  } catch (e) {
    req.resume();
    if (isKeyVaultError(e)) {
      fail(e, principalExtra);
      return;
    }
    throw e;
  }
}

interface ExecResult {
  status: number;
  body: unknown;
  /** Version touched, for the log. */
  version?: string;
}

function execute(deps: VaultHandlerDeps, route: RouteMatch, body: unknown, ctx: WireContext, url: URL, apiVersion: string): ExecResult {
  const { store } = deps;
  const name = route.secretName ?? "";
  switch (route.operation) {
    case "setSecret": {
      const view = store.set(name, parseSetSecretBody(body));
      return { status: 200, body: toSecretBundle(ctx, view, true), version: view.version.version };
    }
    case "getSecret": {
      const view = store.get(name, route.version);
      return { status: 200, body: toSecretBundle(ctx, view, true), version: view.version.version };
    }
    case "updateSecret": {
      const view = store.update(name, route.version, parseUpdateSecretBody(body));
      return { status: 200, body: toSecretBundle(ctx, view, false), version: view.version.version };
    }
    case "listSecrets":
      return { status: 200, body: listPage(ctx, url, apiVersion, "secrets", store.list(), (v) => v.name.toLowerCase(), true, (v) => toSecretItem(ctx, v, false)) };
    case "listSecretVersions": {
      // As recorded from the service: versions come sorted by id (not by creation), and the versions of a
      // secret that does not exist are an empty page, not a 404.
      const versions = versionsOrNone(store, name).sort((a, b) => compareIds(a.version.version, b.version.version));
      return {
        status: 200,
        body: listPage(ctx, url, apiVersion, `versions:${name.toLowerCase()}`, versions, (v) => v.version.version.toLowerCase(), true, (v) =>
          toSecretItem(ctx, v, true),
        ),
      };
    }
    case "deleteSecret": {
      const view = store.delete(name);
      const rendered = "deletedDate" in view ? toDeletedSecretBundle(ctx, view) : toSecretBundle(ctx, view, false);
      return { status: 200, body: rendered, version: view.version.version };
    }
    case "getDeletedSecret": {
      const view = store.getDeleted(name);
      return { status: 200, body: toDeletedSecretBundle(ctx, view), version: view.version.version };
    }
    case "listDeletedSecrets":
      return {
        status: 200,
        body: listPage(ctx, url, apiVersion, "deletedsecrets", store.listDeleted(), (v) => v.name.toLowerCase(), true, (v) => toDeletedSecretItem(ctx, v)),
      };
    case "recoverDeletedSecret": {
      const view = store.recover(name);
      return { status: 200, body: toSecretBundle(ctx, view, false), version: view.version.version };
    }
    case "purgeDeletedSecret":
      store.purge(name);
      return { status: 204, body: undefined };
    case "backupSecret":
      return { status: 200, body: { value: encodeBackup(store.backup(name), deps.backupKey) } };
    case "restoreSecret": {
      const backup: SecretBackupPayload = decodeBackup(parseRestoreBody(body), deps.backupKey);
      const view = store.restore(backup);
      return { status: 200, body: toSecretBundle(ctx, view, false), version: view.version.version };
    }
  }
}

function versionsOrNone(store: VaultStore, name: string): SecretVersionView[] {
  try {
    return [...store.listVersions(name)];
  } catch (e) {
    if (e instanceof KeyVaultError && e.status === 404) return [];
    throw e;
  }
}

function compareIds(a: string, b: string): number {
  const x = a.toLowerCase();
  const y = b.toLowerCase();
  return x < y ? -1 : x > y ? 1 : 0;
}

function listPage<T, W>(
  ctx: WireContext,
  url: URL,
  apiVersion: string,
  scope: string,
  items: readonly T[],
  keyOf: (item: T) => string,
  orderedByKey: boolean,
  render: (item: T) => W,
): WireListResult<W> {
  const maxResultsRaw = url.searchParams.get("maxresults");
  const pageSize = parseMaxResults(maxResultsRaw);
  const token = url.searchParams.get("$skiptoken");
  const marker = token === null || token === "" ? undefined : decodeSkipToken(scope, token);
  const page = paginate(items, keyOf, marker, pageSize, orderedByKey);
  let nextLink: string | null = null;
  if (page.nextMarker !== undefined) {
    const q = new URLSearchParams({ "api-version": apiVersion, $skiptoken: encodeSkipToken(scope, page.nextMarker) });
    if (maxResultsRaw !== null) q.set("maxresults", maxResultsRaw);
    nextLink = `${ctx.origin}${url.pathname}?${q.toString()}`;
  }
  return { value: page.items.map(render), nextLink };
}
