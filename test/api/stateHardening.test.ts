/**
 * @module Hostile-input fixes in the state API (found by test/security): JSON nesting and number limits,
 * lone surrogates, inputs a provider cannot represent (400, not 500), and bounded store concurrency.
 */
import { describe, expect, it } from "vitest";
import type { ApiResponse } from "../../src/api/errors";
import { isApiError } from "../../src/api/errors";
import { bulkGetState, deleteState, getState, saveState, STORE_CONCURRENCY, transactState, type StateContext } from "../../src/api/stateApi";
import type { StateComponent } from "../../src/runtime/runtime";
import { decodeJson, JsonDecodeError, MAX_JSON_DEPTH } from "../../src/api/wire";
import { createInMemoryStateStore } from "../../src/components/state/inMemory/inMemoryStateStore";
import type { GetStateResponse, TransactionalStateStore } from "../../src/components/state/stateStore";

const bytes = (text: string): Uint8Array => new TextEncoder().encode(text);
const nested = (depth: number): string => `${"[".repeat(depth)}${"]".repeat(depth)}`;

function context(store: TransactionalStateStore): StateContext {
  const component: StateComponent = { store, keyPrefix: { kind: "appid" } };
  return { stores: new Map([["s", component]]), caller: { appId: "demo", role: "writer", via: "token" }, namespace: undefined };
}

/** Runs a handler and returns its response, or the ApiError it threw as status + code. */
async function outcome(run: () => Promise<ApiResponse>): Promise<{ status: number; code?: string; message?: string }> {
  try {
    return { status: (await run()).status };
  } catch (e) {
    if (!isApiError(e)) throw e;
    return { status: e.status, code: e.code, message: e.message };
  }
}

describe("decodeJson (Go encoding/json outcomes, safely)", () => {
  it("accepts nesting up to MAX_JSON_DEPTH and refuses deeper text before parsing", () => {
    expect(decodeJson(nested(MAX_JSON_DEPTH))).toBeInstanceOf(Array);
    expect(() => decodeJson(nested(MAX_JSON_DEPTH + 1))).toThrow(new JsonDecodeError("exceeded max depth"));
    expect(() => decodeJson(`{"a":${nested(100_000)}}`)).toThrow("exceeded max depth");
  });
  it("does not count brackets inside strings, escaped quotes included", () => {
    const text = JSON.stringify({ s: `\\"${"[".repeat(5000)}` });
    expect(decodeJson(text)).toEqual({ s: `\\"${"[".repeat(5000)}` });
  });
  it("refuses numbers outside float64 instead of turning them into Infinity", () => {
    expect(() => decodeJson('[{"key":"k","value":1e400}]')).toThrow("json: cannot unmarshal number into Go value of type float64");
    expect(() => decodeJson("-1e999")).toThrow(JsonDecodeError);
    expect(decodeJson("1e308")).toBe(1e308);
  });
  it("replaces lone surrogates by U+FFFD in strings and keys, keeping valid pairs", () => {
    expect(decodeJson('{"\\ud800k":["\\udc00x","\\ud83d\\ude00"]}')).toEqual({ "\ufffdk": ["\ufffdx", "😀"] });
  });
  it("keeps an own __proto__ key a plain key (no prototype change)", () => {
    const value = decodeJson('{"__proto__":{"polluted":"\\ud800"}}');
    expect(Object.getPrototypeOf(value)).toBe(Object.prototype);
    expect(Object.getOwnPropertyNames(value)).toEqual(["__proto__"]);
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
  });
  it("reports syntax errors without echoing the input", () => {
    expect(() => decodeJson("[secret-text")).toThrow(new JsonDecodeError("invalid character in JSON body"));
  });
});

describe("state bodies", () => {
  it("a value nested 10k deep is a 400, not a 500 from JSON.stringify's stack overflow", async () => {
    const ctx = context(createInMemoryStateStore());
    const body = bytes(`[{"key":"deep","value":${nested(10_000)}}]`);
    expect(await outcome(() => saveState(ctx, "s", body, {}))).toEqual({ status: 400, code: "ERR_MALFORMED_REQUEST", message: "exceeded max depth" });
    const tx = bytes(`{"operations":[{"operation":"upsert","request":{"key":"deep","value":${nested(10_000)}}}]}`);
    expect(await outcome(() => transactState(ctx, "s", tx, {}))).toMatchObject({ status: 400, code: "ERR_MALFORMED_REQUEST" });
    expect(await outcome(() => bulkGetState(ctx, "s", bytes(`{"keys":${nested(5000)}}`), {}))).toMatchObject({ status: 400, code: "ERR_MALFORMED_REQUEST" });
  });
  it("1e400 is refused (daprd refuses it too) instead of being stored as null", async () => {
    const store = createInMemoryStateStore();
    const ctx = context(store);
    expect(await outcome(() => saveState(ctx, "s", bytes('[{"key":"inf","value":1e400}]'), {}))).toMatchObject({ status: 400, code: "ERR_MALFORMED_REQUEST" });
    expect(await store.get({ key: "demo||inf", metadata: {}, options: {} })).toBeUndefined();
  });
  it("a lone surrogate in a key is stored as U+FFFD", async () => {
    const store = createInMemoryStateStore();
    expect((await saveState(context(store), "s", bytes('[{"key":"k\\ud800","value":1}]'), {})).status).toBe(204);
    expect((await store.get({ key: "demo||k\ufffd", metadata: {}, options: {} }))?.data).toBe("1");
  });
});

/** An in-memory store whose operations throw what a provider throws for keys it cannot represent. */
function rejectingStore(error: () => Error): TransactionalStateStore {
  const inner = createInMemoryStateStore();
  return {
    ...inner,
    get: async () => Promise.reject(error()),
    set: async () => Promise.reject(error()),
    delete: async () => Promise.reject(error()),
    transact: async () => Promise.reject(error()),
  };
}

describe("input a provider cannot represent", () => {
  const forbidden = (): Error => new RangeError("the state key contains a character Azure Table Storage forbids in keys");
  it.each([
    ["save", "ERR_STATE_SAVE", (ctx: StateContext) => saveState(ctx, "s", bytes('[{"key":"a/b","value":1}]'), {})],
    ["get", "ERR_STATE_GET", (ctx: StateContext) => getState(ctx, "s", "a/b", { metadata: {} })],
    ["delete", "ERR_STATE_DELETE", (ctx: StateContext) => deleteState(ctx, "s", "a/b", { ifMatch: null, metadata: {} })],
    ["transaction", "ERR_STATE_TRANSACTION", (ctx: StateContext) => transactState(ctx, "s", bytes('{"operations":[{"operation":"upsert","request":{"key":"a/b"}}]}'), {})],
  ])("%s: a RangeError from the store is a 400 %s", async (_name, code, run) => {
    expect(await outcome(() => run(context(rejectingStore(forbidden))))).toMatchObject({ status: 400, code });
  });
  it("a URIError (text that cannot be URL-encoded) is a 400 too", async () => {
    const ctx = context(rejectingStore(() => new URIError("URI malformed")));
    expect(await outcome(() => saveState(ctx, "s", bytes('[{"key":"a","value":1}]'), {}))).toMatchObject({ status: 400, code: "ERR_STATE_SAVE" });
  });
  it("a store failure stays a 500, and so does a stack overflow", async () => {
    for (const error of [new Error("connect ECONNREFUSED"), new RangeError("Maximum call stack size exceeded")]) {
      const ctx = context(rejectingStore(() => error));
      expect(await outcome(() => saveState(ctx, "s", bytes('[{"key":"a","value":1}]'), {}))).toMatchObject({ status: 500, code: "ERR_STATE_SAVE" });
      expect(await outcome(() => getState(ctx, "s", "a", { metadata: {} }))).toMatchObject({ status: 500, code: "ERR_STATE_GET" });
    }
  });
  it("a failed multi-item save lists each distinct error once, at most ten", async () => {
    let n = 0;
    const ctx = context(rejectingStore(() => new Error(`failure ${n++ % 12}`)));
    const body = bytes(JSON.stringify(Array.from({ length: 500 }, (_, i) => ({ key: `k${i}`, value: i }))));
    const result = await outcome(() => saveState(ctx, "s", body, {}));
    expect(result).toMatchObject({ status: 500, code: "ERR_STATE_SAVE" });
    const lines = (result.message ?? "").split("\n");
    expect(lines).toHaveLength(11);
    expect(lines[10]).toBe("(and 2 more distinct errors)");
  });
});

describe("bounded store concurrency", () => {
  /** An in-memory store that records how many calls were in flight at once. */
  function countingStore(): { store: TransactionalStateStore; peak: () => number; calls: () => number } {
    const inner = createInMemoryStateStore();
    let inFlight = 0;
    let peak = 0;
    let calls = 0;
    const track = async <T>(run: () => Promise<T>): Promise<T> => {
      inFlight++;
      calls++;
      peak = Math.max(peak, inFlight);
      try {
        await new Promise((resolve) => setTimeout(resolve, 1));
        return await run();
      } finally {
        inFlight--;
      }
    };
    return {
      store: {
        ...inner,
        set: (request, options) => track(() => inner.set(request, options)),
        get: (request, options): Promise<GetStateResponse | undefined> => track(() => inner.get(request, options)),
      },
      peak: () => peak,
      calls: () => calls,
    };
  }

  it("a 2000-item save runs at most STORE_CONCURRENCY writes at once and writes every item", async () => {
    const counting = countingStore();
    const body = bytes(JSON.stringify(Array.from({ length: 2000 }, (_, i) => ({ key: `k${i}`, value: i }))));
    expect((await saveState(context(counting.store), "s", body, {})).status).toBe(204);
    expect(counting.calls()).toBe(2000);
    expect(counting.peak()).toBe(STORE_CONCURRENCY);
  });
  it.each([0, -1, 1_000_000])("bulk get with parallelism %d stays bounded and keeps key order", async (parallelism) => {
    const counting = countingStore();
    const keys = Array.from({ length: 500 }, (_, i) => `k${i}`);
    const response = await bulkGetState(context(counting.store), "s", bytes(JSON.stringify({ keys, parallelism })), {});
    expect(response.status).toBe(200);
    expect(counting.peak()).toBeLessThanOrEqual(STORE_CONCURRENCY);
    const items: unknown = JSON.parse(String(response.body));
    expect(Array.isArray(items) ? items.map((i: unknown) => (typeof i === "object" && i !== null && "key" in i ? i.key : undefined)) : []).toEqual(keys);
  });
});
