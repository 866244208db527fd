/**
 * End to end with the official @dapr/dapr client against the local host: app metadata
 * (`metadata.set`, kept in the app's Table storage on Azurite) and 405s for wrong methods.
 */
import { TableClient } from "@azure/data-tables";
import type { DaprClient } from "@dapr/dapr";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { loadOpenApiChecker } from "../support/openApiCheck";
import { daprClient, startE2eEnvironment, TOKEN, type E2eEnvironment, stopAndCheckResponses } from "./environment";

let env: E2eEnvironment;
let client: DaprClient;

beforeAll(async () => {
  env = await startE2eEnvironment();
  client = daprClient(env);
});
afterAll(async () => {
  await client?.stop();
  await stopAndCheckResponses(env, __filename);
});

describe("@dapr/dapr metadata", () => {
  it("metadata.set stores a value the caller's metadata.get shows under extended, in the app's table", async () => {
    expect(await client.metadata.set("testKey", "Hello World")).toBe(true);
    const metadata = await client.metadata.get();
    expect(metadata.extended).toMatchObject({ testKey: "Hello World" });
    if (env.azurite === undefined) throw new Error("Azurite missing");
    const table = TableClient.fromConnectionString(env.azurite.connectionString, "vaultstateappmetadata", { allowInsecureConnection: true });
    const rows: { partitionKey?: string; rowKey?: string; Value?: unknown }[] = [];
    for await (const row of table.listEntities<{ Value?: unknown }>()) rows.push(row);
    expect(rows).toContainEqual(expect.objectContaining({ partitionKey: "demo", rowKey: "testKey", Value: "Hello World" }));
  });
  it("another caller does not see it; a reader may not set it", async () => {
    const reader = await fetch(`${env.url}/v1.0/metadata`, { headers: { "dapr-api-token": "reader-token" } });
    expect(((await reader.json()) as { extended: Record<string, unknown> }).extended).not.toHaveProperty("testKey");
    const denied = await fetch(`${env.url}/v1.0/metadata/x`, { method: "PUT", body: "v", headers: { "dapr-api-token": "reader-token" } });
    expect(denied.status).toBe(403);
  });
  it("100 concurrent PUTs of distinct keys on two instances store exactly up to the 64-key limit; the rest are 400s naming it", async () => {
    if (env.azurite === undefined) throw new Error("Azurite missing");
    const table = TableClient.fromConnectionString(env.azurite.connectionString, "vaultstateappmetadata", { allowInsecureConnection: true });
    const rowsOfDemo = async (): Promise<string[]> => {
      const keys: string[] = [];
      for await (const row of table.listEntities<{ Value?: unknown }>({ queryOptions: { filter: "PartitionKey eq 'demo'" } })) if (typeof row.Value === "string" && typeof row.rowKey === "string") keys.push(row.rowKey);
      return keys;
    };
    const before = (await rowsOfDemo()).length;
    const second = await env.startAnotherHost({}, () => {});
    try {
      const urls = [env.url, second.url];
      const responses = await Promise.all(
        Array.from({ length: 100 }, async (_, i) => {
          const r = await fetch(`${urls[i % 2]}/v1.0/metadata/burst-${i}`, { method: "PUT", body: `v${i}`, headers: { "dapr-api-token": TOKEN } });
          return { i, status: r.status, body: await r.text() };
        }),
      );
      const stored = responses.filter((r) => r.status === 204);
      const refused = responses.filter((r) => r.status === 400);
      console.log(`metadata burst: ${before} keys before, ${stored.length} stored, ${refused.length} refused (limit 64)`);
      expect(stored.length).toBe(64 - before);
      expect(refused.length).toBe(100 - stored.length);
      for (const r of refused) expect(JSON.parse(r.body)).toEqual({ errorCode: "ERR_MALFORMED_REQUEST", message: `cannot add metadata key 'burst-${r.i}': at most 64 entries per app` });
      expect(await rowsOfDemo()).toHaveLength(64);
      // Both instances show the same 64 values.
      for (const url of urls) {
        const extended = ((await (await fetch(`${url}/v1.0/metadata`, { headers: { "dapr-api-token": TOKEN } })).json()) as { extended: Record<string, unknown> }).extended;
        expect(Object.keys(extended).filter((k) => k.startsWith("burst-")).sort()).toEqual(stored.map((r) => `burst-${r.i}`).sort());
      }
    } finally {
      await second.stop();
    }
  });
  it("a value over the limit is a 400 ERR_MALFORMED_REQUEST", async () => {
    const r = await fetch(`${env.url}/v1.0/metadata/big`, { method: "PUT", body: "x".repeat(5000), headers: { "dapr-api-token": TOKEN } });
    expect(r.status).toBe(400);
    expect(((await r.json()) as { errorCode: string }).errorCode).toBe("ERR_MALFORMED_REQUEST");
  });
});

describe("every key Dapr accepts works on every store", () => {
  const STORES = ["statestore", "tablestore", "memstore"] as const;
  const KEYS = ["a/b", "dir/sub/leaf", "back\\slash", "hash#tag", "what?", "100%", "a%2Fb", "..", "tab\there"];
  const headers = { "dapr-api-token": TOKEN };
  const path = (store: string, key: string): string => `${env.url}/v1.0/state/${store}/${encodeURIComponent(key)}`;

  it.each(STORES)("%s: save (SDK), GET/DELETE percent-encoded, bulk and transactions under the original names", async (store) => {
    const run = Math.random().toString(36).slice(2, 8);
    const keys = KEYS.map((k) => `${run}-${k}`);
    expect((await client.state.save(store, keys.map((key, i) => ({ key, value: { i } })))).error).toBeUndefined();
    for (const [i, key] of keys.entries()) {
      const r = await fetch(path(store, key), { headers });
      expect(r.status, key).toBe(200);
      // Behind azure-functions-host `%252F` arrives as `%2F`, which names the key with a slash (README,
      // "HTTP API"): a key containing the text `%2F` is reached through bulk reads and transactions.
      expect(await r.json(), key).toEqual({ i: key.includes("%2F") ? keys.indexOf(key.replace("%2F", "/")) : i });
    }
    const bulk = await client.state.getBulk(store, keys);
    expect(bulk.map((b) => [b.key, b.data])).toEqual(keys.map((key, i) => [key, { i }]));
    if (store !== "statestore") {
      await client.state.transaction(store, [
        { operation: "upsert", request: { key: keys[0] ?? "", value: "tx" } },
        { operation: "delete", request: { key: keys[1] ?? "" } },
      ]);
      expect(await (await fetch(path(store, keys[0] ?? ""), { headers })).json()).toBe("tx");
      expect((await fetch(path(store, keys[1] ?? ""), { headers })).status).toBe(204);
    }
    const byPath = keys.filter((k) => !k.includes("%2F"));
    for (const key of byPath) expect((await fetch(path(store, key), { method: "DELETE", headers })).status, key).toBe(204);
    const literal = keys.filter((k) => k.includes("%2F"));
    expect((await client.state.getBulk(store, literal)).map((b) => b.data)).toEqual(literal.map((k) => ({ i: keys.indexOf(k) })));
    if (store !== "statestore") {
      await client.state.transaction(store, literal.map((key) => ({ operation: "delete", request: { key } })));
      expect((await client.state.getBulk(store, literal)).map((b) => b.data ?? "")).toEqual(literal.map(() => ""));
    }
    for (const key of keys) expect((await fetch(path(store, key), { headers })).status, key).toBe(204);
  });
});

describe("large values", () => {
  it("a 900 KB value round-trips on tablestore through the SDK, with its etag", async () => {
    const value = { blob: "x".repeat(900 * 1024), note: "é😀" };
    expect((await client.state.save("tablestore", [{ key: "large-900k", value }])).error).toBeUndefined();
    expect(await client.state.get("tablestore", "large-900k")).toEqual(value);
    const [item] = await client.state.getBulk("tablestore", ["large-900k"]);
    expect(item?.data).toEqual(value);
    expect(String(item?.etag)).toMatch(/^W\/"datetime'/);
  });
  it("a value over the table's limit is a 400 ERR_STATE_SAVE naming the limit, without upstream details", async () => {
    const r = await fetch(`${env.url}/v1.0/state/tablestore`, {
      method: "POST",
      headers: { "dapr-api-token": TOKEN, "content-type": "application/json" },
      body: JSON.stringify([{ key: "too-large", value: "x".repeat(1_100_000) }]),
    });
    expect(r.status).toBe(400);
    const body = (await r.json()) as { errorCode: string; message: string };
    expect(body.errorCode).toBe("ERR_STATE_SAVE");
    expect(body.message).toContain("at most 1040000 bytes per value");
    expect(body.message).not.toMatch(/RequestId|odata|127\.0\.0\.1/i);
  });
});

describe("@dapr/dapr state.query on every store", () => {
  const STORES = ["statestore", "tablestore", "memstore"] as const;
  it.each(STORES)("%s: filter, sort, paging with token, and no results; only the caller's keys", async (store) => {
    const run = Math.random().toString(36).slice(2, 8);
    const people = [
      { key: `${run}-1`, value: { run, person: { org: "Dev Ops", id: 1036 }, state: "WA" } },
      { key: `${run}-2`, value: { run, person: { org: "Hardware", id: 1028 }, state: "OR" } },
      { key: `${run}-3`, value: { run, person: { org: "Finance", id: 1071 }, state: "CA" } },
      { key: `${run}/4`, value: { run, person: { org: "Dev Ops", id: 1042 }, state: "WA" } },
      { key: `${run}-5`, value: { run, person: { org: "Hardware", id: 1007 }, state: "CA" } },
    ];
    expect((await client.state.save(store, people)).error).toBeUndefined();
    const other = daprClient(env, "reader-token");
    try {
      const wa = await client.state.query(store, { filter: { AND: [{ EQ: { run } }, { EQ: { state: "WA" } }] }, sort: [{ key: "person.id", order: "DESC" }], page: { limit: 10 } } as never);
      expect(wa.results.map((r) => r.key)).toEqual([`${run}/4`, `${run}-1`]);
      expect(wa.results[0]?.data).toEqual(people[3]?.value);
      expect(wa.results[0]?.etag).toEqual(expect.any(String));
      const seen: string[] = [];
      let token: string | undefined;
      for (let i = 0; i < 10; i++) {
        const page = await client.state.query(store, { filter: { OR: [{ EQ: { run } }, { IN: { run: ["never"] } }] }, sort: [{ key: "person.id" }], page: { limit: 2, ...(token === undefined ? {} : { token }) } } as never);
        seen.push(...page.results.map((r) => r.key));
        token = page.token;
        if (token === undefined || token === "") break;
      }
      expect(seen).toEqual([`${run}-5`, `${run}-2`, `${run}-1`, `${run}/4`, `${run}-3`]);
      expect((await client.state.query(store, { filter: { EQ: { run: "no-such-run" } }, sort: [], page: { limit: 1 } } as never)).results).toEqual([]);
      // The reader caller has its own prefix: it sees none of demo's keys.
      expect((await other.state.query(store, { filter: { EQ: { run } }, sort: [], page: { limit: 10 } } as never)).results).toEqual([]);
    } finally {
      await other.stop();
    }
  });
});

describe("responses of the running host match openapi.yaml", () => {
  it("successes and errors on every route, fetched from the host, match the document", async () => {
    const checker = await loadOpenApiChecker();
    expect(checker.documentErrors).toEqual([]);
    const auth = { "dapr-api-token": TOKEN, "content-type": "application/json" };
    const requests: [string, string, string?, Record<string, string>?][] = [
      ["POST", "/v1.0/state/tablestore", JSON.stringify([{ key: "oa-1", value: { n: 1 } }])],
      ["POST", "/v1.0/state/statestore", "not json"],
      ["GET", "/v1.0/state/tablestore/oa-1"],
      ["GET", "/v1.0/state/statestore/oa-missing"],
      ["DELETE", "/v1.0/state/tablestore/oa-1", undefined, { ...auth, "if-match": "stale" }],
      ["POST", "/v1.0/state/memstore/bulk", JSON.stringify({ keys: ["oa-1", "x"] })],
      ["POST", "/v1.0/state/tablestore/transaction", JSON.stringify({ operations: [{ operation: "upsert", request: { key: "oa-2", value: 2 } }] })],
      ["POST", "/v1.0/state/statestore/transaction", JSON.stringify({ operations: [] })],
      ["POST", "/v1.0-alpha1/state/tablestore/query", JSON.stringify({ filter: { EQ: { n: 1 } } })],
      ["POST", "/v1.0-alpha1/state/memstore/query", JSON.stringify({ filter: { BAD: {} } })],
      ["GET", "/v1.0/secrets/localsecretstore/demo-secret"],
      ["GET", "/v1.0/secrets/localsecretstore/internal-only"],
      ["GET", "/v1.0/secrets/nostore/x"],
      ["GET", "/v1.0/secrets/envsecretstore/bulk"],
      ["GET", "/v1.0/metadata"],
      ["PUT", "/v1.0/metadata/oa", "v"],
      ["GET", "/v1.0/metadata", undefined, {}],
      ["PATCH", "/v1.0/state/memstore"],
      ["GET", "/v1.0/healthz", undefined, {}],
      ["GET", "/v1.0-alpha1/openapi.yaml", undefined, {}],
    ];
    const found: string[] = [];
    for (const [method, p, body, headers] of requests) {
      const r = await fetch(`${env.url}${p}`, { method, headers: headers ?? auth, body });
      const text = await r.text();
      const response = { status: r.status, headers: Object.fromEntries(r.headers), ...(text === "" ? {} : { body: text }) };
      found.push(...checker.problems(method, p, response).map((x) => `${method} ${p}: ${x}`));
      // No upstream request id reaches a caller.
      expect(text).not.toMatch(/RequestId|x-ms-request-id/i);
    }
    expect(found).toEqual([]);
  });
});
