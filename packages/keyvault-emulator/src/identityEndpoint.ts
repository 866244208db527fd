/**
 * @module keyvault-emulator/identityEndpoint: managed identity token endpoints and an OIDC issuer (plain HTTP on 127.0.0.1).
 *
 * - App Service / Functions protocol (`IDENTITY_ENDPOINT` + `IDENTITY_HEADER`, api-version 2019-08-01), what
 *   `ManagedIdentityCredential` uses when both variables are set: `GET /msi/token`.
 * - IMDS protocol (`AZURE_POD_IDENTITY_AUTHORITY_HOST=<base>`): `GET /metadata/identity/oauth2/token[/]`.
 * - OIDC discovery and JWKS for the emulator's tenant, for services that validate Entra ID bearer tokens.
 *
 * `expires_on` is reported on the caller's wall clock (token `exp` minus the emulator's clock shift), so
 * MSAL's cache refreshes when the emulator would start refusing the token.
 */
import { randomUUID } from "node:crypto";
import type { IncomingMessage, ServerResponse } from "node:http";
import type { ShiftableClock } from "./clock";
import type { FaultInjector, IdentityOperation, RequestLog, RequestLogEntry } from "./faults";
import { delay, sendJson } from "./http";
import type { Principal, PrincipalDirectory } from "./principals";
import type { TokenIssuer } from "./tokens";

/** Path of the App Service-style endpoint. */
export const MSI_TOKEN_PATH = "/msi/token";
/** Path of the IMDS-style endpoint (MSAL appends it to `AZURE_POD_IDENTITY_AUTHORITY_HOST`). */
export const IMDS_TOKEN_PATH = "/metadata/identity/oauth2/token";

/** Everything the identity listener needs. */
export interface IdentityHandlerDeps {
  /** Expected `X-IDENTITY-HEADER` value. */
  identityHeader: string;
  principals: PrincipalDirectory;
  issuer: TokenIssuer;
  clock: ShiftableClock;
  /** Lifetime of issued tokens (read per request so the admin API can change it). */
  tokenLifetimeSeconds: () => number;
  faults: FaultInjector;
  requestLog: RequestLog;
  /** `http://127.0.0.1:<port>` of this listener. */
  baseUrl: () => string;
  logger?: (line: string) => void;
}

/**
 * The OIDC discovery document of the emulator's tenant (v2.0 endpoints).
 * @param baseUrl - `http://127.0.0.1:<port>`
 * @param tenantId - tenant
 */
export function openIdConfiguration(baseUrl: string, tenantId: string): Record<string, unknown> {
  const root = `${baseUrl}/${tenantId}`;
  return {
    issuer: `${root}/v2.0`,
    jwks_uri: `${root}/discovery/v2.0/keys`,
    token_endpoint: `${root}/oauth2/v2.0/token`,
    authorization_endpoint: `${root}/oauth2/v2.0/authorize`,
    response_types_supported: ["code", "id_token", "token id_token", "token"],
    subject_types_supported: ["pairwise"],
    id_token_signing_alg_values_supported: ["RS256"],
    token_endpoint_auth_methods_supported: ["client_secret_post", "private_key_jwt", "client_secret_basic"],
    scopes_supported: ["openid", "profile", "email", "offline_access"],
    claims_supported: ["sub", "iss", "aud", "exp", "iat", "nbf", "oid", "tid", "azp", "ver", "roles", "scp"],
    tenant_region_scope: "EU",
    cloud_instance_name: "microsoftonline.com",
  };
}

type Selector = { clientId?: string; objectId?: string; resourceId?: string };

/** Reads the user-assigned selector; more than one is an error, like the platform. */
function readSelector(q: URLSearchParams): Selector | "ambiguous" {
  const clientId = q.get("client_id") ?? undefined;
  const objectId = q.get("principal_id") ?? q.get("object_id") ?? undefined;
  const resourceId = q.get("mi_res_id") ?? q.get("msi_res_id") ?? undefined;
  const given = [clientId, objectId, resourceId].filter((x) => x !== undefined);
  if (given.length > 1) return "ambiguous";
  return {
    ...(clientId === undefined ? {} : { clientId }),
    ...(objectId === undefined ? {} : { objectId }),
    ...(resourceId === undefined ? {} : { resourceId }),
  };
}

function resolvePrincipal(principals: PrincipalDirectory, selector: Selector): Principal | undefined {
  const hasSelector = selector.clientId !== undefined || selector.objectId !== undefined || selector.resourceId !== undefined;
  return hasSelector ? principals.findUserAssigned(selector) : principals.systemAssigned();
}

/**
 * Creates the identity listener's request handler.
 * @param deps - principals, issuer, clock and diagnostics
 */
export function createIdentityHandler(deps: IdentityHandlerDeps): (req: IncomingMessage, res: ServerResponse) => void {
  return (req, res) => {
    handle(deps, req, res).catch((e: unknown) => {
      deps.logger?.(`[kv-emulator] identity internal error: ${e instanceof Error ? e.message : String(e)}`);
      sendJson(res, 500, { statusCode: 500, message: "Emulator internal error." });
    });
  };
}

async function handle(deps: IdentityHandlerDeps, req: IncomingMessage, res: ServerResponse): Promise<void> {
  const started = Date.now();
  const method = (req.method ?? "GET").toUpperCase();
  const url = new URL(req.url ?? "/", "http://emulator.invalid");
  const path = url.pathname;
  const tenant = deps.issuer.tenantId;
  req.resume();

  let operation: IdentityOperation | "unknown" = "unknown";
  if (path === MSI_TOKEN_PATH) operation = "getManagedIdentityToken";
  else if (path === IMDS_TOKEN_PATH || path === `${IMDS_TOKEN_PATH}/`) operation = "getImdsToken";
  else if (path === `/${tenant}/v2.0/.well-known/openid-configuration` || path === `/${tenant}/.well-known/openid-configuration`) {
    operation = "getOpenIdConfiguration";
  } else if (/^\/[^/]+\/discovery(\/v2\.0)?\/keys$/.test(path)) operation = "getJwks";

  const base: Omit<RequestLogEntry, "seq" | "status" | "durationMs"> = {
    time: new Date(deps.clock.now()).toISOString(),
    listener: "identity",
    method,
    path,
    operation,
  };
  const reply = (status: number, body: unknown, extra: Partial<RequestLogEntry> = {}): void => {
    sendJson(res, status, body);
    const entry = deps.requestLog.record({ ...base, ...extra, status, durationMs: Date.now() - started });
    deps.logger?.(
      `[kv-emulator] ${status} ${entry.operation}` + (entry.principalId ? ` principal=${entry.principalId}` : "") + ` ${entry.durationMs}ms`,
    );
  };

  if (operation === "unknown") {
    reply(404, { statusCode: 404, message: `No route for ${method} ${path}.` });
    return;
  }
  if (method !== "GET") {
    reply(405, { statusCode: 405, message: `Method ${method} is not allowed.` });
    return;
  }

  const fault = deps.faults.take(operation);
  if (fault?.latencyMs) await delay(fault.latencyMs);
  if (fault?.reset) {
    req.socket.destroy();
    deps.requestLog.record({ ...base, status: 0, fault: "reset", durationMs: Date.now() - started });
    return;
  }
  if (fault?.status !== undefined) {
    if (fault.retryAfterSeconds !== undefined) res.setHeader("Retry-After", String(fault.retryAfterSeconds));
    reply(fault.status, { statusCode: fault.status, message: "Injected failure." }, { fault: "status" });
    return;
  }

  switch (operation) {
    case "getOpenIdConfiguration": {
      const config = openIdConfiguration(deps.baseUrl(), tenant);
      if (!path.includes("/v2.0/")) {
        // v1.0 discovery: the issuer managed identity tokens carry.
        reply(200, { ...config, issuer: deps.issuer.v1Issuer, jwks_uri: `${deps.baseUrl()}/${tenant}/discovery/keys` });
      } else reply(200, config);
      return;
    }
    case "getJwks":
      reply(200, deps.issuer.jwks());
      return;
    case "getManagedIdentityToken":
      appServiceToken(deps, req, url.searchParams, reply);
      return;
    case "getImdsToken":
      imdsToken(deps, req, url.searchParams, reply);
      return;
  }
}

type Reply = (status: number, body: unknown, extra?: Partial<RequestLogEntry>) => void;

function mintFor(deps: IdentityHandlerDeps, principal: Principal, resource: string): { token: string; expiresOn: number; notBefore: number; lifetime: number } {
  const lifetime = deps.tokenLifetimeSeconds();
  const { token, claims } = deps.issuer.mint({
    audience: resource,
    subject: { objectId: principal.objectId, clientId: principal.clientId, ...(principal.resourceId ? { resourceId: principal.resourceId } : {}) },
    lifetimeSeconds: lifetime,
    version: "1.0",
  });
  const shiftSeconds = Math.round(deps.clock.shiftMs / 1000);
  return { token, expiresOn: claims.exp - shiftSeconds, notBefore: claims.nbf - shiftSeconds, lifetime };
}

function appServiceToken(deps: IdentityHandlerDeps, req: IncomingMessage, q: URLSearchParams, reply: Reply): void {
  const correlationId = randomUUID();
  const error = (status: number, message: string): void => reply(status, { statusCode: status, message, correlationId });
  if (req.headers["x-identity-header"] !== deps.identityHeader) {
    error(401, "Unauthorized: the X-IDENTITY-HEADER header is missing or does not match IDENTITY_HEADER.");
    return;
  }
  const apiVersion = q.get("api-version");
  if (apiVersion === null || !/^\d{4}-\d{2}-\d{2}$/.test(apiVersion) || apiVersion < "2019-08-01") {
    error(400, `The api-version '${apiVersion ?? ""}' is not supported; use 2019-08-01.`);
    return;
  }
  const resource = q.get("resource");
  if (!resource) {
    error(400, "The resource query parameter is required.");
    return;
  }
  const selector = readSelector(q);
  const principal = selector === "ambiguous" ? undefined : resolvePrincipal(deps.principals, selector);
  if (!principal) {
    error(400, "Unable to load the proper Managed Identity.");
    return;
  }
  const t = mintFor(deps, principal, resource);
  reply(
    200,
    {
      access_token: t.token,
      expires_on: String(t.expiresOn),
      not_before: String(t.notBefore),
      resource,
      token_type: "Bearer",
      client_id: principal.clientId,
    },
    { principalId: principal.objectId },
  );
}

function imdsToken(deps: IdentityHandlerDeps, req: IncomingMessage, q: URLSearchParams, reply: Reply): void {
  const error = (status: number, code: string, description: string): void => reply(status, { error: code, error_description: description });
  if (String(req.headers.metadata).toLowerCase() !== "true") {
    error(400, "invalid_request", "Required metadata header not specified");
    return;
  }
  const resource = q.get("resource");
  if (!resource) {
    error(400, "invalid_request", "Required query variable 'resource' is missing");
    return;
  }
  const selector = readSelector(q);
  const principal = selector === "ambiguous" ? undefined : resolvePrincipal(deps.principals, selector);
  if (!principal) {
    error(400, "invalid_request", "Identity not found");
    return;
  }
  const t = mintFor(deps, principal, resource);
  reply(
    200,
    {
      access_token: t.token,
      refresh_token: "",
      expires_in: String(t.lifetime),
      expires_on: String(t.expiresOn),
      ext_expires_in: String(t.lifetime),
      not_before: String(t.notBefore),
      resource,
      token_type: "Bearer",
      client_id: principal.clientId,
    },
    { principalId: principal.objectId },
  );
}
