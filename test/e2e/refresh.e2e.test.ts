/**
 * End to end: Key Vault changes reach the app through the Event Grid trigger, the refresh timer and
 * the shared version table (other instances), with components rebuilt in place and rotated caller
 * tokens honoured for a grace period.
 */
import { randomUUID } from "node:crypto";
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import * as path from "node:path";
import { BlobServiceClient } from "@azure/storage-blob";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { REPO_ROOT, type RunningHost } from "../../tools/devEnvironment";
import type { VaultStore } from "@vaultstate/keyvault-emulator";
import { knownSecretValues, startE2eEnvironment, TOKEN, type E2eEnvironment, stopAndCheckResponses } from "./environment";

const GRACE_SECONDS = 5;
let env: E2eEnvironment;
let vault: VaultStore;
let seedDir: string;
let timerHost: RunningHost;
let peerHost: RunningHost;
let peerOutput = "";

beforeAll(async () => {
  seedDir = await mkdtemp(path.join(tmpdir(), "vs-seed-"));
  const seed = (await readFile(path.join(REPO_ROOT, "dev", "keyvault-seed.yaml"), "utf8")).replace("      demo-secret: hello-from-key-vault", "      demo-secret: hello-from-key-vault\n      caller-token: first-caller-t0ken\n      watched: watched-v1");
  const seedFile = path.join(seedDir, "seed.yaml");
  await writeFile(seedFile, seed);
  env = await startE2eEnvironment(
    {
      API_TOKEN: `demo=${TOKEN},rotating:reader=secretstore:secretstore/caller-token`,
      TOKEN_GRACE_SECONDS: String(GRACE_SECONDS),
      COHERENCE_INTERVAL_SECONDS: "1",
      // The first host only learns through events (its timer runs once a year).
      REFRESH_SCHEDULE: "0 0 0 1 1 *",
    },
    // Deliveries are sent by the tests, so they control when the app learns about a change.
    { seedFile, eventWebhooks: false },
  );
  const emulator = env.emulator;
  if (emulator === undefined) throw new Error("emulator missing");
  vault = emulator.store("vaultstate-dev");
  // A peer instance that shares the version table, and one without it that relies on its timer.
  peerHost = await env.startAnotherHost({ REFRESH_SCHEDULE: "0 0 0 1 1 *" }, (chunk) => {
    peerOutput += chunk;
  });
  timerHost = await env.startAnotherHost({ REFRESH_SCHEDULE: "*/2 * * * * *", AzureWebJobsStorage: "" }, () => {});
});
afterAll(async () => {
  try {
    await stopAndCheckResponses(env, __filename);
  } finally {
    if (seedDir !== undefined) await rm(seedDir, { recursive: true, force: true });
  }
});

async function secret(url: string, name: string, token = TOKEN): Promise<string> {
  const r = await fetch(`${url}/v1.0/secrets/secretstore/${name}`, { headers: { "dapr-api-token": token } });
  const body = (await r.json()) as Record<string, string>;
  return body[name] ?? `status ${r.status}`;
}

function newVersionEvent(name: string, version: string, schema: "eventgrid" | "cloudevents" = "eventgrid"): unknown {
  const vaultUri = env.emulator?.vaultUri("vaultstate-dev") ?? "";
  const data = { Id: `${vaultUri}/secrets/${name}/${version}`, VaultName: "vaultstate-dev", ObjectType: "Secret", ObjectName: name, Version: version, NBF: null, EXP: null };
  return schema === "eventgrid"
    ? { id: randomUUID(), topic: "/subscriptions/x/resourceGroups/rg/providers/Microsoft.KeyVault/vaults/vaultstate-dev", subject: name, eventType: "Microsoft.KeyVault.SecretNewVersionCreated", eventTime: new Date().toISOString(), data, dataVersion: "1", metadataVersion: "1" }
    : { specversion: "1.0", id: randomUUID(), source: "/subscriptions/x/resourceGroups/rg/providers/Microsoft.KeyVault/vaults/vaultstate-dev", subject: name, type: "Microsoft.KeyVault.SecretNewVersionCreated", time: new Date().toISOString(), data };
}

async function deliver(events: unknown[], url = env.url): Promise<number> {
  const r = await fetch(`${url}/runtime/webhooks/eventgrid?functionName=onKeyVaultEvent`, {
    method: "POST",
    headers: { "aeg-event-type": "Notification", "content-type": "application/json" },
    body: JSON.stringify(events),
  });
  return r.status;
}

describe("SecretNewVersionCreated", () => {
  it("serves the new version as soon as the event is handled; the cache held the old one until then", async () => {
    expect(await secret(env.url, "demo-secret")).toBe("hello-from-key-vault");
    // The peer caches the old value too, so only the version table can tell it about the change.
    expect(await secret(peerHost.url, "demo-secret")).toBe("hello-from-key-vault");
    const v2 = vault.set("demo-secret", { value: "second-version" }).version.version;
    expect(await secret(env.url, "demo-secret")).toBe("hello-from-key-vault");
    expect(await deliver([newVersionEvent("demo-secret", v2)])).toBe(202);
    expect(await secret(env.url, "demo-secret")).toBe("second-version");
  });

  it("accepts CloudEvents, and duplicate or out-of-order deliveries never bring back an older version", async () => {
    const v3 = vault.set("demo-secret", { value: "third-version" }).version.version;
    const older = vault.listVersions("demo-secret")[0]?.version.version ?? "";
    expect(await deliver([newVersionEvent("demo-secret", v3, "cloudevents")])).toBe(202);
    expect(await deliver([newVersionEvent("demo-secret", older), newVersionEvent("demo-secret", v3), newVersionEvent("demo-secret", older)])).toBe(202);
    expect(await secret(env.url, "demo-secret")).toBe("third-version");
  });

  it("reaches another instance through the shared version table within seconds", async () => {
    await expect.poll(() => secret(peerHost.url, "demo-secret"), { timeout: 15_000, interval: 250 }).toBe("third-version");
    expect(peerOutput).toContain("refresh (coherence)");
  });

  it("an event about a secret the receiving instance does not use costs it no Key Vault read, yet reaches an instance that does", async () => {
    const emulator = env.emulator;
    if (emulator === undefined) throw new Error("emulator missing");
    vault.set("peer-only", { value: "peer-v1" });
    expect(await secret(peerHost.url, "peer-only")).toBe("peer-v1");
    const reads = (): number => emulator.requestLog.list({ operation: "getSecret" }).filter((e) => e.secretName === "peer-only").length;
    const before = reads();
    const v2 = vault.set("peer-only", { value: "peer-v2" }).version.version;
    expect(await deliver([newVersionEvent("peer-only", v2)])).toBe(202);
    // The peer only looks at the version table when it serves a request, so nothing has read it yet.
    expect(reads()).toBe(before);
    await expect.poll(() => secret(peerHost.url, "peer-only"), { timeout: 10_000, interval: 250 }).toBe("peer-v2");
    expect(reads()).toBe(before + 1);
  });

  it("events for vaults the app does not use are ignored", async () => {
    const foreign = { ...(newVersionEvent("demo-secret", "0".repeat(32)) as Record<string, unknown>), data: { Id: "https://elsewhere.vault.azure.net/secrets/demo-secret/abc", VaultName: "elsewhere", ObjectType: "Secret", ObjectName: "demo-secret", Version: "abc" } };
    expect(await deliver([foreign])).toBe(202);
    const meta = (await (await fetch(`${env.url}/v1.0/metadata`, { headers: { "dapr-api-token": TOKEN } })).json()) as { extended: Record<string, number> };
    expect(meta.extended.keyVaultEventsIgnored).toBeGreaterThanOrEqual(1);
  });
});

describe("the refresh timer", () => {
  it("picks up a new version without any event on an instance without the version table", async () => {
    expect(await secret(timerHost.url, "watched")).toBe("watched-v1");
    vault.set("watched", { value: "watched-v2" });
    await expect.poll(() => secret(timerHost.url, "watched"), { timeout: 15_000, interval: 250 }).toBe("watched-v2");
  });
});

describe("hot swap of dependent components", () => {
  it("a changed container secret rebuilds statestore; requests during the swap all succeed", async () => {
    const key = randomUUID();
    const v = vault.set("storage-container", { value: "demo-state-moved" }).version.version;
    let stop = false;
    const statuses: number[] = [];
    const load = (async () => {
      while (!stop) {
        const r = await fetch(`${env.url}/v1.0/state/statestore/probe`, { headers: { "dapr-api-token": TOKEN } });
        statuses.push(r.status);
      }
    })();
    expect(await deliver([newVersionEvent("storage-container", v)])).toBe(202);
    stop = true;
    await load;
    expect(statuses.length).toBeGreaterThan(0);
    expect(statuses.every((s) => s === 204 || s === 200)).toBe(true);
    const saved = await fetch(`${env.url}/v1.0/state/statestore`, { method: "POST", headers: { "dapr-api-token": TOKEN }, body: JSON.stringify([{ key, value: 1 }]) });
    expect(saved.status).toBe(204);
    if (env.azurite === undefined) throw new Error("Azurite missing");
    const moved = BlobServiceClient.fromConnectionString(env.azurite.connectionString).getContainerClient("demo-state-moved");
    expect(await moved.getBlockBlobClient(`demo||${key}`).exists()).toBe(true);
  });
});

describe("rotated caller tokens", () => {
  it("the previous token is accepted during the grace period, then rejected", async () => {
    const status = (token: string): Promise<number> => fetch(`${env.url}/v1.0/metadata`, { headers: { "dapr-api-token": token } }).then((r) => r.status);
    expect(await status("first-caller-t0ken")).toBe(200);
    const v = vault.set("caller-token", { value: "second-caller-t0ken" }).version.version;
    expect(await deliver([newVersionEvent("caller-token", v)])).toBe(202);
    expect(await status("second-caller-t0ken")).toBe(200);
    expect(await status("first-caller-t0ken")).toBe(200);
    await expect.poll(() => status("first-caller-t0ken"), { timeout: (GRACE_SECONDS + 5) * 1000, interval: 250 }).toBe(401);
    expect(await status("second-caller-t0ken")).toBe(200);
  });
});

describe("near expiry and expiry", () => {
  it("SecretExpired is logged as an error and counted; unknown event types are ignored", async () => {
    const expired = { ...(newVersionEvent("demo-secret", "1".repeat(32)) as Record<string, unknown>), eventType: "Microsoft.KeyVault.SecretExpired" };
    const other = { ...(newVersionEvent("demo-secret", "1".repeat(32)) as Record<string, unknown>), eventType: "Microsoft.KeyVault.KeyNewVersionCreated" };
    expect(await deliver([expired, other])).toBe(202);
    const meta = (await (await fetch(`${env.url}/v1.0/metadata`, { headers: { "dapr-api-token": TOKEN } })).json()) as { extended: Record<string, number> };
    expect(meta.extended.keyVaultSecretsExpired).toBe(1);
    expect(env.output()).toContain("Key Vault secret expired: SecretExpired for vaultstate-dev/demo-secret");
  });
});

describe("secret hygiene", () => {
  it("no secret value or token appears in anything the host logged during this file's tests", () => {
    const output = env.output();
    expect(output).toContain("Host listening on");
    for (const value of [...knownSecretValues(env, {}), "first-caller-t0ken", "second-caller-t0ken", "second-version", "third-version", "watched-v1", "watched-v2", "peer-v1", "peer-v2", "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw=="]) {
      expect(output.includes(value), `log contains a secret (${value.length} chars)`).toBe(false);
    }
  });
});
