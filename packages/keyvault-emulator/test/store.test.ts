/**
 * @module keyvault-emulator/test/store: unit tests of the vault store's semantics, with a fixed clock.
 */
import { beforeEach, describe, expect, it } from "vitest";
import { createShiftableClock, type ShiftableClock } from "../src/clock";
import { thrown } from "./helpers";
import { type SecretChangeEvent, VaultStore } from "../src/store";

const T0 = Date.UTC(2030, 0, 1, 0, 0, 0);
const T0S = T0 / 1000;

function versions(): () => string {
  let n = 0;
  return () => (++n).toString(16).padStart(32, "0");
}

describe("VaultStore", () => {
  let clock: ShiftableClock;
  let store: VaultStore;
  let events: SecretChangeEvent[];

  beforeEach(() => {
    clock = createShiftableClock({ now: () => T0 });
    events = [];
    store = new VaultStore({ name: "unit-vault", clock, newVersion: versions(), onChange: (e) => events.push(e) });
  });

  it("creates a new current version on every set and keeps the older ones readable", () => {
    const v1 = store.set("db-password", { value: "one", contentType: "text/plain", tags: { a: "1" } });
    clock.advance(5000);
    const v2 = store.set("DB-PASSWORD", { value: "two" });
    expect(v1.version.version).toBe("00000000000000000000000000000001");
    expect(v2.version.version).toBe("00000000000000000000000000000002");
    expect(v2.name).toBe("db-password");
    expect(store.get("db-password").version).toMatchObject({ value: "two", created: T0S + 5, updated: T0S + 5, enabled: true });
    expect(store.get("Db-Password", "00000000000000000000000000000001").version).toMatchObject({
      value: "one",
      contentType: "text/plain",
      tags: { a: "1" },
      created: T0S,
    });
    expect(store.listVersions("db-password").map((v) => v.version.version)).toEqual([
      "00000000000000000000000000000001",
      "00000000000000000000000000000002",
    ]);
    expect(events.map((e) => [e.type, e.secretName, e.version])).toEqual([
      ["SecretNewVersionCreated", "db-password", "00000000000000000000000000000001"],
      ["SecretNewVersionCreated", "db-password", "00000000000000000000000000000002"],
    ]);
  });

  it("returns 404 SecretNotFound for unknown names and versions", () => {
    store.set("a", { value: "x" });
    const e1 = thrown(() => store.get("missing"));
    expect([e1.status, e1.code]).toEqual([404, "SecretNotFound"]);
    expect(e1.message).toMatch(/^A secret with \(name\/id\) missing was not found in this key vault\./);
    const e2 = thrown(() => store.get("a", "ffffffffffffffffffffffffffffffff"));
    expect(e2.message).toContain("(name/id) a/ffffffffffffffffffffffffffffffff");
  });

  it("refuses the value of a disabled version with 403 SecretDisabled but still lists it", () => {
    store.set("off", { value: "hidden", enabled: false });
    const e = thrown(() => store.get("off"));
    expect(e.toBody()).toEqual({
      error: { code: "Forbidden", message: "Operation get is not allowed on a disabled secret.", innererror: { code: "SecretDisabled" } },
    });
    expect(store.list().map((v) => [v.name, v.version.enabled])).toEqual([["off", false]]);
  });

  it("serves expired and not-yet-valid secrets (nbf/exp are informational for GET)", () => {
    store.set("expired", { value: "old", exp: T0S - 10 });
    store.set("future", { value: "new", nbf: T0S + 3600 });
    expect(store.get("expired").version.value).toBe("old");
    expect(store.get("future").version.value).toBe("new");
  });

  it("updates attributes, tags and content type of one version but never the value", () => {
    const v1 = store.set("s", { value: "one" });
    store.set("s", { value: "two" });
    clock.advance(60_000);
    const updated = store.update("s", v1.version.version, { enabled: false, tags: { t: "x" }, contentType: "ct", exp: T0S + 99 });
    expect(updated.version).toMatchObject({ value: "one", enabled: false, tags: { t: "x" }, contentType: "ct", exp: T0S + 99, updated: T0S + 60 });
    expect(store.get("s").version.value).toBe("two");
    expect(events.at(-1)?.type).toBe("SecretUpdated");
  });

  it("soft-deletes with recovery dates, blocks the name, then recovers every version", () => {
    store.set("s", { value: "one" });
    store.set("s", { value: "two" });
    const deleted = store.delete("s");
    expect(deleted).toMatchObject({ name: "s", deletedDate: T0S, scheduledPurgeDate: T0S + 90 * 86_400 });
    expect(store.recoveryLevel).toBe("Recoverable+Purgeable");
    expect(store.recoverableDays).toBe(90);
    expect(thrown(() => store.get("s")).status).toBe(404);
    const conflict = thrown(() => store.set("s", { value: "three" }));
    expect(conflict.toBody()).toEqual({
      error: {
        code: "Conflict",
        message: "Secret s is currently in a deleted but recoverable state, and its name cannot be reused; in this state, the secret can only be recovered or purged.",
        innererror: { code: "ObjectIsDeletedButRecoverable" },
      },
    });
    expect(store.listDeleted().map((d) => d.name)).toEqual(["s"]);
    expect(store.recover("s").version.value).toBe("two");
    expect(store.listVersions("s")).toHaveLength(2);
    expect(thrown(() => store.getDeleted("s")).message).toBe("Deleted Secret not found: s");
  });

  it("purges deleted secrets on request and once the scheduled purge date passes", () => {
    store.set("a", { value: "1" });
    store.set("b", { value: "2" });
    store.delete("a");
    store.purge("a");
    expect(store.listDeleted()).toEqual([]);
    store.set("a", { value: "again" });
    store.delete("b");
    clock.advance(90 * 86_400_000);
    expect(store.listDeleted()).toEqual([]);
    expect(events.filter((e) => e.type === "SecretPurged").map((e) => e.secretName)).toEqual(["a", "b"]);
  });

  it("uses CustomizedRecoverable+Purgeable for retention under 90 days and Purgeable without soft delete", () => {
    const custom = new VaultStore({ name: "v7", clock, softDelete: { retentionDays: 7 } });
    expect([custom.recoveryLevel, custom.recoverableDays]).toEqual(["CustomizedRecoverable+Purgeable", 7]);
    const hard = new VaultStore({ name: "nosd", clock, softDelete: { enabled: false } });
    hard.set("x", { value: "1" });
    expect("deletedDate" in hard.delete("x")).toBe(false);
    expect(hard.recoveryLevel).toBe("Purgeable");
    hard.set("x", { value: "reuse is fine" });
    expect(() => new VaultStore({ name: "bad", clock, softDelete: { retentionDays: 3 } })).toThrow(RangeError);
  });

  it("models the 'being deleted' window: 404 on get deleted, 409 on recover and purge", () => {
    const slow = new VaultStore({ name: "slow", clock, softDelete: { deletionLatencyMs: 1500 } });
    slow.set("x", { value: "1" });
    slow.delete("x");
    expect(thrown(() => slow.getDeleted("x")).status).toBe(404);
    expect(thrown(() => slow.recover("x")).toBody()).toEqual({
      error: { code: "Conflict", message: "Secret is currently being deleted.", innererror: { code: "ObjectIsBeingDeleted" } },
    });
    expect(thrown(() => slow.purge("x")).status).toBe(409);
    expect(slow.listDeleted()).toEqual([]);
    clock.advance(1500);
    expect(slow.getDeleted("x").name).toBe("x");
  });

  it("restores a backup with its versions, and refuses names in use", () => {
    store.set("s", { value: "one" });
    store.set("s", { value: "two", tags: { k: "v" } });
    const backup = store.backup("s");
    expect(thrown(() => store.restore(backup)).status).toBe(409);
    store.delete("s");
    expect(thrown(() => store.restore(backup)).status).toBe(409);
    store.purge("s");
    const restored = store.restore(backup);
    expect(restored.version).toMatchObject({ version: "00000000000000000000000000000002", value: "two", tags: { k: "v" } });
    expect(store.listVersions("s")).toHaveLength(2);
  });

  it("validates names and the 25 KB value limit", () => {
    expect(thrown(() => store.set("bad_name", { value: "x" })).toBody()).toEqual({
      error: { code: "BadParameter", message: "The request URI contains an invalid name: bad_name" },
    });
    expect(thrown(() => store.set("a".repeat(128), { value: "x" })).status).toBe(400);
    expect(store.set("a".repeat(127), { value: "x".repeat(25 * 1024) }).version.value).toHaveLength(25 * 1024);
    expect(thrown(() => store.set("big", { value: "x".repeat(25 * 1024 + 1) })).code).toBe("BadParameter");
    expect(thrown(() => store.set("multibyte", { value: "é".repeat(12_801) })).status).toBe(400);
  });

  it("lists active secrets sorted by name case-insensitively", () => {
    for (const n of ["b", "A", "c"]) store.set(n, { value: n });
    expect(store.list().map((v) => v.name)).toEqual(["A", "b", "c"]);
  });

  it("round-trips through snapshot and load without emitting events", () => {
    store.set("keep", { value: "1", exp: T0S + 5 });
    store.set("gone", { value: "2" });
    store.delete("gone");
    const copy = new VaultStore({ name: "copy", clock, onChange: () => events.push({ type: "SecretUpdated", vaultName: "x", secretName: "x", timeMs: 0 }) });
    const before = events.length;
    copy.load(JSON.parse(JSON.stringify(store.snapshot())));
    expect(events.length).toBe(before);
    expect(copy.get("keep").version).toMatchObject({ value: "1", exp: T0S + 5 });
    expect(copy.getDeleted("gone").deletedDate).toBe(T0S);
  });
});
