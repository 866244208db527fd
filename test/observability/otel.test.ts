/**
 * @module The OpenTelemetry implementation of the telemetry port, read back through in-memory
 * exporters: metric names, units, attributes and values after a scripted sequence, the spans of
 * upstream calls inside a parent trace, and the in-process totals `/v1.0/metadata` shows.
 */
import { AggregationTemporality, InMemoryMetricExporter, type MetricData, PeriodicExportingMetricReader } from "@opentelemetry/sdk-metrics";
import { InMemorySpanExporter, SimpleSpanProcessor } from "@opentelemetry/sdk-trace-base";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import type { Meter, Tracer } from "@opentelemetry/api";
import { parseSettings } from "../../src/config/settings";
import { createOtelTelemetry, METRICS, startTelemetry } from "../../src/observability/otel";
import { describeUpstream, keyVaultEventFacts, type Telemetry, upstreamErrorStatus } from "../../src/observability/telemetry";

let metricExporter: InMemoryMetricExporter;
let reader: PeriodicExportingMetricReader;
let spans: InMemorySpanExporter;
let telemetry: Telemetry;

beforeEach(async () => {
  metricExporter = new InMemoryMetricExporter(AggregationTemporality.CUMULATIVE);
  // Exports only when flushed: no timer decides what a test sees.
  reader = new PeriodicExportingMetricReader({ exporter: metricExporter, exportIntervalMillis: 3_600_000 });
  spans = new InMemorySpanExporter();
  telemetry = await startTelemetry({ serviceName: "test" }, { metricReaders: [reader], spanProcessors: [new SimpleSpanProcessor(spans)] });
});

afterEach(async () => {
  await telemetry.shutdown();
});

/** Every data point of every exported metric, as `name → {unit, points}`. */
async function exported(): Promise<Map<string, { unit: string; data: MetricData }>> {
  await reader.forceFlush();
  const out = new Map<string, { unit: string; data: MetricData }>();
  const batches = metricExporter.getMetrics();
  const last = batches.at(-1);
  for (const scope of last?.scopeMetrics ?? []) for (const m of scope.metrics) out.set(m.descriptor.name, { unit: m.descriptor.unit, data: m });
  return out;
}

function points(data: MetricData | undefined): { attributes: Record<string, unknown>; value: unknown }[] {
  return (data?.dataPoints ?? []).map((p) => ({ attributes: { ...p.attributes }, value: p.value }));
}

function sumWhere(data: MetricData | undefined, match: Record<string, unknown>): number {
  return points(data)
    .filter((p) => Object.entries(match).every(([k, v]) => p.attributes[k] === v))
    .reduce((total, p) => total + (typeof p.value === "number" ? p.value : ((p.value as { count?: number }).count ?? 0)), 0);
}

const ok = (status: number) => () => Promise.resolve({ status });

describe("telemetry port on OpenTelemetry", () => {
  it("counts requests by route, method, store, app-id and status, with their duration in ms", async () => {
    telemetry.request({ route: "/v1.0/secrets/:store/:name", method: "GET", store: "secretstore", appId: "orders", status: 200, durationInMs: 12 });
    telemetry.request({ route: "/v1.0/secrets/:store/:name", method: "GET", store: "secretstore", appId: "orders", status: 200, durationInMs: 8 });
    telemetry.request({ route: "/v1.0/state/:store", method: "POST", store: "nostore", appId: "orders", status: 400, durationInMs: 1 });
    telemetry.request({ route: "unmatched", method: "GET", status: 401, durationInMs: 1 });

    const m = await exported();
    expect(m.get(METRICS.requests.name)?.unit).toBe("{request}");
    expect(m.get(METRICS.requestDuration.name)?.unit).toBe("ms");
    const requests = m.get(METRICS.requests.name)?.data;
    expect(sumWhere(requests, { "http.route": "/v1.0/secrets/:store/:name", "vaultstate.store": "secretstore", "vaultstate.app_id": "orders", "http.response.status_code": 200 })).toBe(2);
    expect(sumWhere(requests, { "vaultstate.store": "nostore", "http.response.status_code": 400 })).toBe(1);
    expect(sumWhere(requests, { "http.route": "unmatched", "http.response.status_code": 401 })).toBe(1);
    // An unauthenticated request has no app-id attribute at all rather than an empty one.
    expect(points(requests).find((p) => p.attributes["http.route"] === "unmatched")?.attributes).not.toHaveProperty("vaultstate.app_id");
    const durations = points(m.get(METRICS.requestDuration.name)?.data).find((p) => p.attributes["http.response.status_code"] === 200)?.value as { count: number; sum: number };
    expect(durations.count).toBe(2);
    expect(durations.sum).toBe(20);
  });

  it("records each upstream attempt with status, throttling and latency, in a client span under the caller's trace", async () => {
    let clock = 1_000;
    const call = describeUpstream("keyvault", "GET", "https://kv-abc.vault.azure.net/secrets/db-password/0123?api-version=7.5");
    const parent = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01";
    await telemetry.span("vaultstate GET /v1.0/secrets/:store/:name", { traceParent: parent }, async () => {
      await telemetry.upstream(call, () => {
        clock += 5;
        return Promise.resolve({ status: 429 });
      }, (r) => r.status);
      await telemetry.upstream(call, ok(200), (r) => r.status);
      await expect(
        telemetry.upstream(call, () => Promise.reject(Object.assign(new Error("Forbidden"), { statusCode: 403 })), () => 0),
      ).rejects.toThrow("Forbidden");
      await expect(telemetry.upstream(describeUpstream("blob", "PUT", "http://127.0.0.1:1/devstoreaccount1/c/key"), () => Promise.reject(Object.assign(new Error("x"), { code: "ENOTFOUND" })), () => 0)).rejects.toThrow();
    });
    expect(clock).toBe(1_005);

    const m = await exported();
    expect(m.get(METRICS.upstreamCalls.name)?.unit).toBe("{call}");
    expect(m.get(METRICS.upstreamDuration.name)?.unit).toBe("ms");
    const calls = m.get(METRICS.upstreamCalls.name)?.data;
    const kv = { "vaultstate.upstream.service": "keyvault", "vaultstate.upstream.operation": "GET secrets/{name}/{version}", "server.address": "kv-abc.vault.azure.net" };
    expect(sumWhere(calls, { ...kv, "http.response.status_code": 429, "vaultstate.upstream.throttled": true })).toBe(1);
    expect(sumWhere(calls, { ...kv, "http.response.status_code": 200, "vaultstate.upstream.throttled": false })).toBe(1);
    expect(sumWhere(calls, { ...kv, "http.response.status_code": 403 })).toBe(1);
    // No response at all (DNS, TLS, timeout) is status 0.
    expect(sumWhere(calls, { "vaultstate.upstream.service": "blob", "vaultstate.upstream.operation": "PUT blob", "http.response.status_code": 0 })).toBe(1);
    expect(sumWhere(m.get(METRICS.upstreamDuration.name)?.data, { "vaultstate.upstream.service": "keyvault" })).toBe(3);

    const finished = spans.getFinishedSpans();
    const parentSpan = finished.find((s) => s.name.startsWith("vaultstate GET"));
    const clients = finished.filter((s) => s.name === "keyvault GET secrets/{name}/{version}");
    expect(clients).toHaveLength(3);
    // Children of the request span, which itself continues the Functions invocation's trace.
    expect(parentSpan?.spanContext().traceId).toBe("0af7651916cd43dd8448eb211c80319c");
    for (const c of clients) {
      expect(c.spanContext().traceId).toBe("0af7651916cd43dd8448eb211c80319c");
      expect(c.parentSpanContext?.spanId).toBe(parentSpan?.spanContext().spanId);
      expect(c.kind).toBe(2); // SpanKind.CLIENT
    }
    expect(clients.map((c) => c.attributes["http.response.status_code"]).sort()).toEqual([200, 403, 429]);
    expect(clients.filter((c) => c.status.code === 2).length, "429 and 403 mark the span as failed").toBe(2);
  });

  it("counts rotations by outcome and events by type, with the lag from eventTime", async () => {
    telemetry.rotation({ outcome: "rotated", trigger: "timer", generator: "random-token" });
    telemetry.rotation({ outcome: "check-failed", trigger: "event", generator: "storage-account-key" });
    telemetry.rotation({ outcome: "rotated", trigger: "manual" });
    const eventTime = new Date(Date.now() - 4_000);
    telemetry.keyVaultEvent({ type: "Microsoft.KeyVault.SecretNewVersionCreated", eventTime, outcome: "handled" });
    telemetry.keyVaultEvent({ type: "Microsoft.KeyVault.SecretNearExpiry", outcome: "ignored" });

    const m = await exported();
    expect(m.get(METRICS.rotations.name)?.unit).toBe("{rotation}");
    expect(sumWhere(m.get(METRICS.rotations.name)?.data, { "vaultstate.outcome": "rotated" })).toBe(2);
    expect(sumWhere(m.get(METRICS.rotations.name)?.data, { "vaultstate.outcome": "check-failed", "vaultstate.rotation.trigger": "event" })).toBe(1);
    expect(m.get(METRICS.events.name)?.unit).toBe("{event}");
    expect(sumWhere(m.get(METRICS.events.name)?.data, { "vaultstate.event.type": "Microsoft.KeyVault.SecretNewVersionCreated", "vaultstate.outcome": "handled" })).toBe(1);
    expect(sumWhere(m.get(METRICS.events.name)?.data, { "vaultstate.event.type": "Microsoft.KeyVault.SecretNearExpiry" })).toBe(1);
    expect(m.get(METRICS.eventLag.name)?.unit).toBe("ms");
    const lag = points(m.get(METRICS.eventLag.name)?.data)[0]?.value as { count: number; sum: number };
    expect(lag.count, "only the event with an eventTime has a lag").toBe(1);
    expect(lag.sum).toBeGreaterThanOrEqual(4_000);
    expect(lag.sum).toBeLessThan(600_000);
  });

  it("publishes the secret cache's counters as observable counters and in the snapshot", async () => {
    const counts = { hits: 7, misses: 2, upstreamCalls: 3, staleServes: 1, errors: 0 };
    telemetry.observeCache(() => counts);
    let m = await exported();
    expect(points(m.get(METRICS.cacheHits.name)?.data)[0]?.value).toBe(7);
    expect(m.get(METRICS.cacheHits.name)?.unit).toBe("{lookup}");
    counts.hits = 9;
    counts.staleServes = 2;
    m = await exported();
    expect(points(m.get(METRICS.cacheHits.name)?.data)[0]?.value).toBe(9);
    expect(points(m.get(METRICS.cacheStaleServes.name)?.data)[0]?.value).toBe(2);
    expect(points(m.get(METRICS.cacheMisses.name)?.data)[0]?.value).toBe(2);
    expect(points(m.get(METRICS.cacheUpstreamCalls.name)?.data)[0]?.value).toBe(3);
    expect(telemetry.snapshot()).toMatchObject({ "vaultstate.secret_cache.hits": 9, "vaultstate.secret_cache.stale_serves": 2 });
  });

  it("keeps in-process totals for /v1.0/metadata whether or not anything exports", async () => {
    const local = await startTelemetry({});
    local.request({ route: "/v1.0/state/:store/:key", method: "GET", status: 200, durationInMs: 1 });
    local.request({ route: "/v1.0/state/:store/:key", method: "GET", status: 500, durationInMs: 1 });
    await local.upstream(describeUpstream("table", "GET", "http://127.0.0.1:1/acct/vaultstate()"), ok(429), (r) => r.status);
    local.rotation({ outcome: "rotated", trigger: "timer" });
    local.keyVaultEvent({ type: "Microsoft.KeyVault.SecretNewVersionCreated", outcome: "handled" });
    expect(local.snapshot()).toMatchObject({
      "vaultstate.requests": 2,
      "vaultstate.requests[status=200]": 1,
      "vaultstate.requests[status=500]": 1,
      "vaultstate.upstream.calls": 1,
      "vaultstate.upstream.calls[service=table,status=429]": 1,
      "vaultstate.rotations[outcome=rotated]": 1,
      "vaultstate.keyvault.events[type=Microsoft.KeyVault.SecretNewVersionCreated]": 1,
    });
    await local.shutdown();
  });
});

describe("with nothing recording", () => {
  it("makes no OpenTelemetry call per request or upstream attempt, and still keeps the totals", async () => {
    const refuse = (): never => {
      throw new Error("an OpenTelemetry call was made although nothing records");
    };
    const noop = { add: () => undefined, record: () => undefined, addCallback: () => undefined };
    const meter = { createCounter: () => ({ add: refuse }), createHistogram: () => ({ record: refuse }), createObservableCounter: () => noop } as unknown as Meter;
    const tracer = { startActiveSpan: refuse, startSpan: refuse } as unknown as Tracer;
    const quiet = createOtelTelemetry({ meter, tracer, recording: { spans: false, metrics: false } });
    expect(await quiet.span("vaultstate request", { traceParent: "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01" }, async () => "served")).toBe("served");
    quiet.request({ route: "/v1.0/secrets/:store/:key", method: "GET", status: 200, durationInMs: 1 });
    await quiet.upstream(describeUpstream("keyvault", "GET", "https://v.vault.azure.net/secrets/x"), ok(200), (r) => r.status);
    await expect(quiet.upstream(describeUpstream("keyvault", "GET", "https://v.vault.azure.net/secrets/x"), () => Promise.reject(Object.assign(new Error("throttled"), { statusCode: 429 })), () => 0)).rejects.toThrow("throttled");
    expect(quiet.snapshot()).toMatchObject({
      "vaultstate.requests[status=200]": 1,
      "vaultstate.upstream.calls": 2,
      "vaultstate.upstream.calls[service=keyvault,status=200]": 1,
    });
  });
});

describe("describing upstream calls without names or keys", () => {
  it("templates Key Vault paths", () => {
    expect(describeUpstream("keyvault", "GET", "https://v.vault.azure.net/secrets/my-secret/abc?api-version=7.5").operation).toBe("GET secrets/{name}/{version}");
    expect(describeUpstream("keyvault", "GET", "https://v.vault.azure.net/secrets/my-secret/?api-version=7.5").operation).toBe("GET secrets/{name}");
    expect(describeUpstream("keyvault", "GET", "https://v.vault.azure.net/secrets?maxresults=25").operation).toBe("GET secrets");
    expect(describeUpstream("keyvault", "GET", "https://127.0.0.1:8443/secrets/x/versions").operation).toBe("GET secrets/{name}/versions");
  });

  it("describes storage and ARM calls by kind, never by blob, table key or account path", () => {
    const blob = describeUpstream("blob", "PUT", "http://127.0.0.1:10000/devstoreaccount1/vaultstate/orders%7C%7Csecret-looking-key?comp=lease");
    expect(blob.operation).toBe("PUT blob?comp=lease");
    expect(JSON.stringify(blob)).not.toContain("secret-looking-key");
    expect(describeUpstream("table", "GET", "https://a.table.core.windows.net/vaultstate(PartitionKey='p',RowKey='k')").operation).toBe("GET entity");
    expect(describeUpstream("table", "POST", "https://a.table.core.windows.net/$batch").operation).toBe("POST batch");
    expect(
      describeUpstream("arm", "POST", "https://management.azure.com/subscriptions/s/resourceGroups/rg/providers/Microsoft.Storage/storageAccounts/acct/regenerateKey?api-version=2023-05-01").operation,
    ).toBe("POST Microsoft.Storage/storageAccounts/regenerateKey");
  });

  it("reads a status from RestError-like errors, 0 when there was no response", () => {
    expect(upstreamErrorStatus(Object.assign(new Error("x"), { statusCode: 429 }))).toBe(429);
    expect(upstreamErrorStatus({ response: { status: 503 } })).toBe(503);
    expect(upstreamErrorStatus(new Error("getaddrinfo ENOTFOUND"))).toBe(0);
  });
});

describe("settings and event facts", () => {
  it("reads the Application Insights settings infra/ sets, and the local exporter", () => {
    const azure = parseSettings({
      APPLICATIONINSIGHTS_CONNECTION_STRING: "InstrumentationKey=00000000-0000-0000-0000-000000000000;IngestionEndpoint=https://x.in.applicationinsights.azure.com/",
      APPLICATIONINSIGHTS_AUTHENTICATION_STRING: "ClientId=11111111-2222-3333-4444-555555555555;Authorization=AAD",
    }).telemetry;
    expect(azure.connectionString).toMatch(/^InstrumentationKey=/);
    expect(azure.entraId).toEqual({ clientId: "11111111-2222-3333-4444-555555555555" });
    expect(parseSettings({ APPLICATIONINSIGHTS_AUTHENTICATION_STRING: "Authorization=AAD" }).telemetry.entraId).toEqual({ clientId: undefined });
    expect(parseSettings({}).telemetry).toEqual({ connectionString: undefined, entraId: undefined, exporter: undefined, exportIntervalInMs: undefined });
    expect(parseSettings({ TELEMETRY_EXPORTER: "OTLP", TELEMETRY_EXPORT_INTERVAL_SECONDS: "5" }).telemetry).toMatchObject({ exporter: "otlp", exportIntervalInMs: 5000 });
    expect(() => parseSettings({ TELEMETRY_EXPORTER: "zipkin" })).toThrow("TELEMETRY_EXPORTER must be console, otlp or none");
  });

  it("takes an event's type and time from either schema, and never lets the payload pick an attribute", () => {
    expect(keyVaultEventFacts({ eventType: "Microsoft.KeyVault.SecretNewVersionCreated", eventTime: "2026-12-03T10:00:00Z" })).toEqual({
      type: "Microsoft.KeyVault.SecretNewVersionCreated",
      eventTime: new Date("2026-12-03T10:00:00Z"),
    });
    expect(keyVaultEventFacts(JSON.stringify({ type: "Microsoft.KeyVault.SecretNearExpiry", time: "2026-12-03T10:00:00Z" })).type).toBe("Microsoft.KeyVault.SecretNearExpiry");
    expect(keyVaultEventFacts({ eventType: "s3cr3t-value", eventTime: "not a date" })).toEqual({ type: "other" });
    expect(keyVaultEventFacts("{not json")).toEqual({ type: "other" });
  });
});
