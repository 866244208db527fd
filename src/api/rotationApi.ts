/**
 * @module `POST /v1.0-alpha1/secrets/{store}/{name}/rotate`: an admin asks for a rotation now.
 */
import { isRotatableSecretStore, type RotationTarget } from "../components/secretstores/secretStore";
import type { Runtime } from "../runtime/runtime";
import type { Caller } from "./auth";
import { apiError, type ApiResponse } from "./errors";
import { json } from "./responses";
import { NO_STORE } from "./secretsApi";

/** What the route reports: the outcome and version ids, never a value. */
export interface RotationReport {
  outcome: string;
  oldVersion?: string;
  newVersion?: string;
  generator?: string;
  description?: string;
  error?: string;
  nextDueAt?: string;
}

/** How the API reaches the rotation service. */
export interface RotationPort {
  rotate(target: RotationTarget, caller: Caller): Promise<RotationReport>;
}

const STATUS: Readonly<Record<string, number>> = { rotated: 200, "not-due": 200, "stale-trigger": 200, locked: 409, "no-policy": 400, "check-failed": 500, error: 500 };

/**
 * Handles the rotate route; the admin role is checked by the router.
 * @throws {@link ApiError} 401 `ERR_SECRET_STORE_NOT_FOUND`, 400 `ERR_ROTATION_NOT_SUPPORTED`
 */
export async function rotateSecret(port: RotationPort, runtime: Runtime, caller: Caller, storeName: string, secretName: string): Promise<ApiResponse> {
  const store = runtime.secretStores(caller.appId).get(storeName);
  if (store === undefined) throw apiError("secretStoreNotFound", { store: storeName });
  if (!isRotatableSecretStore(store.inner)) throw apiError("rotationNotSupported", { store: storeName });
  const report = await port.rotate(store.inner.rotationTarget(secretName), caller);
  const status = STATUS[report.outcome] ?? 500;
  if (status >= 400) {
    const outcome = `${report.outcome}${report.error !== undefined ? `: ${report.error}` : ""}`;
    throw apiError(report.outcome === "no-policy" ? "rotationNoPolicy" : "secretRotation", { secret: secretName, store: storeName, outcome }, { status });
  }
  return json(200, report, { shape: "struct", headers: NO_STORE });
}
