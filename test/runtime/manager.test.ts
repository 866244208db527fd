import { afterEach, describe, expect, it, vi } from "vitest";
import { healthz, healthzOutbound } from "../../src/api/healthApi";
import type { Logger } from "../../src/observability/logger";
import { ResourceFileError } from "../../src/runtime/componentFiles";
import { COHERENCE_READ_MARGIN_IN_MS, createRuntimeManager, isStartupConfigurationError, retryDelay } from "../../src/runtime/manager";
import type { VersionTable } from "../../src/azure/versionTable";
import { type ComponentDefinition, parseResourceDocuments } from "../../src/runtime/componentFiles";
import { buildRuntime, ComponentInitError, type FailedComponent, type RebuildResult, type Runtime, type RuntimeStatus } from "../../src/runtime/runtime";
import { createAzureClients } from "../../src/azure/clients";
import { buildOver, fakeVault, memoryVersionTable, VAULT } from "./support/fakeKeyVault";
import { createEventCounters, createKeyVaultEventHandler } from "../../src/runtime/keyVaultEvents";

const lines: string[] = [];
const logger: Logger = { info: (m) => lines.push(m), warn: (m) => lines.push(m), error: (m) => lines.push(m) };

function realRuntime(): Promise<Runtime> {
  const yaml = "apiVersion: dapr.io/v1alpha1\nkind: Component\nmetadata: {name: env}\nspec: {type: secretstores.local.env, version: v1}\n";
  return buildRuntime({ appId: "demo", resources: parseResourceDocuments("c.yaml", yaml), apiTokens: ["t0ken-value"], providerContext: { azure: createAzureClients({}), appRoot: "/", environment: {} }, logger });
}

describe("runtime manager start-up", () => {
  it("shares one build between concurrent starts and reports its status", async () => {
    let builds = 0;
    const manager = createRuntimeManager({ logger, tokenGraceInMs: 0, coherenceIntervalInMs: 1000, build: () => (builds++, realRuntime()) });
    expect(manager.status()).toEqual({ state: "starting" });
    const [a, b] = await Promise.all([manager.start(), manager.start()]);
    expect(a).toBe(b);
    expect(builds).toBe(1);
    expect(manager.status().state).toBe("ready");
    await manager.close();
  });

  it("after a failed start, a later request tries again once the retry interval has passed", async () => {
    let now = 0;
    let attempts = 0;
    const manager = createRuntimeManager({
      logger,
      tokenGraceInMs: 0,
      coherenceIntervalInMs: 1000,
      startRetryIntervalInMs: 10_000,
      // Only the request path here; the background retry has its own tests.
      startRetry: { initialDelayInMs: 3_600_000 },
      now: () => now,
      build: async () => {
        attempts++;
        if (attempts === 1) throw new ComponentInitError("component kv failed to initialise: Key Vault is unreachable");
        return realRuntime();
      },
    });
    await expect(manager.start()).rejects.toThrow("unreachable");
    expect(manager.status()).toMatchObject({ state: "failed" });
    now = 5_000;
    await expect(manager.acquire?.()).rejects.toThrow("unreachable");
    expect(attempts).toBe(1);
    now = 10_000;
    const lease = await manager.acquire?.();
    expect(lease?.runtime.appId).toBe("demo");
    expect(attempts).toBe(2);
    lease?.release();
    await manager.close();
  });

  it("acquireNow leases the current runtime without waiting, and nothing before one is built", async () => {
    const manager = createRuntimeManager({ logger, tokenGraceInMs: 0, coherenceIntervalInMs: 1000, build: realRuntime });
    expect(manager.acquireNow?.()).toBeUndefined();
    const runtime = await manager.start();
    const lease = manager.acquireNow?.();
    expect(lease?.runtime).toBe(runtime);
    lease?.release();
    lease?.release();
    await manager.close();
  });

  it("tells configuration mistakes from outages", () => {
    expect(isStartupConfigurationError(new ResourceFileError("f.yaml", "spec.type", "unknown"))).toBe(true);
    expect(isStartupConfigurationError(new ComponentInitError("Key Vault is unreachable"))).toBe(false);
  });
});

function definition(name: string): ComponentDefinition {
  return { file: "c.yaml", name, namespace: undefined, type: "state.in-memory", version: "v1", ignoreErrors: false, metadata: [], secretStore: undefined, scopes: [] };
}

/**
 * An in-memory runtime whose `failed` components come up on the rebuild that `recoversOn` says
 * (counting rebuild calls across generations).
 */
function fakeRuntime(failed: string[], rebuilds: { count: number; recoversOn: number; names: string[][] }, closed: string[] = []): Runtime {
  const failures: FailedComponent[] = failed.map((name) => ({ definition: definition(name), kind: "state", reason: "Key Vault is unreachable" }));
  const runtime: Runtime = {
    appId: "demo",
    namespace: undefined,
    components: [],
    callers: [],
    entraCallers: [],
    failed: failures,
    failedCallers: [],
    failedComponent: (_caller, name) => failures.find((f) => f.definition.name === name),
    secretStores: () => new Map(),
    stateStores: () => new Map(),
    configuration: () => undefined,
    capabilities: () => [],
    referenceStores: () => new Map(),
    async rebuild(names): Promise<RebuildResult> {
      rebuilds.count++;
      rebuilds.names.push([...names]);
      const up = rebuilds.count >= rebuilds.recoversOn;
      return {
        runtime: fakeRuntime(up ? [] : failed, rebuilds, closed),
        replaced: [],
        rebuilt: [],
        unchanged: [],
        recovered: up ? [...names] : [],
        failed: up ? [] : names.map((name) => ({ name, reason: "Key Vault is unreachable" })),
        tokensChanged: 0,
      };
    },
    async close() {
      closed.push("runtime");
    },
  };
  return runtime;
}

function probe(status: RuntimeStatus): number {
  try {
    healthz(status, undefined);
    healthzOutbound(status);
    return 204;
  } catch {
    return 500;
  }
}

describe("runtime manager background retry", () => {
  afterEach(() => {
    vi.useRealTimers();
  });

  it("backs off exponentially, capped, jittered down to half", () => {
    const options = { initialDelayInMs: 1_000, maxDelayInMs: 8_000 };
    expect([0, 1, 2, 3, 4, 10, 100].map((a) => retryDelay(a, { ...options, random: () => 1 }))).toEqual([1_000, 2_000, 4_000, 8_000, 8_000, 8_000, 8_000]);
    expect([0, 1, 2, 3, 4].map((a) => retryDelay(a, { ...options, random: () => 0 }))).toEqual([500, 1_000, 2_000, 4_000, 4_000]);
    // The default cap is 30 s: no delay ever exceeds it.
    for (let a = 0; a < 50; a++) expect(retryDelay(a)).toBeLessThanOrEqual(30_000);
  });

  it("retries a failed start by itself, without any request, until it succeeds; health turns 204", async () => {
    vi.useFakeTimers();
    let attempts = 0;
    const manager = createRuntimeManager({
      logger,
      tokenGraceInMs: 0,
      coherenceIntervalInMs: 1000,
      startRetry: { initialDelayInMs: 1_000, maxDelayInMs: 4_000, random: () => 1 },
      build: async () => {
        attempts++;
        if (attempts < 4) throw new ComponentInitError("component kv failed to initialise: Key Vault is unreachable");
        return fakeRuntime([], { count: 0, recoversOn: 0, names: [] });
      },
    });
    await expect(manager.start()).rejects.toThrow("unreachable");
    expect(probe(manager.status())).toBe(500);
    await vi.advanceTimersByTimeAsync(999);
    expect(attempts).toBe(1);
    await vi.advanceTimersByTimeAsync(1);
    expect(attempts).toBe(2);
    await vi.advanceTimersByTimeAsync(2_000);
    expect(attempts).toBe(3);
    await vi.advanceTimersByTimeAsync(3_999);
    expect(attempts).toBe(3);
    expect(probe(manager.status())).toBe(500);
    await vi.advanceTimersByTimeAsync(1);
    expect(attempts).toBe(4);
    expect(probe(manager.status())).toBe(204);
    // Nothing left to retry: no timer stays behind.
    expect(vi.getTimerCount()).toBe(0);
    await manager.close();
  });

  it("does not retry a configuration mistake (it needs a redeploy)", async () => {
    vi.useFakeTimers();
    let attempts = 0;
    const manager = createRuntimeManager({
      logger,
      tokenGraceInMs: 0,
      coherenceIntervalInMs: 1000,
      build: async () => {
        attempts++;
        throw new ResourceFileError("c.yaml", "spec.type", "unknown type");
      },
    });
    await expect(manager.start()).rejects.toThrow("unknown type");
    expect(vi.getTimerCount()).toBe(0);
    await vi.advanceTimersByTimeAsync(120_000);
    expect(attempts).toBe(1);
    await manager.close();
  });

  it("serves with the healthy components and retries only the failed ones in the background until they come up", async () => {
    vi.useFakeTimers();
    const rebuilds = { count: 0, recoversOn: 3, names: [] as string[][] };
    const manager = createRuntimeManager({
      logger,
      tokenGraceInMs: 0,
      coherenceIntervalInMs: 1000,
      startRetry: { initialDelayInMs: 1_000, maxDelayInMs: 2_000, random: () => 1 },
      build: async () => fakeRuntime(["tablestore"], rebuilds),
    });
    const started = await manager.start();
    expect(started.failed.map((f) => f.definition.name)).toEqual(["tablestore"]);
    // Requests get the runtime at once: the healthy components serve while the failed one is retried.
    const lease = await manager.acquire?.();
    expect(lease?.runtime).toBe(started);
    lease?.release();
    expect(manager.status().state).toBe("ready");
    expect(probe(manager.status())).toBe(500);
    await vi.advanceTimersByTimeAsync(1_000);
    await vi.advanceTimersByTimeAsync(2_000);
    expect(rebuilds.count).toBe(2);
    expect(probe(manager.status())).toBe(500);
    await vi.advanceTimersByTimeAsync(2_000);
    expect(rebuilds.count).toBe(3);
    expect(rebuilds.names).toEqual([["tablestore"], ["tablestore"], ["tablestore"]]);
    expect(probe(manager.status())).toBe(204);
    expect(vi.getTimerCount()).toBe(0);
    await manager.close();
  });

  it("a caller token whose secret could not be read at cold start signs in after a background retry; health turns 204", async () => {
    vi.useFakeTimers();
    const vault = fakeVault({ "db-password": "pw-1", "api-token": "ops-t0ken" });
    vault.setFailing("api-token", true);
    const manager = createRuntimeManager({
      logger,
      tokenGraceInMs: 0,
      coherenceIntervalInMs: 60_000,
      startRetry: { initialDelayInMs: 1_000, maxDelayInMs: 1_000, random: () => 1 },
      build: buildOver(vault, undefined, ["t0ken-value", "ops:admin=secretstore:kv/api-token"]),
    });
    const started = await manager.start();
    expect(started.failedCallers.map((f) => f.entry)).toEqual(["ops:admin=secretstore:kv/api-token"]);
    expect(started.callers.map((c) => c.appId)).toEqual(["demo"]);
    expect(probe(manager.status())).toBe(500);
    await vi.advanceTimersByTimeAsync(1_000);
    expect(probe(manager.status())).toBe(500);
    vault.setFailing("api-token", false);
    await vi.advanceTimersByTimeAsync(1_000);
    expect(probe(manager.status())).toBe(204);
    const lease = await manager.acquire?.();
    expect(lease?.runtime.callers.map((c) => [c.appId, c.role])).toEqual([
      ["demo", "writer"],
      ["ops", "admin"],
    ]);
    expect(lease?.runtime.failedCallers).toEqual([]);
    lease?.release();
    expect(vi.getTimerCount()).toBe(0);
    await manager.close();
  });

  it("close cancels a pending retry", async () => {
    vi.useFakeTimers();
    const rebuilds = { count: 0, recoversOn: 100, names: [] as string[][] };
    const manager = createRuntimeManager({ logger, tokenGraceInMs: 0, coherenceIntervalInMs: 1000, build: async () => fakeRuntime(["tablestore"], rebuilds) });
    await manager.start();
    expect(vi.getTimerCount()).toBe(1);
    await manager.close();
    expect(vi.getTimerCount()).toBe(0);
    await vi.advanceTimersByTimeAsync(60_000);
    expect(rebuilds.count).toBe(0);
  });
});

describe("runtime manager refresh paths (planner + holder, over an in-memory vault)", () => {
  const component = (runtime: Runtime, name: string) => runtime.components.find((c) => c.definition.name === name);

  it("refresh: a new version rebuilds its dependent once; the next runs find nothing to do", async () => {
    const vault = fakeVault({ "db-password": "pw-1" });
    const table = memoryVersionTable();
    const manager = createRuntimeManager({ logger, tokenGraceInMs: 0, coherenceIntervalInMs: 60_000, versionTable: table, build: buildOver(vault) });
    const first = await manager.start();
    expect(await manager.refresh("timer")).toMatchObject({ checked: 1, changed: [], rebuilt: [], errors: [] });
    vault.update("db-password", "pw-2", "v2", 2_000);
    expect(await manager.refresh("timer")).toMatchObject({ checked: 1, changed: ["db-password"], rebuilt: ["db"], errors: [] });
    const current = (await manager.acquire?.())?.runtime as Runtime;
    expect(component(current, "db")).not.toBe(component(first, "db"));
    // memstore is shared: its data survives the rebuild of another component.
    expect(component(current, "memstore")).toBe(component(first, "memstore"));
    expect(table.rows).toEqual([{ vaultUrl: VAULT, secretName: "db-password", version: "v2", updatedOn: 2_000 }]);
    expect(await manager.refresh("timer")).toMatchObject({ changed: [], rebuilt: [] });
    await manager.close();
  });

  it("coherence: a newer version another instance recorded rebuilds the dependent here without an event", async () => {
    const vault = fakeVault({ "db-password": "pw-1" });
    const table = memoryVersionTable();
    const manager = createRuntimeManager({ logger, tokenGraceInMs: 0, coherenceIntervalInMs: 60_000, versionTable: table, build: buildOver(vault) });
    const first = await manager.start();
    vault.update("db-password", "pw-2", "v2", 2_000);
    await table.publish({ vaultUrl: VAULT, secretName: "DB-PASSWORD", version: "v2", updatedOn: 2_000 });
    await manager.checkCoherence(true);
    const lease = await manager.acquire?.();
    expect(component(lease?.runtime as Runtime, "db")).not.toBe(component(first, "db"));
    expect(component(lease?.runtime as Runtime, "db")?.dependencies[0]?.version?.version).toBe("v2");
    lease?.release();
    // A stale row (older than what this instance holds) changes nothing.
    const before = (await manager.acquire?.())?.runtime;
    await table.publish({ vaultUrl: VAULT, secretName: "db-password", version: "v0", updatedOn: 500 });
    await manager.checkCoherence(true);
    expect((await manager.acquire?.())?.runtime).toBe(before);
    await manager.close();
  });

  it("a new-version event naming an unknown version costs at most one Key Vault read and no rebuild when the current version is unchanged", async () => {
    const vault = fakeVault({ "db-password": "pw-1" });
    const manager = createRuntimeManager({ logger, tokenGraceInMs: 0, coherenceIntervalInMs: 60_000, build: buildOver(vault) });
    const runtime = await manager.start();
    const readsBefore = vault.reads.length;
    const summary = await manager.secretChanged(VAULT, "db-password", { trigger: "event", hint: { version: "f0rged0000000000000000000000000", updatedOn: 9_999 } });
    expect(vault.reads.length - readsBefore).toBeLessThanOrEqual(1);
    expect(summary).toMatchObject({ changed: [], rebuilt: [], failed: [] });
    expect((await manager.acquire?.())?.runtime).toBe(runtime);
    // The same through the Event Grid handler: a forged SecretNewVersionCreated with a version Key
    // Vault never issued.
    const handler = createKeyVaultEventHandler({ manager, logger, counters: createEventCounters() });
    const readsBeforeEvent = vault.reads.length;
    const forged = {
      id: "forged-1",
      topic: "/subscriptions/x/resourceGroups/rg/providers/Microsoft.KeyVault/vaults/unitvault",
      subject: "db-password",
      eventType: "Microsoft.KeyVault.SecretNewVersionCreated",
      eventTime: new Date().toISOString(),
      data: { Id: `${VAULT}/secrets/db-password/0123456789abcdef0123456789abcdef`, VaultName: "unitvault", ObjectType: "Secret", ObjectName: "db-password", Version: "0123456789abcdef0123456789abcdef", NBF: null, EXP: null },
      dataVersion: "1",
      metadataVersion: "1",
    };
    expect(await handler.handle(forged)).toContain("0 component(s) rebuilt");
    expect(vault.reads.length - readsBeforeEvent).toBeLessThanOrEqual(1);
    expect((await manager.acquire?.())?.runtime).toBe(runtime);
    // A real new version still rebuilds.
    vault.update("db-password", "pw-2", "v2", 2_000);
    expect(await manager.secretChanged(VAULT, "db-password", { trigger: "event", hint: { version: "v2" } })).toMatchObject({ changed: ["db-password"], rebuilt: ["db"] });
    await manager.close();
  });
});

describe("incremental coherence reads (over an in-memory version table that stamps rows with its own clock)", () => {
  const MARGIN = 60_000;
  const FULL_EVERY = 300_000;
  const dbVersion = async (manager: ReturnType<typeof createRuntimeManager>): Promise<string | undefined> => {
    const lease = await manager.acquire?.();
    lease?.release();
    return lease?.runtime.components.find((c) => c.definition.name === "db")?.dependencies[0]?.version?.version;
  };
  const others = (n: number) => Array.from({ length: n }, (_, i) => ({ vaultUrl: VAULT, secretName: `other-${i}`, version: "v1", updatedOn: 1_000 }));

  it("reads the whole table first, then only rows stamped since the last read less the margin (a late row inside it included), and the whole table again at the backstop", async () => {
    const vault = fakeVault({ "db-password": "pw-1" });
    const table = memoryVersionTable();
    await table.register(others(1_000));
    table.advance(120_000);
    let clock = 0;
    const manager = createRuntimeManager({ logger, tokenGraceInMs: 0, coherenceIntervalInMs: 5_000, coherenceReadMarginInMs: MARGIN, coherenceFullReadIntervalInMs: FULL_EVERY, now: () => clock, versionTable: table, build: buildOver(vault) });
    await manager.start();
    await manager.checkCoherence(true);
    const firstRead = table.serverTime();
    expect(table.readLog).toEqual([{ changedSince: undefined, rows: 1_000 }]);
    // 60 s later (server clock), 5 s later here: only db-password's registration, written after the first read.
    table.advance(60_000);
    clock += 5_000;
    await manager.checkCoherence(true);
    expect(table.readLog.at(-1)).toEqual({ changedSince: firstRead - MARGIN, rows: 1 });
    const secondRead = table.serverTime();

    // Written by another instance before the second read began, but visible only after it: stamped
    // inside the margin, so the next incremental read still finds it.
    vault.update("db-password", "pw-2", "v2", 2_000);
    await table.publishAt({ vaultUrl: VAULT, secretName: "db-password", version: "v2", updatedOn: 2_000 }, secondRead - MARGIN / 2);
    table.advance(5_000);
    clock += 5_000;
    await manager.checkCoherence(true);
    expect(table.readLog.at(-1)).toEqual({ changedSince: secondRead - MARGIN, rows: 1 });
    expect(await dbVersion(manager)).toBe("v2");

    // Stamped before the margin: no incremental read finds it, the backstop's full read does.
    const thirdRead = table.serverTime();
    vault.update("db-password", "pw-3", "v3", 3_000);
    await table.publishAt({ vaultUrl: VAULT, secretName: "db-password", version: "v3", updatedOn: 3_000 }, thirdRead - MARGIN - 1);
    table.advance(5_000);
    clock += 5_000;
    await manager.checkCoherence(true);
    expect(table.readLog.at(-1)).toEqual({ changedSince: thirdRead - MARGIN, rows: 0 });
    expect(await dbVersion(manager)).toBe("v2");
    clock = FULL_EVERY;
    await manager.checkCoherence(true);
    expect(table.readLog.at(-1)).toEqual({ changedSince: undefined, rows: 1_001 });
    expect(await dbVersion(manager)).toBe("v3");
    // The backstop's schedule restarts at that full read.
    table.advance(5_000);
    clock += 5_000;
    await manager.checkCoherence(true);
    expect(table.readLog.at(-1)?.changedSince).toBeDefined();
    await manager.close();
  });

  it("after a failed read, or a changed secret whose re-read failed, the next check reads the whole table", async () => {
    const vault = fakeVault({ "db-password": "pw-1" });
    const table = memoryVersionTable();
    const asked: Array<number | undefined> = [];
    let down = false;
    const flaky: VersionTable = {
      async *pages(changedSince) {
        asked.push(changedSince);
        if (down) throw new Error("storage is down");
        yield* table.pages(changedSince);
      },
      publish: (row) => table.publish(row),
      register: (rows) => table.register(rows),
    };
    const manager = createRuntimeManager({ logger, tokenGraceInMs: 0, coherenceIntervalInMs: 5_000, versionTable: flaky, build: buildOver(vault) });
    await manager.start();
    await manager.checkCoherence(true);
    await manager.checkCoherence(true);
    expect(asked).toEqual([undefined, table.serverTime() - COHERENCE_READ_MARGIN_IN_MS]);
    down = true;
    await manager.checkCoherence(true);
    down = false;
    await manager.checkCoherence(true);
    expect(asked.slice(2)).toEqual([table.serverTime() - COHERENCE_READ_MARGIN_IN_MS, undefined]);

    // A newer row whose secret cannot be re-read: the next check reads everything again and applies it then.
    vault.update("db-password", "pw-2", "v2", 2_000);
    vault.setFailing("db-password", true);
    await table.publish({ vaultUrl: VAULT, secretName: "db-password", version: "v2", updatedOn: 2_000 });
    table.advance(10 * COHERENCE_READ_MARGIN_IN_MS);
    await manager.checkCoherence(true);
    expect(asked.at(-1)).toBeDefined();
    expect(await dbVersion(manager)).toBe("v1");
    vault.setFailing("db-password", false);
    await manager.checkCoherence(true);
    expect(asked.at(-1)).toBeUndefined();
    expect(await dbVersion(manager)).toBe("v2");
    // The refresh timer compares every row with Key Vault: its read is always whole.
    await manager.refresh("timer");
    expect(asked.at(-1)).toBeUndefined();
    await manager.close();
  });

  it("a served name not yet seen listed is registered after an incremental read; more of them than the last full read's pages make the check read the whole table", async () => {
    const vault = fakeVault({ "db-password": "pw-1", s0: "a", s1: "b", s2: "c", s3: "d" });
    const table = memoryVersionTable();
    // Another instance registered these long ago: no incremental read returns them.
    await table.register(["s0", "s1", "s2", "s3"].map((secretName) => ({ vaultUrl: VAULT, secretName, version: "v1", updatedOn: 1_000 })));
    table.advance(10 * COHERENCE_READ_MARGIN_IN_MS);
    table.registrations.length = 0;
    const manager = createRuntimeManager({ logger, tokenGraceInMs: 0, coherenceIntervalInMs: 5_000, versionTable: table, build: buildOver(vault) });
    const runtime = await manager.start();
    const kv = runtime.components.find((c) => c.definition.name === "kv");
    if (kv?.kind !== "secretstores") throw new Error("no kv store");
    await manager.checkCoherence(true);
    expect(table.readLog).toEqual([{ changedSince: undefined, rows: 4 }]);
    // db-password, read by a component, was not listed: registered.
    expect(table.registrations).toEqual([1]);
    table.advance(10 * COHERENCE_READ_MARGIN_IN_MS);
    // One such name (the last full read took one page): read incrementally, registered (in Table
    // storage the batch would meet the existing row and compare it instead).
    await kv.store.getSecret({ name: "s0", metadata: {} });
    await manager.checkCoherence(true);
    expect(table.readLog.at(-1)?.changedSince).toBeDefined();
    expect(table.registrations).toEqual([1, 1]);
    table.advance(10 * COHERENCE_READ_MARGIN_IN_MS);
    // Three: the whole table is read, finds them listed, and nothing is registered.
    for (const name of ["s1", "s2", "s3"]) await kv.store.getSecret({ name, metadata: {} });
    await manager.checkCoherence(true);
    expect(table.readLog.at(-1)).toEqual({ changedSince: undefined, rows: 5 });
    expect(table.registrations).toEqual([1, 1]);
    table.advance(10 * COHERENCE_READ_MARGIN_IN_MS);
    await manager.checkCoherence(true);
    expect(table.readLog.at(-1)).toEqual({ changedSince: expect.any(Number), rows: 0 });
    expect(table.registrations).toEqual([1, 1]);
    await manager.close();
  });

  it("names a full read found listed are not registered again by later incremental reads that no longer return them", async () => {
    const vault = fakeVault({ "db-password": "pw-1" });
    const table = memoryVersionTable();
    // Another instance registered the secret long ago.
    await table.publish({ vaultUrl: VAULT, secretName: "db-password", version: "v1", updatedOn: 1_000 });
    table.advance(10 * COHERENCE_READ_MARGIN_IN_MS);
    const manager = createRuntimeManager({ logger, tokenGraceInMs: 0, coherenceIntervalInMs: 5_000, versionTable: table, build: buildOver(vault) });
    await manager.start();
    for (let check = 0; check < 3; check++) {
      await manager.checkCoherence(true);
      table.advance(10 * COHERENCE_READ_MARGIN_IN_MS);
    }
    expect(table.readLog.map((r) => r.rows)).toEqual([1, 0, 0]);
    expect(table.registrations).toEqual([]);
    // Its row deleted, the next full read finds it unlisted and it is registered again.
    table.rows.length = 0;
    const full = createRuntimeManager({ logger, tokenGraceInMs: 0, coherenceIntervalInMs: 5_000, versionTable: table, build: buildOver(vault) });
    await full.start();
    await full.checkCoherence(true);
    expect(table.registrations).toEqual([1]);
    await full.close();
    await manager.close();
  });
});
