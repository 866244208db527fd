import { randomUUID } from "node:crypto";
import { TableClient } from "@azure/data-tables";
import { describe, expect, it } from "vitest";
import { createTableAppMetadataStore, KEY_INDEX_ROW, MetadataLimitError } from "../../src/azure/appMetadataTable";
import { useAzurite } from "../setup/azurite";

const azurite = useAzurite();
const client = (table: string): TableClient => TableClient.fromConnectionString(azurite().connectionString, table, { allowInsecureConnection: true });

describe("app metadata in a table (Azurite)", () => {
  it("keeps entries per app-id, shared by every store over the same table, with any key", async () => {
    const table = `meta${randomUUID().replace(/-/g, "").slice(0, 8)}`;
    const a = createTableAppMetadataStore(client(table));
    const b = createTableAppMetadataStore(client(table));
    expect(await a.list("demo")).toEqual({});
    await a.set("demo", "k", "v1", 10);
    await a.set("demo", "a/b#c?d\\e", "odd", 10);
    await a.set("other'app", "k", "theirs", 10);
    await b.set("demo", "k", "v2", 10);
    expect(await a.list("demo")).toEqual({ k: "v2", "a/b#c?d\\e": "odd" });
    expect(await b.list("other'app")).toEqual({ k: "theirs" });
  });
  it("refuses a new key beyond the limit, still replaces existing ones", async () => {
    const store = createTableAppMetadataStore(client(`meta${randomUUID().replace(/-/g, "").slice(0, 8)}`));
    await store.set("app", "one", "1", 2);
    await store.set("app", "two", "2", 2);
    await expect(store.set("app", "three", "3", 2)).rejects.toBeInstanceOf(MetadataLimitError);
    await store.set("app", "two", "2b", 2);
    expect(await store.list("app")).toEqual({ one: "1", two: "2b" });
  });
  it("the limit is exact under 100 concurrent adds of distinct keys from four instances: 64 stored, 36 refused", async () => {
    const table = `meta${randomUUID().replace(/-/g, "").slice(0, 8)}`;
    // Four stores over the same table stand for four instances of the app, each with its own client.
    const instances = Array.from({ length: 4 }, () => createTableAppMetadataStore(client(table)));
    const outcomes = await Promise.allSettled(Array.from({ length: 100 }, (_, i) => instances[i % 4]?.set("demo", `key-${i}`, `v${i}`, 64)));
    const refused = outcomes.filter((o) => o.status === "rejected");
    expect(outcomes.filter((o) => o.status === "fulfilled")).toHaveLength(64);
    expect(refused).toHaveLength(36);
    for (const o of refused) expect((o as PromiseRejectedResult).reason).toBeInstanceOf(MetadataLimitError);
    const stored = await instances[0]?.list("demo");
    expect(Object.keys(stored ?? {})).toHaveLength(64);
    // Every stored key is one whose add succeeded, with its own value.
    for (const [key, value] of Object.entries(stored ?? {})) expect(value).toBe(`v${key.slice(4)}`);
    // Replacing a stored key still works at the limit.
    const [first] = Object.keys(stored ?? {});
    await instances[1]?.set("demo", first ?? "", "replaced", 64);
    expect((await instances[2]?.list("demo"))?.[first ?? ""]).toBe("replaced");
  });
  it("a partition written before the key index counts its existing rows", async () => {
    const table = `meta${randomUUID().replace(/-/g, "").slice(0, 8)}`;
    const raw = client(table);
    await raw.createTable();
    for (const k of ["a", "b"]) await raw.createEntity({ partitionKey: "legacy", rowKey: k, Value: k });
    const store = createTableAppMetadataStore(client(table));
    await expect(store.set("legacy", "c", "c", 2)).rejects.toBeInstanceOf(MetadataLimitError);
    await store.set("legacy", "a", "a2", 2);
    await store.set("legacy", "c", "c", 3);
    expect(await store.list("legacy")).toEqual({ a: "a2", b: "b", c: "c" });
    const index = await raw.getEntity<{ Keys: string }>("legacy", KEY_INDEX_ROW);
    expect(JSON.parse(index.Keys)).toEqual(["a", "b", "c"]);
  });
});
