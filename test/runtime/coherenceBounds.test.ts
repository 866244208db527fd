/**
 * What the coherence check keeps in memory is bounded by configuration (the secret cache's bound and
 * the components), not by traffic: a version table of many pages is read a page at a time, and the
 * record of secrets this instance registered forgets names it no longer serves.
 */
import { describe, expect, it } from "vitest";
import { MAX_TRANSACTION_ROWS, type VersionRow, type VersionTable } from "../../src/azure/versionTable";
import { createRuntimeManager, MAX_REGISTRATIONS_PER_CHECK } from "../../src/runtime/manager";
import type { Runtime } from "../../src/runtime/runtime";
import { forgetUnserved } from "../../src/runtime/servedSecrets";
import { buildOver, fakeVault, memoryVersionTable, quietLogger, VAULT } from "./support/fakeKeyVault";

const NAMES = 200;
const CACHE = 10;

function kvStore(runtime: Runtime) {
  const kv = runtime.components.find((c) => c.definition.name === "kv");
  if (kv?.kind !== "secretstores") throw new Error("no kv store");
  return kv.store;
}

describe("coherence memory bounds", () => {
  it("forgetUnserved keeps only the served keys", () => {
    const registered = new Set(["h/a", "h/b", "h/c"]);
    forgetUnserved(registered, new Set(["h/b", "h/z"]));
    expect([...registered]).toEqual(["h/b"]);
  });

  it(`registers each of ${NAMES} names served through a cache of ${CACHE} once, and forgets the evicted ones`, async () => {
    const vault = fakeVault({ "db-password": "pw", ...Object.fromEntries(Array.from({ length: NAMES }, (_, i) => [`s${i}`, `v${i}`])) });
    const table = memoryVersionTable();
    const published: string[] = [];
    const counting: VersionTable = {
      pages: (changedSince) => table.pages(changedSince),
      publish(row) {
        published.push(row.secretName);
        return table.publish(row);
      },
      register(rows) {
        published.push(...rows.map((r) => r.secretName));
        return table.register(rows);
      },
    };
    const manager = createRuntimeManager({ logger: quietLogger, tokenGraceInMs: 0, coherenceIntervalInMs: 60_000, versionTable: counting, build: buildOver(vault, undefined, undefined, { maxEntries: CACHE }) });
    const runtime = await manager.start();
    const store = kvStore(runtime);
    for (let i = 0; i < NAMES; i++) {
      await store.getSecret({ name: `s${i}`, metadata: {} });
      await manager.checkCoherence(true);
      expect(store.cachedNames().length).toBeLessThanOrEqual(CACHE);
    }
    // Every served name registered exactly once (db-password with it: a component reads it).
    expect(published.filter((n) => n !== "db-password")).toEqual(Array.from({ length: NAMES }, (_, i) => `s${i}`));
    expect(table.rows.length).toBe(NAMES + 1);
    // A name still cached and listed costs nothing more.
    await store.getSecret({ name: `s${NAMES - 1}`, metadata: {} });
    await manager.checkCoherence(true);
    expect(published.length).toBe(NAMES + 1);
    // s0 was evicted long ago and forgotten: served again after its row vanished, it is registered
    // again (a record of every name ever registered would have skipped it).
    table.rows.splice(
      table.rows.findIndex((r) => r.secretName === "s0"),
      1,
    );
    await store.getSecret({ name: "s0", metadata: {} });
    await manager.checkCoherence(true);
    expect(published.at(-1)).toBe("s0");
    expect(table.rows.some((r) => r.secretName === "s0")).toBe(true);
    await manager.close();
  });

  it(`registers many new names in batches of ${MAX_TRANSACTION_ROWS}, at most ${MAX_REGISTRATIONS_PER_CHECK} per check; the rest at the next checks`, async () => {
    const many = 2_500;
    const vault = fakeVault({ "db-password": "pw", ...Object.fromEntries(Array.from({ length: many }, (_, i) => [`m${i}`, `v${i}`])) });
    const table = memoryVersionTable();
    let single = 0;
    const counting: VersionTable = {
      pages: (changedSince) => table.pages(changedSince),
      publish(row) {
        single++;
        return table.publish(row);
      },
      register: (rows) => table.register(rows),
    };
    const manager = createRuntimeManager({ logger: quietLogger, tokenGraceInMs: 0, coherenceIntervalInMs: 60_000, versionTable: counting, build: buildOver(vault, undefined, undefined, { maxEntries: many }) });
    const store = kvStore(await manager.start());
    await manager.checkCoherence(true);
    table.registrations.length = 0;
    for (let i = 0; i < many; i++) await store.getSecret({ name: `m${i}`, metadata: {} });
    const perCheck: number[] = [];
    for (let check = 0; check < 4; check++) {
      const before = table.registrations.length;
      await manager.checkCoherence(true);
      const sizes = table.registrations.slice(before);
      expect(sizes.every((n) => n <= MAX_TRANSACTION_ROWS)).toBe(true);
      perCheck.push(sizes.reduce((a, b) => a + b, 0));
    }
    expect(perCheck).toEqual([MAX_REGISTRATIONS_PER_CHECK, MAX_REGISTRATIONS_PER_CHECK, many - 2 * MAX_REGISTRATIONS_PER_CHECK, 0]);
    expect(table.registrations.length).toBe(Math.ceil(many / MAX_TRANSACTION_ROWS));
    expect(single).toBe(0);
    expect(new Set(table.rows.map((r) => r.secretName)).size).toBe(many + 1);
    await manager.close();
  });

  it("a failed registration ends the check with a warning; its names are registered at the next check", async () => {
    const vault = fakeVault({ "db-password": "pw", ...Object.fromEntries(Array.from({ length: 150 }, (_, i) => [`f${i}`, `v${i}`])) });
    const table = memoryVersionTable();
    const warnings: string[] = [];
    let failing = false;
    let attempts = 0;
    const flaky: VersionTable = {
      pages: (changedSince) => table.pages(changedSince),
      publish: (row) => table.publish(row),
      register(rows) {
        attempts++;
        return failing ? Promise.reject(new Error("storage is down")) : table.register(rows);
      },
    };
    const logger = { ...quietLogger, warn: (m: string) => warnings.push(m) };
    const manager = createRuntimeManager({ logger, tokenGraceInMs: 0, coherenceIntervalInMs: 60_000, versionTable: flaky, build: buildOver(vault) });
    const store = kvStore(await manager.start());
    await manager.checkCoherence(true);
    for (let i = 0; i < 150; i++) await store.getSecret({ name: `f${i}`, metadata: {} });
    failing = true;
    attempts = 0;
    await manager.checkCoherence(true);
    // The first batch failed: the second was not tried.
    expect(attempts).toBe(1);
    expect(warnings).toEqual([expect.stringContaining("could not register 150 served secret(s)")]);
    expect(table.rows.some((r) => r.secretName.startsWith("f"))).toBe(false);
    failing = false;
    await manager.checkCoherence(true);
    expect(table.rows.filter((r) => r.secretName.startsWith("f")).length).toBe(150);
    await manager.close();
  });

  it("reads a version table of many pages lazily, applying a newer version found on the last page", async () => {
    const vault = fakeVault({ "db-password": "pw-1" });
    const pagesRead: number[] = [];
    const PAGES = 50;
    const paged: VersionTable = {
      async *pages() {
        for (let p = 0; p < PAGES; p++) {
          pagesRead.push(p);
          // Rows other instances registered: names this instance never served.
          const rows: VersionRow[] = Array.from({ length: 1000 }, (_, i) => ({ vaultUrl: VAULT, secretName: `other-${p}-${i}`, version: "v1", updatedOn: 1_000 }));
          if (p === PAGES - 1) rows.push({ vaultUrl: VAULT, secretName: "db-password", version: "v2", updatedOn: 2_000 });
          yield { rows };
        }
      },
      publish: () => Promise.resolve(),
      register: () => Promise.resolve(),
    };
    const manager = createRuntimeManager({ logger: quietLogger, tokenGraceInMs: 0, coherenceIntervalInMs: 60_000, versionTable: paged, build: buildOver(vault) });
    const first = await manager.start();
    vault.update("db-password", "pw-2", "v2", 2_000);
    await manager.checkCoherence(true);
    expect(pagesRead.length).toBe(PAGES);
    const lease = await manager.acquire?.();
    const db = lease?.runtime.components.find((c) => c.definition.name === "db");
    expect(db).not.toBe(first.components.find((c) => c.definition.name === "db"));
    expect(db?.dependencies[0]?.version?.version).toBe("v2");
    lease?.release();
    await manager.close();
  });
});
