/**
 * @module The exporting half of the telemetry port: the OpenTelemetry SDK providers, the console and
 * OTLP exporters and `@azure/monitor-opentelemetry`. `otel.ts` loads this module with `import()` only
 * when something exports, so a process that exports nothing never loads (or compiles) the SDK.
 */
import { AsyncLocalStorageContextManager } from "@opentelemetry/context-async-hooks";
import { context, metrics, trace } from "@opentelemetry/api";
import { W3CTraceContextPropagator } from "@opentelemetry/core";
import { shutdownAzureMonitor, useAzureMonitor } from "@azure/monitor-opentelemetry";
import { OTLPMetricExporter } from "@opentelemetry/exporter-metrics-otlp-http";
import { OTLPTraceExporter } from "@opentelemetry/exporter-trace-otlp-http";
import { resourceFromAttributes } from "@opentelemetry/resources";
import { ConsoleMetricExporter, MeterProvider, PeriodicExportingMetricReader, type PushMetricExporter } from "@opentelemetry/sdk-metrics";
import { BasicTracerProvider, BatchSpanProcessor, ConsoleSpanExporter, type SpanExporter } from "@opentelemetry/sdk-trace-base";
import type { OtelTelemetryOptions, TelemetryExtras, TelemetrySettings } from "./otel";

let contextManagerSet = false;

/** Spans must follow async work (a request's upstream calls are its children), which needs AsyncLocalStorage. */
function ensureContextManager(): void {
  if (contextManagerSet) return;
  contextManagerSet = context.setGlobalContextManager(new AsyncLocalStorageContextManager().enable());
}

/**
 * Builds the providers (or hands them to Azure Monitor) for the exporters the settings and extras name;
 * the caller ({@link startTelemetry} in `otel.ts`) checked that at least one exports.
 */
export function startExporting(settings: TelemetrySettings, extras: TelemetryExtras): OtelTelemetryOptions {
  const readers = [...(extras.metricReaders ?? [])];
  const processors = [...(extras.spanProcessors ?? [])];
  const interval = settings.exportIntervalInMs ?? 60_000;
  if (settings.exporter !== undefined) {
    const { metricExporter, spanExporter } = localExporters(settings.exporter);
    readers.push(new PeriodicExportingMetricReader({ exporter: metricExporter, exportIntervalMillis: interval }));
    processors.push(new BatchSpanProcessor(spanExporter));
  }
  // Only a recorded span needs the active context to follow async work. AsyncLocalStorage installs
  // promise hooks that slow every promise in the process (the host's included), so with nothing
  // exporting spans it stays off and a request costs what the no-op API costs.
  if (processors.length > 0 || (settings.connectionString !== undefined && settings.connectionString !== "")) ensureContextManager();

  if (settings.connectionString !== undefined && settings.connectionString !== "") {
    useAzureMonitor({
      azureMonitorExporterOptions: {
        connectionString: settings.connectionString,
        ...(settings.credential !== undefined ? { credential: settings.credential } : {}),
      },
      ...(settings.serviceName !== undefined ? { resource: resourceFromAttributes({ "service.name": settings.serviceName }) } : {}),
      metricReaders: readers,
      spanProcessors: processors,
      enableLiveMetrics: false,
      instrumentationOptions: {
        http: { enabled: false },
        azureSdk: { enabled: false },
        mongoDb: { enabled: false },
        mySql: { enabled: false },
        postgreSql: { enabled: false },
        redis: { enabled: false },
        redis4: { enabled: false },
        bunyan: { enabled: false },
        winston: { enabled: false },
      },
    });
    return { meter: metrics.getMeter("vaultstate"), tracer: trace.getTracer("vaultstate"), propagator: new W3CTraceContextPropagator(), shutdown: () => shutdownAzureMonitor() };
  }

  const resource = resourceFromAttributes({ "service.name": settings.serviceName ?? "vaultstate" });
  const meterProvider = new MeterProvider({ resource, readers });
  const tracerProvider = new BasicTracerProvider({ resource, spanProcessors: processors });
  return {
    meter: meterProvider.getMeter("vaultstate"),
    tracer: tracerProvider.getTracer("vaultstate"),
    recording: { spans: processors.length > 0, metrics: readers.length > 0 },
    propagator: new W3CTraceContextPropagator(),
    shutdown: async () => {
      await Promise.allSettled([meterProvider.shutdown(), tracerProvider.shutdown()]);
    },
  };
}

function localExporters(kind: "console" | "otlp"): { metricExporter: PushMetricExporter; spanExporter: SpanExporter } {
  if (kind === "console") return { metricExporter: new ConsoleMetricExporter(), spanExporter: new ConsoleSpanExporter() };
  // The OTLP exporters read OTEL_EXPORTER_OTLP_ENDPOINT (default http://localhost:4318) themselves.
  return { metricExporter: new OTLPMetricExporter(), spanExporter: new OTLPTraceExporter() };
}
