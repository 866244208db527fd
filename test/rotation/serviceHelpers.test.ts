/**
 * Pure helpers of the service, the lock and the audit: targets, promoted tags, lock blob and audit keys.
 */
import { describe, expect, it } from "vitest";
import { auditPartitionKey, toAuditEntity } from "../../src/rotation/audit";
import { lockBlobName } from "../../src/rotation/lock";
import { promotedTags, rotationTargetProblem } from "../../src/rotation/service";
import { isRotationPolicyError } from "../../src/rotation/tags";

describe("rotationTargetProblem", () => {
  it.each([
    [{ vaultUrl: "https://v.vault.azure.net", secretName: "api-token" }, undefined],
    [{ vaultUrl: "not a url", secretName: "a" }, "vaultUrl is not a URL"],
    [{ vaultUrl: "http://127.0.0.1:1", secretName: "a" }, "vaultUrl must use https"],
    [{ vaultUrl: "https://v.vault.azure.net", secretName: "bad_name" }, "secretName must be 1–118 letters, digits and hyphens"],
    [{ vaultUrl: "https://v.vault.azure.net", secretName: "a".repeat(119) }, "secretName must be 1–118 letters, digits and hyphens"],
    [{ vaultUrl: "https://v.vault.azure.net", secretName: "api-token--PENDING" }, '"--pending" secrets are rotation\'s staging companions and are not rotated themselves'],
  ])("%j → %s", (target, problem) => {
    expect(rotationTargetProblem(target)).toBe(problem);
  });
});

describe("promotedTags", () => {
  const at = new Date("2026-03-01T10:00:00Z");

  it("copies the policy and other tags, replaces old bookkeeping, adds rotation-last and rotated-from", () => {
    const current = { "rotation-interval": "P30D", "rotation-generator": "storage-account-key", owner: "a", "Rotation-Last": "old", "rotated-from": "v0", "rotation-active-key": "key1" };
    expect(promotedTags(current, { "rotation-active-key": "key2" }, at, "v1")).toEqual({
      "rotation-interval": "P30D",
      "rotation-generator": "storage-account-key",
      owner: "a",
      "rotation-active-key": "key2",
      "rotation-last": "2026-03-01T10:00:00.000Z",
      "rotated-from": "v1",
    });
  });

  it("refuses to exceed Key Vault's 15 tags", () => {
    const many = Object.fromEntries(Array.from({ length: 14 }, (_, i) => [`t${i}`, "x"]));
    let error: unknown;
    try {
      promotedTags(many, {}, at, "v1");
    } catch (e) {
      error = e;
    }
    expect(isRotationPolicyError(error)).toBe(true);
    expect((error as Error).message).toMatch(/too many tags/);
  });
});

describe("keys", () => {
  it("lock blobs and audit partitions fold case and include the vault host", () => {
    const target = { vaultUrl: "https://MyVault.vault.azure.net/", secretName: "Api-Token" };
    expect(lockBlobName(target)).toBe("myvault.vault.azure.net/api-token");
    expect(auditPartitionKey(target)).toBe("myvault.vault.azure.net|api-token");
    expect(auditPartitionKey({ vaultUrl: "https://127.0.0.1:8443", secretName: "s" })).toBe("127.0.0.1:8443|s");
  });

  it("audit partitions never contain characters Table keys forbid", () => {
    expect(auditPartitionKey({ vaultUrl: "weird/#?\\\u0001", secretName: "s" })).toBe("weird_____|s");
  });

  it("audit entities leave absent fields out", () => {
    const entity = toAuditEntity({
      attemptId: "0190-…",
      target: { vaultUrl: "https://v.vault.azure.net", secretName: "s" },
      trigger: { kind: "timer" },
      outcome: "not-due",
      oldVersion: "v1",
      time: new Date(0),
      durationInMs: 3,
    });
    expect(entity).toEqual({
      partitionKey: "v.vault.azure.net|s",
      rowKey: "0190-…",
      vaultUrl: "https://v.vault.azure.net",
      secretName: "s",
      trigger: "timer",
      outcome: "not-due",
      oldVersion: "v1",
      time: new Date(0),
      durationInMs: 3,
    });
  });
});
