/**
 * @module The telemetry port implemented with OpenTelemetry: metrics and spans named `vaultstate.*`,
 * exported to Application Insights through `@azure/monitor-opentelemetry` when a connection string is
 * set, to the console or an OTLP collector by setting, and always tallied in process for
 * `/v1.0/metadata` `extended`. Only the composition root imports this module.
 */
import {
  type Attributes,
  context,
  defaultTextMapGetter,
  type Meter,
  metrics,
  propagation,
  ROOT_CONTEXT,
  type Span,
  SpanKind,
  SpanStatusCode,
  type TextMapPropagator,
  trace,
  type Tracer,
} from "@opentelemetry/api";
import type { TokenCredential } from "@azure/core-auth";
import type { MetricReader } from "@opentelemetry/sdk-metrics";
import type { SpanProcessor } from "@opentelemetry/sdk-trace-base";
import { type CacheCounts, type KeyVaultEventRecord, type RequestRecord, type RotationRecord, type Telemetry, type UpstreamCall, upstreamErrorStatus } from "./telemetry";

/** Metric names and units: the contract dashboards, alerts (docs/runbooks/alerts.md) and tests rely on. */
export const METRICS = {
  requests: { name: "vaultstate.requests", unit: "{request}" },
  requestDuration: { name: "vaultstate.request.duration", unit: "ms" },
  upstreamCalls: { name: "vaultstate.upstream.calls", unit: "{call}" },
  upstreamDuration: { name: "vaultstate.upstream.duration", unit: "ms" },
  rotations: { name: "vaultstate.rotations", unit: "{rotation}" },
  events: { name: "vaultstate.keyvault.events", unit: "{event}" },
  eventLag: { name: "vaultstate.keyvault.event.lag", unit: "ms" },
  cacheHits: { name: "vaultstate.secret_cache.hits", unit: "{lookup}" },
  cacheMisses: { name: "vaultstate.secret_cache.misses", unit: "{lookup}" },
  cacheStaleServes: { name: "vaultstate.secret_cache.stale_serves", unit: "{lookup}" },
  cacheUpstreamCalls: { name: "vaultstate.secret_cache.upstream_calls", unit: "{call}" },
  cacheErrors: { name: "vaultstate.secret_cache.errors", unit: "{lookup}" },
} as const;

/** Attribute names; `http.*` and `server.address` follow the OpenTelemetry HTTP conventions. */
export const ATTRIBUTES = {
  route: "http.route",
  method: "http.request.method",
  status: "http.response.status_code",
  store: "vaultstate.store",
  appId: "vaultstate.app_id",
  service: "vaultstate.upstream.service",
  operation: "vaultstate.upstream.operation",
  throttled: "vaultstate.upstream.throttled",
  host: "server.address",
  outcome: "vaultstate.outcome",
  trigger: "vaultstate.rotation.trigger",
  generator: "vaultstate.rotation.generator",
  eventType: "vaultstate.event.type",
} as const;

/** Where the instruments come from; tests pass providers with in-memory exporters. */
export interface OtelTelemetryOptions {
  meter: Meter;
  tracer: Tracer;
  /** Flushes and stops whatever exports (called by {@link Telemetry.shutdown}). */
  shutdown?: () => Promise<void>;
  /** Clock for durations and event lag (tests pin it). */
  now?: () => number;
  /**
   * Whether anything records spans / reads metrics (default: both). When nothing does, the port skips
   * the OpenTelemetry calls (spans, attribute objects) that would only feed no-op instruments; the
   * in-process totals for `/v1.0/metadata` are kept either way.
   */
  recording?: { spans: boolean; metrics: boolean };
  /** Reads a caller's `traceparent` (W3C trace context); the global propagator when absent. */
  propagator?: TextMapPropagator;
}

/** Builds the port on a meter and a tracer. */
export function createOtelTelemetry(options: OtelTelemetryOptions): Telemetry {
  const { meter, tracer } = options;
  const recordsSpans = options.recording?.spans ?? true;
  const recordsMetrics = options.recording?.metrics ?? true;
  const now = options.now ?? (() => performance.timeOrigin + performance.now());
  const propagator = options.propagator ?? propagation;
  const counter = (m: { name: string; unit: string }, description: string) => meter.createCounter(m.name, { unit: m.unit, description });
  const histogram = (m: { name: string; unit: string }, description: string) => meter.createHistogram(m.name, { unit: m.unit, description });
  const requests = counter(METRICS.requests, "API requests served, by route template, store, app-id and status");
  const requestDuration = histogram(METRICS.requestDuration, "Time to serve an API request");
  const upstreamCalls = counter(METRICS.upstreamCalls, "HTTP attempts to Key Vault, Storage and ARM, by service, operation and status (429 = throttled)");
  const upstreamDuration = histogram(METRICS.upstreamDuration, "Latency of one HTTP attempt to an Azure service");
  const rotations = counter(METRICS.rotations, "Secret rotation attempts by outcome");
  const events = counter(METRICS.events, "Key Vault events received, by type and outcome");
  const eventLag = histogram(METRICS.eventLag, "Delay from a Key Vault event's eventTime to its handling");

  // In-process totals for /v1.0/metadata: each metric's total and its split by the main attribute.
  const tally = new Map<string, number>();
  const add = (name: string, split: string | undefined, value = 1): void => {
    tally.set(name, (tally.get(name) ?? 0) + value);
    if (split !== undefined) tally.set(`${name}[${split}]`, (tally.get(`${name}[${split}]`) ?? 0) + value);
  };
  // A request's split key (`vaultstate.requests[status=200]`) made once per status, not twice per request.
  const requestKeys = new Map<number, string>();
  const countRequest = (status: number): void => {
    let key = requestKeys.get(status);
    if (key === undefined) {
      key = `${METRICS.requests.name}[status=${status}]`;
      requestKeys.set(status, key);
    }
    tally.set(METRICS.requests.name, (tally.get(METRICS.requests.name) ?? 0) + 1);
    tally.set(key, (tally.get(key) ?? 0) + 1);
  };
  const maxOf = (name: string, value: number): void => {
    tally.set(name, Math.max(tally.get(name) ?? 0, value));
  };
  let cacheSources: (() => CacheCounts)[] = [];

  const safely = (work: () => void): void => {
    try {
      work();
    } catch {
      // A telemetry fault must never fail the request or event that reported it.
    }
  };

  return {
    request(record: RequestRecord) {
      // Without a metrics reader only the in-process totals count: no closure, no attribute objects.
      if (!recordsMetrics) {
        countRequest(record.status);
        return;
      }
      safely(() => {
        const attributes: Attributes = { [ATTRIBUTES.route]: record.route, [ATTRIBUTES.method]: record.method, [ATTRIBUTES.status]: record.status };
        if (record.store !== undefined && record.store !== "") attributes[ATTRIBUTES.store] = record.store;
        if (record.appId !== undefined && record.appId !== "") attributes[ATTRIBUTES.appId] = record.appId;
        requests.add(1, attributes);
        requestDuration.record(Math.max(0, record.durationInMs), attributes);
        countRequest(record.status);
      });
    },

    async upstream<T>(call: UpstreamCall, run: () => Promise<T>, statusOf: (result: T) => number): Promise<T> {
      const started = now();
      const attributes: Attributes = { [ATTRIBUTES.service]: call.service, [ATTRIBUTES.operation]: call.operation, [ATTRIBUTES.host]: call.host };
      // The call's status (0: no answer) is recorded whether or not a span is.
      const measured = async (span: Span | undefined): Promise<T> => {
        let status = 0;
        try {
          const result = await run();
          status = statusOf(result);
          return result;
        } catch (e) {
          status = upstreamErrorStatus(e);
          throw e;
        } finally {
          finishUpstream(span, status);
        }
      };
      if (!recordsSpans) return measured(undefined);
      return tracer.startActiveSpan(`${call.service} ${call.operation}`, { kind: SpanKind.CLIENT, attributes: { ...attributes, [ATTRIBUTES.method]: call.operation.split(" ")[0] ?? "" } }, measured);

      function finishUpstream(span: Span | undefined, status: number): void {
        safely(() => {
          const duration = Math.max(0, now() - started);
          const throttled = status === 429;
          const full: Attributes = { ...attributes, [ATTRIBUTES.status]: status, [ATTRIBUTES.throttled]: throttled };
          if (recordsMetrics) {
            upstreamCalls.add(1, full);
            upstreamDuration.record(duration, full);
          }
          span?.setAttribute(ATTRIBUTES.status, status);
          span?.setAttribute(ATTRIBUTES.throttled, throttled);
          // 404 is an answer (a missing secret or blob), not a failure of the dependency.
          if (status === 0 || (status >= 400 && status !== 404 && status !== 409 && status !== 412)) span?.setStatus({ code: SpanStatusCode.ERROR });
          add(METRICS.upstreamCalls.name, `service=${call.service},status=${status}`);
          add(`${METRICS.upstreamDuration.name}.sum`, call.service, duration);
          maxOf(`${METRICS.upstreamDuration.name}.max[service=${call.service}]`, Math.round(duration));
        });
        span?.end();
      }
    },

    recordsSpans,

    span<T>(name: string, spanOptions: { traceParent?: string; attributes?: Record<string, string | number | boolean> }, run: () => T | Promise<T>): T | Promise<T> {
      if (!recordsSpans) return run();
      const parent = spanOptions.traceParent !== undefined && spanOptions.traceParent !== "" ? propagator.extract(ROOT_CONTEXT, { traceparent: spanOptions.traceParent }, defaultTextMapGetter) : context.active();
      return tracer.startActiveSpan(name, { kind: SpanKind.INTERNAL, ...(spanOptions.attributes !== undefined ? { attributes: spanOptions.attributes } : {}) }, parent, async (span) => {
        try {
          return await run();
        } catch (e) {
          span.setStatus({ code: SpanStatusCode.ERROR });
          throw e;
        } finally {
          span.end();
        }
      });
    },

    rotation(record: RotationRecord) {
      safely(() => {
        const attributes: Attributes = { [ATTRIBUTES.outcome]: record.outcome, [ATTRIBUTES.trigger]: record.trigger };
        if (record.generator !== undefined) attributes[ATTRIBUTES.generator] = record.generator;
        rotations.add(1, attributes);
        add(METRICS.rotations.name, `outcome=${record.outcome}`);
      });
    },

    keyVaultEvent(record: KeyVaultEventRecord) {
      safely(() => {
        events.add(1, { [ATTRIBUTES.eventType]: record.type, [ATTRIBUTES.outcome]: record.outcome });
        add(METRICS.events.name, `type=${record.type}`);
        const at = record.eventTime?.getTime();
        if (at !== undefined && Number.isFinite(at)) {
          // Clocks differ a little between Key Vault and this instance; a negative lag means "no delay".
          const lag = Math.max(0, now() - at);
          eventLag.record(lag, { [ATTRIBUTES.eventType]: record.type });
          maxOf(`${METRICS.eventLag.name}.max`, Math.round(lag));
        }
      });
    },

    observeCache(read: () => CacheCounts) {
      cacheSources = [...cacheSources, read];
      const sum = (pick: (c: CacheCounts) => number): number => cacheSources.reduce((total, source) => total + pick(source()), 0);
      const observe = (m: { name: string; unit: string }, description: string, pick: (c: CacheCounts) => number): void => {
        meter.createObservableCounter(m.name, { unit: m.unit, description }).addCallback((result) => result.observe(sum(pick)));
      };
      if (cacheSources.length > 1) return;
      observe(METRICS.cacheHits, "Secret reads served from the cache", (c) => c.hits);
      observe(METRICS.cacheMisses, "Secret reads the cache had to fetch", (c) => c.misses);
      observe(METRICS.cacheStaleServes, "Secret reads served from a stale entry because the store failed", (c) => c.staleServes);
      observe(METRICS.cacheUpstreamCalls, "Reads the cache sent to secret stores", (c) => c.upstreamCalls);
      observe(METRICS.cacheErrors, "Secret reads that failed with nothing cached to fall back on", (c) => c.errors);
    },

    snapshot() {
      const out: Record<string, number> = {};
      for (const [name, value] of tally) out[name] = Math.round(value * 1000) / 1000;
      if (cacheSources.length > 0) {
        const totals = cacheSources.map((s) => s());
        const sum = (pick: (c: CacheCounts) => number): number => totals.reduce((t, c) => t + pick(c), 0);
        out[METRICS.cacheHits.name] = sum((c) => c.hits);
        out[METRICS.cacheMisses.name] = sum((c) => c.misses);
        out[METRICS.cacheStaleServes.name] = sum((c) => c.staleServes);
        out[METRICS.cacheUpstreamCalls.name] = sum((c) => c.upstreamCalls);
        out[METRICS.cacheErrors.name] = sum((c) => c.errors);
      }
      return out;
    },

    async shutdown() {
      await options.shutdown?.();
    },
  };
}

/** How the process exports telemetry (from settings; see README, Configuration). */
export interface TelemetrySettings {
  /** APPLICATIONINSIGHTS_CONNECTION_STRING: export to Application Insights. */
  connectionString?: string;
  /** Entra ID credential for ingestion (APPLICATIONINSIGHTS_AUTHENTICATION_STRING names its identity). */
  credential?: TokenCredential;
  /** TELEMETRY_EXPORTER: `console` or `otlp` (OTEL_EXPORTER_OTLP_ENDPOINT) besides or instead of it. */
  exporter?: "console" | "otlp";
  /** TELEMETRY_EXPORT_INTERVAL_SECONDS, in milliseconds. */
  exportIntervalInMs?: number;
  /** service.name of the exported resource (the app-id). */
  serviceName?: string;
}

/** Extra readers and processors, e.g. in-memory exporters in tests. */
export interface TelemetryExtras {
  metricReaders?: MetricReader[];
  spanProcessors?: SpanProcessor[];
}

/**
 * Starts telemetry for the process. With a connection string, `useAzureMonitor` owns the global
 * providers (exporting with the Entra ID credential); otherwise local providers are built for the
 * console/OTLP exporter and the extras; with neither, instruments are no-ops and only the in-process
 * totals count. Automatic instrumentations stay off: the spans that matter are vaultstate's own, and
 * an HTTP or Azure SDK instrumentation would put URLs (secret names, state keys) into attributes.
 *
 * The OpenTelemetry SDK, its exporters and `@azure/monitor-opentelemetry` (most of the app's code by
 * size) are loaded only when something exports: a process without an exporter never loads them.
 */
export async function startTelemetry(settings: TelemetrySettings, extras: TelemetryExtras = {}): Promise<Telemetry> {
  const connectionString = settings.connectionString !== undefined && settings.connectionString !== "" ? settings.connectionString : undefined;
  if (connectionString === undefined && settings.exporter === undefined && (extras.metricReaders ?? []).length === 0 && (extras.spanProcessors ?? []).length === 0) {
    // No exporter: nothing is recorded, so no OpenTelemetry call is made; /v1.0/metadata still counts.
    return createOtelTelemetry({ meter: metrics.getMeter("vaultstate"), tracer: trace.getTracer("vaultstate"), recording: { spans: false, metrics: false } });
  }
  const { startExporting } = await import("./otelExport.js");
  return createOtelTelemetry(startExporting({ ...settings, connectionString }, extras));
}
