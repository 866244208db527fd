/**
 * `openapi.yaml`: a valid OpenAPI 3.1 document (checked with @seriousme/openapi-schema-validator),
 * served without a token, and every response the API gives to a broad set of requests (successes and
 * errors, every route) matches it: the status is documented for the operation, the content type is
 * documented, and the body validates against the documented schema (ajv, JSON Schema 2020-12).
 */
import { readFile } from "node:fs/promises";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createAzureClients } from "../../src/azure/clients";
import type { ApiResponse } from "../../src/api/errors";
import { createApi, type ApiHandler } from "../../src/api/router";
import type { Logger } from "../../src/observability/logger";
import { parseResourceDocuments } from "../../src/runtime/componentFiles";
import { buildRuntime, type Runtime } from "../../src/runtime/runtime";
import { leaksIn, loadOpenApiChecker, OPENAPI_DOC_PATH, type OpenApiChecker } from "../support/openApiCheck";

const logger: Logger = { info: () => {}, warn: () => {}, error: () => {} };
const DOC_PATH = OPENAPI_DOC_PATH;
const COMPONENTS = [
  "apiVersion: dapr.io/v1alpha1\nkind: Component\nmetadata: {name: memstore}\nspec: {type: state.in-memory, version: v1, metadata: []}",
  "apiVersion: dapr.io/v1alpha1\nkind: Component\nmetadata: {name: envsecretstore}\nspec: {type: secretstores.local.env, version: v1, metadata: [{name: prefix, value: S_}]}",
].join("\n---\n");

type Json = Record<string, unknown>;
let resolved: Json;
let checker: OpenApiChecker;
let problems: OpenApiChecker["problems"];
let runtime: Runtime;
let api: ApiHandler;

beforeAll(async () => {
  checker = await loadOpenApiChecker();
  expect(checker.documentErrors).toEqual([]);
  resolved = checker.resolved;
  problems = checker.problems;
  runtime = await buildRuntime({
    appId: "demo",
    resources: parseResourceDocuments("c.yaml", COMPONENTS),
    apiTokens: ["demo=dev-token"],
    providerContext: { azure: createAzureClients({}), appRoot: "/", environment: { S_greeting: "hi" } },
    logger,
  });
  api = createApi({
    runtime: { status: () => ({ state: "ready", runtime }), ready: async () => runtime },
    authPolicy: (rt) => ({ callers: rt.callers, allowAnonymous: false, anonymousAppId: "demo" }),
    logger,
    maxBodyBytes: 64 * 1024,
    openApiDocument: () => readFile(DOC_PATH, "utf8"),
  });
});
afterAll(async () => {
  await runtime?.close();
});

async function call(method: string, url: string, body?: unknown, headers: Record<string, string> = { "dapr-api-token": "dev-token" }): Promise<ApiResponse> {
  const text = body === undefined ? "" : typeof body === "string" ? body : JSON.stringify(body);
  return api({ method, url, headers: new Headers(headers), body: async () => new TextEncoder().encode(text) });
}

const REQUESTS: [string, string, unknown?, Record<string, string>?][] = [
  ["POST", "/v1.0/state/memstore", [{ key: "a", value: { n: 1 } }, { key: "b/c", value: "x" }]],
  ["PUT", "/v1.0/state/memstore", [{ key: "t", value: 1, metadata: { ttlInSeconds: "60" } }]],
  ["POST", "/v1.0/state/memstore", "not json"],
  ["POST", "/v1.0/state/memstore", [{ key: "k||x", value: 1 }]],
  ["POST", "/v1.0/state/memstore", [{ key: "a", value: 1, etag: "stale" }]],
  ["POST", "/v1.0/state/nostore", []],
  ["POST", "/v1.0/state/memstore", "x".repeat(70 * 1024)],
  ["GET", "/v1.0/state/memstore/a"],
  ["GET", "/v1.0/state/memstore/t"],
  ["GET", "/v1.0/state/memstore/b%2Fc"],
  ["GET", "/v1.0/state/memstore/missing"],
  ["GET", "/v1.0/state/memstore/bad%zz"],
  ["GET", "/v1.0/state/memstore/a", undefined, {}],
  ["DELETE", "/v1.0/state/memstore/missing"],
  ["DELETE", "/v1.0/state/memstore/a", undefined, { "dapr-api-token": "dev-token", "if-match": "stale" }],
  ["POST", "/v1.0/state/memstore/bulk", { keys: ["a", "missing", "t"] }],
  ["PUT", "/v1.0/state/memstore/bulk", {}],
  ["POST", "/v1.0/state/memstore/bulk", "{"],
  ["POST", "/v1.0/state/memstore/transaction", { operations: [{ operation: "upsert", request: { key: "tx", value: 1 } }] }],
  ["POST", "/v1.0/state/memstore/transaction", { operations: [{ operation: "bogus", request: { key: "tx" } }] }],
  ["POST", "/v1.0/state/memstore/transaction", { operations: [{ operation: "delete", request: { key: "tx", etag: "stale" } }] }],
  ["POST", "/v1.0-alpha1/state/memstore/query", { filter: { EQ: { n: 1 } } }],
  ["PUT", "/v1.0-alpha1/state/memstore/query", { sort: [{ key: "n" }], page: { limit: 1 } }],
  ["POST", "/v1.0-alpha1/state/memstore/query", { filter: { EQ: { n: 404 } } }],
  ["POST", "/v1.0-alpha1/state/memstore/query", { filter: { LIKE: {} } }],
  ["GET", "/v1.0/secrets/envsecretstore/greeting"],
  ["GET", "/v1.0/secrets/envsecretstore/bulk"],
  ["GET", "/v1.0/secrets/nostore/x"],
  ["GET", "/v1.0/metadata"],
  ["PUT", "/v1.0/metadata/k", "v"],
  ["PUT", "/v1.0/metadata/daprRuntimeVersion", "v"],
  ["GET", "/v1.0/healthz"],
  ["GET", "/v1.0/healthz/outbound"],
  ["HEAD", "/v1.0/healthz", undefined, {}],
  ["PATCH", "/v1.0/state/memstore"],
  ["POST", "/v1.0/secrets/envsecretstore/greeting"],
  ["DELETE", "/v1.0/metadata"],
  ["GET", "/v1.0/nothing"],
  ["GET", "/v1.0-alpha1/openapi.yaml", undefined, {}],
];

describe("openapi.yaml", () => {
  it("is served without a token, as YAML, and is the file in the repository", async () => {
    const r = await call("GET", "/v1.0-alpha1/openapi.yaml", undefined, {});
    expect(r.status).toBe(200);
    expect(r.headers["content-type"]).toBe("application/yaml; charset=utf-8");
    expect(r.body).toBe(await readFile(DOC_PATH, "utf8"));
  });
  it("documents every route the router serves", () => {
    const paths = Object.keys(resolved.paths as Json);
    for (const p of ["/v1.0/secrets/{store}/{name}", "/v1.0/secrets/{store}/bulk", "/v1.0/state/{store}", "/v1.0/state/{store}/{key}", "/v1.0/state/{store}/bulk", "/v1.0/state/{store}/transaction", "/v1.0-alpha1/state/{store}/query", "/v1.0/metadata", "/v1.0/metadata/{key}", "/v1.0/healthz", "/v1.0/healthz/outbound", "/v1.0-alpha1/secrets/{store}/{name}/rotate", "/v1.0-alpha1/openapi.yaml"]) {
      expect(paths).toContain(p);
    }
  });
  it(`every response to ${REQUESTS.length} requests (successes and errors) matches the document`, async () => {
    const found: string[] = [];
    const statuses = new Set<number>();
    for (const [method, url, body, headers] of REQUESTS) {
      const response = await call(method, url, body, headers);
      statuses.add(response.status);
      found.push(...problems(method, url, response).map((p) => `${method} ${url}: ${p}`));
      const text = response.body === undefined ? "" : typeof response.body === "string" ? response.body : Buffer.from(response.body).toString();
      const responseHeaders = Object.fromEntries(Object.entries(response.headers).filter((e): e is [string, string] => typeof e[1] === "string"));
      found.push(...leaksIn({ method, url, status: response.status, headers: responseHeaders, body: text }, []).map((p) => `${method} ${url}: ${p}`));
    }
    expect(found).toEqual([]);
    // The set above really covers successes and the error families.
    for (const s of [200, 204, 400, 401, 405, 409, 413, 500]) expect(statuses).toContain(s);
  });
  it("the checker catches an undocumented status and a body that breaks the schema", () => {
    expect(problems("GET", "/v1.0/metadata", { status: 418, headers: {} })).toHaveLength(1);
    expect(problems("GET", "/v1.0/metadata", { status: 200, headers: { "content-type": "application/json" }, body: '{"id":1}' })).toHaveLength(1);
  });
  it("the checker catches a missing required header, an error 404 outside the catalogue, an undocumented content type", () => {
    expect(problems("GET", "/v1.0/secrets/s/n", { status: 200, headers: { "content-type": "application/json" }, body: '{"n":"v"}' })).toEqual([expect.stringContaining("Cache-Control missing")]);
    expect(problems("GET", "/v1.0/nothing", { status: 404, headers: { "content-type": "application/json" }, body: '{"errorCode":"ERR_OTHER","message":"x"}' })).toHaveLength(1);
    expect(problems("GET", "/v1.0/metadata", { status: 200, headers: { "content-type": "text/html" }, body: "<p>" })).toHaveLength(1);
  });
  it("matches the path the router sees (dot segments, //, absolute form) and knows the host's own empty answers", () => {
    const secret = { status: 200, headers: { "content-type": "application/json", "cache-control": "no-store" }, body: '{"n":"v"}' };
    expect(problems("GET", "/v1.0//secrets/s/./x/../n/", secret)).toEqual([]);
    expect(problems("GET", "http://127.0.0.1/v1.0/secrets/s/n", secret)).toEqual([]);
    expect(problems("GET", "/v1.0/secrets/s/%2e%2e", { status: 404, headers: { "content-type": "application/json" }, body: '{"errorCode":"ERR_DIRECT_INVOKE","message":"m"}' })).toEqual([]);
    expect(problems("GET", "/v1.0/metadata", { status: 505, headers: {} })).toEqual([]);
    expect(problems("GET", "/v1.0/metadata", { status: 502, headers: {} })).toHaveLength(1);
  });
});

describe("leak scan of responses", () => {
  const ok = { method: "GET", url: "/v1.0/metadata", status: 200, headers: { "content-type": "application/json" } };
  it("flags upstream request ids, account URLs, internal addresses and UUIDs in errors", () => {
    // Azurite's OData error text, as a store would have quoted it.
    expect(leaksIn({ ...ok, status: 500, body: '{"errorCode":"ERR_STATE_SAVE","message":"RequestId:8c3f6f2a-0d1e-4a5b-9c7d-1e2f3a4b5c6d\\nTime:2026"}' }, [])).toHaveLength(2);
    expect(leaksIn({ ...ok, headers: { "x-ms-request-id": "abc" }, body: "" }, [])).toHaveLength(1);
    expect(leaksIn({ ...ok, status: 500, body: "see https://acct.table.core.windows.net/t" }, [])).toHaveLength(1);
    expect(leaksIn({ ...ok, status: 500, body: "see http://127.0.0.1:49152/devstoreaccount1" }, ["127.0.0.1:49152"])).toHaveLength(1);
  });
  it("lets a caller's own data and a key echoed from the URL through", () => {
    const key = "5d3206c4-fb68-47fa-9587-53ecabb42c7b";
    expect(leaksIn({ ...ok, method: "DELETE", url: `/v1.0/state/s/${key}`, status: 409, body: `{"errorCode":"ERR_STATE_DELETE","message":"failed deleting state with key ${key}"}` }, [])).toEqual([]);
    expect(leaksIn({ ...ok, url: "/v1.0/secrets/s/conn", body: '{"conn":"BlobEndpoint=http://127.0.0.1:49152/devstoreaccount1"}' }, ["127.0.0.1:49152"])).toEqual([]);
  });
});
