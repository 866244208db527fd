/**
 * End to end: the @dapr/dapr state API against the local host, on the three sample state stores:
 * `statestore` (Blob on Azurite, credentials from Key Vault through the secret store), `tablestore`
 * (Table on Azurite) and `memstore`.
 */
import { randomUUID } from "node:crypto";
import { BlobServiceClient } from "@azure/storage-blob";
import { type DaprClient, StateConcurrencyEnum, StateConsistencyEnum } from "@dapr/dapr";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { daprClient, knownSecretValues, startE2eEnvironment, TOKEN, type E2eEnvironment, stopAndCheckResponses } from "./environment";

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

const STORES = ["statestore", "tablestore", "memstore"] as const;
const headers = { "dapr-api-token": TOKEN, "content-type": "application/json" };

describe("seed scenario: blobs named demo||<uuid> in the container named by the Key Vault secret", () => {
  it("state.save with uuid keys creates the blobs in Azurite", async () => {
    const keys = [randomUUID(), randomUUID()];
    const result = await client.state.save("statestore", keys.map((key, i) => ({ key, value: { order: i } })));
    expect(result.error).toBeUndefined();
    if (env.azurite === undefined) throw new Error("Azurite missing");
    const container = BlobServiceClient.fromConnectionString(env.azurite.connectionString).getContainerClient("demo-state");
    const names: string[] = [];
    for await (const blob of container.listBlobsFlat()) names.push(blob.name);
    for (const key of keys) expect(names).toContain(`demo||${key}`);
    expect(await client.state.get("statestore", keys[1] ?? "")).toEqual({ order: 1 });
  });
});

describe.each(STORES)("@dapr/dapr state on %s", (store) => {
  it("save, get, getBulk (with etags), delete with etag", async () => {
    const [k1, k2, missing] = [randomUUID(), randomUUID(), randomUUID()];
    await client.state.save(store, [
      { key: k1, value: "value-1" },
      { key: k2, value: { n: 2 } },
    ]);
    expect(await client.state.get(store, k1)).toBe("value-1");
    const bulk = await client.state.getBulk(store, [k1, missing, k2]);
    expect(bulk.map((i) => i.key)).toEqual([k1, missing, k2]);
    expect(bulk[0]?.data).toBe("value-1");
    expect(bulk[1]?.data).toBeFalsy();
    expect(bulk[2]?.data).toEqual({ n: 2 });
    const etag = String(bulk[0]?.etag ?? "");
    expect(etag).not.toBe("");

    const stale = await client.state.delete(store, k1, { etag: "not-the-etag", metadata: {} });
    expect(stale.error).toBeDefined();
    expect(await client.state.get(store, k1)).toBe("value-1");
    const ok = await client.state.delete(store, k1, { etag, concurrency: StateConcurrencyEnum.CONCURRENCY_FIRST_WRITE, consistency: StateConsistencyEnum.CONSISTENCY_STRONG, metadata: {} });
    expect(ok.error).toBeUndefined();
    expect(await client.state.get(store, k1)).toBe("");
  });

  it("the JS SDK e2e flow: etag on a fresh key with first-write and TTL, then it expires", async () => {
    const key = randomUUID();
    const result = await client.state.save(store, [
      {
        key,
        value: "value-1",
        etag: "1234",
        options: { concurrency: StateConcurrencyEnum.CONCURRENCY_FIRST_WRITE, consistency: StateConsistencyEnum.CONSISTENCY_STRONG },
        // The SDK's own test uses 1 s; 2 s keeps the immediate read inside the TTL on a loaded machine.
        metadata: { hello: "world", ttlInSeconds: "2" },
      },
    ]);
    expect(result.error).toBeUndefined();
    expect(await client.state.get(store, key)).toBe("value-1");
    await expect.poll(() => client.state.get(store, key), { timeout: 8_000, interval: 250 }).toBe("");
  });

  it("request-level TTL overrides item-level TTL", async () => {
    const key = randomUUID();
    await client.state.save(store, [{ key, value: "v", metadata: { ttlInSeconds: "1" } }], { metadata: { ttlInSeconds: "3600" } });
    const r = await fetch(`${env.url}/v1.0/state/${store}/${key}`, { headers });
    const expires = Date.parse(r.headers.get("metadata.ttlexpiretime") ?? "");
    expect(expires - Date.now()).toBeGreaterThan(3_000_000);
  });

  it("100 read-modify-write increments by 25 concurrent writers with etag + retry on 409 end at exactly 100", async () => {
    const key = `counter-${randomUUID()}`;
    expect((await client.state.save(store, [{ key, value: 0 }])).error).toBeUndefined();
    const increment = async (): Promise<number> => {
      for (let attempt = 1; ; attempt++) {
        const current = await fetch(`${env.url}/v1.0/state/${store}/${key}`, { headers });
        // Every read must be the item with its etag: a read answered otherwise (the local host once made up an
        // empty 200 under load, or relayed a 502) turns the next save into an unconditional one.
        expect(current.status).toBe(200);
        const etag = current.headers.get("etag") ?? "";
        expect(etag).not.toBe("");
        const value = Number(await current.text());
        const saved = await fetch(`${env.url}/v1.0/state/${store}`, { method: "POST", headers, body: JSON.stringify([{ key, value: value + 1, etag }]) });
        if (saved.status === 204) return attempt;
        expect(saved.status).toBe(409);
        if (attempt > 500) throw new Error("too many retries");
        // Jittered backoff, as a real client would: without it 100 writers retry in lockstep.
        await new Promise((r) => setTimeout(r, Math.random() * 10 * Math.min(attempt, 10)));
      }
    };
    // Contention costs O(writers²) requests: 25 writers of 4 increments each still collide on every
    // round but need a quarter of the requests of 100 writers, which a loaded 2-core CI machine
    // could not finish in minutes.
    const writer = async (): Promise<number[]> => {
      const attempts: number[] = [];
      for (let i = 0; i < 4; i++) attempts.push(await increment());
      return attempts;
    };
    const attempts = (await Promise.all(Array.from({ length: 25 }, writer))).flat();
    expect(attempts).toHaveLength(100);
    expect(await client.state.get(store, key)).toBe(100);
    expect(attempts.some((a) => a > 1)).toBe(true);
  }, 300_000);
});

describe.each(["tablestore", "memstore"] as const)("@dapr/dapr transactions on %s", (store) => {
  it("upsert + delete in one transaction, applied in order", async () => {
    const [a, b] = [randomUUID(), randomUUID()];
    await client.state.save(store, [{ key: a, value: "old" }]);
    await client.state.transaction(store, [
      { operation: "upsert", request: { key: b, value: "new" } },
      { operation: "delete", request: { key: a } },
    ]);
    expect(await client.state.get(store, a)).toBe("");
    expect(await client.state.get(store, b)).toBe("new");
  });
});

describe("transactions on a store without them", () => {
  it("statestore (blob) rejects with 500 ERR_STATE_STORE_NOT_SUPPORTED, which the SDK throws", async () => {
    await expect(client.state.transaction("statestore", [{ operation: "upsert", request: { key: "x", value: 1 } }])).rejects.toThrow(/ERR_STATE_STORE_NOT_SUPPORTED/);
  });
});

describe("secret hygiene", () => {
  it("no secret value or token appears in anything the host logged during this file's tests", () => {
    const output = env.output();
    expect(output).toContain("Host listening on");
    for (const value of [...knownSecretValues(env, {}), "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw=="]) {
      expect(output.includes(value), `log contains a secret (${value.length} chars)`).toBe(false);
    }
  });
});
