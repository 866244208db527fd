/**
 * Secret rotation end to end against the real Key Vault emulator (HTTPS, real @azure/keyvault-secrets and
 * ManagedIdentityCredential) and a real Azurite (lease lock, audit table, and the dual-key account whose
 * keys the storage-account-key generator alternates and checks).
 */
import { randomBytes } from "node:crypto";
import type { TableClient } from "@azure/data-tables";
import type { ContainerClient } from "@azure/storage-blob";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { createAzureClients, type AzureClients } from "../../src/azure/clients";
import { createRotationAuditTableClient, createRotationLockContainerClient, createSharedKeyBlobServiceClient, getRotationSecretClient } from "../../src/azure/rotationClients";
import type { Logger } from "../../src/observability/logger";
import { createTableRotationAudit, type TableRotationAudit } from "../../src/rotation/audit";
import { DEFAULT_GENERATORS } from "../../src/rotation/generators";
import type { SecretGenerator } from "../../src/rotation/generators/generator";
import { type RandomOptions, randomTokenGenerator } from "../../src/rotation/generators/random";
import { createAzuriteKeyPairSource } from "../../src/rotation/keyPairSources";
import { createBlobLeaseLock, LeaseLostError, lockBlobName } from "../../src/rotation/lock";
import { createRotationService, type RotationService, type RotationServiceDeps } from "../../src/rotation/service";
import type { RotationTarget } from "../../src/rotation/types";
import { DEV_ACCOUNT_KEY, DEV_ACCOUNT_NAME, type AzuriteInstance, startAzurite } from "../../tools/azurite";
import { startKeyVaultEmulator, type KeyVaultEmulator } from "@vaultstate/keyvault-emulator";

const ROTATOR_CLIENT_ID = "5a1c2e3f-4b5d-4c6e-8f70-8192a3b4c5d6";
const READER_CLIENT_ID = "6b2d3f40-5c6e-4d7f-9081-92a3b4c5d6e7";
const DAY = 86_400_000;

const KEY1 = randomBytes(64).toString("base64");
const KEY2 = randomBytes(64).toString("base64");
/** What a misconfigured source believes key2 to be: it does not authenticate. */
const WRONG_KEY2 = randomBytes(64).toString("base64");
const ACCOUNTS = `${DEV_ACCOUNT_NAME}:${DEV_ACCOUNT_KEY};rotacct:${KEY1}:${KEY2}`;

const TOKEN_POLICY = { "rotation-interval": "P30D", "rotation-generator": "random-token", "rotation-length": "40" };
const STORAGE_POLICY = { "rotation-interval": "P30D", "rotation-generator": "storage-account-key", "rotation-storage-account": "rotacct", "rotation-key-source": "azurite" };

/** Seed values, so the last test can prove none of them leaked. */
const SEED_VALUES = {
  "api-token": "seed-api-token-value-0001",
  "not-due-token": "seed-not-due-value-0002",
  "plain-secret": "seed-plain-value-0003",
  "bad-policy": "seed-bad-policy-value-0004",
  "concurrent-token": "seed-concurrent-value-0005",
  "stale-token": "seed-stale-value-0006",
  "reader-token": "seed-reader-value-0007",
  "held-token": "seed-held-value-0008",
  "lease-lost-token": "seed-lease-lost-value-0009",
  "race-token": "seed-race-value-0010",
  "password-secret": "seed-password-value-0011",
  "near-no-exp": "seed-near-no-exp-value-0012",
  "near-far-exp": "seed-near-far-exp-value-0013",
  "near-due-exp": "seed-near-due-exp-value-0014",
};

const logLines: string[] = [];
const logger: Logger = { info: (m) => logLines.push(m), warn: (m) => logLines.push(m), error: (m) => logLines.push(m) };

let emulator: KeyVaultEmulator;
let azurite: AzuriteInstance;
let vaultUrl: string;
let lockContainer: ContainerClient;
let auditTable: TableClient;
let audit: TableRotationAudit;
let blobOrigin: string;
/** The service clock runs this far ahead of real time, to make freshly seeded secrets due. */
let clockOffsetInMs = 0;
let clients: AzureClients | undefined;
/** One set of Azure clients for the file, made after the emulator's identity environment is in place. */
const azure = (): AzureClients => (clients ??= createAzureClients(emulator.identityEnvironment()));

beforeAll(async () => {
  [azurite, emulator] = await Promise.all([
    startAzurite({ accounts: ACCOUNTS }),
    startKeyVaultEmulator({ vaultHost: "vault.localhost",
      seed: {
        vaults: {
          rotvault: {
            secrets: {
              "api-token": { value: SEED_VALUES["api-token"], contentType: "text/plain", tags: { ...TOKEN_POLICY, owner: "team-a" } },
              "not-due-token": { value: SEED_VALUES["not-due-token"], tags: TOKEN_POLICY },
              "plain-secret": SEED_VALUES["plain-secret"],
              "bad-policy": { value: SEED_VALUES["bad-policy"], tags: { "rotation-interval": "P1M", "rotation-generator": "random-token" } },
              "storage-key": { value: KEY1, tags: STORAGE_POLICY },
              "storage-key-bad": { value: KEY1, tags: { ...STORAGE_POLICY, "rotation-key-source": "azurite-misconfigured" } },
              "concurrent-token": { value: SEED_VALUES["concurrent-token"], tags: TOKEN_POLICY },
              "stale-token": { value: SEED_VALUES["stale-token"], tags: TOKEN_POLICY },
              "reader-token": { value: SEED_VALUES["reader-token"], tags: TOKEN_POLICY },
              "held-token": { value: SEED_VALUES["held-token"], tags: TOKEN_POLICY },
              "lease-lost-token": { value: SEED_VALUES["lease-lost-token"], tags: TOKEN_POLICY },
              "race-token": { value: SEED_VALUES["race-token"], tags: TOKEN_POLICY },
              "password-secret": {
                value: SEED_VALUES["password-secret"],
                tags: { "rotation-interval": "P30D", "rotation-generator": "random-password", "rotation-length": "20", "rotation-validity": "P60D" },
              },
              "near-no-exp": { value: SEED_VALUES["near-no-exp"], tags: TOKEN_POLICY },
              "near-far-exp": { value: SEED_VALUES["near-far-exp"], tags: TOKEN_POLICY, exp: "now+200d" },
              "near-due-exp": { value: SEED_VALUES["near-due-exp"], tags: TOKEN_POLICY, exp: "now+10d" },
              "disabled-current": { versions: [{ value: "seed-disabled-old-value" }, { value: "seed-disabled-new-value", enabled: false, tags: TOKEN_POLICY }] },
            },
          },
          sweepvault: {
            secrets: {
              "sweep-due": { value: "seed-sweep-due-value", tags: TOKEN_POLICY },
              "sweep-plain": "seed-sweep-plain-value",
              "sweep-bad": { value: "seed-sweep-bad-value", tags: { ...TOKEN_POLICY, "rotation-lenght": "20" } },
            },
          },
        },
        principals: [
          { name: "rotator", clientId: ROTATOR_CLIENT_ID, roles: { "*": "Key Vault Secrets Officer" } },
          { name: "reader", clientId: READER_CLIENT_ID, roles: { "*": "Key Vault Secrets User" } },
        ],
      },
    }),
  ]);
  // The credential factory and ManagedIdentityCredential read these on first use, which comes later.
  Object.assign(process.env, emulator.identityEnvironment());
  vaultUrl = emulator.vaultUri("rotvault");
  blobOrigin = new URL(azurite.blobEndpoint).origin;
  const appStorage = { accountName: DEV_ACCOUNT_NAME, accountKey: DEV_ACCOUNT_KEY };
  lockContainer = createRotationLockContainerClient(azure(), { ...appStorage, endpoint: blobOrigin });
  auditTable = createRotationAuditTableClient(azure(), { ...appStorage, endpoint: new URL(azurite.tableEndpoint).origin });
  audit = createTableRotationAudit(auditTable);
});

afterAll(async () => {
  await Promise.all([emulator?.close(), azurite?.stop()]);
});

afterEach(() => {
  clockOffsetInMs = 0;
});

function service(overrides: Partial<RotationServiceDeps> & { clientId?: string } = {}): RotationService {
  const { clientId = ROTATOR_CLIENT_ID, ...deps } = overrides;
  return createRotationService({
    getSecretClient: (url) => getRotationSecretClient(azure(), url, { clientId }),
    lock: createBlobLeaseLock(lockContainer, { logger }),
    audit,
    keyPairSources: {
      azurite: createAzuriteKeyPairSource({ accounts: ACCOUNTS, blobEndpoint: blobOrigin }),
      "azurite-misconfigured": createAzuriteKeyPairSource({ accounts: `rotacct:${KEY1}:${WRONG_KEY2}`, blobEndpoint: blobOrigin }),
    },
    now: () => new Date(Date.now() + clockOffsetInMs),
    logger,
    ...deps,
  });
}

const target = (secretName: string, url: string = vaultUrl): RotationTarget => ({ vaultUrl: url, secretName });
const versions = (name: string, vault = "rotvault") => emulator.store(vault).listVersions(name).map((v) => v.version);
const current = (name: string, vault = "rotvault") => emulator.store(vault).getProperties(name).version;

describe("rotating a random token", () => {
  it("stages, checks and promotes a new version, copying tags, and audits it", async () => {
    clockOffsetInMs = 31 * DAY;
    const before = current("api-token");
    const result = await service().rotateIfDue(target("api-token"), "timer");

    expect(result).toMatchObject({ outcome: "rotated", trigger: "timer", oldVersion: before.version, generator: "random-token", audited: true });
    expect(result.error).toBeUndefined();
    const after = current("api-token");
    expect(result.newVersion).toBe(after.version);
    expect(after.version).not.toBe(before.version);
    expect(after.value).toMatch(/^[A-Za-z0-9_-]{40}$/);
    expect(after.contentType).toBe("text/plain");
    expect(after.tags).toEqual({ ...TOKEN_POLICY, owner: "team-a", "rotation-last": expect.stringMatching(/^\d{4}-\d\d-\d\dT/), "rotated-from": before.version });
    expect(versions("api-token").map((v) => v.enabled)).toEqual([true, true]);

    // The staged copy is settled: disabled (neither served nor listed) and tagged with what became of it.
    const [staged] = versions("api-token--pending");
    expect(staged?.enabled).toBe(false);
    expect(staged?.tags).toEqual({
      "rotation-pending-for": "api-token",
      "rotation-pending-from": before.version,
      "rotation-pending-state": "promoted",
      "rotation-attempt": result.attemptId,
      "rotation-promoted-as": after.version,
    });

    // A versionless read through the real SDK serves the new value.
    const client = getRotationSecretClient(azure(), vaultUrl, { clientId: ROTATOR_CLIENT_ID });
    expect((await client.getSecret("api-token")).value).toBe(after.value);

    const rows = await audit.history(target("api-token"));
    expect(rows).toEqual([
      expect.objectContaining({ attemptId: result.attemptId, outcome: "rotated", trigger: { kind: "timer" }, oldVersion: before.version, newVersion: after.version, generator: "random-token" }),
    ]);
  });

  it("skips a secret that is not due, and one without a policy, each with an audit row", async () => {
    const before = current("not-due-token");
    const notDue = await service().rotateIfDue(target("not-due-token"), "timer");
    expect(notDue).toMatchObject({ outcome: "not-due", oldVersion: before.version, generator: "random-token", audited: true });
    expect(notDue.nextDueAt?.getTime()).toBe(before.created * 1000 + 30 * DAY);
    expect(versions("not-due-token")).toHaveLength(1);
    expect(() => versions("not-due-token--pending")).toThrow();

    const noPolicy = await service().rotateNow(target("plain-secret"), "manual");
    expect(noPolicy).toMatchObject({ outcome: "no-policy", audited: true });
    expect(versions("plain-secret")).toHaveLength(1);

    expect((await audit.history(target("not-due-token"))).map((r) => r.outcome)).toEqual(["not-due"]);
    expect((await audit.history(target("plain-secret"))).map((r) => r.outcome)).toEqual(["no-policy"]);
  });

  it("never rotates on an invalid policy: the error names the tag", async () => {
    clockOffsetInMs = 365 * DAY;
    const result = await service().rotateNow(target("bad-policy"), "manual");
    expect(result).toMatchObject({ outcome: "error", errorCode: "invalid-policy", audited: true });
    expect(result.error).toMatch(/^rotation-interval: "P1M" is in years or months/);
    expect(versions("bad-policy")).toHaveLength(1);
    expect(() => versions("bad-policy--pending")).toThrow();
    expect((await audit.history(target("bad-policy")))[0]).toMatchObject({ outcome: "error", errorCode: "invalid-policy", error: result.error });
  });

  it("a random password gets every class and, with rotation-validity, an expiry", async () => {
    const result = await service().rotateNow(target("password-secret"), "manual");
    expect(result.outcome).toBe("rotated");
    const after = current("password-secret");
    expect(after.value).toHaveLength(20);
    for (const cls of [/[a-z]/, /[A-Z]/, /[0-9]/, /[!#$%&*+\-.?@^_~]/]) expect(after.value).toMatch(cls);
    const rotatedAt = Date.parse(after.tags?.["rotation-last"] ?? "");
    expect(after.exp).toBe(Math.floor((rotatedAt + 60 * DAY) / 1000));
  });

  it("refuses to rotate from a disabled current version", async () => {
    const result = await service().rotateNow(target("disabled-current"), "manual");
    expect(result).toMatchObject({ outcome: "error", errorCode: "current-disabled" });
    expect(versions("disabled-current")).toHaveLength(2);
  });
});

describe("rotating a storage account key (dual credential)", () => {
  const canAuthenticate = async (key: string): Promise<boolean> =>
    createSharedKeyBlobServiceClient("rotacct", key, `${blobOrigin}/rotacct`)
      .getProperties()
      .then(
        () => true,
        () => false,
      );

  it("alternates key1 → key2 → key1 → key2, and every promoted key authenticates against Azurite", async () => {
    expect(current("storage-key").value).toBe(KEY1);
    const client = getRotationSecretClient(azure(), vaultUrl, { clientId: ROTATOR_CLIENT_ID });
    const seen: string[] = [];
    for (const expected of ["key2", "key1", "key2"] as const) {
      const result = await service().rotateNow(target("storage-key"), "manual");
      expect(result).toMatchObject({ outcome: "rotated", description: `${expected} of storage account rotacct` });
      const promoted = await client.getSecret("storage-key");
      expect(promoted.value).toBe(expected === "key1" ? KEY1 : KEY2);
      expect(promoted.properties.tags?.["rotation-active-key"]).toBe(expected);
      expect(await canAuthenticate(promoted.value ?? "")).toBe(true);
      seen.push(expected);
    }
    expect(seen).toEqual(["key2", "key1", "key2"]);

    const rows = await audit.history(target("storage-key"));
    expect(rows.map((r) => r.outcome)).toEqual(["rotated", "rotated", "rotated"]);
    // RowKeys are UUID v7: the partition reads back in attempt order.
    expect(rows.map((r) => r.attemptId)).toEqual([...rows.map((r) => r.attemptId)].sort());
    expect(rows.map((r) => r.newVersion)).toEqual(versions("storage-key").slice(1).map((v) => v.version));
  });

  it("a candidate that does not authenticate fails the check: the current version keeps serving", async () => {
    expect(await canAuthenticate(WRONG_KEY2)).toBe(false);
    const before = current("storage-key-bad");
    const result = await service().rotateNow(target("storage-key-bad"), "manual");

    expect(result).toMatchObject({ outcome: "check-failed", errorCode: "check", oldVersion: before.version, audited: true });
    expect(result.newVersion).toBeUndefined();
    expect(result.error).toBe(`key2 of storage account rotacct did not authenticate at ${blobOrigin}/rotacct: 403 AuthorizationFailure`);
    expect(current("storage-key-bad")).toEqual(before);
    expect(versions("storage-key-bad")).toHaveLength(1);
    const [staged] = versions("storage-key-bad--pending");
    expect(staged).toMatchObject({ enabled: false, tags: expect.objectContaining({ "rotation-pending-state": "check-failed" }) });
    expect((await audit.history(target("storage-key-bad")))[0]).toMatchObject({ outcome: "check-failed", errorCode: "check", error: result.error });
  });
});

describe("one rotation at a time", () => {
  it("two instances rotating the same secret at once: exactly one rotates, the other changes nothing", async () => {
    const before = current("concurrent-token");
    // Two services with their own lock objects: two Functions instances sharing only the storage account.
    const results = await Promise.all([service().rotateNow(target("concurrent-token"), "manual"), service().rotateNow(target("concurrent-token"), "event")]);
    const outcomes = results.map((r) => r.outcome);
    expect(outcomes.filter((o) => o === "rotated")).toHaveLength(1);
    // Which way the other one loses depends on timing alone: it meets the lease (`locked`), or it takes
    // the lease after the winner released it and its re-read finds the new version (`stale-trigger`), or
    // it first reads after the winner finished and finds a fresh version (`not-due`). The deterministic
    // `locked` case is the next test.
    expect(["locked", "stale-trigger", "not-due"]).toContain(outcomes.find((o) => o !== "rotated"));
    expect(versions("concurrent-token")).toHaveLength(2);
    expect(current("concurrent-token").tags?.["rotated-from"]).toBe(before.version);
    expect((await audit.history(target("concurrent-token"))).map((r) => r.outcome).sort()).toEqual([...outcomes].sort());
  });

  it("while another holder has the lease the attempt is locked; once released it rotates", async () => {
    await lockContainer.createIfNotExists();
    const blob = lockContainer.getBlockBlobClient(lockBlobName(target("held-token")));
    await blob.upload("", 0).catch(() => undefined);
    const foreign = blob.getBlobLeaseClient();
    await foreign.acquireLease(15);
    try {
      const locked = await service().rotateNow(target("held-token"), "manual");
      expect(locked).toMatchObject({ outcome: "locked", error: "another instance holds this secret's rotation lock" });
      expect(versions("held-token")).toHaveLength(1);
    } finally {
      await foreign.releaseLease();
    }
    expect((await service().rotateNow(target("held-token"), "manual")).outcome).toBe("rotated");
  });

  it("the lease is renewed while held, and its loss is noticed", async () => {
    const lock = createBlobLeaseLock(lockContainer, { leaseDurationInSeconds: 15, renewIntervalInMs: 100, logger });
    const other = createBlobLeaseLock(lockContainer, { leaseDurationInSeconds: 15 });
    const t = target("lock-probe");
    const lease = await lock.tryAcquire(t);
    expect(lease).toBeDefined();
    if (lease === undefined) return;
    await new Promise((r) => setTimeout(r, 350));
    expect(await other.tryAcquire(t)).toBeUndefined();
    await lease.confirm();
    expect(lease.signal.aborted).toBe(false);

    await lockContainer.getBlockBlobClient(lockBlobName(t)).getBlobLeaseClient().breakLease(0);
    for (let i = 0; i < 40 && !lease.signal.aborted; i++) await new Promise((r) => setTimeout(r, 50));
    expect(lease.signal.aborted).toBe(true);
    await expect(lease.confirm()).rejects.toBeInstanceOf(LeaseLostError);
    await lease.release();

    const next = await other.tryAcquire(t);
    expect(next).toBeDefined();
    await next?.release();
  });

  it("a lease lost during the rotation stops it before promotion", async () => {
    const breaksLease: SecretGenerator<RandomOptions> = {
      optionTags: randomTokenGenerator.optionTags,
      parseOptions: (tags) => randomTokenGenerator.parseOptions(tags),
      async generate(options, currentSecret, context) {
        await lockContainer.getBlockBlobClient(lockBlobName(context.target)).getBlobLeaseClient().breakLease(0);
        return randomTokenGenerator.generate(options, currentSecret, context);
      },
      check: (candidate, options, context) => randomTokenGenerator.check(candidate, options, context),
    };
    const before = current("lease-lost-token");
    const result = await service({ generators: { ...DEFAULT_GENERATORS, "random-token": breaksLease } }).rotateNow(target("lease-lost-token"), "manual");
    expect(result).toMatchObject({ outcome: "error", errorCode: "lease-lost" });
    expect(current("lease-lost-token")).toEqual(before);
    expect(versions("lease-lost-token--pending")[0]).toMatchObject({ enabled: false, tags: expect.objectContaining({ "rotation-pending-state": "abandoned" }) });
  });

  it("a version written by someone else during the rotation is not overwritten", async () => {
    const writesMeanwhile: SecretGenerator<RandomOptions> = {
      optionTags: randomTokenGenerator.optionTags,
      parseOptions: (tags) => randomTokenGenerator.parseOptions(tags),
      async generate(options, currentSecret, context) {
        emulator.store("rotvault").set("race-token", { value: "seed-out-of-band-value", tags: TOKEN_POLICY });
        return randomTokenGenerator.generate(options, currentSecret, context);
      },
      check: (candidate, options, context) => randomTokenGenerator.check(candidate, options, context),
    };
    const result = await service({ generators: { ...DEFAULT_GENERATORS, "random-token": writesMeanwhile } }).rotateNow(target("race-token"), "manual");
    expect(result).toMatchObject({ outcome: "error", errorCode: "concurrent-change" });
    expect(current("race-token").value).toBe("seed-out-of-band-value");
    expect(versions("race-token")).toHaveLength(2);
  });
});

describe("triggers", () => {
  it("a duplicate or late trigger for a version that is no longer current is harmless", async () => {
    const seen = current("stale-token").version;
    const event = { kind: "event" as const, observedVersion: seen, source: "eg-1" };
    const first = await service().rotateNow(target("stale-token"), event);
    expect(first.outcome).toBe("rotated");
    const duplicate = await service().rotateNow(target("stale-token"), event);
    expect(duplicate).toMatchObject({ outcome: "stale-trigger", oldVersion: first.newVersion });
    expect(duplicate.error).toBe(`the trigger is about version ${seen}, but ${first.newVersion} is current`);
    const late = await service().rotateNow(target("stale-token"), { kind: "event", observedAt: new Date(Date.now() - 60_000) });
    expect(late.outcome).toBe("stale-trigger");
    expect(versions("stale-token")).toHaveLength(2);
    const rows = await audit.history(target("stale-token"));
    expect(rows.map((r) => r.outcome)).toEqual(["rotated", "stale-trigger", "stale-trigger"]);
    expect(rows[1]?.trigger).toEqual({ kind: "event", observedVersion: seen, source: "eg-1" });
  });

  it("forged near-expiry events for a secret Key Vault does not call near expiry cause no rotation", async () => {
    const rotation = service();
    for (const name of ["near-no-exp", "near-far-exp"]) {
      const seen = current(name).version;
      const results = await Promise.all(
        Array.from({ length: 10 }, (_, i) => rotation.rotateIfNearExpiry(target(name), { kind: "event", ...(i % 2 === 0 ? { observedVersion: seen } : {}), source: `forged-${i}` })),
      );
      expect(results.map((r) => r.outcome)).toEqual(Array.from({ length: 10 }, () => "not-due"));
      expect(results[0]?.error).toMatch(name === "near-no-exp" ? /has no expiry/ : /outside the near-expiry window/);
      expect(versions(name)).toHaveLength(1);
      expect(() => versions(`${name}--pending`)).toThrow();
    }
  });

  it("a near-expiry event rotates once when Key Vault says the version expires within the window; duplicates do nothing", async () => {
    const seen = current("near-due-exp").version;
    const event = { kind: "event" as const, observedVersion: seen, source: "eg-near" };
    const first = await service().rotateIfNearExpiry(target("near-due-exp"), event);
    expect(first).toMatchObject({ outcome: "rotated", oldVersion: seen });
    const duplicates = await Promise.all([service().rotateIfNearExpiry(target("near-due-exp"), event), service().rotateIfNearExpiry(target("near-due-exp"), { kind: "event", source: "eg-near-2" })]);
    // Without a version, the new version (no expiry, not due) is what Key Vault says: not near expiry.
    expect(duplicates.map((r) => r.outcome)).toEqual(["stale-trigger", "not-due"]);
    expect(versions("near-due-exp")).toHaveLength(2);
  });

  it("the sweep rotates the due and audits the invalid, and leaves the rest alone", async () => {
    const sweepUrl = emulator.vaultUri("sweepvault");
    clockOffsetInMs = 31 * DAY;
    const first = await service().rotateDueSecrets(sweepUrl, "timer");
    expect(first.map((r) => [r.target.secretName, r.outcome, r.errorCode])).toEqual([
      ["sweep-bad", "error", "invalid-policy"],
      ["sweep-due", "rotated", undefined],
    ]);
    clockOffsetInMs = 0;
    const second = await service().rotateDueSecrets(sweepUrl, "timer");
    expect(second.map((r) => [r.target.secretName, r.outcome])).toEqual([["sweep-bad", "error"]]);
    expect(versions("sweep-plain", "sweepvault")).toHaveLength(1);
  });
});

describe("permissions", () => {
  it("an identity with only Key Vault Secrets User gets a clear forbidden outcome and nothing changes", async () => {
    const before = current("reader-token");
    const result = await service({ clientId: READER_CLIENT_ID }).rotateNow(target("reader-token"), "manual");
    expect(result).toMatchObject({ outcome: "error", errorCode: "forbidden", oldVersion: before.version, audited: true });
    expect(result.error).toMatch(/^write reader-token--pending: Key Vault answered 403 Forbidden: .*"Key Vault Secrets Officer"/);
    expect(current("reader-token")).toEqual(before);
    expect(() => versions("reader-token--pending")).toThrow();
    expect((await audit.history(target("reader-token")))[0]).toMatchObject({ outcome: "error", errorCode: "forbidden" });
  });
});

describe("secrecy", () => {
  it("no secret value appears in any audit row, result text or log line", async () => {
    const values = new Set<string>([KEY1, KEY2, WRONG_KEY2, DEV_ACCOUNT_KEY, ...Object.values(SEED_VALUES)]);
    for (const vault of ["rotvault", "sweepvault"]) {
      const store = emulator.store(vault);
      for (const { name } of store.list()) for (const v of store.listVersions(name)) values.add(v.version.value);
      for (const { name } of store.list()) expect(name).not.toMatch(/--pending--pending$/);
    }
    const rows: unknown[] = [];
    for await (const row of auditTable.listEntities()) rows.push(row);
    expect(rows.length).toBeGreaterThan(20);
    const haystack = `${JSON.stringify(rows)}\n${logLines.join("\n")}`;
    expect(logLines.length).toBeGreaterThan(0);
    for (const value of values) expect(haystack).not.toContain(value);
  });
});
