/**
 * @module The Dapr secrets API: `GET /v1.0/secrets/{store}/{name}` and `GET /v1.0/secrets/{store}/bulk`.
 *
 * Check order as daprd (`pkg/api/universal/secrets.go`): no stores → 500, unknown store → 401 (sic),
 * denied by scope → 403 (bulk filters instead), store error → 500, success → 200 JSON.
 *
 * Hardenings for a public endpoint:
 * - a denied secret name is denied in every letter case (Key Vault names are case-insensitive, so
 *   `STORAGE-ACCOUNT-KEY` is the same secret as a denied `storage-account-key`);
 * - per-request metadata the store rejects (`metadata.maxresults=abc`) and names the store can never
 *   hold (a Key Vault name outside 1-127 of `0-9a-zA-Z-`) are a 400 `ERR_SECRET_GET` instead of
 *   daprd's 500, and cost no upstream call;
 * - `metadata.*` keys the store does not read are ignored, as daprd's providers ignore them (so they
 *   cannot make a cache miss either);
 * - a caller that spends its budget of uncached reads gets 429 `ERR_TOO_MANY_REQUESTS` with
 *   `Retry-After` (or the stale value, where one is cached).
 */
import { isMetadataError } from "../components/metadata";
import { type GetSecretResponse, isImmediateSecretStore, isInvalidSecretNameError, type OperationOptions, type SecretStore } from "../components/secretstores/secretStore";
import type { SecretScope } from "../runtime/componentFiles";
import type { Runtime } from "../runtime/runtime";
import { isSecretReadBudgetError } from "../runtime/secretCache";
import { isSecretAllowed, secretScopeFor } from "../runtime/secretScopes";
import type { Caller } from "./auth";
import { apiError, type ApiResponse, toHttpResponse } from "./errors";
import { json } from "./responses";
import { goMarshalStringMap } from "./wire";

/** Secret responses must never be stored by a cache or proxy. */
export const NO_STORE = { "cache-control": "no-store" } as const;

function lookupStore(runtime: Runtime, caller: Caller, storeName: string): SecretStore {
  const stores = runtime.secretStores(caller.appId);
  if (stores.size === 0) throw apiError("secretStoresNotConfigured", {});
  const store = stores.get(storeName);
  if (store === undefined) throw apiError("secretStoreNotFound", { store: storeName });
  return store;
}

function errorText(e: unknown): string {
  return e instanceof Error ? e.message : "unknown error";
}

/** 400 when the store refused the request's own metadata or name, else daprd's 500. */
function storeErrorStatus(e: unknown): number | undefined {
  return isMetadataError(e) || isInvalidSecretNameError(e) ? 400 : undefined;
}

/** 429 with `Retry-After` for a caller whose budget of uncached reads is spent, else `undefined`. */
function budgetResponse(e: unknown): ApiResponse | undefined {
  if (!isSecretReadBudgetError(e)) return undefined;
  const response = toHttpResponse(apiError("secretReadBudgetSpent", { seconds: e.retryAfterSeconds }), () => undefined);
  return { ...response, headers: { ...response.headers, ...NO_STORE, "retry-after": String(e.retryAfterSeconds) } };
}

/**
 * Dapr's scope check, plus: a name in `deniedSecrets` is denied whatever its letter case. Dapr compares
 * exactly, which lets `GET /secrets/kv/STORAGE-ACCOUNT-KEY` read a denied Key Vault secret (Key Vault
 * and Windows environment variables ignore case). Only the deny list is widened, so this never allows
 * more than Dapr does.
 */
export function isSecretAllowedAnyCase(scope: SecretScope | undefined, key: string): boolean {
  if (!isSecretAllowed(scope, key)) return false;
  if (scope === undefined || scope.allowedSecrets.length > 0) return true;
  const lowered = key.toLowerCase();
  return !scope.deniedSecrets.some((denied) => denied.toLowerCase() === lowered);
}

/**
 * Where a request's deadline comes from when it is made on first use (the route context): a cached
 * read never asks, so it never makes one (see RouteContext.abortSignal).
 */
export interface DeadlineSource {
  readonly abortSignal: AbortSignal;
}

/**
 * A read's options whose deadline signal is made only when something reads it. A class, not an object
 * literal with a getter: V8 builds such a literal on a slow path on every request, and spreading it
 * (`{ ...opts, abortSignal }`) would call the getter and make the signal after all.
 */
class DeferredDeadlineOptions implements OperationOptions {
  // A private field, so a spread copy of the options carries only `caller`.
  readonly #deadline: DeadlineSource;

  constructor(
    readonly caller: string,
    deadline: DeadlineSource,
  ) {
    this.#deadline = deadline;
  }

  get abortSignal(): AbortSignal {
    return this.#deadline.abortSignal;
  }
}

/** A read's options; a deadline source is only asked when something reads the signal. */
function readOptions(caller: Caller, deadline: AbortSignal | DeadlineSource | undefined): OperationOptions {
  if (deadline === undefined || deadline instanceof AbortSignal) return { abortSignal: deadline, caller: caller.appId };
  return new DeferredDeadlineOptions(caller.appId, deadline);
}

/** A single secret read. */
export interface GetSecretInput {
  storeName: string;
  key: string;
  metadata: Record<string, string>;
}

/** A secret answer's headers: one shared object, as every secret answer carries the same two. */
const SECRET_ANSWER_HEADERS: Record<string, string> = Object.freeze({ "content-type": "application/json", ...NO_STORE });

/** daprd's answer to a secret read: the data as a Go-marshalled map. */
function secretAnswer({ data }: GetSecretResponse): ApiResponse {
  return { status: 200, headers: SECRET_ANSWER_HEADERS, body: `${goMarshalStringMap(data)}\n` };
}

/**
 * The wire answers of shared (frozen) immediate answers, so a secret read again and again is marshalled
 * once: an entry lives as long as the store keeps its answer.
 */
const sharedAnswers = new WeakMap<GetSecretResponse, ApiResponse>();

function immediateAnswer(read: GetSecretResponse): ApiResponse {
  let answer = sharedAnswers.get(read);
  if (answer !== undefined) return answer;
  answer = secretAnswer(read);
  if (Object.isFrozen(read)) sharedAnswers.set(read, Object.freeze(answer));
  return answer;
}

/**
 * Handles `GET /v1.0/secrets/{store}/{key}`, the hottest route. A read the store can answer at once (a
 * cached secret) is answered synchronously: no promise, no async frame. Anything else answers with a
 * promise, and a refusal is always a rejection.
 */
export function getSecret(runtime: Runtime, caller: Caller, input: GetSecretInput, deadline?: AbortSignal | DeadlineSource): ApiResponse | Promise<ApiResponse> {
  let store: SecretStore;
  try {
    store = lookupStore(runtime, caller, input.storeName);
    const scope = secretScopeFor(runtime.configuration(caller.appId), input.storeName);
    if (!isSecretAllowedAnyCase(scope, input.key)) {
      throw apiError("secretPermissionDenied", { key: JSON.stringify(input.key), store: JSON.stringify(input.storeName) });
    }
  } catch (e) {
    return Promise.reject(e as Error);
  }
  const request = { name: input.key, metadata: input.metadata };
  const atHand = isImmediateSecretStore(store) ? store.getSecretNow(request) : undefined;
  if (atHand !== undefined) return immediateAnswer(atHand);
  let read: Promise<GetSecretResponse>;
  try {
    read = store.getSecret(request, readOptions(caller, deadline));
  } catch (e) {
    read = Promise.reject(e as Error);
  }
  return read.then(
    secretAnswer,
    (e: unknown) => {
      const refused = budgetResponse(e);
      if (refused !== undefined) return refused;
      throw apiError("secretGet", { key: input.key, store: input.storeName, error: errorText(e) }, { status: storeErrorStatus(e), cause: e });
    },
  );
}

/** A bulk secret read. */
export interface BulkGetSecretInput {
  storeName: string;
  metadata: Record<string, string>;
}

/** Handles `GET /v1.0/secrets/{store}/bulk`; secrets the scope denies are left out silently. */
export async function bulkGetSecret(runtime: Runtime, caller: Caller, input: BulkGetSecretInput, deadline?: AbortSignal | DeadlineSource): Promise<ApiResponse> {
  const store = lookupStore(runtime, caller, input.storeName);
  let data: Record<string, Record<string, string>>;
  try {
    ({ data } = await store.bulkGetSecret({ metadata: input.metadata }, readOptions(caller, deadline)));
  } catch (e) {
    const refused = budgetResponse(e);
    if (refused !== undefined) return refused;
    throw apiError("bulkSecretGet", { store: input.storeName, error: errorText(e) }, { status: storeErrorStatus(e), cause: e });
  }
  const scope = secretScopeFor(runtime.configuration(caller.appId), input.storeName);
  const filtered: Record<string, Record<string, string>> = {};
  for (const [name, value] of Object.entries(data)) if (isSecretAllowedAnyCase(scope, name)) filtered[name] = value;
  return json(200, filtered, { shape: "map", headers: NO_STORE });
}
