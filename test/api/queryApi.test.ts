/**
 * Wire tests of the alpha query API on memstore: Dapr's query language, daprd's response shape, the
 * caller's key prefix as the scope, paging tokens and error shapes.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { ApiResponse } from "../../src/api/errors";
import { MAX_SCAN_ITEMS, matches, parseFilter, queryState } from "../../src/api/queryApi";
import { createApi, type ApiHandler } from "../../src/api/router";
import type { StateContext } from "../../src/api/stateApi";
import { createInMemoryStateStore } from "../../src/components/state/inMemory/inMemoryStateStore";
import type { Logger } from "../../src/observability/logger";
import { parseResourceDocuments } from "../../src/runtime/componentFiles";
import { buildRuntime, type Runtime } from "../../src/runtime/runtime";
import { createAzureClients } from "../../src/azure/clients";

const logger: Logger = { info: () => {}, warn: () => {}, error: () => {} };
const COMPONENTS = "apiVersion: dapr.io/v1alpha1\nkind: Component\nmetadata: {name: memstore}\nspec: {type: state.in-memory, version: v1, metadata: []}\n";

let runtime: Runtime;
let api: ApiHandler;

async function call(method: string, url: string, body?: unknown, token = "dev-token"): Promise<ApiResponse & { text: string }> {
  const text = body === undefined ? "" : typeof body === "string" ? body : JSON.stringify(body);
  const response = await api({ method, url, headers: new Headers({ "dapr-api-token": token }), body: async () => new TextEncoder().encode(text) });
  return { ...response, text: response.body === undefined ? "" : typeof response.body === "string" ? response.body : Buffer.from(response.body).toString() };
}
const query = (q: unknown, token?: string) => call("POST", "/v1.0-alpha1/state/memstore/query", q, token);
type Result = { results: { key: string; data: unknown; etag?: string }[]; token?: string };
const keysOf = (r: { text: string }): string[] => (JSON.parse(r.text) as Result).results.map((x) => x.key);

const PEOPLE = [
  { key: "1", value: { person: { org: "Dev Ops", id: 1036 }, city: "Seattle", state: "WA" } },
  { key: "2", value: { person: { org: "Hardware", id: 1028 }, city: "Portland", state: "OR" } },
  { key: "3", value: { person: { org: "Finance", id: 1071 }, city: "Sacramento", state: "CA" } },
  { key: "4", value: { person: { org: "Dev Ops", id: 1042 }, city: "Spokane", state: "WA" } },
  { key: "5", value: { person: { org: "Hardware", id: 1007 }, city: "Los Angeles", state: "CA" } },
  { key: "6", value: { person: { org: "Finance", id: 1094 }, city: "Eugene", state: "OR" } },
  { key: "a/b#c?", value: { person: { org: "Odd <&>", id: 1 }, city: "Nowhere", state: "XX" } },
];

beforeAll(async () => {
  runtime = await buildRuntime({ appId: "demo", resources: parseResourceDocuments("c.yaml", COMPONENTS), apiTokens: ["demo=dev-token", "other=other-token"], providerContext: { azure: createAzureClients({}), appRoot: "/", environment: {} }, logger });
  api = createApi({ runtime: { status: () => ({ state: "ready", runtime }), ready: async () => runtime }, authPolicy: (rt) => ({ callers: rt.callers, allowAnonymous: false, anonymousAppId: "demo" }), logger });
  expect((await call("POST", "/v1.0/state/memstore", PEOPLE)).status).toBe(204);
  expect((await call("POST", "/v1.0/state/memstore", [{ key: "1", value: { person: { org: "Dev Ops" } } }], "other-token")).status).toBe(204);
});
afterAll(async () => {
  await runtime.close();
});

describe("POST|PUT /v1.0-alpha1/state/{store}/query", () => {
  it("EQ: 200 with daprd's QueryResponse shape; keys without the caller's prefix; etags; Go encoding", async () => {
    const r = await query({ filter: { EQ: { "person.org": "Odd <&>" } } });
    expect(r.status).toBe(200);
    expect(r.headers["content-type"]).toBe("application/json");
    expect(r.text.endsWith("}\n")).toBe(true);
    expect(r.text).toContain("\\u003c\\u0026\\u003e");
    const body = JSON.parse(r.text) as Result;
    expect(Object.keys(body)).toEqual(["results"]);
    expect(body.results).toHaveLength(1);
    expect(Object.keys(body.results[0] ?? {})).toEqual(["key", "data", "etag"]);
    expect(body.results[0]).toMatchObject({ key: "a/b#c?", data: PEOPLE[6]?.value });
    expect(body.results[0]?.etag).toMatch(/.+/);
  });
  it("IN, AND, OR and the comparison operators", async () => {
    expect(keysOf(await query({ filter: { IN: { state: ["CA", "OR"] } }, sort: [{ key: "person.id" }] }))).toEqual(["5", "2", "3", "6"]);
    expect(keysOf(await query({ filter: { AND: [{ EQ: { state: "WA" } }, { GT: { "person.id": 1040 } }] } }))).toEqual(["4"]);
    expect(keysOf(await query({ filter: { OR: [{ EQ: { "person.org": "Dev Ops" } }, { AND: [{ EQ: { "person.org": "Finance" } }, { IN: { state: ["CA", "WA"] } }] }] }, sort: [{ key: "person.id" }] }))).toEqual(["1", "4", "3"]);
    expect(keysOf(await query({ filter: { AND: [{ GTE: { "person.id": 1028 } }, { LT: { "person.id": 1042 } }, { NEQ: { state: "CA" } }] }, sort: [{ key: "person.id" }] }))).toEqual(["2", "1"]);
  });
  it("sorts by value paths, ASC by default and DESC, with ties broken by the next key", async () => {
    expect(keysOf(await query({ sort: [{ key: "state", order: "DESC" }, { key: "person.id" }] }))).toEqual(["a/b#c?", "1", "4", "2", "6", "5", "3"]);
    expect(keysOf(await query({ filter: { EQ: { state: "WA" } }, sort: [{ key: "person.id", order: "DESC" }] }))).toEqual(["4", "1"]);
  });
  it("pages with limit and token, sorted: every item exactly once, no token on the last page", async () => {
    const seen: string[] = [];
    let token: string | undefined;
    for (let i = 0; i < 10; i++) {
      const r = await query({ sort: [{ key: "person.id" }], page: { limit: 3, ...(token === undefined ? {} : { token }) } });
      const body = JSON.parse(r.text) as Result;
      seen.push(...body.results.map((x) => x.key));
      token = body.token;
      if (token === undefined) break;
    }
    expect(seen).toEqual(["a/b#c?", "5", "2", "1", "4", "3", "6"]);
  });
  it("pages with limit and token without sort, PUT too", async () => {
    const seen: string[] = [];
    let token: string | undefined;
    for (let i = 0; i < 10; i++) {
      const r = await call("PUT", "/v1.0-alpha1/state/memstore/query", { filter: { NEQ: { state: "XX" } }, page: { limit: 4, ...(token === undefined ? {} : { token }) } });
      const body = JSON.parse(r.text) as Result;
      expect(body.results.length).toBeLessThanOrEqual(4);
      seen.push(...body.results.map((x) => x.key));
      token = body.token;
      if (token === undefined) break;
    }
    expect(seen.sort()).toEqual(["1", "2", "3", "4", "5", "6"]);
  });
  it("is scoped to the caller's prefix: another caller sees only its own key", async () => {
    const r = await query({}, "other-token");
    expect(JSON.parse(r.text)).toEqual({ results: [{ key: "1", data: { person: { org: "Dev Ops" } }, etag: expect.any(String) }] });
  });
  it("204 with no body when nothing matches, as daprd", async () => {
    const r = await query({ filter: { EQ: { state: "nowhere" } } });
    expect(r.status).toBe(204);
    expect(r.body).toBeUndefined();
  });
  it.each([
    ["not JSON", "{", "invalid character in JSON body"],
    ["two operators in one filter", { filter: { EQ: { a: 1 }, IN: { b: [1] } } }, "a filter must have exactly one operator, got 2"],
    ["an unknown operator", { filter: { LIKE: { a: "x" } } }, "unsupported filter operator 'LIKE'"],
    ["AND with one filter", { filter: { AND: [{ EQ: { a: 1 } }] } }, "AND needs an array of at least two filters"],
    ["IN without an array", { filter: { IN: { a: 1 } } }, "IN needs a non-empty array of values"],
    ["a bad sort order", { sort: [{ key: "a", order: "UP" }] }, 'sort order must be ASC or DESC, got "UP"'],
    ["a negative limit", { page: { limit: -1 } }, "page.limit must be a non-negative integer"],
    ["a foreign token", { page: { token: "bm9wZQ" } }, "invalid page.token (tokens belong to the query that issued them)"],
  ])("400 ERR_STATE_QUERY for %s (daprd: 500), naming the problem", async (_name, body, detail) => {
    const r = await query(body);
    expect(r.status).toBe(400);
    expect(JSON.parse(r.text)).toEqual({
      errorCode: "ERR_STATE_QUERY",
      message: `state store memstore query failed: ${detail}`,
      details: [{ "@type": "type.googleapis.com/google.rpc.ErrorInfo", reason: "DAPR_STATE_QUERY_FAILED", domain: "dapr.io", metadata: null }],
    });
  });
  it("400 ERR_STATE_STORE_NOT_FOUND with ErrorInfo metadata null for an unknown store (daprd's universal path)", async () => {
    const r = await call("POST", "/v1.0-alpha1/state/nostore/query", {});
    expect(r.status).toBe(400);
    expect(JSON.parse(r.text)).toMatchObject({ errorCode: "ERR_STATE_STORE_NOT_FOUND", details: [{ metadata: null }] });
  });
  it("500 ERR_STATE_STORE_NOT_SUPPORTED for a store without QUERY_API", async () => {
    const inner = createInMemoryStateStore();
    const plain = { ...inner, features: () => inner.features().filter((f) => f !== "QUERY_API") };
    const ctx: StateContext = { stores: new Map([["plain", { store: plain, keyPrefix: { kind: "appid" } }]]), caller: { appId: "demo", role: "writer" } as StateContext["caller"], namespace: undefined };
    await expect(queryState(ctx, "plain", new Uint8Array())).rejects.toMatchObject({ status: 500, code: "ERR_STATE_STORE_NOT_SUPPORTED", message: "state store does not support querying" });
  });
  it("the scan is bounded: without sort a token continues beyond the bound; with sort the scope is refused", async () => {
    const store = createInMemoryStateStore();
    for (let i = 0; i < MAX_SCAN_ITEMS + 5; i++) await store.set({ key: `demo||k${String(i).padStart(5, "0")}`, value: String(i), metadata: {}, options: {} });
    const ctx: StateContext = { stores: new Map([["big", { store, keyPrefix: { kind: "appid" } }]]), caller: { appId: "demo", role: "writer" } as StateContext["caller"], namespace: undefined };
    const enc = (q: unknown): Uint8Array => new TextEncoder().encode(JSON.stringify(q));
    const first = await queryState(ctx, "big", enc({ filter: { EQ: { x: 1 } } }));
    const body = JSON.parse(String(first.body)) as Result;
    expect(body.results).toEqual([]);
    expect(body.token).toEqual(expect.any(String));
    const second = await queryState(ctx, "big", enc({ filter: { EQ: { x: 1 } }, page: { token: body.token } }));
    expect(second.status).toBe(204);
    await expect(queryState(ctx, "big", enc({ sort: [{ key: "x" }] }))).rejects.toMatchObject({ status: 400, code: "ERR_STATE_QUERY" });
  });
});

describe("filter evaluation", () => {
  it("compares numbers numerically and never across types; EQ is deep", () => {
    expect(matches({ n: 10 }, parseFilter({ GT: { n: 9 } }))).toBe(true);
    expect(matches({ n: "10" }, parseFilter({ GT: { n: 9 } }))).toBe(false);
    expect(matches({ a: { b: [1, { c: 2 }] } }, parseFilter({ EQ: { a: { b: [1, { c: 2 }] } } }))).toBe(true);
    expect(matches("plain string", parseFilter({ EQ: { a: 1 } }))).toBe(false);
    expect(matches({ a: null }, parseFilter({ IN: { a: [null, 1] } }))).toBe(true);
  });
});
