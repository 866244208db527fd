/**
 * @module Cross-instance coherence: a shared table of the latest version of every secret in use, so a
 * change one instance learns about (an event, its timer) reaches every instance within seconds.
 */

/** One row: the latest version of a secret in a vault, as some instance saw it. */
export interface VersionRow {
  vaultUrl: string;
  secretName: string;
  version?: string;
  /** When that version was created or last updated (ms since the epoch): the order of versions. */
  updatedOn: number;
}

/** The shared version table (Azure Table storage in production, Azurite locally). */
export interface VersionTable {
  /** Every row (one query; the table holds one row per secret in use, so it stays small). */
  read(): Promise<VersionRow[]>;
  /** Records a version unless the table already holds a newer one. */
  publish(row: VersionRow): Promise<void>;
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
  return { partitionKey: new URL(vaultUrl).host.toLowerCase(), rowKey: secretName.toLowerCase() };
}
