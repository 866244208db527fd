/**
 * @module The app's own storage clients (version table, metadata table, rotation lock and audit) bound every
 * operation themselves: their callers pass no abort signal. Against a real Azurite frozen with SIGSTOP (it
 * accepts connections, nothing answers), each call fails within the client's deadline, and works again
 * after SIGCONT.
 */
import { afterEach, describe, expect, it } from "vitest";
import { createTableAppMetadataStore } from "../../src/azure/appMetadataTable";
import { createAzureClients } from "../../src/azure/clients";
import { createRotationAuditTableClient, createRotationLockContainerClient } from "../../src/azure/rotationClients";
import type { StorageAccountOptions } from "../../src/azure/storage";
import { createTableVersionTable, readVersionTable } from "../../src/azure/versionTable";
import { createTableRotationAudit } from "../../src/rotation/audit";
import { createBlobLeaseLock } from "../../src/rotation/lock";
import { useAzurite } from "../setup/azurite";

const azurite = useAzurite();
const DEADLINE_IN_MS = 1_500;
/** A margin for a loaded 2-core machine; the point is "seconds, not minutes". */
const SLACK_IN_MS = 15_000;

let paused = false;
afterEach(() => {
  if (paused) azurite().resume();
  paused = false;
});

async function timed(call: () => Promise<unknown>): Promise<{ error: unknown; elapsedInMs: number }> {
  const started = performance.now();
  const error = await call().then(
    () => undefined,
    (e: unknown) => e,
  );
  return { error, elapsedInMs: performance.now() - started };
}

describe.skipIf(process.platform === "win32")("app storage deadlines with Azurite stopped (SIGSTOP)", () => {
  it("version table, metadata table, rotation lock and audit fail within the deadline, then work again", async () => {
    const azure = createAzureClients({});
    const storage: StorageAccountOptions = { connectionString: azurite().connectionString, operationTimeoutInMs: DEADLINE_IN_MS };
    const versions = createTableVersionTable(azure.table({ ...storage, tableName: "versionsdeadline" }));
    const metadata = createTableAppMetadataStore(azure.table({ ...storage, tableName: "metadatadeadline" }));
    const lock = createBlobLeaseLock(createRotationLockContainerClient(azure, storage, "locksdeadline"));
    const audit = createTableRotationAudit(createRotationAuditTableClient(azure, storage, "auditdeadline"));
    const target = { vaultUrl: "https://dev.vault.azure.net", secretName: "s1" };
    const row = { vaultUrl: target.vaultUrl, secretName: "s1", version: "v1", updatedOn: 1 };
    // Warm up: tables and container exist, so the stalled calls are the operations themselves.
    await versions.publish(row);
    await metadata.set("demo", "k", "v", 64);
    await (await lock.tryAcquire(target))?.release();
    await audit.history(target);

    azurite().pause();
    paused = true;
    const outcomes = await Promise.all([
      timed(() => readVersionTable(versions)).then((o) => ({ name: "version table read", ...o })),
      timed(() => versions.publish({ ...row, version: "v2", updatedOn: 2 })).then((o) => ({ name: "version table publish", ...o })),
      timed(() => metadata.list("demo")).then((o) => ({ name: "metadata list", ...o })),
      timed(() => metadata.set("demo", "k2", "v", 64)).then((o) => ({ name: "metadata set", ...o })),
      timed(() => lock.tryAcquire({ ...target, secretName: "s2" })).then((o) => ({ name: "rotation lock", ...o })),
      timed(() => audit.history(target)).then((o) => ({ name: "rotation audit", ...o })),
    ]);
    for (const { name, error, elapsedInMs } of outcomes) {
      console.log(`${name}: failed after ${Math.round(elapsedInMs)} ms (${error instanceof Error ? error.name : String(error)})`);
      expect(error, name).toBeInstanceOf(Error);
      expect(elapsedInMs, name).toBeLessThan(DEADLINE_IN_MS + SLACK_IN_MS);
    }

    azurite().resume();
    paused = false;
    await versions.publish({ ...row, version: "v3", updatedOn: 3 });
    expect((await readVersionTable(versions)).find((r) => r.secretName === "s1")?.version).toBe("v3");
    await metadata.set("demo", "k3", "v", 64);
    expect(await metadata.list("demo")).toMatchObject({ k: "v", k3: "v" });
    const lease = await lock.tryAcquire({ ...target, secretName: "s3" });
    expect(lease).toBeDefined();
    await lease?.release();
    expect(Array.isArray(await audit.history(target))).toBe(true);
  }, 120_000);
});
