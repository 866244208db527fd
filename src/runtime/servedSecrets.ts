/**
 * @module Served secrets: on Flex Consumption the refresh timer runs on instances of its own that serve
 * no HTTP, so its cache holds none of the secrets callers read. Instances therefore register every Key
 * Vault secret they serve in the shared version table, and the timer checks the table's secrets against
 * Key Vault, wherever it runs. Pure helpers; the manager does the reading and writing.
 */
import type { SecretVersionInfo } from "../components/secretstores/secretStore";
import { versionPartition, type VersionRow } from "../azure/versionTable";

/** A secret's key in the sets that track what is served and registered: partition and lower-cased name. */
export function servedKey(partition: string, secretName: string): string {
  return `${partition}/${secretName.toLowerCase()}`;
}

/** The table's rows of one vault, by lower-cased secret name (Key Vault names are case-insensitive). */
export function rowsOfVault(rows: readonly VersionRow[], vaultUrl: string): Map<string, VersionRow> {
  const partitionKey = versionPartition(vaultUrl);
  const byName = new Map<string, VersionRow>();
  for (const row of rows) {
    let host: string;
    try {
      host = versionPartition(row.vaultUrl);
    } catch {
      continue;
    }
    if (host === partitionKey) byName.set(row.secretName.toLowerCase(), row);
  }
  return byName;
}

/**
 * Served secrets the table does not list yet (and this instance has not registered), with the version
 * this instance serves; a name without a known version (`updatedOn`) cannot be ordered and waits.
 */
export function unregistered(
  tableRows: { has(lowerCasedName: string): boolean },
  served: ReadonlyMap<string, SecretVersionInfo | undefined>,
  alreadyRegistered: { has(lowerCasedName: string): boolean },
): Array<{ secretName: string; version: SecretVersionInfo & { updatedOn: number } }> {
  const out: Array<{ secretName: string; version: SecretVersionInfo & { updatedOn: number } }> = [];
  for (const [secretName, version] of served) {
    const key = secretName.toLowerCase();
    if (tableRows.has(key) || alreadyRegistered.has(key) || !isDated(version)) continue;
    // The served object itself, not a spread copy (each copy would get a V8 hidden class of its own).
    out.push({ secretName, version });
  }
  return out;
}

/** Whether a version has the date that orders it. */
function isDated(version: SecretVersionInfo | undefined): version is SecretVersionInfo & { updatedOn: number } {
  return version?.updatedOn !== undefined;
}

/** Key Vault's current versions by lower-cased name, so a name registered in another case still matches. */
export function byLowerName(versions: ReadonlyMap<string, SecretVersionInfo>): Map<string, SecretVersionInfo> {
  return new Map([...versions].map(([name, info]) => [name.toLowerCase(), info]));
}

/**
 * Drops from `registered` every key not in `served` (in place): the set is consulted only for names
 * served now, so keeping the others would grow it with every name ever served.
 */
export function forgetUnserved(registered: Set<string>, served: ReadonlySet<string>): void {
  for (const key of registered) if (!served.has(key)) registered.delete(key);
}
