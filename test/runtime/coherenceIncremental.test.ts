/**
 * The coherence check over a real version table on Azurite: after a full read, a check reads only the
 * rows Table storage stamped since the previous read's server time less the margin, still finds a
 * changed row and a row that became visible late (stamped inside the margin), and the periodic full
 * read finds what the margin could not. The margin is cut to 2 s here so the test waits seconds, not
 * minutes; a late row is simulated by hiding it from the read that would have found it.
 */
import { describe, expect, it } from "vitest";
import { createAzureClients } from "../../src/azure/clients";
import { createTableVersionTable, type VersionRow, type VersionTable } from "../../src/azure/versionTable";
import { createRuntimeManager, type RuntimeManager } from "../../src/runtime/manager";
import { useAzurite } from "../setup/azurite";
import { buildOver, fakeVault, quietLogger, VAULT } from "./support/fakeKeyVault";

const azurite = useAzurite();
const MARGIN = 2_000;
const FULL_EVERY = 60_000;
const ROWS = 1_000;

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

async function dbVersion(manager: RuntimeManager): Promise<string | undefined> {
  const lease = await manager.acquire?.();
  lease?.release();
  return lease?.runtime.components.find((c) => c.definition.name === "db")?.dependencies[0]?.version?.version;
}

describe("incremental coherence reads on Azurite", () => {
  it(`of ${ROWS} rows, reads a handful per check, finds changed and late rows, and all of them at the periodic full read`, async () => {
    const client = createAzureClients({}).table({ connectionString: azurite().connectionString, tableName: "versionsincremental" });
    const inner = createTableVersionTable(client);
    /** Rows each read returned, with the time it asked from; `hidden` rows are left out of the next read only. */
    const reads: Array<{ changedSince: number | undefined; rows: number }> = [];
    let hidden: ((row: VersionRow) => boolean) | undefined;
    const table: VersionTable = {
      async *pages(changedSince) {
        const hide = hidden;
        hidden = undefined;
        const read = { changedSince, rows: 0 };
        reads.push(read);
        for await (const page of inner.pages(changedSince)) {
          const rows = hide === undefined ? page.rows : page.rows.filter((r) => !hide(r));
          read.rows += rows.length;
          yield { ...page, rows };
        }
      },
      publish: (row) => inner.publish(row),
      register: (rows) => inner.register(rows),
    };
    // Other instances registered these long ago (further back than the margin).
    await inner.register(Array.from({ length: ROWS }, (_, i) => ({ vaultUrl: VAULT, secretName: `other-${i}`, version: "v1", updatedOn: 1_000 })));
    await sleep(MARGIN + 1_200);

    const vault = fakeVault({ "db-password": "pw-1" });
    let shift = 0;
    const manager = createRuntimeManager({
      logger: quietLogger,
      tokenGraceInMs: 0,
      coherenceIntervalInMs: 5_000,
      coherenceReadMarginInMs: MARGIN,
      coherenceFullReadIntervalInMs: FULL_EVERY,
      now: () => Date.now() + shift,
      versionTable: table,
      build: buildOver(vault),
    });
    /** Another instance saw a new version of db-password: the vault has it, and its row is written. */
    const newVersion = async (n: number): Promise<void> => {
      vault.update("db-password", `pw-${n}`, `v${n}`, n * 1_000);
      await inner.publish({ vaultUrl: VAULT, secretName: "db-password", version: `v${n}`, updatedOn: n * 1_000 });
    };
    await manager.start();
    await manager.checkCoherence(true);
    expect(reads[0]).toEqual({ changedSince: undefined, rows: ROWS });

    // Steady state: only db-password's own registration, written after the first read.
    await manager.checkCoherence(true);
    expect(reads[1]?.changedSince).toBeDefined();
    expect(reads[1]?.rows).toBeLessThanOrEqual(5);

    // A changed row another instance wrote is picked up by an incremental read.
    await newVersion(2);
    await manager.checkCoherence(true);
    expect(reads[2]?.changedSince).toBeDefined();
    expect(reads[2]?.rows).toBeLessThanOrEqual(5);
    expect(await dbVersion(manager)).toBe("v2");

    // Written before a read that did not see it (committed late): stamped before that read's server
    // time, inside the margin, so the next incremental read finds it.
    await newVersion(3);
    hidden = (r) => r.version === "v3";
    await manager.checkCoherence(true);
    expect(await dbVersion(manager)).toBe("v2");
    await manager.checkCoherence(true);
    expect(reads[4]?.changedSince).toBeDefined();
    expect(reads[4]?.rows).toBeLessThanOrEqual(5);
    expect(await dbVersion(manager)).toBe("v3");

    // Late by more than the margin: no incremental read finds it; the periodic full read does.
    await newVersion(4);
    await sleep(MARGIN + 1_200);
    hidden = (r) => r.version === "v4";
    await manager.checkCoherence(true);
    await manager.checkCoherence(true);
    expect(reads[6]?.changedSince).toBeDefined();
    expect(reads[6]?.rows).toBe(0);
    expect(await dbVersion(manager)).toBe("v3");
    shift += FULL_EVERY;
    await manager.checkCoherence(true);
    expect(reads[7]).toEqual({ changedSince: undefined, rows: ROWS + 1 });
    expect(await dbVersion(manager)).toBe("v4");
    await manager.close();
  });
});
