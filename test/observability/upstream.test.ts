/**
 * @module The SDK `httpClient` that reports upstream calls, driven by a real Azure SDK client against a
 * loopback server: every attempt is one call (a throttled attempt and its retry are two), with the
 * status the wire saw, and nothing of the request path reaches the telemetry.
 */
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { AzureNamedKeyCredential, TableClient } from "@azure/data-tables";
import { AnonymousCredential, BlobServiceClient } from "@azure/storage-blob";
import { AggregationTemporality, InMemoryMetricExporter, PeriodicExportingMetricReader } from "@opentelemetry/sdk-metrics";
import { InMemorySpanExporter, SimpleSpanProcessor } from "@opentelemetry/sdk-trace-base";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { observeBlobClient, setUpstreamTelemetry, upstreamPolicies } from "../../src/azure/upstreamTelemetry";
import { METRICS, startTelemetry } from "../../src/observability/otel";
import { noTelemetry, type Telemetry } from "../../src/observability/telemetry";

let server: Server;
let base = "";
const answers: number[] = [];

beforeAll(async () => {
  server = createServer((req, res) => {
    req.resume();
    const status = answers.shift() ?? 200;
    if (status === 404) {
      res.writeHead(404, { "content-type": "application/json", "x-ms-error-code": "ResourceNotFound" });
      res.end(JSON.stringify({ "odata.error": { code: "ResourceNotFound", message: { value: "The specified resource does not exist." } } }));
      return;
    }
    res.writeHead(status, status === 429 ? { "retry-after": "0", "x-ms-error-code": "ServerBusy" } : { "content-length": "0", etag: '"0x1"', "last-modified": new Date().toUTCString() });
    res.end();
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}/devstoreaccount1`;
});

afterAll(async () => {
  setUpstreamTelemetry(noTelemetry);
  await new Promise<void>((resolve) => server.close(() => resolve()));
});

describe("upstream telemetry through the Azure SDK pipeline", () => {
  it("records each attempt, retries included, with its status, and names the operation without the blob", async () => {
    const exporter = new InMemoryMetricExporter(AggregationTemporality.CUMULATIVE);
    const reader = new PeriodicExportingMetricReader({ exporter, exportIntervalMillis: 3_600_000 });
    const spans = new InMemorySpanExporter();
    const telemetry: Telemetry = await startTelemetry({}, { metricReaders: [reader], spanProcessors: [new SimpleSpanProcessor(spans)] });
    setUpstreamTelemetry(telemetry);
    try {
      const client = observeBlobClient(new BlobServiceClient(base, new AnonymousCredential(), { retryOptions: { maxTries: 3, retryDelayInMs: 1, maxRetryDelayInMs: 5 } }));
      answers.push(503, 200);
      await client.getContainerClient("vaultstate").getBlobClient("orders||customer-4711").getProperties();

      await reader.forceFlush();
      const metrics = exporter.getMetrics().at(-1)?.scopeMetrics.flatMap((s) => s.metrics) ?? [];
      const calls = metrics.find((m) => m.descriptor.name === METRICS.upstreamCalls.name);
      const byStatus = new Map((calls?.dataPoints ?? []).map((p) => [p.attributes["http.response.status_code"], p.value]));
      expect(byStatus.get(503)).toBe(1);
      expect(byStatus.get(200)).toBe(1);
      expect(calls?.dataPoints[0]?.attributes["vaultstate.upstream.operation"]).toBe("HEAD blob");
      const clientSpans = spans.getFinishedSpans().filter((s) => s.name === "blob HEAD blob");
      expect(clientSpans).toHaveLength(2);
      const everything = JSON.stringify([metrics.map((m) => m.dataPoints.map((p) => p.attributes)), spans.getFinishedSpans().map((s) => [s.name, s.attributes])]);
      expect(everything).not.toContain("4711");
      expect(everything).not.toContain("customer");
    } finally {
      await telemetry.shutdown();
    }
  });

  it("makes throttling visible on a core-client SDK (Table): the 429 attempt and the retry's answer", async () => {
    const exporter = new InMemoryMetricExporter(AggregationTemporality.CUMULATIVE);
    const reader = new PeriodicExportingMetricReader({ exporter, exportIntervalMillis: 3_600_000 });
    const telemetry = await startTelemetry({}, { metricReaders: [reader] });
    setUpstreamTelemetry(telemetry);
    try {
      const table = new TableClient(base, "vaultstate", new AzureNamedKeyCredential("devstoreaccount1", Buffer.from("key-bytes-never-exported").toString("base64")), {
        allowInsecureConnection: true,
        retryOptions: { maxRetries: 2, retryDelayInMs: 1, maxRetryDelayInMs: 5 },
        ...upstreamPolicies("table"),
      });
      answers.push(429, 404);
      await expect(table.getEntity("orders", "customer-4711")).rejects.toMatchObject({ statusCode: 404 });
      await reader.forceFlush();
      const calls = exporter.getMetrics().at(-1)?.scopeMetrics.flatMap((s) => s.metrics).find((m) => m.descriptor.name === METRICS.upstreamCalls.name);
      const seen = (calls?.dataPoints ?? []).map((p) => [p.attributes["http.response.status_code"], p.attributes["vaultstate.upstream.throttled"], p.attributes["vaultstate.upstream.operation"], p.value]);
      expect(seen).toEqual(expect.arrayContaining([[429, true, "GET entity", 1], [404, false, "GET entity", 1]]));
      expect(telemetry.snapshot()["vaultstate.upstream.calls[service=table,status=429]"]).toBe(1);
    } finally {
      await telemetry.shutdown();
    }
  });

  it("sends unobserved until a port is registered", async () => {
    setUpstreamTelemetry(noTelemetry);
    const client = observeBlobClient(new BlobServiceClient(base, new AnonymousCredential()));
    answers.push(200);
    await expect(client.getContainerClient("c").getBlobClient("b").getProperties()).resolves.toBeDefined();
  });
});
