import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { ApiResponse } from "../../src/api/errors";
import { createApi, type ApiHandler } from "../../src/api/router";
import { parseKeyPrefix, prefixKey } from "../../src/components/state/stateKeys";
import type { Logger } from "../../src/observability/logger";
import { parseResourceDocuments } from "../../src/runtime/componentFiles";
import { buildRuntime, type Runtime } from "../../src/runtime/runtime";
import { createAzureClients } from "../../src/azure/clients";

const logger: Logger = { info: () => {}, warn: () => {}, error: () => {} };
const component = (name: string, type: string, extra = "", scopes = ""): string =>
  `apiVersion: dapr.io/v1alpha1\nkind: Component\nmetadata: {name: ${name}}\nspec:\n  type: ${type}\n  version: v1\n  metadata: [${extra}]\n${scopes}`;

let runtime: Runtime;
let api: ApiHandler;

async function call(method: string, url: string, body?: unknown, headers: Record<string, string> = {}, handler: ApiHandler = api): Promise<ApiResponse & { text: string; json: () => unknown }> {
  const text = body === undefined ? "" : typeof body === "string" ? body : JSON.stringify(body);
  const response = await handler({
    method,
    url,
    headers: new Headers({ "dapr-api-token": "dev-token", ...headers }),
    body: async () => new TextEncoder().encode(text),
  });
  const out = response.body === undefined ? "" : typeof response.body === "string" ? response.body : Buffer.from(response.body).toString();
  return { ...response, text: out, json: () => JSON.parse(out) };
}

beforeAll(async () => {
  const yaml = [
    component("memstore", "state.in-memory"),
    component("named", "state.in-memory", "{name: keyPrefix, value: name}"),
    component("raw", "state.in-memory", "{name: keyPrefix, value: none}"),
    component("custom", "state.in-memory", "{name: keyPrefix, value: MyPrefix}"),
    component("otherstate", "state.in-memory", "", "scopes: [other]"),
  ].join("\n---\n");
  runtime = await buildRuntime({ appId: "demo", resources: parseResourceDocuments("c.yaml", yaml), apiTokens: ["demo=dev-token", "other=other-token"], providerContext: { azure: createAzureClients({}), appRoot: "/", environment: {} }, logger });
  api = createApi({ runtime: { status: () => ({ state: "ready", runtime }), ready: async () => runtime }, authPolicy: (rt) => ({ callers: rt.callers, allowAnonymous: false, anonymousAppId: "demo" }), logger, maxBodyBytes: 64 * 1024 });
});
afterAll(async () => {
  await runtime.close();
});

describe("key prefixes", () => {
  const ctx = { appId: "demo", storeName: "store", namespace: "ns" };
  it.each([
    [undefined, "demo||k"],
    ["AppID", "demo||k"],
    ["name", "store||k"],
    ["namespace", "ns.demo||k"],
    ["none", "k"],
    ["Custom", "custom||k"],
  ])("keyPrefix %s → %s", (value, expected) => {
    expect(prefixKey(parseKeyPrefix(value), ctx, "k")).toBe(expected);
  });
  it("namespace falls back to the app-id without NAMESPACE; empty app-id means no prefix", () => {
    expect(prefixKey({ kind: "namespace" }, { ...ctx, namespace: undefined }, "k")).toBe("demo||k");
    expect(prefixKey({ kind: "appid" }, { ...ctx, appId: "" }, "k")).toBe("k");
  });
  it("a custom prefix with || is refused", () => {
    expect(() => parseKeyPrefix("a||b")).toThrow("keyPrefix 'a||b' can't contain '||'");
  });
  it("stores keys under the caller's app-id by default, isolating callers", async () => {
    await call("POST", "/v1.0/state/memstore", [{ key: "iso", value: "mine" }]);
    expect((await call("GET", "/v1.0/state/memstore/iso")).text).toBe('"mine"');
    const memstore = runtime.stateStores("demo").get("memstore");
    expect((await memstore?.store.get({ key: "demo||iso", metadata: {}, options: {} }))?.data).toBe('"mine"');
    expect((await call("GET", "/v1.0/state/memstore/iso", undefined, { "dapr-api-token": "other-token" })).status).toBe(204);
  });
});

describe("save and get", () => {
  it.each([
    ["int", 123, "123"],
    ["bool", true, "true"],
    ["string", "hello world", '"hello world"'],
    ["empty string", "", '""'],
    ["JSON in a string", '{"a":"b"}', '"{\\"a\\":\\"b\\"}"'],
    ["object", { message: "test", product: { value: 15 } }, '{"message":"test","product":{"value":15}}'],
    ["null", null, "null"],
    ["float normalised like Go", 1.0, "1"],
    ["html escaped like Go", "<a&b>", '"\\u003ca\\u0026b\\u003e"'],
  ])("%s round-trips as its JSON text", async (name, value, stored) => {
    const key = `type-${name.replace(/ /g, "-")}`;
    expect((await call("POST", "/v1.0/state/memstore", [{ key, value }])).status).toBe(204);
    const r = await call("GET", `/v1.0/state/memstore/${key}`);
    expect(r.status).toBe(200);
    expect(r.headers["content-type"]).toBe("application/json");
    expect(r.text).toBe(stored);
    expect(r.headers.etag).toMatch(/.+/);
  });

  it("a missing value is stored as null; PUT works like POST; [] is 204", async () => {
    expect((await call("PUT", "/v1.0/state/memstore", [{ key: "novalue", vae: "typo" }])).status).toBe(204);
    expect((await call("GET", "/v1.0/state/memstore/novalue")).text).toBe("null");
    expect((await call("POST", "/v1.0/state/memstore", [])).status).toBe(204);
  });

  it("GET of a missing key is 204 with no body", async () => {
    const r = await call("GET", "/v1.0/state/memstore/never-written");
    expect(r.status).toBe(204);
    expect(r.body).toBeUndefined();
  });

  it.each([
    ["empty body", "", "EOF"],
    ["object", "{}", "json: cannot unmarshal object into Go value of type []state.SetRequest"],
    ["garbage", "foobar", "invalid character in JSON body"],
    ["trailing comma", '[{"key":"a","value":1},]', "invalid character in JSON body"],
    ["missing key", "[{}]", '"key" is a required field'],
    ["misspelt key", '[{"ey":"key0","value":1}]', '"key" is a required field'],
    ["numeric etag", '[{"key":"a","value":1,"etag":123}]', "json: cannot unmarshal number into Go value of type string (field etag)"],
    ["numeric metadata", '[{"key":"a","value":1,"metadata":{"ttlInSeconds":3}}]', 'json: cannot unmarshal number into Go value of type string (metadata "ttlInSeconds")'],
  ])("400 ERR_MALFORMED_REQUEST for %s", async (_name, body, message) => {
    const r = await call("POST", "/v1.0/state/memstore", body);
    expect(r.status).toBe(400);
    expect(r.json()).toEqual({ errorCode: "ERR_MALFORMED_REQUEST", message });
  });

  it("400 rich error for a key with || (save, get, delete, bulk), changing nothing", async () => {
    const expected = {
      errorCode: "ERR_MALFORMED_REQUEST",
      message: "input key/keyPrefix 'ke||y1' can't contain '||'",
      details: [
        { "@type": "type.googleapis.com/google.rpc.BadRequest", field_violations: [{ field: "ke||y1", description: "input key/keyPrefix 'ke||y1' can't contain '||'" }] },
        { "@type": "type.googleapis.com/google.rpc.ResourceInfo", resource_type: "state", resource_name: "memstore", owner: "", description: "" },
        { "@type": "type.googleapis.com/google.rpc.ErrorInfo", reason: "DAPR_STATE_ILLEGAL_KEY", domain: "dapr.io", metadata: null },
      ],
    };
    const save = await call("POST", "/v1.0/state/memstore", [{ key: "fine-key", value: 1 }, { key: "ke||y1", value: 2 }]);
    expect(save.status).toBe(400);
    expect(save.json()).toEqual(expected);
    expect((await call("GET", "/v1.0/state/memstore/fine-key")).status).toBe(204);
    expect((await call("GET", "/v1.0/state/memstore/ke%7C%7Cy1")).json()).toEqual(expected);
    expect((await call("DELETE", "/v1.0/state/memstore/ke%7C%7Cy1")).status).toBe(400);
    expect((await call("POST", "/v1.0/state/memstore/bulk", { keys: ["ke||y1"] })).json()).toEqual(expected);
  });

  it("query metadata.* wins over item metadata (request-level TTL beats item-level)", async () => {
    await call("POST", "/v1.0/state/memstore?metadata.ttlInSeconds=3600", [{ key: "ttl-merge", value: 1, metadata: { ttlInSeconds: "1" } }]);
    const r = await call("GET", "/v1.0/state/memstore/ttl-merge");
    const expires = Date.parse(r.headers["metadata.ttlExpireTime"] ?? "");
    expect(expires - Date.now()).toBeGreaterThan(3000 * 1000);
  });

  it("400 ERR_STATE_SAVE for an invalid ttlInSeconds or concurrency (bad input is a 4xx here)", async () => {
    const ttl = await call("POST", "/v1.0/state/memstore", [{ key: "badttl", value: 1, metadata: { ttlInSeconds: "foo" } }]);
    expect(ttl.status).toBe(400);
    expect((ttl.json() as { errorCode: string }).errorCode).toBe("ERR_STATE_SAVE");
    const conc = await call("POST", "/v1.0/state/memstore", [{ key: "badconc", value: 1, options: { concurrency: "x" } }]);
    expect(conc.json()).toEqual({ errorCode: "ERR_STATE_SAVE", message: "failed saving state in state store memstore: unrecognized concurrency model 'x'" });
    expect((await call("GET", "/v1.0/state/memstore/badttl")).status).toBe(204);
  });

  it("413 over the body limit", async () => {
    const r = await call("POST", "/v1.0/state/memstore", [{ key: "big", value: "x".repeat(70 * 1024) }]);
    expect(r.status).toBe(413);
    expect((r.json() as { errorCode: string }).errorCode).toBe("ERR_BODY_TOO_LARGE");
  });
});

describe("etags and first-write", () => {
  it("409 ERR_STATE_SAVE on a wrong etag; the right etag succeeds and changes it", async () => {
    await call("POST", "/v1.0/state/memstore", [{ key: "e1", value: "v1" }]);
    const etag = (await call("GET", "/v1.0/state/memstore/e1")).headers.etag ?? "";
    const bad = await call("POST", "/v1.0/state/memstore", [{ key: "e1", value: "v2", etag: "bad-etag" }]);
    expect(bad.status).toBe(409);
    expect((bad.json() as { message: string }).message).toMatch(/^failed saving state in state store memstore: possible etag mismatch. error from state store: /);
    expect((await call("POST", "/v1.0/state/memstore", [{ key: "e1", value: "v3", etag }])).status).toBe(204);
    const after = await call("GET", "/v1.0/state/memstore/e1");
    expect(after.text).toBe('"v3"');
    expect(after.headers.etag).not.toBe(etag);
  });

  it("a multi-item save with one bad etag is 409 and partially applied", async () => {
    await call("POST", "/v1.0/state/memstore", [{ key: "p1", value: 1 }, { key: "p2", value: 1 }]);
    const r = await call("POST", "/v1.0/state/memstore", [{ key: "p1", value: 2, etag: "bad" }, { key: "p2", value: 2 }]);
    expect(r.status).toBe(409);
    expect((await call("GET", "/v1.0/state/memstore/p1")).text).toBe("1");
    expect((await call("GET", "/v1.0/state/memstore/p2")).text).toBe("2");
  });

  it("an etag the store never issues creates a key that does not exist yet (the @dapr/dapr e2e flow)", async () => {
    expect((await call("POST", "/v1.0/state/memstore", [{ key: "fresh-etag", value: "v", etag: "1234", options: { concurrency: "first-write" } }])).status).toBe(204);
  });

  it("a save with the etag of a deleted key is 409 ERR_STATE_SAVE: an acknowledged delete is never undone", async () => {
    await call("POST", "/v1.0/state/memstore", [{ key: "undelete", value: 1 }]);
    const etag = (await call("GET", "/v1.0/state/memstore/undelete")).headers.etag ?? "";
    expect((await call("DELETE", "/v1.0/state/memstore/undelete", undefined, { "if-match": etag })).status).toBe(204);
    const r = await call("POST", "/v1.0/state/memstore", [{ key: "undelete", value: 2, etag }]);
    expect(r.status).toBe(409);
    expect((r.json() as { errorCode: string }).errorCode).toBe("ERR_STATE_SAVE");
    expect((await call("GET", "/v1.0/state/memstore/undelete")).status).toBe(204);
  });

  it("first-write without an etag fails with 409 when the key exists", async () => {
    expect((await call("POST", "/v1.0/state/memstore", [{ key: "fw", value: 1, options: { concurrency: "first-write" } }])).status).toBe(204);
    expect((await call("POST", "/v1.0/state/memstore", [{ key: "fw", value: 2, options: { concurrency: "first-write" } }])).status).toBe(409);
  });

  it("DELETE honours If-Match: 409 ERR_STATE_DELETE on a mismatch, 204 on a match; deleting a missing key is 204", async () => {
    await call("POST", "/v1.0/state/memstore", [{ key: "d1", value: 1 }]);
    const etag = (await call("GET", "/v1.0/state/memstore/d1")).headers.etag ?? "";
    const bad = await call("DELETE", "/v1.0/state/memstore/d1", undefined, { "if-match": "nope" });
    expect(bad.status).toBe(409);
    expect((bad.json() as { message: string }).message).toMatch(/^failed deleting state with key d1: possible etag mismatch/);
    expect((await call("DELETE", "/v1.0/state/memstore/d1?concurrency=first-write&consistency=strong", undefined, { "if-match": etag })).status).toBe(204);
    expect((await call("GET", "/v1.0/state/memstore/d1")).status).toBe(204);
    expect((await call("DELETE", "/v1.0/state/memstore/never-there")).status).toBe(204);
    expect((await call("DELETE", "/v1.0/state/memstore/never-there", undefined, { "if-match": "" })).status).toBe(204);
  });
});

describe("bulk get", () => {
  it("returns items in request order, duplicates included, missing keys as {key}", async () => {
    await call("POST", "/v1.0/state/memstore", [{ key: "b1", value: { n: 1 } }, { key: "b2", value: "two" }]);
    const r = await call("POST", "/v1.0/state/memstore/bulk", { keys: ["b2", "missing", "b1", "b2"], parallelism: 2 });
    expect(r.status).toBe(200);
    expect(r.text.endsWith("]\n")).toBe(true);
    const items = r.json() as { key: string; data?: unknown; etag?: string }[];
    expect(items.map((i) => i.key)).toEqual(["b2", "missing", "b1", "b2"]);
    expect(items[0]?.data).toBe("two");
    expect(items[1]).toEqual({ key: "missing" });
    expect(items[2]?.data).toEqual({ n: 1 });
    expect(items[2]?.etag).toMatch(/.+/);
  });
  it("{} and no keys give []; parallelism may be missing (the JS SDK omits it)", async () => {
    expect((await call("POST", "/v1.0/state/memstore/bulk", {})).text).toBe("[]\n");
    expect((await call("PUT", "/v1.0/state/memstore/bulk", { keys: [] })).text).toBe("[]\n");
    expect((await call("POST", "/v1.0/state/memstore/bulk", { keys: ["b1"] })).status).toBe(200);
  });
  it("400 for an empty or invalid body", async () => {
    expect((await call("POST", "/v1.0/state/memstore/bulk", "")).json()).toEqual({ errorCode: "ERR_MALFORMED_REQUEST", message: "failed deserializing HTTP body: EOF" });
    expect((await call("POST", "/v1.0/state/memstore/bulk", "{")).status).toBe(400);
    expect((await call("POST", "/v1.0/state/memstore/bulk", { keys: "a" })).status).toBe(400);
  });
  it("GET and DELETE on /bulk address the key named bulk", async () => {
    await call("POST", "/v1.0/state/memstore", [{ key: "bulk", value: "k" }]);
    expect((await call("GET", "/v1.0/state/memstore/bulk")).text).toBe('"k"');
    expect((await call("DELETE", "/v1.0/state/memstore/bulk")).status).toBe(204);
  });
});

describe("transactions", () => {
  it("applies operations in order: [delete k1, upsert k2, delete k2, upsert k3]", async () => {
    await call("POST", "/v1.0/state/memstore", [{ key: "t1", value: 1 }]);
    const r = await call("POST", "/v1.0/state/memstore/transaction", {
      operations: [
        { operation: "delete", request: { key: "t1" } },
        { operation: "upsert", request: { key: "t2", value: "x" } },
        { operation: "delete", request: { key: "t2" } },
        { operation: "upsert", request: { key: "t3", value: "value3" } },
      ],
      metadata: { partitionKey: "p" },
    });
    expect(r.status).toBe(204);
    expect((await call("GET", "/v1.0/state/memstore/t1")).status).toBe(204);
    expect((await call("GET", "/v1.0/state/memstore/t2")).status).toBe(204);
    expect((await call("GET", "/v1.0/state/memstore/t3")).text).toBe('"value3"');
  });
  it("is atomic: a bad etag fails everything with 500 ERR_STATE_TRANSACTION", async () => {
    await call("POST", "/v1.0/state/memstore", [{ key: "ta", value: 1 }]);
    const r = await call("PUT", "/v1.0/state/memstore/transaction", {
      operations: [
        { operation: "upsert", request: { key: "tb", value: 2 } },
        { operation: "upsert", request: { key: "ta", value: 3, etag: "wrong" } },
      ],
    });
    expect(r.status).toBe(500);
    expect((r.json() as { errorCode: string; message: string }).message).toMatch(/^error while executing state transaction: /);
    expect((await call("GET", "/v1.0/state/memstore/tb")).status).toBe(204);
    expect((await call("GET", "/v1.0/state/memstore/ta")).text).toBe("1");
  });
  it.each([
    [{ operations: [{ operation: "foo", request: { key: "a" } }] }, 400, "ERR_NOT_SUPPORTED_STATE_OPERATION", "operation type foo not supported"],
    [{ operations: [{ operation: "upsert", request: { key: ["x"] } }] }, 400, "ERR_MALFORMED_REQUEST", undefined],
    [{ operations: [{ operation: "upsert", request: { key: "a", etag: 123 } }] }, 400, "ERR_MALFORMED_REQUEST", undefined],
    ["", 400, "ERR_MALFORMED_REQUEST", "failed deserializing HTTP body: EOF"],
    // Like a save (daprd would store "<appid>||"): an empty or missing key is refused, nothing runs.
    [{ operations: [{ operation: "upsert", request: { key: "ok-tx", value: 1 } }, { operation: "upsert", request: { key: "", value: 1 } }] }, 400, "ERR_MALFORMED_REQUEST", '"key" is a required field'],
    [{ operations: [{ operation: "delete", request: {} }] }, 400, "ERR_MALFORMED_REQUEST", '"key" is a required field'],
  ])("rejects %j", async (body, status, errorCode, message) => {
    const r = await call("POST", "/v1.0/state/memstore/transaction", body);
    expect(r.status).toBe(status);
    const json = r.json() as { errorCode: string; message: string };
    expect(json.errorCode).toBe(errorCode);
    if (message !== undefined) expect(json.message).toBe(message);
  });
  it("an empty key changes nothing: the other operations of the transaction do not run", async () => {
    await call("POST", "/v1.0/state/memstore/transaction", { operations: [{ operation: "upsert", request: { key: "tx-before-empty", value: 1 } }, { operation: "upsert", request: { key: "", value: 2 } }] });
    expect((await call("GET", "/v1.0/state/memstore/tx-before-empty")).status).toBe(204);
  });
  it("an empty operation list is 204", async () => {
    expect((await call("POST", "/v1.0/state/memstore/transaction", { operations: [] })).status).toBe(204);
  });
});

describe("store lookup and routing", () => {
  it("400 rich ERR_STATE_STORE_NOT_FOUND for an unknown (or out-of-scope) store on every route", async () => {
    const expected = {
      errorCode: "ERR_STATE_STORE_NOT_FOUND",
      message: "state store nostore is not found",
      details: [{ "@type": "type.googleapis.com/google.rpc.ErrorInfo", reason: "DAPR_STATE_NOT_FOUND", domain: "dapr.io", metadata: { appID: "demo" } }],
    };
    for (const [method, url] of [
      ["GET", "/v1.0/state/nostore/k"],
      ["DELETE", "/v1.0/state/nostore/k"],
      ["POST", "/v1.0/state/nostore"],
      ["PUT", "/v1.0/state/nostore"],
      ["POST", "/v1.0/state/nostore/bulk"],
      ["PUT", "/v1.0/state/nostore/transaction"],
    ] as const) {
      const r = await call(method, url, "not even json");
      expect(r.status).toBe(400);
      expect(r.json()).toEqual(expected);
    }
    expect((await call("GET", "/v1.0/state/otherstate/k")).status).toBe(400);
    const query = await call("POST", "/v1.0-alpha1/state/nostore/query", {});
    expect((query.json() as { details: { metadata: unknown }[] }).details[0]?.metadata).toBeNull();
  });
  it("500 ERR_STATE_STORE_NOT_CONFIGURED when the caller has no state store", async () => {
    const none = createApi({
      runtime: { status: () => ({ state: "ready", runtime }), ready: async () => ({ ...runtime, stateStores: () => new Map() }) },
      authPolicy: (rt) => ({ callers: rt.callers, allowAnonymous: false, anonymousAppId: "demo" }),
      logger,
    });
    const r = await call("GET", "/v1.0/state/any/k", undefined, {}, none);
    expect(r.status).toBe(500);
    expect(r.json()).toEqual({
      errorCode: "ERR_STATE_STORE_NOT_CONFIGURED",
      message: "state store any is not configured",
      details: [{ "@type": "type.googleapis.com/google.rpc.ErrorInfo", reason: "DAPR_STATE_NOT_CONFIGURED", domain: "dapr.io", metadata: { appID: "demo" } }],
    });
  });
  it("query on a store whose caller has no keys there answers 204, as daprd for no results", async () => {
    const r = await call("POST", "/v1.0-alpha1/state/memstore/query", { filter: {} }, { "dapr-api-token": "other-token" });
    expect(r.status).toBe(204);
  });
  it("a wrong method on a state route is a 405 with Allow; an unknown state path falls back to 404 ERR_DIRECT_INVOKE", async () => {
    expect((await call("GET", "/v1.0/state/memstore")).status).toBe(405);
    expect((await call("POST", "/v1.0/state/memstore/somekey", [])).headers.allow).toBe("DELETE, GET");
    expect((await call("GET", "/v1.0/state/memstore/somekey/extra")).status).toBe(404);
  });
  it("keys are decoded once like Go's PathUnescape (+ stays a plus), and %2F is a slash however it was escaped", async () => {
    await call("POST", "/v1.0/state/raw", [
      { key: "a b", value: "spaced" },
      { key: "a+b", value: "plus" },
      { key: "a/b", value: "slash" },
      { key: "a%2Fb", value: "literal" },
    ]);
    expect((await call("GET", "/v1.0/state/raw/a%20b")).text).toBe('"spaced"');
    expect((await call("GET", "/v1.0/state/raw/a+b")).text).toBe('"plus"');
    expect((await call("GET", "/v1.0/state/raw/a%2Bb")).text).toBe('"plus"');
    // Through azure-functions-host `a%2Fb` and `a%252Fb` reach the worker as the same text, so both
    // name the key with a slash; the literal key stays reachable through bulk reads.
    for (const path of ["a%2Fb", "a%2fb", "a%252Fb", "a%252fb"]) {
      expect((await call("GET", `/v1.0/state/raw/${path}`)).text, path).toBe('"slash"');
    }
    const bulk = await call("POST", "/v1.0/state/raw/bulk", { keys: ["a%2Fb"] });
    expect(JSON.parse(bulk.text)).toMatchObject([{ key: "a%2Fb", data: "literal" }]);
  });
  it("name and custom prefixes are applied", async () => {
    await call("POST", "/v1.0/state/named", [{ key: "k", value: 1 }]);
    await call("POST", "/v1.0/state/custom", [{ key: "k", value: 2 }]);
    expect((await runtime.stateStores("demo").get("named")?.store.get({ key: "named||k", metadata: {}, options: {} }))?.data).toBe("1");
    expect((await runtime.stateStores("demo").get("custom")?.store.get({ key: "myprefix||k", metadata: {}, options: {} }))?.data).toBe("2");
  });
});

describe("metadata capabilities", () => {
  it("lists the in-memory store's features plus ACTOR", async () => {
    const body = (await call("GET", "/v1.0/metadata")).json() as { components: { name: string; capabilities?: string[] }[] };
    const mem = body.components.find((c) => c.name === "memstore");
    expect([...(mem?.capabilities ?? [])].sort()).toEqual(["ACTOR", "ETAG", "QUERY_API", "TRANSACTIONAL", "TTL"]);
  });
});
