/**
 * Wire tests: `PUT /v1.0/metadata/{key}` (per caller, bounded) and 405 for a wrong method on a known
 * route, with the `Allow` header.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { ApiResponse } from "../../src/api/errors";
import { createInMemoryAppMetadataStore, MAX_METADATA_ENTRIES, MAX_METADATA_KEY_LENGTH, MAX_METADATA_VALUE_BYTES } from "../../src/api/metadataApi";
import { allowedMethods, createApi, type ApiHandler } from "../../src/api/router";
import type { Logger } from "../../src/observability/logger";
import { parseResourceDocuments } from "../../src/runtime/componentFiles";
import { buildRuntime, type Runtime } from "../../src/runtime/runtime";
import { createAzureClients } from "../../src/azure/clients";

const warnings: string[] = [];
const logger: Logger = { info: () => {}, warn: (m) => warnings.push(m), error: () => {} };
const COMPONENTS = "apiVersion: dapr.io/v1alpha1\nkind: Component\nmetadata: {name: memstore}\nspec: {type: state.in-memory, version: v1, metadata: []}\n";
const DIRECT_INVOKE = '{"errorCode":"ERR_DIRECT_INVOKE","message":"failed getting app id either from the URL path or the header dapr-app-id"}';

let runtime: Runtime;
let api: ApiHandler;

async function call(method: string, url: string, body = "", token = "dev-token", handler: ApiHandler = api): Promise<ApiResponse & { text: string }> {
  const response = await handler({ method, url, headers: new Headers({ "dapr-api-token": token }), body: async () => new TextEncoder().encode(body) });
  return { ...response, text: response.body === undefined ? "" : typeof response.body === "string" ? response.body : Buffer.from(response.body).toString() };
}

const extendedOf = async (token = "dev-token", handler: ApiHandler = api): Promise<Record<string, unknown>> =>
  (JSON.parse((await call("GET", "/v1.0/metadata", "", token, handler)).text) as { extended: Record<string, unknown> }).extended;

beforeAll(async () => {
  runtime = await buildRuntime({
    appId: "demo",
    resources: parseResourceDocuments("c.yaml", COMPONENTS),
    apiTokens: ["demo=dev-token", "other=other-token", "full=full-token"],
    providerContext: { azure: createAzureClients({}), appRoot: "/", environment: {} },
    logger,
  });
  api = createApi({
    runtime: { status: () => ({ state: "ready", runtime }), ready: async () => runtime },
    authPolicy: (rt) => ({ callers: rt.callers, allowAnonymous: false, anonymousAppId: "demo" }),
    logger,
    extended: () => ({ secretCacheHits: 1 }),
  });
});
afterAll(async () => {
  await runtime.close();
});

describe("PUT /v1.0/metadata/{key}", () => {
  it("204 with no body; the text value shows in the caller's extended, next to the built-in values", async () => {
    const r = await call("PUT", "/v1.0/metadata/testKey", "Hello World");
    expect(r.status).toBe(204);
    expect(r.body).toBeUndefined();
    expect(r.headers["content-type"]).toBeUndefined();
    const extended = await extendedOf();
    expect(extended).toMatchObject({ testKey: "Hello World", daprRuntimeVersion: "1.16.0", secretCacheHits: 1 });
  });
  it("is per caller: another app-id does not see it", async () => {
    await call("PUT", "/v1.0/metadata/mine", "demo's");
    expect(await extendedOf("other-token")).not.toHaveProperty("mine");
    await call("PUT", "/v1.0/metadata/mine", "other's", "other-token");
    expect((await extendedOf()).mine).toBe("demo's");
    expect((await extendedOf("other-token")).mine).toBe("other's");
  });
  it("replaces a value; an empty body stores an empty value; the key is QueryUnescaped like every param", async () => {
    await call("PUT", "/v1.0/metadata/k1", "a");
    await call("PUT", "/v1.0/metadata/k1", "b");
    await call("PUT", "/v1.0/metadata/empty", "");
    await call("PUT", "/v1.0/metadata/with%20space%2Fslash", "x");
    const extended = await extendedOf();
    expect(extended).toMatchObject({ k1: "b", empty: "", "with space/slash": "x" });
  });
  it("the value is the raw body text, JSON or not, and never parsed", async () => {
    await call("PUT", "/v1.0/metadata/json", '{"a":1}');
    expect((await extendedOf()).json).toBe('{"a":1}');
  });
  it("400 ERR_MALFORMED_REQUEST for a long key, a large value, a control character, a reserved name; nothing changes", async () => {
    const before = await extendedOf();
    const cases: [string, string, string][] = [
      [`/v1.0/metadata/${"k".repeat(MAX_METADATA_KEY_LENGTH + 1)}`, "v", `metadata key is longer than ${MAX_METADATA_KEY_LENGTH} characters`],
      ["/v1.0/metadata/big", "v".repeat(MAX_METADATA_VALUE_BYTES + 1), `metadata value is larger than ${MAX_METADATA_VALUE_BYTES} bytes`],
      ["/v1.0/metadata/a%0Ab", "v", "metadata key contains a control character"],
      ["/v1.0/metadata/daprRuntimeVersion", "0.0.1", "metadata key 'daprRuntimeVersion' is reserved"],
      ["/v1.0/metadata/secretCacheHits", "1000", "metadata key 'secretCacheHits' is reserved"],
    ];
    for (const [url, body, message] of cases) {
      const r = await call("PUT", url, body);
      expect(r.status, url).toBe(400);
      expect(r.headers["content-type"]).toBe("application/json");
      expect(JSON.parse(r.text)).toEqual({ errorCode: "ERR_MALFORMED_REQUEST", message });
    }
    expect(await extendedOf()).toEqual(before);
  });
  it(`400 beyond ${MAX_METADATA_ENTRIES} entries per caller; replacing an existing key still works`, async () => {
    for (let i = 0; i < MAX_METADATA_ENTRIES; i++) expect((await call("PUT", `/v1.0/metadata/n${i}`, String(i), "full-token")).status).toBe(204);
    const r = await call("PUT", "/v1.0/metadata/one-more", "x", "full-token");
    expect(r.status).toBe(400);
    expect(JSON.parse(r.text)).toEqual({ errorCode: "ERR_MALFORMED_REQUEST", message: `cannot add metadata key 'one-more': at most ${MAX_METADATA_ENTRIES} entries per app` });
    expect((await call("PUT", "/v1.0/metadata/n0", "again", "full-token")).status).toBe(204);
    const extended = await extendedOf("full-token");
    expect(extended.n0).toBe("again");
    expect(extended).not.toHaveProperty("one-more");
  });
  it("401 text/plain without a token, like every API route", async () => {
    const r = await call("PUT", "/v1.0/metadata/x", "v", "wrong");
    expect(r.status).toBe(401);
    expect(r.text).toBe("invalid api token\n");
  });
  it("GET /v1.0/metadata still answers (without the caller's values) when the store fails, and logs why", async () => {
    const failing = createApi({
      runtime: { status: () => ({ state: "ready", runtime }), ready: async () => runtime },
      authPolicy: (rt) => ({ callers: rt.callers, allowAnonymous: false, anonymousAppId: "demo" }),
      logger,
      appMetadata: {
        list: async () => Promise.reject(new Error("table unavailable")),
        set: createInMemoryAppMetadataStore().set,
      },
    });
    const extended = await extendedOf("dev-token", failing);
    expect(extended.daprRuntimeVersion).toBe("1.16.0");
    expect(warnings.some((w) => w.includes("table unavailable"))).toBe(true);
  });
});

describe("405 for a wrong method on a known route", () => {
  it.each([
    ["POST", "/v1.0-alpha1/state/memstore/query/x", undefined],
    ["PATCH", "/v1.0/state/memstore", "POST, PUT"],
    ["GET", "/v1.0/state/memstore", "POST, PUT"],
    ["PUT", "/v1.0/state/memstore/somekey", "DELETE, GET"],
    ["POST", "/v1.0/state/memstore/somekey", "DELETE, GET"],
    // The issue's own example: on v1.0 "query" is a key, so POST is a wrong method on the key route, as in daprd.
    ["POST", "/v1.0/state/memstore/query", "DELETE, GET"],
    ["PATCH", "/v1.0/state/memstore/bulk", "DELETE, GET, POST, PUT"],
    ["DELETE", "/v1.0/state/memstore/transaction", undefined],
    ["GET", "/v1.0-alpha1/state/memstore/query", "POST, PUT"],
    ["POST", "/v1.0/secrets/localsecretstore/demo-secret", "GET"],
    ["DELETE", "/v1.0/metadata", "GET"],
    ["HEAD", "/v1.0/metadata", "GET"],
    ["GET", "/v1.0/metadata/k", "PUT"],
    ["POST", "/v1.0/healthz", "GET, HEAD"],
    ["OPTIONS", "/v1.0/healthz/outbound", "GET, HEAD"],
  ])("%s %s → Allow: %s", async (method, url, allow) => {
    const r = await call(method, url);
    if (allow === undefined) {
      // Not a wrong method: DELETE .../transaction deletes the key "transaction"; the query path with
      // an extra segment is no route at all.
      expect(r.status).not.toBe(405);
      return;
    }
    expect(r.status).toBe(405);
    expect(r.headers.allow).toBe(allow);
    expect(r.headers["content-type"]).toBe("application/json");
    expect(r.text).toBe(method === "HEAD" ? "" : DIRECT_INVOKE);
  });
  it("an unknown path is still daprd's 404, without Allow", async () => {
    for (const url of ["/v1.0/nothing", "/v1.0/secrets/s", "/v1.0/state/s/k/extra"]) {
      const r = await call("GET", url);
      expect(r.status).toBe(404);
      expect(r.headers.allow).toBeUndefined();
      expect(r.text).toBe(DIRECT_INVOKE);
    }
  });
  it("authentication comes first: a wrong method without a token is a 401", async () => {
    expect((await call("PATCH", "/v1.0/state/memstore", "", "nope")).status).toBe(401);
  });
  it("allowedMethods lists every route whose pattern matches, sorted", () => {
    const routes = [
      { method: "GET", pattern: "/a/:x" },
      { method: "POST", pattern: "/a/b" },
      { method: "DELETE", pattern: "/a/:x" },
    ];
    expect(allowedMethods(routes, "/a/b")).toEqual(["DELETE", "GET", "POST"]);
    expect(allowedMethods(routes, "/a/c")).toEqual(["DELETE", "GET"]);
    expect(allowedMethods(routes, "/b")).toEqual([]);
  });
});
