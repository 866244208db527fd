/**
 * @module The telemetry port: what the API, the runtime and the Azure client pipeline report, with no
 * OpenTelemetry import. The composition root builds the implementation (src/observability/otel.ts)
 * and passes it in; code below it only ever sees this interface, and tests pass {@link noTelemetry}.
 *
 * Every attribute is a name, a code or a count that our own code chose: store names, route templates,
 * app-ids, status codes, event types. Never a secret value, a token, a key, a URL path, a state key or
 * an upstream error message (the redaction test in test/observability checks every exported value).
 */

/** One finished API request. */
export interface RequestRecord {
  /** The route template (`/v1.0/secrets/:store/:name`), `healthz`, or `unmatched`; never the raw path. */
  route: string;
  method: string;
  status: number;
  /** The component the route names, when it names one. */
  store?: string;
  /** The caller's app-id once authenticated. */
  appId?: string;
  durationInMs: number;
}

/** The Azure services vaultstate calls. */
export type UpstreamService = "keyvault" | "blob" | "table" | "arm" | "other";

/** One HTTP attempt to an Azure service (retries are separate attempts). */
export interface UpstreamCall {
  service: UpstreamService;
  /** A templated operation such as `GET secrets/{name}` or `PUT blob`; never a name or key. */
  operation: string;
  /** The service host (the vault or account), which identifies the resource but holds no secret. */
  host: string;
}

/** What one rotation attempt ended as. */
export interface RotationRecord {
  outcome: string;
  /** `timer`, `event` or `manual`. */
  trigger: string;
  generator?: string;
}

/** One Key Vault event as delivered by Event Grid. */
export interface KeyVaultEventRecord {
  /** `Microsoft.KeyVault.SecretNewVersionCreated` and so on; `unknown` when the payload has none. */
  type: string;
  /** When Key Vault says it happened (`eventTime` / `time`), when the payload says so and parses. */
  eventTime?: Date;
  /** `handled`, `ignored` or `failed`. */
  outcome: string;
}

/** The secret cache's running totals (src/runtime/secretCache.ts `createCounters`). */
export interface CacheCounts {
  hits: number;
  misses: number;
  upstreamCalls: number;
  staleServes: number;
  errors: number;
}

/** The port. Methods never throw: telemetry failing must not fail a request. */
export interface Telemetry {
  /** Records a finished API request (`vaultstate.requests`, `vaultstate.request.duration`). */
  request(record: RequestRecord): void;
  /**
   * Runs one upstream HTTP attempt inside a client span and records its latency and status
   * (`vaultstate.upstream.calls`, `vaultstate.upstream.duration`); the result or error passes through.
   */
  upstream<T>(call: UpstreamCall, run: () => Promise<T>, statusOf: (result: T) => number): Promise<T>;
  /**
   * Runs work inside an internal span, a child of `traceParent` (W3C `traceparent`, e.g. the Functions
   * invocation's) when given, so the upstream spans it causes join the same trace. Without spans
   * ({@link Telemetry.recordsSpans} false) it is `run()` itself, answer and all.
   */
  span<T>(name: string, options: { traceParent?: string; attributes?: Record<string, string | number | boolean> }, run: () => T | Promise<T>): T | Promise<T>;
  /** Whether {@link Telemetry.span} records spans: when not, callers need not gather what a span would carry. */
  readonly recordsSpans: boolean;
  rotation(record: RotationRecord): void;
  keyVaultEvent(record: KeyVaultEventRecord): void;
  /** Publishes the secret cache's totals (`vaultstate.secret_cache.*`), read whenever metrics are collected. */
  observeCache(read: () => CacheCounts): void;
  /** Flat totals for `/v1.0/metadata` `extended`: the same metrics, summed per the main attribute. */
  snapshot(): Record<string, number>;
  /** Flushes and stops the exporters. */
  shutdown(): Promise<void>;
}

/** A port that records nothing: unit tests and code paths without a composition root. */
export const noTelemetry: Telemetry = {
  request: () => {},
  upstream: (_call, run) => run(),
  span: (_name, _options, run) => run(),
  recordsSpans: false,
  rotation: () => {},
  keyVaultEvent: () => {},
  observeCache: () => {},
  snapshot: () => ({}),
  shutdown: () => Promise.resolve(),
};

/**
 * The type and time of a delivered Key Vault event, in either schema (Event Grid `eventType`/`eventTime`,
 * CloudEvents `type`/`time`). Any type outside `Microsoft.KeyVault.*` is reported as `other`: the
 * payload is caller input and must not choose metric attributes.
 */
export function keyVaultEventFacts(event: unknown): { type: string; eventTime?: Date } {
  let body = event;
  if (typeof body === "string") {
    try {
      body = JSON.parse(body) as unknown;
    } catch {
      return { type: "other" };
    }
  }
  if (typeof body !== "object" || body === null) return { type: "other" };
  const record = body as Record<string, unknown>;
  const type = typeof record.eventType === "string" ? record.eventType : record.type;
  const time = typeof record.eventTime === "string" ? record.eventTime : record.time;
  const at = typeof time === "string" ? new Date(time) : undefined;
  return {
    type: typeof type === "string" && /^Microsoft\.KeyVault\.[A-Za-z]{1,64}$/.test(type) ? type : "other",
    ...(at !== undefined && Number.isFinite(at.getTime()) ? { eventTime: at } : {}),
  };
}

/** The status an upstream failure reports: the HTTP status of a RestError, else 0 (no response: DNS, TLS, timeout). */
export function upstreamErrorStatus(error: unknown): number {
  if (typeof error === "object" && error !== null) {
    const status = (error as { statusCode?: unknown }).statusCode;
    if (typeof status === "number" && Number.isInteger(status)) return status;
    const response = (error as { response?: { status?: unknown } }).response;
    if (typeof response?.status === "number") return response.status;
  }
  return 0;
}

/**
 * Describes an Azure SDK request for telemetry without its path (secret names, blob names and state
 * keys stay out): the operation is templated from the path shape. The service comes from the client
 * factory that added the pipeline policy, because an emulator's host says nothing about it.
 */
export function describeUpstream(service: UpstreamService, method: string, url: string): UpstreamCall {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    return { service, operation: method.toUpperCase(), host: "invalid" };
  }
  const segments = parsed.pathname.split("/").filter((s) => s !== "");
  return { service, operation: `${method.toUpperCase()} ${operationOf(service, segments, parsed.searchParams)}`, host: parsed.host.toLowerCase() };
}

function operationOf(service: UpstreamService, segments: readonly string[], query: URLSearchParams): string {
  switch (service) {
    case "keyvault": {
      // secrets | secrets/{name} | secrets/{name}/{version} | secrets/{name}/versions
      const [collection = "", , third] = segments;
      if (segments.length <= 1) return collection || "/";
      if (segments.length === 2) return `${collection}/{name}`;
      return third === "versions" ? `${collection}/{name}/versions` : `${collection}/{name}/{version}`;
    }
    case "blob": {
      const comp = query.get("comp");
      const kind = query.get("restype") === "container" ? "container" : "blob";
      return comp === null ? kind : `${kind}?comp=${comp}`;
    }
    case "table": {
      const last = segments.at(-1) ?? "";
      if (last === "$batch") return "batch";
      if (last.startsWith("Tables")) return "table";
      return last.includes("(") ? "entity" : "entities";
    }
    case "arm": {
      const provider = segments.findIndex((s) => s.toLowerCase() === "providers");
      const action = segments.at(-1) ?? "";
      return provider === -1 ? "arm" : `${segments[provider + 1] ?? ""}/${segments[provider + 2] ?? ""}/${/^(listKeys|regenerateKey)$/i.test(action) ? action : "{name}"}`;
    }
    default:
      return "request";
  }
}
