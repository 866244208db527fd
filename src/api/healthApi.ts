/**
 * @module Health and metadata: `GET /v1.0/healthz`, `GET /v1.0/healthz/outbound`, `GET /v1.0/metadata`.
 */
import type { Runtime, RuntimeStatus } from "../runtime/runtime";
import type { Caller } from "./auth";
import { apiError, type ApiResponse } from "./errors";
import { empty, json } from "./responses";

/** vaultstate's own version, reported as `runtimeVersion` (matches `^\d+\.\d+\.\d+$`). */
export const RUNTIME_VERSION = "0.1.0";
/** The daprd release whose HTTP API vaultstate reproduces, reported as `extended.daprRuntimeVersion`. */
export const DAPR_API_VERSION = "1.16.0";

/**
 * Whether every component initialised and every caller token resolved. Health reflects start-up
 * state only: an upstream that fails after start is not probed here (requests fail within their
 * deadline instead); a component that failed to initialise keeps both probes at 500 until the
 * background retry brings it up.
 */
function completeRuntime(status: RuntimeStatus): Runtime | undefined {
  if (status.state !== "ready" || status.runtime.failed.length > 0 || status.runtime.failedCallers.length > 0) return undefined;
  return status.runtime;
}

/**
 * Handles `GET /v1.0/healthz[?appid=X]`: 204 when every component is initialised and every caller
 * token resolved.
 * @throws {@link ApiError} 500 `ERR_HEALTH_NOT_READY` / `ERR_HEALTH_APPID_NOT_MATCH`
 */
export function healthz(status: RuntimeStatus, appIdQuery: string | undefined): ApiResponse {
  const runtime = completeRuntime(status);
  if (runtime === undefined) throw apiError("healthNotReady", { targets: status.state === "starting" ? "startup" : "components" });
  if (appIdQuery !== undefined && appIdQuery !== runtime.appId) {
    throw apiError("healthAppIdNotMatch", {});
  }
  return empty();
}

/**
 * Handles `GET /v1.0/healthz/outbound`: 204 once every component is initialised (as daprd, it does
 * not wait for an app channel; vaultstate has none).
 * @throws {@link ApiError} 500 `ERR_OUTBOUND_HEALTH_NOT_READY`
 */
export function healthzOutbound(status: RuntimeStatus): ApiResponse {
  if (completeRuntime(status) === undefined) throw apiError("outboundHealthNotReady", {});
  return empty();
}

/** Extra numbers for `extended`, e.g. cache counters. Values are numbers or plain labels, never secrets. */
export type ExtendedProvider = () => Record<string, string | number>;

/**
 * Handles `GET /v1.0/metadata` for a caller: its app-id and the components it may use. The body is
 * never empty, which the JS SDK relies on as its readiness check.
 */
export function metadata(runtime: Runtime, caller: Caller, extended: ExtendedProvider): ApiResponse {
  const components = runtime.components
    .filter((c) => c.definition.scopes.length === 0 || c.definition.scopes.includes(caller.appId))
    .map((c) => {
      const capabilities = runtime.capabilities(c);
      return { name: c.definition.name, type: c.definition.type, version: c.definition.version, ...(capabilities.length > 0 ? { capabilities } : {}) };
    });
  const ext: Record<string, string | number> = { daprRuntimeVersion: DAPR_API_VERSION, ...extended() };
  const body = {
    id: caller.appId,
    runtimeVersion: RUNTIME_VERSION,
    ...(components.length > 0 ? { components } : {}),
    extended: Object.fromEntries(Object.entries(ext).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))),
    actorRuntime: { runtimeStatus: "DISABLED", hostReady: false },
  };
  return json(200, body, { shape: "struct" });
}
