/**
 * @module Cross-instance coherence: a shared table of the latest version of every secret in use, so a
 * change one instance learns about (an event, its timer) reaches every instance within seconds. It
 * lives on Azure Table storage (the app's own storage account).
 */
import type { TableClient } from "@azure/data-tables";
import { hasStatus } from "./errors";
import { createTableOnFirstUse } from "./storage";

/** One row: the latest version of a secret in a vault, as some instance saw it. */
export interface VersionRow {
  vaultUrl: string;
  secretName: string;
  version?: string;
  /** When that version was created or last updated (ms since the epoch): the order of versions. */
  updatedOn: number;
}

/** One response of a read of the version table. */
export interface VersionPage {
  rows: VersionRow[];
  /**
   * The service's clock when it answered (its `Date` header: ms since the epoch, whole seconds rounded
   * down), when it said: the clock that stamps rows, so a later read can ask for rows written since.
   */
  serverTime?: number;
}

/** The shared version table (Azure Table storage in production, Azurite locally). */
export interface VersionTable {
  /**
   * Every row, one page (one response of the query) at a time; with `changedSince`, only the rows the
   * service wrote at or after that time of its own clock (the server-assigned `Timestamp`). The table
   * holds a row for every secret any instance has served, so it grows with the vault; a reader that
   * looks at each page and keeps only what it needs holds one page, not the table.
   */
  pages(changedSince?: number): AsyncIterable<VersionPage>;
  /** Records a version unless the table already holds a newer one. */
  publish(row: VersionRow): Promise<void>;
  /**
   * Records many rows as {@link VersionTable.publish} would, each unless the table holds a newer one,
   * for secrets the table is expected not to list yet (registration): cheaper per row than publishing
   * them one by one.
   */
  register(rows: readonly VersionRow[]): Promise<void>;
}

/** The most entities one Azure Table transaction takes (all of one partition). */
export const MAX_TRANSACTION_ROWS = 100;

/** Every row at once, for the readers that need the whole table (the refresh timer, tests). */
export async function readVersionTable(table: VersionTable): Promise<VersionRow[]> {
  const rows: VersionRow[] = [];
  for await (const page of table.pages()) rows.push(...page.rows);
  return rows;
}

/** Whether a row describes a strictly newer version than the one known (pure). */
export function isNewer(row: VersionRow, known: { version?: string; updatedOn?: number }): boolean {
  if (known.version !== undefined && row.version !== undefined && known.version === row.version) return false;
  if (known.updatedOn === undefined) return true;
  return row.updatedOn > known.updatedOn;
}

/**
 * Table keys for a row (pure): PartitionKey = the vault's host (Table keys may not hold `/`),
 * RowKey = the secret name (Key Vault names are letters, digits and hyphens).
 */
export function versionKey(vaultUrl: string, secretName: string): { partitionKey: string; rowKey: string } {
  return { partitionKey: versionPartition(vaultUrl), rowKey: secretName.toLowerCase() };
}

/** The partition of a vault's rows: its lower-cased host. */
export function versionPartition(vaultUrl: string): string {
  return new URL(vaultUrl).host.toLowerCase();
}

// A type, not an interface: a transaction's actions take entities as records.
type VersionEntity = {
  partitionKey: string;
  rowKey: string;
  vaultUrl: string;
  secretName: string;
  version?: string;
  updatedOn: number;
};

function isVersionEntity(e: Record<string, unknown>): e is Record<string, unknown> & VersionEntity {
  return typeof e.vaultUrl === "string" && typeof e.secretName === "string" && typeof e.updatedOn === "number";
}

/**
 * A version table over a `TableClient` (built in src/azure/storage.ts); the table is created on
 * first use.
 */
export function createTableVersionTable(client: TableClient): VersionTable {
  const ensureTable = createTableOnFirstUse(client);
  const table: VersionTable = {
    async *pages(changedSince) {
      await ensureTable();
      // Each response's Date header, read before its page is yielded (pages are fetched one by one).
      let serverTime: number | undefined;
      const query = client.listEntities<Record<string, unknown>>({
        ...(changedSince === undefined ? {} : { queryOptions: { filter: changedSinceFilter(changedSince) } }),
        onResponse: (response) => {
          serverTime = parseServerDate(response.headers.get("date"));
        },
      });
      for await (const page of query.byPage()) {
        const rows: VersionRow[] = [];
        for (const entity of page) {
          if (isVersionEntity(entity)) rows.push({ vaultUrl: entity.vaultUrl, secretName: entity.secretName, version: entity.version, updatedOn: entity.updatedOn });
        }
        yield serverTime === undefined ? { rows } : { rows, serverTime };
      }
    },
    async publish(row) {
      await ensureTable();
      const entity = toEntity(row);
      const { partitionKey, rowKey } = entity;
      // Optimistic concurrency: never overwrite a newer row written by another instance meanwhile.
      for (let attempt = 0; attempt < 5; attempt++) {
        let existing: (Record<string, unknown> & { etag: string }) | undefined;
        try {
          existing = await client.getEntity<Record<string, unknown>>(partitionKey, rowKey);
        } catch (e) {
          if (!hasStatus(e, 404)) throw e;
        }
        try {
          if (existing === undefined) {
            await client.createEntity(entity);
            return;
          }
          if (isVersionEntity(existing) && !isNewer(row, { version: existing.version, updatedOn: existing.updatedOn })) return;
          await client.updateEntity(entity, "Replace", { etag: existing.etag });
          return;
        } catch (e) {
          if (hasStatus(e, 409, 412)) continue;
          throw e;
        }
      }
    },
    async register(rows) {
      if (rows.length === 0) return;
      await ensureTable();
      for (const batch of registrationBatches(rows)) {
        try {
          // One create per row, all or nothing: the usual case (rows nobody has written) costs one call
          // per 100 rows instead of a read and a write per row.
          await client.submitTransaction(batch.map((row) => ["create", toEntity(row)]));
        } catch (e) {
          // 409: some row exists (another instance registered it meanwhile) and nothing was written;
          // one by one, each row is compared with what the table holds.
          if (!hasStatus(e, 409)) throw e;
          for (const row of batch) await table.publish(row);
        }
      }
    },
  };
  return table;
}

/** The OData filter of rows the service wrote at or after `ms` (an ISO instant holds no quote to escape). */
export function changedSinceFilter(ms: number): string {
  return `Timestamp ge datetime'${new Date(ms).toISOString()}'`;
}

/** An HTTP `Date` header as ms since the epoch; undefined when absent or unreadable. */
function parseServerDate(header: string | undefined): number | undefined {
  if (header === undefined) return undefined;
  const ms = Date.parse(header);
  return Number.isNaN(ms) ? undefined : ms;
}

function toEntity(row: VersionRow): VersionEntity {
  const { partitionKey, rowKey } = versionKey(row.vaultUrl, row.secretName);
  return { partitionKey, rowKey, vaultUrl: row.vaultUrl, secretName: row.secretName, updatedOn: row.updatedOn, ...(row.version !== undefined ? { version: row.version } : {}) };
}

/**
 * Rows in transaction-sized batches of one partition each (pure). A row key appears once per batch (a
 * transaction may not touch an entity twice): of rows with one key, the newest is kept, as publishing
 * them one after the other would leave it.
 */
export function registrationBatches(rows: readonly VersionRow[]): VersionRow[][] {
  const byPartition = new Map<string, Map<string, VersionRow>>();
  for (const row of rows) {
    const { partitionKey, rowKey } = versionKey(row.vaultUrl, row.secretName);
    let partition = byPartition.get(partitionKey);
    if (partition === undefined) {
      partition = new Map();
      byPartition.set(partitionKey, partition);
    }
    const earlier = partition.get(rowKey);
    if (earlier === undefined || isNewer(row, earlier)) partition.set(rowKey, row);
  }
  const batches: VersionRow[][] = [];
  for (const partition of byPartition.values()) {
    const unique = [...partition.values()];
    for (let i = 0; i < unique.length; i += MAX_TRANSACTION_ROWS) batches.push(unique.slice(i, i + MAX_TRANSACTION_ROWS));
  }
  return batches;
}
