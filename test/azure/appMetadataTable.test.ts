import { randomUUID } from "node:crypto";
import { TableClient } from "@azure/data-tables";
import { describe, expect, it } from "vitest";
import { createTableAppMetadataStore, MetadataLimitError } from "../../src/azure/appMetadataTable";
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
});
