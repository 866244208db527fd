/**
 * The Key Vault secret store against our emulator over HTTPS, through the real @azure/keyvault-secrets
 * and the real ManagedIdentityCredential (App Service protocol), plus the secret cache and the API.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createApi, type ApiHandler } from "../../../../src/api/router";
import { createKeyVaultSecretStore } from "../../../../src/components/secretstores/azure/keyvault/keyVaultSecretStore";
import type { SecretStore } from "../../../../src/components/secretstores/secretStore";
import type { Logger } from "../../../../src/observability/logger";
import { parseResourceDocuments } from "../../../../src/runtime/componentFiles";
import { buildRuntime, type Runtime } from "../../../../src/runtime/runtime";
import { createCounters } from "../../../../src/runtime/secretCache";
import { startKeyVaultEmulator, type KeyVaultEmulator } from "@vaultstate/keyvault-emulator";
import { runSecretStoreConformance } from "../../../conformance/secretStore.suite";
import { createAzureClients } from "../../../../src/azure/clients";

const NO_ACCESS_CLIENT_ID = "0b7e6a2c-1d3f-4e5a-8b9c-2d4e6f8a0b1c";
const logLines: string[] = [];
const logger: Logger = { info: (m) => logLines.push(m), warn: (m) => logLines.push(m), error: (m) => logLines.push(m) };

let emulator: KeyVaultEmulator;
let vaultUri: string;

beforeAll(async () => {
  emulator = await startKeyVaultEmulator({ vaultHost: "vault.localhost",
    seed: {
      vaults: {
        kvtest: {
          secrets: {
            conftestsecret: "abcd",
            secondsecret: "efgh",
            "disabled-secret": { value: "never-served", enabled: false },
            rotating: { versions: [{ value: "old-value" }, { value: "new-value" }] },
          },
        },
      },
      principals: [
        { name: "app", type: "systemAssigned", roles: { kvtest: "Key Vault Secrets User" } },
        { name: "stranger", clientId: NO_ACCESS_CLIENT_ID, roles: {} },
      ],
    },
  });
  vaultUri = emulator.vaultUri("kvtest");
  // ManagedIdentityCredential reads these when it is constructed, and our credential factory reads
  // the settings snapshot once: both happen after this point.
  Object.assign(process.env, emulator.identityEnvironment());
});
afterAll(async () => {
  await emulator?.close();
});

async function keyVaultStore(extra: Record<string, string> = {}): Promise<SecretStore> {
  const store = createKeyVaultSecretStore({ getClient: createAzureClients(emulator.identityEnvironment()).secretClient });
  await store.init({ vaultUri, ...extra });
  return store;
}

runSecretStoreConformance({ name: "secretstores.azure.keyvault (emulator)", features: [], create: () => keyVaultStore() });

describe("Key Vault store over the real SDK", () => {
  it("reads a pinned version with metadata.version_id, the latest without", async () => {
    const store = await keyVaultStore();
    const versions = emulator.store("kvtest").listVersions("rotating");
    const oldVersion = versions.find((v) => v.version.value === "old-value")?.version.version ?? "";
    expect((await store.getSecret({ name: "rotating", metadata: { version_id: oldVersion } })).data).toEqual({ rotating: "old-value" });
    expect((await store.getSecret({ name: "rotating", metadata: {} })).data).toEqual({ rotating: "new-value" });
  });

  it("bulk lists only enabled secrets and honours maxresults", async () => {
    const store = await keyVaultStore();
    const all = (await store.bulkGetSecret({ metadata: {} })).data;
    expect(Object.keys(all).sort()).toEqual(["conftestsecret", "rotating", "secondsecret"]);
    expect(all.rotating).toEqual({ rotating: "new-value" });
    expect(Object.keys((await store.bulkGetSecret({ metadata: { maxresults: "2" } })).data)).toHaveLength(2);
  });

  it("a disabled secret's value is refused (403) and never returned", async () => {
    const store = await keyVaultStore();
    const error = await store.getSecret({ name: "disabled-secret", metadata: {} }).then(
      () => undefined,
      (e: unknown) => e as Error,
    );
    expect(error?.message).toMatch(/^Key Vault answered 403/);
    expect(error?.message).not.toContain("never-served");
  });

  it("the caller's deadline reaches the SDK as an abort signal: a stalled Key Vault call ends as a timeout", async () => {
    const store = await keyVaultStore();
    await store.getSecret({ name: "conftestsecret", metadata: {} });
    const rule = emulator.faults.add({ operation: "getSecret", latencyMs: 5_000 });
    try {
      // Were the signal not passed on, this would succeed once the latency is over.
      await expect(store.getSecret({ name: "conftestsecret", metadata: {} }, { abortSignal: AbortSignal.timeout(200) })).rejects.toMatchObject({ name: "SecretStoreUnavailableError", failure: "timeout" });
    } finally {
      emulator.faults.clear(rule.id);
    }
  });

  it("a 429 with Retry-After comes back at once as throttling with the wait, not after the SDK slept through it", async () => {
    const store = await keyVaultStore();
    const rule = emulator.faults.add({ operation: "getSecret", status: 429, retryAfterSeconds: 30, count: 1 });
    try {
      // The test timeout (30 s) is shorter than one Retry-After: only an immediate answer passes.
      await expect(store.getSecret({ name: "conftestsecret", metadata: {} })).rejects.toMatchObject({ name: "SecretStoreUnavailableError", failure: "throttled", retryAfterInMs: 30_000 });
    } finally {
      emulator.faults.clear(rule.id);
    }
  });

  it("a user-assigned identity without a role assignment gets Key Vault's 403", async () => {
    const store = await keyVaultStore({ azureClientId: NO_ACCESS_CLIENT_ID });
    await expect(store.getSecret({ name: "conftestsecret", metadata: {} })).rejects.toThrow(/^Key Vault answered 403 Forbidden: /);
  });
});

describe("the API over a cached Key Vault store", () => {
  let runtime: Runtime;
  let api: ApiHandler;
  const counters = createCounters();
  const call = async (p: string): Promise<{ status: number; body: string }> => {
    const r = await api({ method: "GET", url: p, headers: new Headers({ "dapr-api-token": "t0ken-for-kv" }), body: async () => new Uint8Array() });
    return { status: r.status, body: typeof r.body === "string" ? r.body : "" };
  };

  beforeAll(async () => {
    const yaml = `apiVersion: dapr.io/v1alpha1\nkind: Component\nmetadata: {name: kv}\nspec:\n  type: secretstores.azure.keyvault\n  version: v1\n  metadata: [{name: vaultUri, value: "${vaultUri}"}]\n`;
    runtime = await buildRuntime({
      appId: "demo",
      resources: parseResourceDocuments("kv.yaml", yaml),
      apiTokens: ["t0ken-for-kv"],
      providerContext: { azure: createAzureClients(emulator.identityEnvironment()), appRoot: "/", environment: {} },
      logger,
      // A zero TTL sends every read upstream, so faults reach the cache while a stale value exists.
      secretCache: { options: { ttlInMs: 0, maxStalenessInMs: 60_000, backoffBaseInMs: 10, backoffMaxInMs: 40, maxAttempts: 2 }, counters },
    });
    api = createApi({ runtime: { status: () => ({ state: "ready", runtime }), ready: async () => runtime }, authPolicy: (rt) => ({ callers: rt.callers, allowAnonymous: false, anonymousAppId: "demo" }), logger });
  });
  afterAll(async () => {
    await runtime?.close();
    emulator.faults.clear();
  });

  it("1,000 concurrent GETs of a cold secret cause exactly one Key Vault GET", async () => {
    emulator.store("kvtest").set("cold-secret", { value: "cold-value" });
    const before = emulator.requestLog.list({ operation: "getSecret" }).filter((e) => e.secretName === "cold-secret").length;
    const results = await Promise.all(Array.from({ length: 1000 }, () => call("/v1.0/secrets/kv/cold-secret")));
    expect(results.every((r) => r.status === 200 && r.body === '{"cold-secret":"cold-value"}\n')).toBe(true);
    const gets = emulator.requestLog.list({ operation: "getSecret" }).filter((e) => e.secretName === "cold-secret" && e.status === 200);
    expect(gets.length - before).toBe(1);
  });

  it.each([
    ["429 without Retry-After", { status: 429 }],
    ["503", { status: 503 }],
    ["connection resets", { reset: true }],
  ])("with a warm cache and %s, GETs keep returning the cached value", async (_name, fault) => {
    expect((await call("/v1.0/secrets/kv/conftestsecret")).status).toBe(200);
    const staleBefore = counters.staleServes;
    const rule = emulator.faults.add({ operation: "getSecret", ...fault });
    try {
      for (let i = 0; i < 3; i++) {
        const r = await call("/v1.0/secrets/kv/conftestsecret");
        expect(r).toEqual({ status: 200, body: '{"conftestsecret":"abcd"}\n' });
      }
      expect(counters.staleServes).toBeGreaterThan(staleBefore);
    } finally {
      emulator.faults.clear(rule.id);
    }
  });

  it("with a cold cache a fault is 500 ERR_SECRET_GET naming the cause, and it recovers by itself", async () => {
    const rule = emulator.faults.add({ operation: "getSecret", status: 503 });
    let failed: { status: number; body: string };
    try {
      failed = await call("/v1.0/secrets/kv/secondsecret");
    } finally {
      emulator.faults.clear(rule.id);
    }
    expect(failed.status).toBe(500);
    expect(JSON.parse(failed.body)).toEqual({ errorCode: "ERR_SECRET_GET", message: "failed getting secret with key secondsecret from secret store kv: Key Vault answered 503" });
    expect(await call("/v1.0/secrets/kv/secondsecret")).toEqual({ status: 200, body: '{"secondsecret":"efgh"}\n' });
  });

  it("throttling on a cold secret is reported as throttling", async () => {
    const rule = emulator.faults.add({ operation: "getSecret", status: 429 });
    try {
      const r = await call("/v1.0/secrets/kv/rotating");
      expect(r.status).toBe(500);
      expect(JSON.parse(r.body).message).toBe("failed getting secret with key rotating from secret store kv: Key Vault is throttling requests (429)");
    } finally {
      emulator.faults.clear(rule.id);
    }
  });

  it("no secret value reached a log line", () => {
    const joined = logLines.join("\n");
    for (const value of ["abcd", "efgh", "cold-value", "old-value", "new-value", "never-served", "t0ken-for-kv"]) expect(joined).not.toContain(value);
  });
});

describe("the API over a cached Key Vault store: reads nobody can turn into load or waits", () => {
  let runtime: Runtime;
  let api: ApiHandler;
  const counters = createCounters();
  const call = async (p: string, token = "t0ken-for-kv"): Promise<{ status: number; body: string; headers: Record<string, string> }> => {
    const r = await api({ method: "GET", url: p, headers: new Headers({ "dapr-api-token": token }), body: async () => new Uint8Array() });
    return { status: r.status, body: typeof r.body === "string" ? r.body : "", headers: r.headers };
  };
  const reads = (name: string): number => emulator.requestLog.list({ operation: "getSecret" }).filter((e) => e.secretName === name).length;

  beforeAll(async () => {
    const yaml = `apiVersion: dapr.io/v1alpha1\nkind: Component\nmetadata: {name: kv}\nspec:\n  type: secretstores.azure.keyvault\n  version: v1\n  metadata: [{name: vaultUri, value: "${vaultUri}"}]\n`;
    // The defaults, apart from a miss budget small enough to reach.
    runtime = await buildRuntime({
      appId: "demo",
      resources: parseResourceDocuments("kv.yaml", yaml),
      apiTokens: ["t0ken-for-kv", "greedy=greedy-t0ken"],
      providerContext: { azure: createAzureClients(emulator.identityEnvironment()), appRoot: "/", environment: {} },
      logger,
      secretCache: { options: { missesPerSecondPerCaller: 1, missBurstPerCaller: 20 }, counters },
    });
    api = createApi({ runtime: { status: () => ({ state: "ready", runtime }), ready: async () => runtime }, authPolicy: (rt) => ({ callers: rt.callers, allowAnonymous: false, anonymousAppId: "demo" }), logger });
  });
  afterAll(async () => {
    await runtime?.close();
    emulator.faults.clear();
  });

  it("10,000 distinct metadata.* values cause 0 extra Key Vault reads (unknown keys are ignored, as daprd's provider does)", async () => {
    expect(await call("/v1.0/secrets/kv/secondsecret")).toMatchObject({ status: 200, body: '{"secondsecret":"efgh"}\n' });
    const before = reads("secondsecret");
    for (let i = 0; i < 10_000; i++) {
      const r = await call(`/v1.0/secrets/kv/secondsecret?metadata.bust${i % 7}=${i}&metadata.version_stage=v${i}`);
      expect(r.status).toBe(200);
    }
    expect(reads("secondsecret") - before).toBe(0);
  });

  it("a name Key Vault can never hold is a 400 that costs no Key Vault call", async () => {
    emulator.requestLog.reset();
    for (const name of ["a".repeat(128), "under_score", "dot.ted", "sp%20ace"]) {
      const r = await call(`/v1.0/secrets/kv/${name}`);
      expect(r.status).toBe(400);
      expect(JSON.parse(r.body)).toMatchObject({ errorCode: "ERR_SECRET_GET" });
    }
    expect(emulator.requestLog.list({ operation: "getSecret" })).toEqual([]);
  });

  it("a caller that spends its budget of uncached reads gets 429 with Retry-After; cached reads still answer", async () => {
    const vault = emulator.store("kvtest");
    for (let i = 0; i < 80; i++) vault.set(`budget-${i}`, { value: `budget-value-${i}` });
    const statuses: number[] = [];
    for (let i = 0; i < 80; i++) statuses.push((await call(`/v1.0/secrets/kv/budget-${i}`, "greedy-t0ken")).status);
    // A burst of 20 misses, then 1 per second: 60 more cold reads cannot all fit.
    expect(statuses.slice(0, 20)).toEqual(Array.from({ length: 20 }, () => 200));
    const refusedAt = statuses.indexOf(429);
    expect(refusedAt).toBeGreaterThanOrEqual(20);
    const refused = await call(`/v1.0/secrets/kv/budget-${statuses.lastIndexOf(429)}`, "greedy-t0ken");
    if (refused.status === 429) {
      expect(JSON.parse(refused.body)).toMatchObject({ errorCode: "ERR_TOO_MANY_REQUESTS" });
      expect(Number(refused.headers["retry-after"])).toBeGreaterThanOrEqual(1);
      expect(refused.headers["cache-control"]).toBe("no-store");
    }
    expect((await call("/v1.0/secrets/kv/budget-0", "greedy-t0ken")).body).toBe('{"budget-0":"budget-value-0"}\n');
    // Another caller's budget is its own.
    expect((await call(`/v1.0/secrets/kv/budget-${refusedAt}`)).status).toBe(200);
    expect(counters.budgetRefusals).toBeGreaterThan(0);
  });

  it("a bulk read has one deadline in total, the listing included", async () => {
    const short = await buildRuntime({
      appId: "demo",
      resources: parseResourceDocuments("kv.yaml", `apiVersion: dapr.io/v1alpha1\nkind: Component\nmetadata: {name: kv}\nspec:\n  type: secretstores.azure.keyvault\n  version: v1\n  metadata: [{name: vaultUri, value: "${vaultUri}"}]\n`),
      apiTokens: ["t0ken-for-kv"],
      providerContext: { azure: createAzureClients(emulator.identityEnvironment()), appRoot: "/", environment: {} },
      logger,
      secretCache: { options: { readDeadlineInMs: 500 }, counters: createCounters() },
    });
    const rule = emulator.faults.add({ operation: "listSecrets", latencyMs: 20_000 });
    try {
      const store = short.secretStores("demo").get("kv");
      const started = Date.now();
      await expect(store?.bulkGetSecret({ metadata: {} })).rejects.toMatchObject({ name: "SecretStoreUnavailableError", failure: "timeout" });
      // The read deadline is 0.5 s; without it the listing would wait for the per-operation bound (10 s).
      expect(Date.now() - started).toBeLessThan(8_000);
    } finally {
      emulator.faults.clear(rule.id);
      await short.close();
    }
  });

  it("a cold read under 429 with Retry-After: 20 fails within the deadline with 500 ERR_SECRET_GET after one Key Vault call", async () => {
    emulator.store("kvtest").set("throttled-cold", { value: "throttled-cold-value" });
    emulator.requestLog.reset();
    const rule = emulator.faults.add({ operation: "getSecret", status: 429, retryAfterSeconds: 20 });
    try {
      const started = Date.now();
      const r = await call("/v1.0/secrets/kv/throttled-cold");
      const elapsed = Date.now() - started;
      expect(r.status).toBe(500);
      expect(JSON.parse(r.body)).toEqual({ errorCode: "ERR_SECRET_GET", message: "failed getting secret with key throttled-cold from secret store kv: Key Vault is throttling requests (429)" });
      // The default read deadline is 10 s; waiting out Retry-After once would take 20 s.
      expect(elapsed).toBeLessThan(10_000);
      expect(reads("throttled-cold")).toBe(1);
      // While Key Vault says to wait, other cold reads fail at once without calling it.
      expect((await call("/v1.0/secrets/kv/conftestsecret")).status).toBe(500);
      expect(reads("conftestsecret")).toBe(0);
    } finally {
      emulator.faults.clear(rule.id);
    }
  });
});

describe("@Microsoft.KeyVault(...) references against the emulator", () => {
  it("resolve in component metadata and in API_TOKEN, versionless and pinned", async () => {
    const vault = emulator.store("kvtest");
    vault.set("env-prefix", { value: "APP_" });
    const pinned = vault.set("caller-token", { value: "pinned-t0ken" }).version.version;
    vault.set("caller-token", { value: "latest-t0ken" });
    const yaml = `apiVersion: dapr.io/v1alpha1\nkind: Component\nmetadata: {name: envs}\nspec:\n  type: secretstores.local.env\n  version: v1\n  metadata:\n    - name: prefix\n      value: "@Microsoft.KeyVault(SecretUri=${vaultUri}/secrets/env-prefix)"\n`;
    const runtime = await buildRuntime({
      appId: "demo",
      resources: parseResourceDocuments("refs.yaml", yaml),
      apiTokens: [`a=@Microsoft.KeyVault(SecretUri=${vaultUri}/secrets/caller-token)`, `b=@Microsoft.KeyVault(SecretUri=${vaultUri}/secrets/caller-token/${pinned})`],
      providerContext: { azure: createAzureClients(emulator.identityEnvironment()), appRoot: "/", environment: { APP_greeting: "hi-there" } },
      logger,
    });
    try {
      expect(runtime.callers.map(({ appId, token }) => ({ appId, token }))).toEqual([
        { appId: "a", token: "latest-t0ken" },
        { appId: "b", token: "pinned-t0ken" },
      ]);
      expect((await runtime.secretStores("a").get("envs")?.getSecret({ name: "greeting", metadata: {} }))?.data).toEqual({ greeting: "hi-there" });
    } finally {
      await runtime.close();
    }
  });

  it("an unresolvable reference fails that component, naming the component and field, not the value", async () => {
    const yaml = `apiVersion: dapr.io/v1alpha1\nkind: Component\nmetadata: {name: envs}\nspec:\n  type: secretstores.local.env\n  version: v1\n  metadata:\n    - name: prefix\n      value: "@Microsoft.KeyVault(SecretUri=${vaultUri}/secrets/missing-secret)"\n`;
    const runtime = await buildRuntime({ appId: "demo", resources: parseResourceDocuments("refs.yaml", yaml), apiTokens: [], providerContext: { azure: createAzureClients(emulator.identityEnvironment()), appRoot: "/", environment: {} }, logger });
    expect(runtime.failed.map((f) => f.definition.name)).toEqual(["envs"]);
    expect(runtime.failed[0]?.reason).toMatch(/refs\.yaml: component envs: spec\.metadata prefix: cannot resolve the Key Vault reference: SecretNotFoundError: secret missing-secret not found/);
    await runtime.close();
  });
});
