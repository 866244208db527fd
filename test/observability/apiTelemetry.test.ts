/**
 * @module Telemetry of the API, read back through in-memory exporters after a scripted sequence of
 * requests against a real runtime (a file secret store, an in-memory state store): request counts by
 * route, store, app-id and status, the secret cache's counters, the same totals in `/v1.0/metadata`
 * `extended`, and a redaction scan of every exported attribute and span name for the secret values,
 * tokens and state values the sequence used.
 */
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import * as path from "node:path";
import { AggregationTemporality, InMemoryMetricExporter, type MetricData, PeriodicExportingMetricReader } from "@opentelemetry/sdk-metrics";
import { InMemorySpanExporter, SimpleSpanProcessor } from "@opentelemetry/sdk-trace-base";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createApi, type ApiHandler } from "../../src/api/router";
import { createAzureClients } from "../../src/azure/clients";
import type { Logger } from "../../src/observability/logger";
import { METRICS, startTelemetry } from "../../src/observability/otel";
import type { Telemetry } from "../../src/observability/telemetry";
import { parseResourceDocuments } from "../../src/runtime/componentFiles";
import { buildRuntime, type Runtime } from "../../src/runtime/runtime";
import { createCounters } from "../../src/runtime/secretCache";

const SECRET_VALUE = "pa55-VALUE-0f-db-password-7731";
const TOKEN = "caller-token-c0ffee-9931";
const WRONG_TOKEN = "wrong-token-deadbeef-4410";
const STATE_VALUE = "state-value-with-card-4111111111111111";
const KNOWN_SECRETS = [SECRET_VALUE, TOKEN, WRONG_TOKEN, STATE_VALUE, "4111111111111111"];

const logger: Logger = { info: () => {}, warn: () => {}, error: () => {} };
let dir = "";
let runtime: Runtime;
let api: ApiHandler;
let telemetry: Telemetry;
let reader: PeriodicExportingMetricReader;
const metricExporter = new InMemoryMetricExporter(AggregationTemporality.CUMULATIVE);
const spans = new InMemorySpanExporter();

async function call(method: string, url: string, options: { body?: unknown; token?: string } = {}): Promise<{ status: number; text: string }> {
  const text = options.body === undefined ? "" : JSON.stringify(options.body);
  const response = await telemetry.span(`vaultstate ${method}`, { traceParent: "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01" }, () =>
    api({
      method,
      url,
      headers: new Headers({ "dapr-api-token": options.token ?? TOKEN, "content-type": "application/json" }),
      body: async () => new TextEncoder().encode(text),
    }),
  );
  const out = response.body === undefined ? "" : typeof response.body === "string" ? response.body : Buffer.from(response.body).toString();
  return { status: response.status, text: out };
}

beforeAll(async () => {
  dir = mkdtempSync(path.join(tmpdir(), "vaultstate-telemetry-"));
  writeFileSync(path.join(dir, "secrets.json"), JSON.stringify({ "db-password": SECRET_VALUE }));
  reader = new PeriodicExportingMetricReader({ exporter: metricExporter, exportIntervalMillis: 3_600_000 });
  telemetry = await startTelemetry({ serviceName: "orders" }, { metricReaders: [reader], spanProcessors: [new SimpleSpanProcessor(spans)] });
  const counters = createCounters();
  telemetry.observeCache(() => counters);
  const yaml = [
    "apiVersion: dapr.io/v1alpha1\nkind: Component\nmetadata: {name: localstore}\nspec:\n  type: secretstores.local.file\n  version: v1\n  metadata: [{name: secretsFile, value: secrets.json}]",
    "apiVersion: dapr.io/v1alpha1\nkind: Component\nmetadata: {name: memstore}\nspec:\n  type: state.in-memory\n  version: v1\n  metadata: []",
  ].join("\n---\n");
  runtime = await buildRuntime({
    appId: "orders",
    resources: parseResourceDocuments("c.yaml", yaml),
    apiTokens: [`orders=${TOKEN}`],
    providerContext: { azure: createAzureClients({}), appRoot: dir, environment: {} },
    logger,
    secretCache: { counters },
  });
  api = createApi({
    runtime: { status: () => ({ state: "ready", runtime }), ready: async () => runtime },
    authPolicy: (rt) => ({ callers: rt.callers, allowAnonymous: false, anonymousAppId: "orders" }),
    logger,
    telemetry,
    extended: () => telemetry.snapshot(),
  });

  // The scripted sequence every test below reads.
  expect((await call("GET", "/v1.0/secrets/localstore/db-password")).status).toBe(200);
  expect((await call("GET", "/v1.0/secrets/localstore/db-password")).status).toBe(200);
  expect((await call("GET", "/v1.0/secrets/nostore/db-password")).status).toBe(401);
  expect((await call("POST", "/v1.0/state/memstore", { body: [{ key: "order-1", value: STATE_VALUE }] })).status).toBe(204);
  expect((await call("GET", "/v1.0/state/memstore/order-1")).status).toBe(200);
  expect((await call("GET", "/v1.0/state/nostore/order-1")).status).toBe(400);
  expect((await call("GET", "/v1.0/secrets/localstore/db-password", { token: WRONG_TOKEN })).status).toBe(401);
  expect((await call("GET", `/v1.0/secrets/${SECRET_VALUE}/x`)).status).toBe(401);
  expect((await call("GET", "/v1.0/healthz")).status).toBe(204);
});

afterAll(async () => {
  await telemetry.shutdown();
  await runtime.close();
  rmSync(dir, { recursive: true, force: true });
});

async function exported(): Promise<MetricData[]> {
  await reader.forceFlush();
  return metricExporter.getMetrics().at(-1)?.scopeMetrics.flatMap((s) => s.metrics) ?? [];
}

function count(metrics: MetricData[], name: string, match: Record<string, unknown>): number {
  const metric = metrics.find((m) => m.descriptor.name === name);
  return (metric?.dataPoints ?? [])
    .filter((p) => Object.entries(match).every(([k, v]) => p.attributes[k] === v))
    .reduce((t, p) => t + (typeof p.value === "number" ? p.value : 0), 0);
}

describe("API telemetry after a scripted sequence", () => {
  it("counts requests by route template, store, app-id and status", async () => {
    const m = await exported();
    const secrets = { "http.route": "/v1.0/secrets/:store/:key", "http.request.method": "GET" };
    expect(count(m, METRICS.requests.name, { ...secrets, "vaultstate.store": "localstore", "vaultstate.app_id": "orders", "http.response.status_code": 200 })).toBe(2);
    // Store names that are not components are recorded as such, never as the caller's text.
    expect(count(m, METRICS.requests.name, { ...secrets, "vaultstate.store": "(unknown)", "http.response.status_code": 401 })).toBe(2);
    expect(count(m, METRICS.requests.name, { "http.route": "/v1.0/state/:store", "http.request.method": "POST", "vaultstate.store": "memstore", "http.response.status_code": 204 })).toBe(1);
    expect(count(m, METRICS.requests.name, { "http.route": "/v1.0/state/:store/:key", "vaultstate.store": "(unknown)", "http.response.status_code": 400 })).toBe(1);
    // A rejected token: no route, no app-id.
    expect(count(m, METRICS.requests.name, { "http.route": "unmatched", "http.response.status_code": 401 })).toBe(1);
    expect(count(m, METRICS.requests.name, { "http.route": "/v1.0/healthz", "http.response.status_code": 204 })).toBe(1);
    expect(count(m, METRICS.requests.name, {})).toBe(9);
    const duration = m.find((x) => x.descriptor.name === METRICS.requestDuration.name);
    expect(duration?.descriptor.unit).toBe("ms");
  });

  it("reports the secret cache: one miss and one upstream read, then a hit", async () => {
    const m = await exported();
    expect(count(m, METRICS.cacheMisses.name, {})).toBe(1);
    expect(count(m, METRICS.cacheHits.name, {})).toBe(1);
    expect(count(m, METRICS.cacheUpstreamCalls.name, {})).toBe(1);
    expect(count(m, METRICS.cacheStaleServes.name, {})).toBe(0);
  });

  it("shows the same totals in /v1.0/metadata extended", async () => {
    const r = await call("GET", "/v1.0/metadata");
    expect(r.status).toBe(200);
    const extended = (JSON.parse(r.text) as { extended: Record<string, unknown> }).extended;
    expect(extended["vaultstate.requests"]).toBe(9);
    expect(extended["vaultstate.requests[status=200]"]).toBe(3);
    expect(extended["vaultstate.secret_cache.hits"]).toBe(1);
  });

  it("never exports a secret value, token or state value: every attribute, span name and resource scanned", async () => {
    const m = await exported();
    const batches = metricExporter.getMetrics();
    const texts: string[] = [];
    for (const batch of batches) {
      texts.push(JSON.stringify(batch.resource.attributes));
      for (const scope of batch.scopeMetrics) for (const metric of scope.metrics) for (const p of metric.dataPoints) texts.push(metric.descriptor.name, JSON.stringify(p.attributes));
    }
    for (const s of spans.getFinishedSpans()) texts.push(s.name, JSON.stringify(s.attributes), JSON.stringify(s.events), JSON.stringify(s.resource.attributes));
    expect(m.length).toBeGreaterThan(3);
    expect(spans.getFinishedSpans().length).toBe(10);
    const all = texts.join("\n");
    for (const secret of KNOWN_SECRETS) expect(all, `exported telemetry contains ${secret.slice(0, 6)}…`).not.toContain(secret);
  });
});
