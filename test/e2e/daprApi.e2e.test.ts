/**
 * End to end with the official @dapr/dapr client against the local host: app metadata
 * (`metadata.set`, kept in the app's Table storage on Azurite) and 405s for wrong methods.
 */
import { TableClient } from "@azure/data-tables";
import type { DaprClient } from "@dapr/dapr";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { daprClient, startE2eEnvironment, TOKEN, type E2eEnvironment } from "./environment";

let env: E2eEnvironment;
let client: DaprClient;

beforeAll(async () => {
  env = await startE2eEnvironment();
  client = daprClient(env);
});
afterAll(async () => {
  await client?.stop();
  await env?.stop();
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
  it("a value over the limit is a 400 ERR_MALFORMED_REQUEST", async () => {
    const r = await fetch(`${env.url}/v1.0/metadata/big`, { method: "PUT", body: "x".repeat(5000), headers: { "dapr-api-token": TOKEN } });
    expect(r.status).toBe(400);
    expect(((await r.json()) as { errorCode: string }).errorCode).toBe("ERR_MALFORMED_REQUEST");
  });
});
