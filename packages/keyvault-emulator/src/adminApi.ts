/**
 * @module keyvault-emulator/adminApi: the emulator's control API for tests and tools (HTTP, loopback only, no auth).
 *
 * Routes (JSON in and out):
 * - `GET  /health` · `GET /config` (URIs and ports, like the state file)
 * - `GET  /clock` · `POST /clock {shiftSeconds? | advanceSeconds? | reset?}`
 * - `GET  /faults` · `POST /faults {operation, vault?, status?, retryAfterSeconds?, latencyMs?, reset?, count?}` ·
 *   `DELETE /faults` · `DELETE /faults/{id}`
 * - `GET  /requests[?operation=&vault=]` (entries + counts) · `DELETE /requests`
 * - `GET  /vaults` · `POST /vaults {name, port?, permissionModel?, softDelete?}`
 * - `GET  /vaults/{vault}/secrets` (names, versions, attributes; no values)
 * - `PUT  /vaults/{vault}/secrets/{name} {value, contentType?, tags?, enabled?, nbf?, exp?}` (new version, no auth)
 * - `GET  /vaults/{vault}/secrets/{name}[/{version}]` (includes the value, for assertions)
 * - `DELETE /vaults/{vault}/secrets/{name}[?purge=true]`
 * - `POST /seed` (a seed document, JSON)
 * - `GET  /principals` · `POST /principals {name, type?, clientId?, objectId?, resourceId?, roles?}`
 * - `PUT  /principals/{ref}/roles {vault, role}` · `DELETE /principals/{ref}/roles[?vault=&role=]`
 * - `POST /tokens {principal? | objectId+clientId, audience?, lifetimeSeconds?, version?, claims?}`
 * - `GET  /token-lifetime` · `PUT /token-lifetime {seconds}`
 * - `GET  /events` · `DELETE /events` (change notifications, newest last)
 * - `GET  /events/published` (Event Grid events published, newest last) · `POST /events/check` (expiry check now)
 * - `GET  /events/deliveries[?eventId=&eventType=&vault=&secret=&version=&status=&webhook=]` · `DELETE /events/deliveries`
 * - `POST /events/redeliver {eventId, webhook?}` (a duplicate delivery with the same event id)
 * - `GET  /webhooks` · `PUT /webhooks [{url, schema?, eventTypes?, vaults?, name?, validate?}]` (loopback URLs only)
 * - `GET  /webhooks/validate?code=` (the validationUrl of the subscription validation handshake)
 */
import type { IncomingMessage, ServerResponse } from "node:http";
import type { ShiftableClock } from "./clock";
import { isKeyVaultError } from "./errors";
import {
  type DeliveryFilter,
  type DeliveryStatus,
  type EventGridPublisher,
  type EventWebhookConfig,
  parseWebhooks,
  WebhookValidationError,
} from "./eventGrid";
import { type FaultInjector, parseFaultRule, type RequestLog } from "./faults";
import { isLoopback, parseJsonBody, readBody, sendJson } from "./http";
import { isRecord, parseSetSecretBody, type SecretVersionRecord } from "./model";
import { type PrincipalDirectory, parsePrincipalInput } from "./principals";
import { parseRole } from "./rbac";
import { parseSeedDocument, type SeedDocument } from "./seed";
import type { SecretChangeEvent, VaultStore } from "./store";
import type { MintedToken } from "./tokens";

// The webhook type and parser live with the publisher; re-exported for existing importers.
export { type EventWebhookConfig, parseWebhooks } from "./eventGrid";

/** Options for creating a vault at run time. */
export interface CreateVaultRequest {
  name: string;
  port?: number;
  permissionModel?: "rbac" | "accessPolicy";
  softDelete?: { enabled?: boolean; retentionDays?: number; deletionLatencyMs?: number };
}

/** A token request: a known principal (name, object id or client id) or raw ids; audience defaults to the challenge resource. */
export interface MintTokenRequest {
  principalRef?: string;
  objectId?: string;
  clientId?: string;
  audience?: string;
  lifetimeSeconds?: number;
  /** Default "2.0" (Entra ID callers); "1.0" is the managed identity token shape. */
  version?: "1.0" | "2.0";
  /** Extra claims such as `roles` or `scp`. */
  claims?: Record<string, unknown>;
}

/** What the admin API controls; implemented by the server. */
export interface EmulatorControl {
  clock: ShiftableClock;
  faults: FaultInjector;
  requestLog: RequestLog;
  principals: PrincipalDirectory;
  config(): Record<string, unknown>;
  vaultNames(): string[];
  vaultUri(name: string): string;
  store(vault: string): VaultStore | undefined;
  createVault(request: CreateVaultRequest): Promise<string>;
  /** Creates the vaults the seed names that do not exist yet, then writes its principals and secrets. */
  applySeed(doc: SeedDocument): Promise<void>;
  parseSeed(input: unknown): SeedDocument;
  mintToken(request: MintTokenRequest): MintedToken;
  tokenLifetimeSeconds(): number;
  setTokenLifetimeSeconds(seconds: number): void;
  events(): SecretChangeEvent[];
  clearEvents(): void;
  webhooks(): EventWebhookConfig[];
  /** Replaces the webhooks (validation handshakes first, where enabled). */
  setWebhooks(webhooks: EventWebhookConfig[]): Promise<void>;
  /** Event Grid publishing and delivery. */
  eventGrid: EventGridPublisher;
}

class AdminError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

const bad = (message: string): AdminError => new AdminError(400, message);
const notFound = (message: string): AdminError => new AdminError(404, message);

function describeVersion(name: string, v: Omit<SecretVersionRecord, "value">, nowSeconds: number): Record<string, unknown> {
  return {
    name,
    version: v.version,
    enabled: v.enabled,
    ...(v.contentType === undefined ? {} : { contentType: v.contentType }),
    ...(v.tags === undefined ? {} : { tags: v.tags }),
    ...(v.nbf === undefined ? {} : { nbf: v.nbf }),
    ...(v.exp === undefined ? {} : { exp: v.exp }),
    created: v.created,
    updated: v.updated,
    // Handy for expiry tests: evaluated on the emulator clock.
    expired: v.exp !== undefined && v.exp <= nowSeconds,
    notYetValid: v.nbf !== undefined && v.nbf > nowSeconds,
  };
}

/**
 * Creates the admin listener's handler.
 * @param control - the emulator internals
 */
export function createAdminHandler(control: EmulatorControl): (req: IncomingMessage, res: ServerResponse) => void {
  return (req, res) => {
    if (!isLoopback(req.socket.remoteAddress)) {
      req.resume();
      sendJson(res, 403, { error: "the admin API only answers loopback clients" });
      return;
    }
    route(control, req)
      .then(({ status, body }) => sendJson(res, status, body))
      .catch((e: unknown) => {
        if (e instanceof AdminError) sendJson(res, e.status, { error: e.message });
        else if (e instanceof WebhookValidationError) sendJson(res, 400, { error: e.message });
        else if (isKeyVaultError(e)) sendJson(res, e.status, e.toBody());
        else if (e instanceof TypeError || e instanceof RangeError || e instanceof SyntaxError) sendJson(res, 400, { error: e.message });
        else sendJson(res, 500, { error: e instanceof Error ? e.message : String(e) });
      });
  };
}

async function route(control: EmulatorControl, req: IncomingMessage): Promise<{ status: number; body: unknown }> {
  const method = (req.method ?? "GET").toUpperCase();
  const url = new URL(req.url ?? "/", "http://admin.invalid");
  const segs = url.pathname.split("/").filter((s) => s.length > 0).map(decodeURIComponent);
  const body = ["POST", "PUT", "PATCH"].includes(method) ? parseJsonBody(await readBody(req, 4 * 1024 * 1024)) : (req.resume(), undefined);
  const ok = (b: unknown, status = 200): { status: number; body: unknown } => ({ status, body: b });
  const [head, second, third, fourth] = segs;
  if (head === "events" && second !== undefined) return eventsRoute(control, method, second, url, body);
  if (head === "webhooks" && second !== undefined) {
    const code = url.searchParams.get("code");
    if (second !== "validate" || method !== "GET") throw notFound(`no route ${method} ${url.pathname}`);
    if (code === null || !control.eventGrid.confirmValidation(code)) throw notFound("no validation handshake is waiting for this code");
    return ok({ validated: true });
  }
  const key = `${method} /${head ?? ""}`;

  switch (key) {
    case "GET /health":
      return ok({ ok: true });
    case "GET /config":
      return ok(control.config());
    case "GET /clock":
      return ok(clockInfo(control.clock));
    case "POST /clock": {
      if (!isRecord(body)) throw bad("expected {shiftSeconds} or {advanceSeconds} or {reset: true}");
      if (body.reset === true) control.clock.reset();
      if (typeof body.shiftSeconds === "number") control.clock.setShift(body.shiftSeconds * 1000);
      if (typeof body.advanceSeconds === "number") control.clock.advance(body.advanceSeconds * 1000);
      return ok(clockInfo(control.clock));
    }
    case "GET /faults":
      return ok({ faults: control.faults.list() });
    case "POST /faults":
      return ok(control.faults.add(parseFaultRule(body)), 201);
    case "DELETE /faults": {
      const id = second === undefined ? undefined : Number(second);
      if (id !== undefined && !Number.isInteger(id)) throw bad("fault id must be an integer");
      return ok({ removed: control.faults.clear(id) });
    }
    case "GET /requests": {
      const operation = url.searchParams.get("operation") ?? undefined;
      const vault = url.searchParams.get("vault") ?? undefined;
      return ok({
        counts: control.requestLog.summary(),
        entries: control.requestLog.list({ ...(operation ? { operation } : {}), ...(vault ? { vault } : {}) }),
      });
    }
    case "DELETE /requests":
      control.requestLog.reset();
      return ok({ ok: true });
    case "GET /events":
      return ok({ events: control.events() });
    case "DELETE /events":
      control.clearEvents();
      return ok({ ok: true });
    case "GET /webhooks":
      return ok({ webhooks: control.webhooks() });
    case "PUT /webhooks":
      await control.setWebhooks(parseWebhooks(body));
      return ok({ webhooks: control.webhooks() });
    case "GET /token-lifetime":
      return ok({ seconds: control.tokenLifetimeSeconds() });
    case "PUT /token-lifetime": {
      if (!isRecord(body) || typeof body.seconds !== "number" || !(body.seconds > 0)) throw bad("expected {seconds: positive number}");
      control.setTokenLifetimeSeconds(body.seconds);
      return ok({ seconds: control.tokenLifetimeSeconds() });
    }
    case "POST /seed":
      await control.applySeed(control.parseSeed(body));
      return ok({ vaults: Object.fromEntries(control.vaultNames().map((n) => [n, control.vaultUri(n)])) });
    case "POST /tokens":
      return ok(mint(control, body));
    default:
      break;
  }

  if (head === "vaults") {
    if (second === undefined) {
      if (method === "GET") return ok({ vaults: Object.fromEntries(control.vaultNames().map((n) => [n, control.vaultUri(n)])) });
      if (method === "POST") {
        const request = parseCreateVault(body);
        const uri = await control.createVault(request);
        return ok({ name: request.name, uri }, 201);
      }
    }
    const store = second === undefined ? undefined : control.store(second);
    if (!store) throw notFound(`no vault ${second ?? ""}`);
    const nowSeconds = Math.floor(control.clock.now() / 1000);
    if (third === "secrets" && fourth === undefined && method === "GET") {
      return ok({
        secrets: store.list().map((v) => ({
          ...describeVersion(v.name, v.version, nowSeconds),
          versions: store.listVersions(v.name).map((x) => x.version.version),
        })),
        deleted: store.listDeleted().map((d) => ({ name: d.name, deletedDate: d.deletedDate, scheduledPurgeDate: d.scheduledPurgeDate })),
      });
    }
    if (third === "secrets" && fourth !== undefined) {
      const version = segs[4];
      if (method === "PUT" && version === undefined) {
        const view = store.set(fourth, parseSetSecretBody(body));
        return ok(describeVersion(view.name, view.version, nowSeconds), 201);
      }
      if (method === "GET") {
        const view = store.getProperties(fourth, version);
        return ok({ ...describeVersion(view.name, view.version, nowSeconds), value: view.version.value });
      }
      if (method === "DELETE" && version === undefined) {
        store.delete(fourth);
        if (url.searchParams.get("purge") === "true" && store.softDeleteEnabled) store.purge(fourth);
        return ok({ ok: true });
      }
    }
    throw notFound(`no route ${method} ${url.pathname}`);
  }

  if (head === "principals") {
    if (second === undefined) {
      if (method === "GET") return ok({ principals: control.principals.list(), roleAssignments: control.principals.roleAssignments() });
      if (method === "POST") return ok(control.principals.add(parsePrincipalInput(body)), 201);
    }
    const principal = second === undefined ? undefined : control.principals.findByRef(second);
    if (!principal) throw notFound(`no principal ${second ?? ""}`);
    if (third === "roles" && method === "PUT") {
      if (!isRecord(body) || typeof body.vault !== "string" || typeof body.role !== "string") throw bad("expected {vault, role}");
      control.principals.assign(principal, body.vault, parseRole(body.role));
      return ok({ roleAssignments: control.principals.roleAssignments().filter((a) => a.principalId === principal.objectId) });
    }
    if (third === "roles" && method === "DELETE") {
      const vault = url.searchParams.get("vault") ?? undefined;
      const role = url.searchParams.get("role");
      const removed = control.principals.revoke(principal, vault, role === null ? undefined : parseRole(role));
      return ok({ removed });
    }
    if (third === undefined && method === "GET") return ok(principal);
  }
  throw notFound(`no route ${method} ${url.pathname}`);
}

const DELIVERY_STATUSES: readonly DeliveryStatus[] = ["pending", "delivered", "failed", "cancelled"];

function eventsRoute(control: EmulatorControl, method: string, sub: string, url: URL, body: unknown): { status: number; body: unknown } {
  const publisher = control.eventGrid;
  switch (`${method} ${sub}`) {
    case "GET published":
      return { status: 200, body: { events: publisher.published() } };
    case "POST check":
      return { status: 200, body: { published: publisher.checkExpiry() } };
    case "GET deliveries": {
      const filter: DeliveryFilter = {};
      for (const field of ["eventId", "eventType", "vault", "secret", "version", "webhook"] as const) {
        const v = url.searchParams.get(field);
        if (v !== null) filter[field] = v;
      }
      const status = url.searchParams.get("status");
      if (status !== null) {
        if (!DELIVERY_STATUSES.includes(status as DeliveryStatus)) throw bad(`status must be one of ${DELIVERY_STATUSES.join(", ")}`);
        filter.status = status as DeliveryStatus;
      }
      return { status: 200, body: { deliveries: publisher.deliveries(filter) } };
    }
    case "DELETE deliveries":
      publisher.clearDeliveries();
      return { status: 200, body: { ok: true } };
    case "POST redeliver": {
      if (!isRecord(body) || typeof body.eventId !== "string") throw bad("expected {eventId, webhook?}");
      if (body.webhook !== undefined && typeof body.webhook !== "string") throw bad("webhook must be a URL or subscription name");
      try {
        return { status: 202, body: { deliveries: publisher.redeliver(body.eventId, body.webhook) } };
      } catch (e) {
        if (e instanceof RangeError) throw notFound(e.message);
        throw e;
      }
    }
    default:
      throw notFound(`no route ${method} ${url.pathname}`);
  }
}

function parseCreateVault(body: unknown): CreateVaultRequest {
  if (!isRecord(body) || typeof body.name !== "string") throw bad("expected {name, port?, permissionModel?, softDelete?}");
  const { name, port, permissionModel, softDelete } = body;
  if (port !== undefined && (typeof port !== "number" || !Number.isInteger(port) || port < 0 || port > 65535)) throw bad("port must be a port number");
  if (permissionModel !== undefined && permissionModel !== "rbac" && permissionModel !== "accessPolicy") {
    throw bad('permissionModel must be "rbac" or "accessPolicy"');
  }
  // The seed parser already validates soft-delete settings; reuse it through a one-vault document.
  const parsed = parseSeedDocument({ vaults: { [name]: { ...(softDelete === undefined ? {} : { softDelete }) } } }, 0).vaults[name];
  return {
    name,
    ...(typeof port === "number" ? { port } : {}),
    ...(permissionModel === undefined ? {} : { permissionModel }),
    ...(parsed?.softDelete ? { softDelete: parsed.softDelete } : {}),
  };
}

function clockInfo(clock: ShiftableClock): Record<string, unknown> {
  const now = clock.now();
  return { now: new Date(now).toISOString(), nowSeconds: Math.floor(now / 1000), shiftSeconds: clock.shiftMs / 1000 };
}

function mint(control: EmulatorControl, body: unknown): Record<string, unknown> {
  if (!isRecord(body)) throw bad("expected {principal | objectId+clientId, audience, ...}");
  const str = (v: unknown, field: string): string | undefined => {
    if (v === undefined) return undefined;
    if (typeof v !== "string") throw bad(`${field} must be a string`);
    return v;
  };
  const version = body.version;
  if (version !== undefined && version !== "1.0" && version !== "2.0") throw bad('version must be "1.0" or "2.0"');
  if (body.lifetimeSeconds !== undefined && (typeof body.lifetimeSeconds !== "number" || !(body.lifetimeSeconds > 0))) {
    throw bad("lifetimeSeconds must be a positive number");
  }
  if (body.claims !== undefined && !isRecord(body.claims)) throw bad("claims must be an object");
  const principalRef = str(body.principal, "principal");
  const objectId = str(body.objectId, "objectId");
  const clientId = str(body.clientId, "clientId");
  const audience = str(body.audience, "audience");
  const minted = control.mintToken({
    ...(principalRef === undefined ? {} : { principalRef }),
    ...(objectId === undefined ? {} : { objectId }),
    ...(clientId === undefined ? {} : { clientId }),
    ...(audience === undefined ? {} : { audience }),
    ...(typeof body.lifetimeSeconds === "number" ? { lifetimeSeconds: body.lifetimeSeconds } : {}),
    ...(version === undefined ? {} : { version }),
    ...(isRecord(body.claims) ? { claims: body.claims } : {}),
  });
  return { access_token: minted.token, token_type: "Bearer", expires_on: minted.claims.exp, claims: minted.claims };
}
