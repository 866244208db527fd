/**
 * End to end, Flex Consumption topology: two HTTP-group instances (HTTP and Event Grid, never the
 * timer) and one timer-only instance that serves no HTTP, sharing Azurite (the version table) and the
 * Key Vault emulator. A new Key Vault version must reach every HTTP instance within REFRESH_SCHEDULE +
 * COHERENCE_INTERVAL_SECONDS when the Event Grid delivery is lost, and within 2 s when it arrives (with
 * the timer instance frozen, so only the event can carry it). The measured latencies are printed. A loaded CI machine gets a stated slack on top of each bound.
 */
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import * as path from "node:path";
import { RestError, TableClient } from "@azure/data-tables";
import type { VaultStore } from "@vaultstate/keyvault-emulator";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { REPO_ROOT, startFlexTopology, type FlexTopology } from "../../tools/devEnvironment";
import { startE2eEnvironment, TOKEN, type E2eEnvironment, stopAndCheckResponses } from "./environment";

/** The timer fires every REFRESH_SECONDS; HTTP instances read the version table at most every COHERENCE_SECONDS. */
const REFRESH_SECONDS = 5;
const COHERENCE_SECONDS = 1;
const EVENT_BOUND_MS = 2_000;
/** Scheduling slack for a loaded 2-core machine, on top of each bound (the printed numbers are the real ones). */
const SLACK_MS = 8_000;

let env: E2eEnvironment;
let flex: FlexTopology;
let vault: VaultStore;
let seedDir: string;
let versions: TableClient;
const outputs: Record<string, string> = {};

beforeAll(async () => {
  seedDir = await mkdtemp(path.join(tmpdir(), "vs-flex-"));
  const seed = (await readFile(path.join(REPO_ROOT, "dev", "keyvault-seed.yaml"), "utf8")).replace("      demo-secret: hello-from-key-vault", "      demo-secret: hello-from-key-vault\n      flex-lost: lost-v1\n      flex-event: event-v1");
  const seedFile = path.join(seedDir, "seed.yaml");
  await writeFile(seedFile, seed);
  env = await startE2eEnvironment({ COHERENCE_INTERVAL_SECONDS: String(COHERENCE_SECONDS), REFRESH_SCHEDULE: `*/${REFRESH_SECONDS} * * * * *` }, { seedFile, eventWebhooks: false });
  if (env.emulator === undefined || env.azurite === undefined) throw new Error("the e2e environment needs the emulator and Azurite");
  vault = env.emulator.store("vaultstate-dev");
  flex = await startFlexTopology(env, {
    httpHosts: 2,
    eventWebhooks: false,
    onOutput: (instance, chunk) => {
      outputs[instance] = (outputs[instance] ?? "") + chunk;
    },
  });
  versions = TableClient.fromConnectionString(env.azurite.connectionString, "vaultstateversions", { allowInsecureConnection: true });
}, 240_000);

afterAll(async () => {
  try {
    await stopAndCheckResponses(env, __filename);
  } finally {
    if (seedDir !== undefined) await rm(seedDir, { recursive: true, force: true });
  }
});

async function secret(url: string, name: string): Promise<string> {
  const r = await fetch(`${url}/v1.0/secrets/secretstore/${name}`, { headers: { "dapr-api-token": TOKEN } });
  const body = (await r.json()) as Record<string, string>;
  return body[name] ?? `status ${r.status}`;
}

/** The version table's `updatedOn` of a secret, once some instance has registered it. */
async function registered(name: string): Promise<number | undefined> {
  try {
    for await (const row of versions.listEntities<{ rowKey: string; updatedOn: number }>()) if (row.rowKey === name) return row.updatedOn;
  } catch (e) {
    // The first instance to use the table creates it.
    if (!(e instanceof RestError && e.statusCode === 404)) throw e;
  }
  return undefined;
}

/** Every HTTP instance serves `name`, and the timer instance has been told about it through the table. */
async function warm(name: string, value: string): Promise<number> {
  let updatedOn: number | undefined;
  const deadline = Date.now() + 60_000;
  // Requests drive each instance's coherence reads, which register what it serves.
  while ((updatedOn = await registered(name)) === undefined) {
    if (Date.now() > deadline) throw new Error(`${name} was never registered in the version table`);
    for (const h of flex.http) expect(await secret(h.url, name)).toBe(value);
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
  return updatedOn;
}

/** Changes the secret, then polls every HTTP instance; the ms until each served the new value. */
async function changeAndMeasure(name: string, registeredOn: number, value: string): Promise<number[]> {
  // Key Vault's listing dates versions in whole seconds: a new version in the same second would look unchanged.
  while (Math.floor(Date.now() / 1000) * 1000 <= registeredOn) await new Promise((resolve) => setTimeout(resolve, 100));
  const changedAt = Date.now();
  vault.set(name, { value });
  const limit = changedAt + REFRESH_SECONDS * 1000 + COHERENCE_SECONDS * 1000 + SLACK_MS + 5_000;
  return Promise.all(
    flex.http.map(async (h) => {
      while (Date.now() < limit) {
        if ((await secret(h.url, name)) === value) return Date.now() - changedAt;
        await new Promise((resolve) => setTimeout(resolve, 100));
      }
      throw new Error(`${h.url} still served the old value of ${name} ${limit - changedAt} ms after the change`);
    }),
  );
}

describe("Flex Consumption topology (HTTP instances + a timer-only instance)", () => {
  it("the timer-only instance serves no HTTP and HTTP instances never run the timer", async () => {
    expect((await fetch(`${flex.timer.url}/v1.0/healthz`)).status).toBe(404);
    expect(outputs.timer).toMatch(/Function "[\w-]+" is disabled \(AzureWebJobs\.[\w-]+\.Disabled\)/);
    expect(outputs.http1).toContain("is disabled (AzureWebJobs.refreshSecrets.Disabled)");
    expect(outputs.http1).not.toMatch(/refresh \(timer\)/);
  });

  it("with the Event Grid delivery lost, every HTTP instance serves the new version within REFRESH_SCHEDULE + COHERENCE_INTERVAL_SECONDS", async () => {
    const registeredOn = await warm("flex-lost", "lost-v1");
    const latencies = await changeAndMeasure("flex-lost", registeredOn, "lost-v2");
    const bound = (REFRESH_SECONDS + COHERENCE_SECONDS) * 1000;
    console.log(`flex e2e, events lost: new version served by the HTTP instances after ${latencies.map((ms) => `${ms} ms`).join(", ")} (bound ${bound} ms + ${SLACK_MS} ms slack)`);
    for (const ms of latencies) expect(ms).toBeLessThanOrEqual(bound + SLACK_MS);
    // The timer instance, which never served the secret, found the change and published it.
    // Its summary line follows the publish the HTTP instances already acted on.
    await expect.poll(() => outputs.timer ?? "", { timeout: 30_000, interval: 250 }).toMatch(/refresh \(timer[^)]*\): \d+ secret\(s\) checked, [1-9]\d* changed/);
  }, 120_000);

  it("with the Event Grid delivery arriving, every HTTP instance serves the new version within 2 s", async () => {
    const first = flex.http[0];
    if (first === undefined) throw new Error("no HTTP instance");
    await env.emulator?.setWebhooks([{ url: `${first.url}/runtime/webhooks/eventgrid?functionName=onKeyVaultEvent`, schema: "EventGridSchema", name: "vaultstate" }]);
    const registeredOn = await warm("flex-event", "event-v1");
    // With the timer instance frozen, the event is the only way the change can arrive: the measurement
    // cannot be the timer's refresh passing for a delivery that did nothing.
    flex.timer.process.kill("SIGSTOP");
    let latencies: number[];
    try {
      latencies = await changeAndMeasure("flex-event", registeredOn, "event-v2");
    } finally {
      flex.timer.process.kill("SIGCONT");
    }
    console.log(`flex e2e, events delivered (timer instance frozen): new version served by the HTTP instances after ${latencies.map((ms) => `${ms} ms`).join(", ")} (bound ${EVENT_BOUND_MS} ms + ${SLACK_MS} ms slack)`);
    for (const ms of latencies) expect(ms).toBeLessThanOrEqual(EVENT_BOUND_MS + SLACK_MS);
    await expect.poll(() => outputs.http1 ?? "", { timeout: 30_000, interval: 250 }).toMatch(/Executed 'Functions\.onKeyVaultEvent' \(Succeeded/);
  }, 120_000);
});
