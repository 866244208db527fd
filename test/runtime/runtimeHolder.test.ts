/**
 * The runtime holder: leases, swap, drain, and failures that keep the old component. Runtimes are real
 * (`buildRuntime`, the Key Vault provider and cache) over an in-memory SDK client.
 */
import { describe, expect, it, vi } from "vitest";
import type { LoadedComponent, Runtime } from "../../src/runtime/runtime";
import { createRuntimeHolder } from "../../src/runtime/runtimeHolder";
import { buildOver, fakeVault, quietLogger } from "./support/fakeKeyVault";

const TWO_DEPENDENTS = `apiVersion: dapr.io/v1alpha1
kind: Component
metadata: {name: kv}
spec: {type: secretstores.azure.keyvault, version: v1, metadata: [{name: vaultName, value: unitvault}]}
---
apiVersion: dapr.io/v1alpha1
kind: Component
metadata: {name: db}
spec: {type: state.in-memory, version: v1, metadata: [{name: password, secretKeyRef: {name: db-password, key: db-password}}]}
auth: {secretStore: kv}
---
apiVersion: dapr.io/v1alpha1
kind: Component
metadata: {name: cache}
spec: {type: state.in-memory, version: v1, metadata: [{name: password, secretKeyRef: {name: cache-password, key: cache-password}}]}
auth: {secretStore: kv}
`;

function component(runtime: Runtime, name: string): LoadedComponent {
  const found = runtime.components.find((c) => c.definition.name === name);
  if (found === undefined) throw new Error(`no component ${name}`);
  return found;
}

/** A new version of `secret` in the vault, and the cache told so (as the refresh paths do). */
function rotate(vault: ReturnType<typeof fakeVault>, runtime: Runtime, secret: string, version: string): void {
  vault.update(secret, `${secret}-${version}`, version, 2_000);
  runtime.secretStores("demo").get("kv")?.invalidate(secret);
}

describe("runtime holder", () => {
  it("closes a swapped-out component only after the requests holding the old runtime are done", async () => {
    const vault = fakeVault({ "db-password": "pw-1", "cache-password": "c-1" });
    const holder = createRuntimeHolder({ build: buildOver(vault, TWO_DEPENDENTS), logger: quietLogger, tokenGraceInMs: 0 });
    const old = await holder.start();
    const oldDb = component(old, "db");
    const closed = vi.spyOn(oldDb.store, "close");
    const lease = await holder.acquire();
    expect(lease.runtime).toBe(old);

    rotate(vault, old, "db-password", "v2");
    const result = await holder.serialize(() => holder.rebuild(["db"]));
    expect(result?.rebuilt).toEqual(["db"]);
    const next = holder.current();
    expect(next).not.toBe(old);
    expect(component(next as Runtime, "db")).not.toBe(oldDb);
    // Untouched components are shared by both generations.
    expect(component(next as Runtime, "cache")).toBe(component(old, "cache"));
    // New requests get the new runtime; the old one's request still runs on the old instance.
    const newLease = await holder.acquire();
    expect(newLease.runtime).toBe(next);
    await holder.drain();
    expect(closed).not.toHaveBeenCalled();

    lease.release();
    await holder.drain();
    expect(closed).toHaveBeenCalledTimes(1);
    newLease.release();
    await holder.close();
  });

  it("closes the replaced component anyway once the drain deadline has passed", async () => {
    let now = 0;
    const vault = fakeVault({ "db-password": "pw-1", "cache-password": "c-1" });
    const holder = createRuntimeHolder({ build: buildOver(vault, TWO_DEPENDENTS), logger: quietLogger, tokenGraceInMs: 0, drainTimeoutInMs: 5_000, now: () => now });
    const old = await holder.start();
    const closed = vi.spyOn(component(old, "db").store, "close");
    const stuck = await holder.acquire();
    rotate(vault, old, "db-password", "v2");
    await holder.serialize(() => holder.rebuild(["db"]));
    now = 4_999;
    await holder.drain();
    expect(closed).not.toHaveBeenCalled();
    now = 5_000;
    await holder.drain();
    expect(closed).toHaveBeenCalledTimes(1);
    stuck.release();
    await holder.close();
  });

  it("a component that fails to rebuild keeps its old instance serving, and nothing is closed", async () => {
    const vault = fakeVault({ "db-password": "pw-1", "cache-password": "c-1" });
    const holder = createRuntimeHolder({ build: buildOver(vault, TWO_DEPENDENTS), logger: quietLogger, tokenGraceInMs: 0 });
    const old = await holder.start();
    const oldDb = component(old, "db");
    const closed = vi.spyOn(oldDb.store, "close");
    // The secret is gone (a 404 is an answer, not an outage: no stale value is served for it).
    vault.remove("db-password");
    old.secretStores("demo").get("kv")?.invalidate("db-password");
    const result = await holder.serialize(() => holder.rebuild(["db"]));
    expect(result?.rebuilt).toEqual([]);
    expect(result?.failed.map((f) => f.name)).toEqual(["db"]);
    expect(component(holder.current() as Runtime, "db")).toBe(oldDb);
    await holder.drain();
    expect(closed).not.toHaveBeenCalled();
    await holder.close();
  });

  it("partial failure: of two changed secrets, the component whose secret reads is rebuilt, the one whose secret is gone keeps its old instance", async () => {
    const vault = fakeVault({ "db-password": "pw-1", "cache-password": "c-1" });
    const holder = createRuntimeHolder({ build: buildOver(vault, TWO_DEPENDENTS), logger: quietLogger, tokenGraceInMs: 0 });
    const old = await holder.start();
    rotate(vault, old, "db-password", "v2");
    vault.remove("cache-password");
    old.secretStores("demo").get("kv")?.invalidate("cache-password");
    const result = await holder.serialize(() => holder.rebuild(["db", "cache"]));
    expect(result?.rebuilt).toEqual(["db"]);
    expect(result?.failed.map((f) => f.name)).toEqual(["cache"]);
    expect(result?.replaced).toEqual([component(old, "db")]);
    const next = holder.current() as Runtime;
    expect(component(next, "db")).not.toBe(component(old, "db"));
    expect(component(next, "cache")).toBe(component(old, "cache"));
    await holder.close();
  });

  it("a rebuild that throws altogether leaves the current runtime in place", async () => {
    const vault = fakeVault({ "db-password": "pw-1", "cache-password": "c-1" });
    const holder = createRuntimeHolder({ build: buildOver(vault, TWO_DEPENDENTS), logger: quietLogger, tokenGraceInMs: 0 });
    const old = await holder.start();
    Object.assign(old, { rebuild: () => Promise.reject(new Error("boom")) });
    expect(await holder.serialize(() => holder.rebuild(["db"]))).toBeUndefined();
    expect(holder.current()).toBe(old);
    expect(holder.status()).toEqual({ state: "ready", runtime: old });
    await holder.close();
  });
});
