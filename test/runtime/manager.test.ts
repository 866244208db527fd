import { afterEach, describe, expect, it, vi } from "vitest";
import { healthz, healthzOutbound } from "../../src/api/healthApi";
import type { Logger } from "../../src/observability/logger";
import { ResourceFileError } from "../../src/runtime/componentFiles";
import { createRuntimeManager, isStartupConfigurationError, retryDelay } from "../../src/runtime/manager";
import { type ComponentDefinition, parseResourceDocuments } from "../../src/runtime/componentFiles";
import { buildRuntime, ComponentInitError, type FailedComponent, type RebuildResult, type Runtime, type RuntimeStatus } from "../../src/runtime/runtime";
import { createAzureClients } from "../../src/azure/clients";

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
