/**
 * @module keyvault-emulator/eventGrid: Event Grid delivery of Key Vault secret events to loopback webhooks.
 *
 * What it emulates (reference `keyvault-and-events.md` §6):
 * - `Microsoft.KeyVault.SecretNewVersionCreated` on every new version;
 * - `Microsoft.KeyVault.SecretNearExpiry` once per version when `exp − now ≤ 30 d` (and `now < exp`);
 * - `Microsoft.KeyVault.SecretExpired` once per version when `now ≥ exp`.
 *
 * "Once" is keyed by (vault, version, event type) and survives restarts when the emulator persists its state.
 * Expiry is evaluated on the emulator's shiftable clock on a short interval, and at once after a clock shift
 * or a change of `exp`. Like Key Vault, only the current version of a secret is watched for expiry by default.
 *
 * Delivery follows Event Grid's webhook contract: one event per request (an array of one in the Event Grid
 * schema, a single structured-mode CloudEvent otherwise), the `aeg-*` headers, at-least-once delivery with
 * retries on non-2xx answers and network errors, no ordering guarantee. Events carry names, versions and
 * dates, never secret values.
 */
import { randomUUID, timingSafeEqual } from "node:crypto";
import { request as httpRequest, type ClientRequest } from "node:http";
import { request as httpsRequest } from "node:https";
import { rootCertificates } from "node:tls";
import type { ShiftableClock } from "./clock";
import { isRecord, isValidVaultName } from "./model";
import type { SecretChangeEvent, VaultStore } from "./store";

/** The Key Vault secret event types the emulator publishes. */
export const SECRET_EVENT_TYPES = {
  newVersion: "Microsoft.KeyVault.SecretNewVersionCreated",
  nearExpiry: "Microsoft.KeyVault.SecretNearExpiry",
  expired: "Microsoft.KeyVault.SecretExpired",
} as const;

/** One of {@link SECRET_EVENT_TYPES}. */
export type SecretEventType = (typeof SECRET_EVENT_TYPES)[keyof typeof SECRET_EVENT_TYPES];

/** Every Key Vault event type Event Grid knows; a webhook may filter on any of them (the emulator publishes the secret ones). */
export const KEY_VAULT_EVENT_TYPES: readonly string[] = [
  "Microsoft.KeyVault.SecretNewVersionCreated",
  "Microsoft.KeyVault.SecretNearExpiry",
  "Microsoft.KeyVault.SecretExpired",
  "Microsoft.KeyVault.KeyNewVersionCreated",
  "Microsoft.KeyVault.KeyNearExpiry",
  "Microsoft.KeyVault.KeyExpired",
  "Microsoft.KeyVault.CertificateNewVersionCreated",
  "Microsoft.KeyVault.CertificateNearExpiry",
  "Microsoft.KeyVault.CertificateExpired",
  "Microsoft.KeyVault.VaultAccessPolicyChanged",
];

/** Delivery schema of an event subscription (Event Grid's `eventDeliverySchema` values). */
export type EventDeliverySchema = "EventGridSchema" | "CloudEventSchemaV1_0";

/** A webhook (an event subscription with a webhook endpoint). */
export interface EventWebhookConfig {
  /**
   * Loopback http(s) URL (127.0.0.1, localhost or [::1]), e.g.
   * `http://127.0.0.1:7071/runtime/webhooks/eventgrid?functionName=onKeyVaultEvent`.
   */
  url: string;
  /** Default "EventGridSchema". */
  schema?: EventDeliverySchema;
  /** Event types to deliver (full names, or without the `Microsoft.KeyVault.` prefix); default all. */
  eventTypes?: string[];
  /** Vaults to deliver for (case-insensitive); default all. */
  vaults?: string[];
  /** Subscription name (3–64 letters, digits, hyphens): sent upper-cased in `aeg-subscription-name`. Default `webhook-<n>`. */
  name?: string;
  /** Run the subscription validation handshake when registered. Default: the emulator's `validateWebhooks` (false). */
  validate?: boolean;
}

/** Delivery and scheduling settings. Every field is optional. */
export interface EventDeliveryOptions {
  /** Attempts per delivery, first included. Default 5. */
  maxAttempts?: number;
  /**
   * Wait before attempt 2, 3, ... in ms; the last value repeats. Default `[1000, 3000, 6000, 30000]`: Event
   * Grid's 10 s, 30 s, 1 min, 5 min scaled down for local use.
   */
  retryDelaysMs?: number[];
  /** Per-attempt response timeout (Event Grid waits 30 s). Default 30000. */
  timeoutMs?: number;
  /**
   * Statuses that fail a delivery at once instead of retrying. Default none (every non-2xx is retried);
   * Event Grid itself does not retry 400, 401, 403 and 413 from webhooks: pass those to mimic it.
   */
  noRetryStatuses?: number[];
  /** How often near-expiry/expiry is checked. Default 1000 ms (Key Vault: about every 15 minutes). */
  expiryCheckIntervalMs?: number;
  /** Near-expiry window. Default 30 days, as in Key Vault. */
  nearExpiryDays?: number;
  /** Which versions are watched for expiry: the current one (Key Vault's behaviour, default) or every version. */
  expiryEventsFor?: "currentVersion" | "allVersions";
  /** Default of {@link EventWebhookConfig.validate}. Default false. */
  validateWebhooks?: boolean;
  /** How long a validation handshake may take, manual validation URL included. Default 30000 ms. */
  validationTimeoutMs?: number;
  /** Published events and deliveries kept for the logs. Default 1000 each. */
  maxLogEntries?: number;
}

/** `data` of a Key Vault secret event: PascalCase, dates as Unix seconds or null (as the service sends them). */
export interface KeyVaultSecretEventData {
  Id: string;
  VaultName: string;
  ObjectType: "Secret";
  ObjectName: string;
  Version: string;
  NBF: number | null;
  EXP: number | null;
}

/** An event in the Event Grid schema. */
export interface EventGridSchemaEvent {
  id: string;
  topic: string;
  subject: string;
  eventType: string;
  eventTime: string;
  data: KeyVaultSecretEventData;
  dataVersion: string;
  metadataVersion: string;
}

/** An event in the CloudEvents 1.0 schema (structured JSON). */
export interface CloudEventSchemaEvent {
  specversion: "1.0";
  type: string;
  source: string;
  subject: string;
  id: string;
  time: string;
  data: KeyVaultSecretEventData;
}

/** A published event: one occurrence, delivered to every matching webhook with the same id. */
export interface PublishedEvent {
  id: string;
  eventType: SecretEventType;
  vault: string;
  secret: string;
  version: string;
  /** `/subscriptions/<sub>/resourceGroups/<rg>/providers/Microsoft.KeyVault/vaults/<vault>`. */
  topic: string;
  /** Emulator time of the occurrence, ISO 8601 with 7 fractional digits like Event Grid. */
  eventTime: string;
  data: KeyVaultSecretEventData;
}

/** One HTTP attempt of a delivery. */
export interface DeliveryAttempt {
  attempt: number;
  /** Wall-clock time the attempt started. */
  at: string;
  /** HTTP status, absent after a network error or timeout. */
  status?: number;
  /** Network error or timeout message. */
  error?: string;
  durationMs: number;
}

/** Final (or current) state of a delivery. */
export type DeliveryStatus = "pending" | "delivered" | "failed" | "cancelled";

/** One event delivered to one webhook (a redelivery is a separate record with the same event id). */
export interface DeliveryRecord {
  deliveryId: string;
  eventId: string;
  eventType: SecretEventType;
  vault: string;
  secret: string;
  version: string;
  /** The webhook URL. */
  webhook: string;
  /** The subscription name (as configured; the header carries it upper-cased). */
  subscriptionName: string;
  schema: EventDeliverySchema;
  /** True for duplicates injected through redeliver. */
  redelivery: boolean;
  attempts: number;
  status: DeliveryStatus;
  /** Status of the last attempt. */
  statusCode?: number;
  /** Error of the last attempt. */
  error?: string;
  attemptLog: DeliveryAttempt[];
  createdAt: string;
  completedAt?: string;
}

/** Filters of {@link EventGridPublisher.deliveries}; every field is optional. */
export interface DeliveryFilter {
  eventId?: string;
  /** Full or short (`SecretNearExpiry`) event type. */
  eventType?: string;
  vault?: string;
  secret?: string;
  version?: string;
  status?: DeliveryStatus;
  /** Webhook URL or subscription name. */
  webhook?: string;
}

/** Raised when a webhook fails its subscription validation handshake. */
export class WebhookValidationError extends Error {
  override readonly name = "WebhookValidationError";
}

/** What the publisher needs from the emulator. */
export interface EventGridPublisherDeps {
  clock: ShiftableClock;
  /** The vaults, for expiry scans. */
  vaults: () => Array<{ name: string; uri: string; store: VaultStore }>;
  /** A vault's URI, for `data.Id`; undefined for an unknown vault. */
  vaultUri: (vault: string) => string | undefined;
  /** A vault's ARM resource id (the event topic). */
  topicFor: (vault: string) => string;
  /** Base of the manual validation URL (`<admin url>/webhooks/validate`); read when a handshake starts. */
  validationUrlBase?: () => string;
  options?: EventDeliveryOptions;
  /** (vault, version, type) keys already published, e.g. from the persistence file. */
  published?: Iterable<string>;
  /** Called after a new key was added to {@link EventGridPublisher.publishedKeys} (to persist it). */
  onPublished?: () => void;
  /** Extra CA certificates trusted for https webhooks (the emulator's own CA). */
  ca?: Buffer;
  logger?: (line: string) => void;
}

const SCHEMAS: readonly EventDeliverySchema[] = ["EventGridSchema", "CloudEventSchemaV1_0"];
const SCHEMA_ALIASES: Readonly<Record<string, EventDeliverySchema>> = {
  eventgridschema: "EventGridSchema",
  eventgrid: "EventGridSchema",
  cloudeventschemav1_0: "CloudEventSchemaV1_0",
  cloudevents: "CloudEventSchemaV1_0",
  cloudevent: "CloudEventSchemaV1_0",
};
const LOOPBACK_HOSTS = new Set(["127.0.0.1", "localhost", "[::1]"]);
const SUBSCRIPTION_NAME = /^[A-Za-z0-9-]{3,64}$/;
const EVENT_TYPE_PREFIX = "Microsoft.KeyVault.";
const DAY_SECONDS = 86_400;
const RESPONSE_BODY_LIMIT = 64 * 1024;
/** Origin sent in the CloudEvents abuse-protection handshake (Event Grid's public cloud). */
const WEBHOOK_REQUEST_ORIGIN = "eventgrid.azure.net";

/**
 * Whether a URL is an http(s) URL on the loopback interface (127.0.0.1, localhost or [::1]).
 * @param url - a parsed URL
 */
export function isLoopbackWebhookUrl(url: URL): boolean {
  return (url.protocol === "http:" || url.protocol === "https:") && LOOPBACK_HOSTS.has(url.hostname.toLowerCase());
}

/**
 * Canonical spelling of an event type filter entry: full Key Vault names or the part after `Microsoft.KeyVault.`,
 * case-insensitive.
 * @param value - e.g. `SecretNearExpiry` or `microsoft.keyvault.secretnearexpiry`
 * @returns the full name, or undefined when it is not a Key Vault event type
 */
export function canonicalEventType(value: string): string | undefined {
  const wanted = value.trim().toLowerCase();
  return KEY_VAULT_EVENT_TYPES.find((t) => t.toLowerCase() === wanted || t.slice(EVENT_TYPE_PREFIX.length).toLowerCase() === wanted);
}

/**
 * Reads a schema name: `EventGridSchema`, `CloudEventSchemaV1_0`, or the shorthands `eventgrid` and `cloudevents`.
 * @param value - case-insensitive
 * @returns the schema, or undefined when unknown
 */
export function parseSchemaName(value: string): EventDeliverySchema | undefined {
  return SCHEMA_ALIASES[value.trim().toLowerCase()];
}

/**
 * Validates a webhook list (options, seed file, admin API): loopback http(s) URLs only.
 * @param input - untrusted JSON
 * @throws TypeError naming the bad entry
 */
export function parseWebhooks(input: unknown): EventWebhookConfig[] {
  if (!Array.isArray(input)) throw new TypeError("webhooks must be a list");
  const out = input.map((w, i) => parseWebhook(w, `webhooks[${i}]`));
  const names = out.map((w) => w.name?.toLowerCase()).filter((n): n is string => n !== undefined);
  const duplicate = names.find((n, i) => names.indexOf(n) !== i);
  if (duplicate !== undefined) throw new TypeError(`webhook name '${duplicate}' is used twice`);
  return out;
}

function parseWebhook(w: unknown, where: string): EventWebhookConfig {
  if (!isRecord(w) || typeof w.url !== "string") throw new TypeError(`${where}.url is required`);
  let url: URL;
  try {
    url = new URL(w.url);
  } catch {
    throw new TypeError(`${where}.url is not a URL`);
  }
  if (!isLoopbackWebhookUrl(url)) {
    throw new TypeError(`${where}.url must be an http(s) URL on 127.0.0.1, localhost or [::1] (loopback only), got ${url.protocol}//${url.host}`);
  }
  if (url.username !== "" || url.password !== "") throw new TypeError(`${where}.url must not carry credentials`);
  let schema: EventDeliverySchema | undefined;
  if (w.schema !== undefined) {
    schema = typeof w.schema === "string" && SCHEMAS.includes(w.schema as EventDeliverySchema) ? (w.schema as EventDeliverySchema) : undefined;
    if (!schema) throw new TypeError(`${where}.schema must be EventGridSchema or CloudEventSchemaV1_0`);
  }
  const strList = (v: unknown, field: string): string[] | undefined => {
    if (v === undefined) return undefined;
    if (!Array.isArray(v) || !v.every((x): x is string => typeof x === "string")) throw new TypeError(`${where}.${field} must be a list of strings`);
    return v;
  };
  const eventTypes = strList(w.eventTypes, "eventTypes")?.map((t) => {
    const canonical = canonicalEventType(t);
    if (!canonical) throw new TypeError(`${where}.eventTypes: '${t}' is not a Key Vault event type (e.g. ${SECRET_EVENT_TYPES.nearExpiry})`);
    return canonical;
  });
  const vaults = strList(w.vaults, "vaults");
  for (const v of vaults ?? []) if (!isValidVaultName(v)) throw new TypeError(`${where}.vaults: '${v}' is not a vault name`);
  if (w.name !== undefined && (typeof w.name !== "string" || !SUBSCRIPTION_NAME.test(w.name))) {
    throw new TypeError(`${where}.name must be 3-64 letters, digits and hyphens`);
  }
  if (w.validate !== undefined && typeof w.validate !== "boolean") throw new TypeError(`${where}.validate must be a boolean`);
  return {
    url: w.url,
    ...(schema === undefined ? {} : { schema }),
    ...(eventTypes === undefined ? {} : { eventTypes }),
    ...(vaults === undefined ? {} : { vaults }),
    ...(typeof w.name === "string" ? { name: w.name } : {}),
    ...(typeof w.validate === "boolean" ? { validate: w.validate } : {}),
  };
}

/**
 * Parses the CLI form `URL[,schema]` (schema: EventGridSchema, CloudEventSchemaV1_0, eventgrid, cloudevents).
 * @param spec - e.g. `http://127.0.0.1:7071/runtime/webhooks/eventgrid?functionName=f,cloudevents`
 * @throws TypeError for a non-loopback URL
 */
export function parseWebhookSpec(spec: string): EventWebhookConfig {
  const comma = spec.lastIndexOf(",");
  const schema = comma > 0 ? parseSchemaName(spec.slice(comma + 1)) : undefined;
  const url = schema ? spec.slice(0, comma) : spec;
  return parseWebhooks([{ url, ...(schema ? { schema } : {}) }])[0] as EventWebhookConfig;
}

/**
 * Event Grid's time format: ISO 8601 UTC with 7 fractional digits (`2019-07-25T01:08:33.1036736Z`).
 * @param ms - ms since the epoch
 */
export function formatEventTime(ms: number): string {
  return new Date(ms).toISOString().replace(/\.(\d{3})Z$/, ".$10000Z");
}

/**
 * The Event Grid schema form of an event.
 * @param e - a published event
 */
export function toEventGridSchema(e: PublishedEvent): EventGridSchemaEvent {
  return {
    id: e.id,
    topic: e.topic,
    subject: e.secret,
    eventType: e.eventType,
    eventTime: e.eventTime,
    data: { ...e.data },
    dataVersion: "1",
    metadataVersion: "1",
  };
}

/**
 * The CloudEvents 1.0 form of an event. Like the captured Key Vault CloudEvents, it has no `datacontenttype`
 * (absent means `application/json` in the JSON event format).
 * @param e - a published event
 */
export function toCloudEvent(e: PublishedEvent): CloudEventSchemaEvent {
  return { specversion: "1.0", type: e.eventType, source: e.topic, subject: e.secret, id: e.id, time: e.eventTime, data: { ...e.data } };
}

/** The effective subscription name of the webhook at `index`. */
function subscriptionName(w: EventWebhookConfig, index: number): string {
  return w.name ?? `webhook-${index + 1}`;
}

function webhookKey(w: EventWebhookConfig): string {
  return `${w.schema ?? "EventGridSchema"} ${w.url}`;
}

function matches(w: EventWebhookConfig, e: PublishedEvent): boolean {
  if (w.eventTypes && !w.eventTypes.includes(e.eventType)) return false;
  if (w.vaults && !w.vaults.some((v) => v.toLowerCase() === e.vault.toLowerCase())) return false;
  return true;
}

function positiveInt(v: number | undefined, fallback: number, field: string): number {
  if (v === undefined) return fallback;
  if (!Number.isInteger(v) || v < 1) throw new RangeError(`eventDelivery.${field} must be a positive integer`);
  return v;
}

function nonNegative(v: number | undefined, fallback: number, field: string): number {
  if (v === undefined) return fallback;
  if (!Number.isFinite(v) || v < 0) throw new RangeError(`eventDelivery.${field} must be a non-negative number`);
  return v;
}

interface ResolvedOptions {
  maxAttempts: number;
  retryDelaysMs: number[];
  timeoutMs: number;
  noRetryStatuses: number[];
  expiryCheckIntervalMs: number;
  nearExpirySeconds: number;
  allVersions: boolean;
  validateWebhooks: boolean;
  validationTimeoutMs: number;
  maxLogEntries: number;
}

/**
 * Validates delivery options and fills in the defaults.
 * @param o - the options
 * @throws RangeError for out-of-range values
 */
export function resolveDeliveryOptions(o: EventDeliveryOptions = {}): ResolvedOptions {
  const delays = o.retryDelaysMs ?? [1000, 3000, 6000, 30_000];
  if (!Array.isArray(delays) || !delays.every((d) => Number.isFinite(d) && d >= 0)) {
    throw new RangeError("eventDelivery.retryDelaysMs must be a list of non-negative numbers");
  }
  if (o.expiryEventsFor !== undefined && o.expiryEventsFor !== "currentVersion" && o.expiryEventsFor !== "allVersions") {
    throw new RangeError('eventDelivery.expiryEventsFor must be "currentVersion" or "allVersions"');
  }
  const noRetry = o.noRetryStatuses ?? [];
  if (!noRetry.every((s) => Number.isInteger(s) && s >= 100 && s <= 599)) throw new RangeError("eventDelivery.noRetryStatuses must be HTTP statuses");
  return {
    maxAttempts: positiveInt(o.maxAttempts, 5, "maxAttempts"),
    retryDelaysMs: [...delays],
    timeoutMs: positiveInt(o.timeoutMs, 30_000, "timeoutMs"),
    noRetryStatuses: [...noRetry],
    expiryCheckIntervalMs: positiveInt(o.expiryCheckIntervalMs, 1000, "expiryCheckIntervalMs"),
    nearExpirySeconds: nonNegative(o.nearExpiryDays, 30, "nearExpiryDays") * DAY_SECONDS,
    allVersions: o.expiryEventsFor === "allVersions",
    validateWebhooks: o.validateWebhooks ?? false,
    validationTimeoutMs: positiveInt(o.validationTimeoutMs, 30_000, "validationTimeoutMs"),
    maxLogEntries: positiveInt(o.maxLogEntries, 1000, "maxLogEntries"),
  };
}

/** Outcome of one HTTP request. */
interface HttpOutcome {
  status?: number;
  headers?: Record<string, string | string[] | undefined>;
  body?: string;
  error?: string;
}

/** A delivery in flight: its record, the event and the webhook snapshot it goes to. */
interface DeliveryJob {
  record: DeliveryRecord;
  event: PublishedEvent;
  webhook: EventWebhookConfig;
}

/**
 * Publishes Key Vault secret events and delivers them to webhooks with Event Grid's retry behaviour.
 * Call {@link start} once the emulator is up and {@link close} on shutdown.
 */
export class EventGridPublisher {
  private readonly deps: EventGridPublisherDeps;
  private readonly opts: ResolvedOptions;
  private readonly publishedKeySet: Set<string>;
  private readonly events = new Map<string, PublishedEvent>();
  private readonly log: DeliveryRecord[] = [];
  private readonly pending = new Set<DeliveryRecord>();
  private readonly running = new Set<Promise<void>>();
  private readonly sleepers = new Map<NodeJS.Timeout, () => void>();
  private readonly requests = new Set<ClientRequest>();
  private readonly validations = new Map<string, () => void>();
  private hooks: EventWebhookConfig[] = [];
  private validated = new Set<string>();
  private interval: NodeJS.Timeout | undefined;
  private checkQueued: NodeJS.Immediate | undefined;
  private unsubscribeClock: (() => void) | undefined;
  private deliverySeq = 0;
  private closed = false;
  private readonly ca: Array<string | Buffer> | undefined;

  /**
   * @param deps - see {@link EventGridPublisherDeps}
   * @throws RangeError for invalid delivery options
   */
  constructor(deps: EventGridPublisherDeps) {
    this.deps = deps;
    this.opts = resolveDeliveryOptions(deps.options);
    this.publishedKeySet = new Set(deps.published ?? []);
    this.ca = deps.ca ? [...rootCertificates, deps.ca] : undefined;
  }

  /** Starts the expiry scheduler (interval, clock-shift hook) and runs a first check. */
  start(): void {
    if (this.closed || this.interval) return;
    this.interval = setInterval(() => this.safeCheck(), this.opts.expiryCheckIntervalMs);
    this.interval.unref();
    this.unsubscribeClock = this.deps.clock.onShift(() => this.queueCheck());
    this.safeCheck();
  }

  /** The configured webhooks. */
  webhooks(): EventWebhookConfig[] {
    return this.hooks.map((w) => ({ ...w }));
  }

  /**
   * Replaces the webhooks. Webhooks with validation enabled that were not validated before run the handshake
   * first (all in parallel); if one fails, nothing changes.
   * @param webhooks - already parsed by {@link parseWebhooks}
   * @throws WebhookValidationError when a handshake fails
   */
  async setWebhooks(webhooks: EventWebhookConfig[]): Promise<void> {
    const list = webhooks.map((w) => ({ ...w }));
    const toValidate = list
      .map((w, i) => ({ w, i }))
      .filter(({ w }) => (w.validate ?? this.opts.validateWebhooks) && !this.validated.has(webhookKey(w)));
    await Promise.all(toValidate.map(({ w, i }) => this.validate(w, subscriptionName(w, i))));
    this.hooks = list;
    this.validated = new Set([...this.validated, ...toValidate.map(({ w }) => webhookKey(w))].filter((k) => list.some((w) => webhookKey(w) === k)));
  }

  /**
   * Reacts to a store change: publishes SecretNewVersionCreated for new versions and re-checks expiry after
   * changes that can move an `exp`.
   * @param event - from the store's onChange
   */
  handleChange(event: SecretChangeEvent): void {
    if (this.closed) return;
    if (event.type === "SecretNewVersionCreated" && event.version) {
      this.publishOnce(SECRET_EVENT_TYPES.newVersion, event.vaultName, event.secretName, event.version, event.nbf, event.exp, event.timeMs);
    }
    if (["SecretNewVersionCreated", "SecretUpdated", "SecretRecovered", "SecretRestored"].includes(event.type)) this.queueCheck();
  }

  /**
   * Publishes every due SecretNearExpiry/SecretExpired event now.
   * @returns the events published by this check
   */
  checkExpiry(): PublishedEvent[] {
    if (this.closed) return [];
    const nowMs = this.deps.clock.now();
    const now = Math.floor(nowMs / 1000);
    const out: PublishedEvent[] = [];
    for (const vault of this.deps.vaults()) {
      for (const current of vault.store.list()) {
        const versions = this.opts.allVersions ? vault.store.listVersions(current.name) : [current];
        for (const { name, version: v } of versions) {
          if (v.exp === undefined) continue;
          let type: SecretEventType | undefined;
          if (now >= v.exp) type = SECRET_EVENT_TYPES.expired;
          else if (now >= v.exp - this.opts.nearExpirySeconds) type = SECRET_EVENT_TYPES.nearExpiry;
          if (!type) continue;
          const e = this.publishOnce(type, vault.name, name, v.version, v.nbf, v.exp, nowMs);
          if (e) out.push(e);
        }
      }
    }
    return out;
  }

  /** Published events, oldest first (up to `maxLogEntries`). */
  published(): PublishedEvent[] {
    return [...this.events.values()].map((e) => structuredClone(e));
  }

  /** The (vault, version, type) keys already published, for the persistence file. */
  publishedKeys(): string[] {
    return [...this.publishedKeySet];
  }

  /**
   * The delivery log, oldest first.
   * @param filter - optional filters
   */
  deliveries(filter: DeliveryFilter = {}): DeliveryRecord[] {
    const type = filter.eventType === undefined ? undefined : (canonicalEventType(filter.eventType) ?? filter.eventType);
    const eq = (a: string, b: string | undefined): boolean => b === undefined || a.toLowerCase() === b.toLowerCase();
    return this.log
      .filter(
        (d) =>
          eq(d.eventId, filter.eventId) &&
          eq(d.eventType, type) &&
          eq(d.vault, filter.vault) &&
          eq(d.secret, filter.secret) &&
          eq(d.version, filter.version) &&
          (filter.status === undefined || d.status === filter.status) &&
          (filter.webhook === undefined || d.webhook === filter.webhook || eq(d.subscriptionName, filter.webhook)),
      )
      .map((d) => structuredClone(d));
  }

  /** Drops finished deliveries from the log (pending ones stay). */
  clearDeliveries(): void {
    const keep = this.log.filter((d) => d.status === "pending");
    this.log.length = 0;
    this.log.push(...keep);
  }

  /**
   * Delivers a published event again, with the same event id (Event Grid is at-least-once, so handlers must
   * tolerate duplicates). Targets: the webhooks that got it before, or, if none did, the current matching ones.
   * @param eventId - a published event id
   * @param webhook - only this webhook (URL or subscription name)
   * @returns the new delivery records (pending)
   * @throws RangeError when the event is unknown (or no longer in the log) or no webhook matches
   */
  redeliver(eventId: string, webhook?: string): DeliveryRecord[] {
    const event = this.events.get(eventId);
    if (!event) throw new RangeError(`no published event with id '${eventId}'`);
    const previous = new Map<string, EventWebhookConfig>();
    for (const d of this.log) {
      if (d.eventId !== eventId) continue;
      const w: EventWebhookConfig = { url: d.webhook, schema: d.schema, name: d.subscriptionName };
      previous.set(webhookKey(w), w);
    }
    let targets = previous.size > 0 ? [...previous.values()] : this.matchingWebhooks(event);
    if (webhook !== undefined) targets = targets.filter((w) => w.url === webhook || w.name?.toLowerCase() === webhook.toLowerCase());
    if (targets.length === 0) throw new RangeError(`event '${eventId}' has no matching webhook${webhook === undefined ? "" : ` '${webhook}'`}`);
    return targets.map((w) => structuredClone(this.enqueue(event, w, true)));
  }

  /**
   * Completes a manual validation (the GET on `validationUrl`).
   * @param code - the validation code
   * @returns whether a handshake was waiting for this code
   */
  confirmValidation(code: string): boolean {
    for (const [expected, resolve] of this.validations) {
      const a = Buffer.from(expected);
      const b = Buffer.from(code);
      if (a.length === b.length && timingSafeEqual(a, b)) {
        resolve();
        return true;
      }
    }
    return false;
  }

  /** Resolves once no delivery is pending (retries included). */
  async settled(): Promise<void> {
    while (this.running.size > 0) await Promise.allSettled([...this.running]);
  }

  /** Stops the scheduler, cancels pending retries and in-flight requests, and waits for the delivery tasks to end. */
  async close(): Promise<void> {
    this.closed = true;
    if (this.interval) clearInterval(this.interval);
    if (this.checkQueued) clearImmediate(this.checkQueued);
    this.unsubscribeClock?.();
    for (const [timer, wake] of this.sleepers) {
      clearTimeout(timer);
      wake();
    }
    this.sleepers.clear();
    for (const req of this.requests) req.destroy(new Error("emulator closing"));
    for (const resolve of this.validations.values()) resolve();
    await this.settled();
  }

  private queueCheck(): void {
    if (this.closed || this.checkQueued) return;
    this.checkQueued = setImmediate(() => {
      this.checkQueued = undefined;
      this.safeCheck();
    });
  }

  private safeCheck(): void {
    try {
      this.checkExpiry();
    } catch (e) {
      this.deps.logger?.(`[kv-emulator] expiry check failed: ${e instanceof Error ? e.message : String(e)}`);
    }
  }

  private matchingWebhooks(event: PublishedEvent): EventWebhookConfig[] {
    return this.hooks.filter((w) => matches(w, event)).map((w) => ({ ...w, name: subscriptionName(w, this.hooks.indexOf(w)) }));
  }

  private publishOnce(
    type: SecretEventType,
    vault: string,
    secret: string,
    version: string,
    nbf: number | undefined,
    exp: number | undefined,
    timeMs: number,
  ): PublishedEvent | undefined {
    const key = `${vault.toLowerCase()}/${version}/${type}`;
    if (this.publishedKeySet.has(key)) return undefined;
    this.publishedKeySet.add(key);
    const vaultUri = this.deps.vaultUri(vault) ?? "";
    const event: PublishedEvent = {
      id: randomUUID(),
      eventType: type,
      vault,
      secret,
      version,
      topic: this.deps.topicFor(vault),
      eventTime: formatEventTime(timeMs),
      data: {
        Id: `${vaultUri}/secrets/${secret}/${version}`,
        VaultName: vault,
        ObjectType: "Secret",
        ObjectName: secret,
        Version: version,
        NBF: nbf ?? null,
        EXP: exp ?? null,
      },
    };
    this.events.set(event.id, event);
    if (this.events.size > this.opts.maxLogEntries) {
      const oldest = this.events.keys().next().value;
      if (oldest !== undefined) this.events.delete(oldest);
    }
    this.deps.logger?.(`[kv-emulator] event ${type} ${vault}/${secret}/${version} id=${event.id}`);
    this.deps.onPublished?.();
    for (const w of this.matchingWebhooks(event)) this.enqueue(event, w, false);
    return event;
  }

  private enqueue(event: PublishedEvent, webhook: EventWebhookConfig, redelivery: boolean): DeliveryRecord {
    const record: DeliveryRecord = {
      deliveryId: `d-${++this.deliverySeq}`,
      eventId: event.id,
      eventType: event.eventType,
      vault: event.vault,
      secret: event.secret,
      version: event.version,
      webhook: webhook.url,
      subscriptionName: webhook.name ?? "webhook",
      schema: webhook.schema ?? "EventGridSchema",
      redelivery,
      attempts: 0,
      status: "pending",
      attemptLog: [],
      createdAt: new Date().toISOString(),
    };
    this.log.push(record);
    this.trimLog();
    this.pending.add(record);
    const task = this.deliver({ record, event, webhook }).finally(() => {
      this.pending.delete(record);
      this.running.delete(task);
    });
    this.running.add(task);
    return record;
  }

  private trimLog(): void {
    let excess = this.log.length - this.opts.maxLogEntries;
    for (let i = 0; excess > 0 && i < this.log.length; ) {
      if (this.log[i]?.status === "pending") i++;
      else {
        this.log.splice(i, 1);
        excess--;
      }
    }
  }

  private async deliver(job: DeliveryJob): Promise<void> {
    const { record, event } = job;
    const cloud = record.schema === "CloudEventSchemaV1_0";
    // The service sends the aeg-* headers for both schemas (the Functions Event Grid webhook needs
    // aeg-event-type); aeg-metadata-version carries the spec version for CloudEvents, and aeg-data-version
    // does not apply to them.
    const body = JSON.stringify(cloud ? toCloudEvent(event) : [toEventGridSchema(event)]);
    const baseHeaders: Record<string, string> = {
      "Content-Type": cloud ? "application/cloudevents+json; charset=utf-8" : "application/json; charset=utf-8",
      "aeg-event-type": "Notification",
      "aeg-subscription-name": record.subscriptionName.toUpperCase(),
      "aeg-metadata-version": cloud ? "1.0" : "1",
      ...(cloud ? {} : { "aeg-data-version": "1" }),
    };
    for (let attempt = 1; ; attempt++) {
      if (this.closed) return this.finish(record, "cancelled");
      const startedAt = Date.now();
      const outcome = await this.send(job.webhook.url, "POST", { ...baseHeaders, "aeg-delivery-count": String(attempt - 1) }, body, this.opts.timeoutMs);
      record.attempts = attempt;
      record.attemptLog.push({
        attempt,
        at: new Date(startedAt).toISOString(),
        ...(outcome.status === undefined ? {} : { status: outcome.status }),
        ...(outcome.error === undefined ? {} : { error: outcome.error }),
        durationMs: Date.now() - startedAt,
      });
      if (outcome.status === undefined) delete record.statusCode;
      else record.statusCode = outcome.status;
      if (outcome.error === undefined) delete record.error;
      else record.error = outcome.error;
      const result = outcome.status ?? outcome.error ?? "?";
      this.deps.logger?.(
        `[kv-emulator] delivery ${record.deliveryId} ${event.eventType} ${event.vault}/${event.secret} -> ${record.subscriptionName} attempt ${attempt}: ${result}`,
      );
      if (outcome.status !== undefined && outcome.status >= 200 && outcome.status < 300) return this.finish(record, "delivered");
      if (this.closed) return this.finish(record, "cancelled");
      const retryable = outcome.status === undefined || !this.opts.noRetryStatuses.includes(outcome.status);
      if (!retryable || attempt >= this.opts.maxAttempts) return this.finish(record, "failed");
      const delays = this.opts.retryDelaysMs;
      await this.sleep(delays[Math.min(attempt - 1, delays.length - 1)] ?? 0);
    }
  }

  private finish(record: DeliveryRecord, status: DeliveryStatus): void {
    record.status = status;
    record.completedAt = new Date().toISOString();
  }

  private sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        this.sleepers.delete(timer);
        resolve();
      }, ms);
      timer.unref();
      this.sleepers.set(timer, resolve);
    });
  }

  /** One HTTP request; never rejects. Response bodies are read (up to 64 KB) but never logged. */
  private send(url: string, method: string, headers: Record<string, string>, body: string | undefined, timeoutMs: number): Promise<HttpOutcome> {
    return new Promise((resolve) => {
      const u = new URL(url);
      const isHttps = u.protocol === "https:";
      const requestFn = isHttps ? httpsRequest : httpRequest;
      let settled = false;
      const done = (o: HttpOutcome): void => {
        if (settled) return;
        settled = true;
        this.requests.delete(req);
        resolve(o);
      };
      const req = requestFn(
        u,
        {
          method,
          headers: { ...headers, ...(body === undefined ? {} : { "Content-Length": String(Buffer.byteLength(body)) }) },
          agent: false,
          ...(isHttps && this.ca ? { ca: this.ca } : {}),
        },
        (res) => {
          const chunks: Buffer[] = [];
          let size = 0;
          res.on("data", (c: Buffer) => {
            size += c.length;
            if (size <= RESPONSE_BODY_LIMIT) chunks.push(c);
          });
          res.on("end", () => done({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks).toString("utf8") }));
          res.on("error", (e) => done({ status: res.statusCode ?? 0, error: e.message }));
        },
      );
      this.requests.add(req);
      req.setTimeout(timeoutMs, () => req.destroy(new Error(`no response within ${timeoutMs} ms`)));
      req.on("error", (e) => done({ error: (e as NodeJS.ErrnoException).code ? `${(e as NodeJS.ErrnoException).code}: ${e.message}` : e.message }));
      req.end(body);
    });
  }

  /**
   * The subscription validation handshake: the Event Grid schema gets a SubscriptionValidationEvent and must
   * answer 200 `{"validationResponse": code}` (or GET the validationUrl); the CloudEvents schema gets the
   * OPTIONS abuse-protection request and must answer 200 with `WebHook-Allowed-Origin`.
   */
  private async validate(w: EventWebhookConfig, name: string): Promise<void> {
    const cloud = (w.schema ?? "EventGridSchema") === "CloudEventSchemaV1_0";
    const timeoutMs = this.opts.validationTimeoutMs;
    if (cloud) {
      const r = await this.send(w.url, "OPTIONS", { "WebHook-Request-Origin": WEBHOOK_REQUEST_ORIGIN, "WebHook-Request-Rate": "120" }, undefined, timeoutMs);
      const allowed = r.headers?.["webhook-allowed-origin"];
      const origins = (Array.isArray(allowed) ? allowed : [allowed ?? ""]).flatMap((v) => v.split(",")).map((v) => v.trim());
      if (r.status === 200 && (origins.includes(WEBHOOK_REQUEST_ORIGIN) || origins.includes("*"))) return;
      throw new WebhookValidationError(
        `webhook ${name} (${w.url}) failed the CloudEvents abuse-protection handshake: ${r.error ?? `status ${r.status ?? "?"}, WebHook-Allowed-Origin '${origins.join(",")}'`}`,
      );
    }
    const code = randomUUID();
    const vault = w.vaults?.[0] ?? this.deps.vaults()[0]?.name ?? "vault";
    const base = this.deps.validationUrlBase?.();
    const event = {
      id: randomUUID(),
      topic: this.deps.topicFor(vault),
      subject: "",
      data: { validationCode: code, ...(base ? { validationUrl: `${base}?code=${encodeURIComponent(code)}` } : {}) },
      eventType: "Microsoft.EventGrid.SubscriptionValidationEvent",
      eventTime: formatEventTime(this.deps.clock.now()),
      metadataVersion: "1",
      dataVersion: "1",
    };
    let manual: () => void = () => undefined;
    const confirmed = new Promise<"manual">((resolve) => {
      manual = () => resolve("manual");
    });
    this.validations.set(code, manual);
    const started = Date.now();
    try {
      const r = await this.send(
        w.url,
        "POST",
        {
          "Content-Type": "application/json; charset=utf-8",
          "aeg-event-type": "SubscriptionValidation",
          "aeg-subscription-name": name.toUpperCase(),
          "aeg-delivery-count": "0",
          "aeg-data-version": "1",
          "aeg-metadata-version": "1",
        },
        JSON.stringify([event]),
        timeoutMs,
      );
      if (r.status === 200 && validationResponse(r.body) === code) return;
      if (r.status !== undefined && r.status >= 200 && r.status < 300) {
        // No code in the answer: wait for a GET on the validation URL.
        let timer: NodeJS.Timeout | undefined;
        const timedOut = new Promise<"timeout">((resolve) => {
          timer = setTimeout(() => resolve("timeout"), Math.max(0, timeoutMs - (Date.now() - started)));
        });
        const outcome = await Promise.race([confirmed, timedOut]);
        clearTimeout(timer);
        if (outcome === "manual" && !this.closed) return;
        throw new WebhookValidationError(`webhook ${name} (${w.url}) answered ${r.status} without the validation code and did not call the validation URL in time`);
      }
      throw new WebhookValidationError(`webhook ${name} (${w.url}) failed the validation handshake: ${r.error ?? `status ${r.status ?? "?"}`}`);
    } finally {
      this.validations.delete(code);
    }
  }
}

/** The `validationResponse` of a handshake answer (property name matched case-insensitively). */
function validationResponse(body: string | undefined): string | undefined {
  if (!body) return undefined;
  try {
    const parsed: unknown = JSON.parse(body);
    if (!isRecord(parsed)) return undefined;
    const entry = Object.entries(parsed).find(([k]) => k.toLowerCase() === "validationresponse");
    return typeof entry?.[1] === "string" ? entry[1] : undefined;
  } catch {
    return undefined;
  }
}
