/**
 * The rebuild planner decides, without I/O, what changed and what must be rebuilt. Runtimes are real
 * (`buildRuntime`, the Key Vault provider and cache) over an in-memory SDK client.
 */
import { describe, expect, it } from "vitest";
import {
  changedInStore,
  coherenceTargets,
  differs,
  isEmptyPlan,
  planAfterReread,
  planRebuild,
  registeredElsewhere,
  secretsInUse,
  servedElsewhere,
  storesOfVault,
  usesSecret,
  vaultStores,
} from "../../src/runtime/rebuildPlanner";
import { buildOver, fakeVault, VAULT } from "./support/fakeKeyVault";

async function runtimeWithDependent(apiTokens: string[] = ["t0ken-value"]) {
  const vault = fakeVault({ "db-password": "pw-1", "api-token": "tok-1", other: "o-1" });
  const runtime = await buildOver(vault, undefined, apiTokens)();
  const [kv] = storesOfVault(runtime, VAULT);
  if (kv === undefined) throw new Error("no kv store");
  return { vault, runtime, kv };
}

describe("rebuild planner", () => {
  it("finds the runtime's Key Vault stores by vault, letter case and path ignored", async () => {
    const { runtime } = await runtimeWithDependent();
    expect(vaultStores(runtime).map((s) => s.component)).toEqual(["kv"]);
    expect(storesOfVault(runtime, "HTTPS://UNITVAULT.vault.azure.net/secrets/x")).toHaveLength(1);
    expect(storesOfVault(runtime, "https://othervault.vault.azure.net")).toEqual([]);
    await runtime.close();
  });

  it("compares versions by id (case-insensitive), else by time; an unknown known version never differs", () => {
    expect(differs({ version: "ABC" }, { version: "abc" })).toBe(false);
    expect(differs({ version: "a" }, { version: "b" })).toBe(true);
    expect(differs({ updatedOn: 1 }, { updatedOn: 2 })).toBe(true);
    expect(differs(undefined, { version: "b" })).toBe(false);
    expect(differs({ version: "a" }, undefined)).toBe(true);
  });

  it("rebuilds the components and tokens that read a changed secret with another version, and nothing else", async () => {
    const { runtime, kv } = await runtimeWithDependent(["t0ken-value", "ops=secretstore:kv/api-token"]);
    expect(secretsInUse(runtime, kv)).toEqual(new Set(["db-password", "api-token"]));
    expect(usesSecret(runtime, kv, "DB-PASSWORD")).toBe(true);
    expect(usesSecret(runtime, kv, "other")).toBe(false);

    expect(planRebuild(runtime, [{ store: kv, secret: "db-password", version: { version: "v2", updatedOn: 2_000 } }])).toEqual({ components: ["db"], tokens: false });
    // Names fold like Key Vault's.
    expect(planRebuild(runtime, [{ store: kv, secret: "DB-Password", version: { version: "v2" } }])).toEqual({ components: ["db"], tokens: false });
    expect(planRebuild(runtime, [{ store: kv, secret: "api-token", version: { version: "v2" } }])).toEqual({ components: [], tokens: true });
    // Built with the current version already: nothing to redo.
    expect(isEmptyPlan(planRebuild(runtime, [{ store: kv, secret: "db-password", version: { version: "v1" } }]))).toBe(true);
    // Version unknown: every dependent is rebuilt.
    expect(planRebuild(runtime, [{ store: kv, secret: "db-password" }])).toEqual({ components: ["db"], tokens: false });
    expect(isEmptyPlan(planRebuild(runtime, [{ store: kv, secret: "other", version: { version: "v9" } }]))).toBe(true);
    await runtime.close();
  });

  it("after an event's re-read, rebuilds only when Key Vault's version differs from the one the runtime was built with", async () => {
    const { runtime, kv } = await runtimeWithDependent();
    expect(isEmptyPlan(planAfterReread(runtime, [kv], "db-password", { version: "v1", updatedOn: 1_000 }))).toBe(true);
    expect(planAfterReread(runtime, [kv], "db-password", { version: "v2", updatedOn: 2_000 }).components).toEqual(["db"]);
    // The re-read failed: a rebuild would read through the same failing vault.
    expect(isEmptyPlan(planAfterReread(runtime, [kv], "db-password", undefined))).toBe(true);
    await runtime.close();
  });

  it("a secret changed when Key Vault's current version differs from the cached copy or from the one dependents were built with", async () => {
    const { runtime, kv } = await runtimeWithDependent();
    await kv.store.getSecret({ name: "other", metadata: {} });
    const inUse = secretsInUse(runtime, kv);
    expect(inUse).toEqual(new Set(["other", "db-password"]));
    const same = new Map([
      ["db-password", { version: "v1", updatedOn: 1_000 }],
      ["other", { version: "v1", updatedOn: 1_000 }],
    ]);
    expect(changedInStore(runtime, kv, inUse, same)).toEqual([]);
    const moved = new Map([
      ["db-password", { version: "v2", updatedOn: 2_000 }],
      ["other", { version: "v1", updatedOn: 1_000 }],
    ]);
    expect(changedInStore(runtime, kv, inUse, moved).map((c) => [c.secret, c.version?.version])).toEqual([["db-password", "v2"]]);
    // The cache already holds v2 (read after the change), the component still runs on v1: changed.
    await kv.store.getSecret({ name: "db-password", metadata: {} });
    expect(changedInStore(runtime, kv, inUse, moved).map((c) => c.secret)).toEqual(["db-password"]);
    await runtime.close();
  });

  it("coherence acts on strictly newer rows of this app's vaults only; rows served elsewhere are reported when Key Vault moved past them", async () => {
    const { runtime, kv } = await runtimeWithDependent();
    const rows = [
      { vaultUrl: VAULT, secretName: "DB-PASSWORD", version: "v2", updatedOn: 2_000 },
      { vaultUrl: VAULT, secretName: "db-password", version: "v1", updatedOn: 1_000 },
      { vaultUrl: VAULT, secretName: "db-password", version: "v0", updatedOn: 500 },
      { vaultUrl: "https://othervault.vault.azure.net", secretName: "db-password", version: "v9", updatedOn: 9_000 },
      { vaultUrl: VAULT, secretName: "not-here", version: "v1", updatedOn: 1_000 },
    ];
    expect(coherenceTargets(runtime, rows)).toEqual([rows[0]]);
    const inUse = secretsInUse(runtime, kv);
    expect(registeredElsewhere(rows, kv, inUse).map((r) => r.secretName)).toEqual(["not-here"]);
    expect(servedElsewhere(rows, kv, inUse, new Map([["not-here", { version: "v1", updatedOn: 1_000 }]]))).toEqual([]);
    expect(servedElsewhere(rows, kv, inUse, new Map([["not-here", { version: "v2", updatedOn: 2_000 }]]))).toEqual([{ secretName: "not-here", latest: { version: "v2", updatedOn: 2_000 } }]);
    await runtime.close();
  });
});
