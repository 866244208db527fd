/**
 * @module The runtime manager: the refresh paths over a {@link RuntimeHolder} (which owns the current
 * runtime, leases, swaps, drain and start-up retries) and the pure {@link planRebuild planner}
 * (which decides what changed and what must be rebuilt). It does the reading and writing: Key Vault's
 * current versions for the timer's full refresh, one secret's re-read for an event, and the
 * cross-instance coherence check against the shared version table.
 */
import { isVersionedSecretStore, type SecretVersionInfo } from "../components/secretstores/secretStore";
import { describeError } from "../observability/logger";
import { MAX_TRANSACTION_ROWS, type VersionRow, type VersionTable, versionPartition } from "../azure/versionTable";
import {
  changedInStore,
  coherenceTargets,
  differs,
  isEmptyPlan,
  knownVersion,
  planAfterReread,
  planRebuild,
  type RebuildPlan,
  registeredElsewhere,
  type SecretChange,
  secretsInUse,
  servedElsewhere,
  servedVersions,
  storesOfVault,
  usesSecret,
  vaultStores,
} from "./rebuildPlanner";
import { createRuntimeHolder, type RuntimeHolderOptions } from "./runtimeHolder";
import { forgetUnserved, servedKey, unregistered } from "./servedSecrets";
import type { Runtime, RuntimeSource } from "./runtime";

export { isStartupConfigurationError, retryDelay } from "./runtimeHolder";

/**
 * The most served secrets one coherence check registers in the version table (10 transactions); more
 * wait for the next check, so a burst of new names never makes one check long or its backlog large.
 */
export const MAX_REGISTRATIONS_PER_CHECK = 1_000;

/**
 * How far before the previous read's server time an incremental coherence read starts. A row's
 * `Timestamp` is stamped by the storage partition that writes it, the previous read's time by the front
 * end that answered it (its `Date` header, rounded down to the second), and a write can become visible
 * after a read that began later than its stamp: a write the client gave up on (`STORAGE_TIMEOUT_SECONDS`,
 * 10 s) may still commit within the service's own 30 s limit per operation, and a query page runs for up
 * to 5 s. A minute covers those with room for clock skew between storage servers; it costs re-reading the
 * rows written in the last minute at each check (a comparison that changes nothing the second time). It
 * also exceeds any secret read's deadline, so a cache fill that began before a row was written finishes
 * before that row leaves the window.
 */
export const COHERENCE_READ_MARGIN_IN_MS = 60_000;

/**
 * The longest time between two full reads of the version table: the backstop for a watermark that was
 * wrong (a server clock jumping, a write later than the margin). At a 5 s interval, one check in 60.
 */
export const COHERENCE_FULL_READ_INTERVAL_IN_MS = 5 * 60_000;

/** What a refresh did; numbers and names only. */
export interface RefreshSummary {
  trigger: string;
  checked: number;
  changed: string[];
  rebuilt: string[];
  failed: string[];
  tokensChanged: number;
  errors: string[];
}

/** Options of the manager: the holder's, and the shared version table. */
export interface RuntimeManagerOptions extends RuntimeHolderOptions {
  /** The shared table of latest versions, when the app has storage for it. */
  versionTable?: VersionTable;
  /** Minimum time between coherence reads of the version table. */
  coherenceIntervalInMs: number;
  /** An incremental read starts this long before the previous read's server time (default {@link COHERENCE_READ_MARGIN_IN_MS}). */
  coherenceReadMarginInMs?: number;
  /** A coherence check reads the whole table when its last full read is this old (default {@link COHERENCE_FULL_READ_INTERVAL_IN_MS}). */
  coherenceFullReadIntervalInMs?: number;
}

/** The process's runtime, refreshable. */
export interface RuntimeManager extends RuntimeSource {
  start(): Promise<Runtime>;
  /** The timer's refresh: coherence check, then every secret in use compared with the store. */
  refresh(trigger: string): Promise<RefreshSummary>;
  /**
   * A secret changed in a vault (an event, or another instance said so): re-read it where it is
   * used, rebuild what was built with another version, and (unless it came from the shared table)
   * record it there. `hint` is the version the event named, recorded when this instance does not
   * read the secret itself.
   * @returns undefined when the vault is not one this app uses
   */
  secretChanged(vaultUrl: string, secretName: string, options?: { publish?: boolean; trigger?: string; hint?: SecretVersionInfo }): Promise<RefreshSummary | undefined>;
  /** Reads the version table if the last read is older than the interval (no-op otherwise). */
  checkCoherence(force?: boolean): Promise<void>;
  close(): Promise<void>;
}

function emptySummary(trigger: string): RefreshSummary {
  return { trigger, checked: 0, changed: [], rebuilt: [], failed: [], tokensChanged: 0, errors: [] };
}

/** Creates the manager; nothing starts until {@link RuntimeManager.start}. */
export function createRuntimeManager(options: RuntimeManagerOptions): RuntimeManager {
  const { logger } = options;
  const now = options.now ?? Date.now;
  const holder = createRuntimeHolder(options);
  let lastCoherenceCheck = 0;
  let coherence: Promise<void> | undefined;
  /** Whether the coherence interval has passed since the last check (inline: every request asks). */
  const coherenceDue = (): boolean => now() - lastCoherenceCheck >= options.coherenceIntervalInMs;
  const readMargin = options.coherenceReadMarginInMs ?? COHERENCE_READ_MARGIN_IN_MS;
  const fullReadInterval = options.coherenceFullReadIntervalInMs ?? COHERENCE_FULL_READ_INTERVAL_IN_MS;
  /**
   * The server time from which the next coherence check reads only the rows written since (the previous
   * successful read's server time less the margin); undefined after start and after a failed check, so
   * the next read is full.
   */
  let changedSince: number | undefined;
  /** When the last successful full read began, on this instance's clock: it schedules the backstop only. */
  let lastFullRead = 0;
  /** How many pages (service calls) the last successful full read took. */
  let fullReadPages = 1;
  /**
   * Served secrets this instance knows the version table lists (it registered them, or a read found
   * them): lower-cased names by partition (vault host). An incremental read finds only the rows written
   * since the last check, so without this record every served name would look unlisted.
   */
  const listed = new Map<string, Set<string>>();

  /** Carries out a plan on the holder's current runtime (a failed rebuild keeps the old one). */
  const apply = async (plan: RebuildPlan, summary: RefreshSummary): Promise<void> => {
    if (isEmptyPlan(plan)) return;
    const result = await holder.rebuild(plan.components);
    if (result === undefined) {
      summary.failed.push(...plan.components);
      return;
    }
    summary.rebuilt.push(...result.rebuilt);
    summary.failed.push(...result.failed.map((f) => f.name));
    summary.tokensChanged += result.tokensChanged;
  };

  const publish = async (vaultUrl: string, secretName: string, version: SecretVersionInfo | undefined): Promise<void> => {
    if (options.versionTable === undefined || version?.updatedOn === undefined) return;
    try {
      await options.versionTable.publish({ vaultUrl, secretName, version: version.version, updatedOn: version.updatedOn });
    } catch (e) {
      logger.warn(`could not record the version of ${secretName} in the shared version table: ${describeError(e)}`);
    }
  };

  const secretChangedNow = async (vaultUrl: string, secretName: string, publishChange: boolean, trigger: string, hint?: SecretVersionInfo): Promise<RefreshSummary | undefined> => {
    const runtime = holder.current() ?? (await holder.start());
    const stores = storesOfVault(runtime, vaultUrl);
    if (stores.length === 0) return undefined;
    const summary = emptySummary(trigger);
    summary.checked = 1;
    // Only secrets this instance uses are re-read: a change to any other secret of the vault costs no
    // Key Vault call and no value ever passes through memory (it is still recorded for the others).
    const inUse = stores.filter((s) => usesSecret(runtime, s, secretName));
    const known = knownVersion(runtime, inUse, secretName);
    let fresh: SecretVersionInfo | undefined;
    for (const s of inUse) {
      s.store.invalidate(secretName);
      try {
        // Re-reading warms the cache with the new version and tells us which version that is; an
        // older duplicate or forged event just reads the same current version again.
        fresh = (await s.store.getSecret({ name: secretName, metadata: {} })).version ?? fresh;
      } catch (e) {
        summary.errors.push(`${secretName}: ${describeError(e)}`);
      }
    }
    const plan = planAfterReread(runtime, inUse, secretName, fresh);
    if (inUse.length > 0 && (known === undefined || fresh === undefined || differs(known, fresh) || !isEmptyPlan(plan))) summary.changed.push(secretName);
    await apply(plan, summary);
    if (publishChange) await publish(vaultUrl, secretName, fresh ?? hint);
    logSummary(summary);
    return summary;
  };

  const logSummary = (s: RefreshSummary): void => {
    logger.info(
      `refresh (${s.trigger}): ${s.checked} secret(s) checked, ${s.changed.length} changed, ${s.rebuilt.length} component(s) rebuilt` +
        `${s.failed.length > 0 ? `, ${s.failed.length} rebuild(s) failed (${s.failed.join(", ")})` : ""}` +
        `${s.tokensChanged > 0 ? `, ${s.tokensChanged} caller token(s) rotated` : ""}${s.errors.length > 0 ? `, ${s.errors.length} error(s)` : ""}`,
    );
  };

  /** The version table partition of a row's vault, parsing each vault URL once per pass. */
  const rowPartitions = (): ((row: VersionRow) => string | undefined) => {
    const hosts = new Map<string, string | undefined>();
    return (row) => {
      let host = hosts.get(row.vaultUrl);
      if (host === undefined && !hosts.has(row.vaultUrl)) {
        try {
          host = versionPartition(row.vaultUrl);
        } catch {
          host = undefined;
        }
        hosts.set(row.vaultUrl, host);
      }
      return host;
    };
  };

  /**
   * The Key Vault secrets this instance serves now, by partition and lower-cased name, each marked
   * unlisted until the table's read finds it, and how many of them registration would write unless a
   * read finds them (dated, and not known to be listed). Keyed by the caches' own name strings (Key
   * Vault's are lower-cased already), so a pass over thousands of served names adds no string per name.
   */
  const servedNames = (runtime: Runtime): { names: Map<string, Map<string, boolean>>; unknown: number } => {
    const names = new Map<string, Map<string, boolean>>();
    let unknown = 0;
    for (const s of vaultStores(runtime)) {
      const partition = versionPartition(s.vaultUrl);
      const here = names.get(partition) ?? new Map<string, boolean>();
      names.set(partition, here);
      const known = listed.get(partition);
      for (const [name, version] of servedVersions(runtime, s)) {
        const key = name.toLowerCase();
        if (!here.has(key) && version?.updatedOn !== undefined && known?.has(key) !== true) unknown++;
        here.set(key, false);
      }
    }
    return { names, unknown };
  };

  /**
   * Registers the Key Vault secrets this instance serves (cached or read by a component or caller
   * token) that the table does not list yet, so the refresh timer checks them even when it runs on an
   * instance that serves none of them (Flex Consumption runs timers on instances of their own).
   * `looked`: the names the last read looked for, true where the table holds them; `full`: whether
   * that read was of the whole table (then a name it did not find is not listed, whatever an earlier
   * read found). After an incremental read, a name neither registered here nor found since it began to
   * be served here is registered, and a row another instance wrote earlier makes its batch fall back
   * to one comparison per row. A secret served since the read began waits for the next check, as do
   * names beyond {@link MAX_REGISTRATIONS_PER_CHECK}: the backlog is never queued, it is what the caches
   * hold and the table lacks, found again at each check. Rows go in transactions of up to 100; a failed
   * one ends the pass and its names are tried again at the next check.
   */
  const registerServed = async (table: VersionTable, runtime: Runtime, looked: ReadonlyMap<string, ReadonlyMap<string, boolean>>, full: boolean): Promise<void> => {
    const servedNow = new Map<string, Set<string>>();
    const due: Array<{ partition: string; row: VersionRow }> = [];
    const queued = new Set<string>();
    for (const [partition, names] of looked) {
      const known = listed.get(partition) ?? new Set<string>();
      listed.set(partition, known);
      // The map's own key strings: the record adds no string per name.
      for (const [name, found] of names) {
        if (found) known.add(name);
        else if (full) known.delete(name);
      }
    }
    for (const s of vaultStores(runtime)) {
      const partition = versionPartition(s.vaultUrl);
      const served = servedVersions(runtime, s);
      const lookedHere = looked.get(partition);
      // Names not looked for count as found: whether the table holds them is not known yet.
      const found = { has: (name: string) => lookedHere?.get(name) !== false };
      const known = listed.get(partition);
      const done = { has: (name: string) => known?.has(name) === true || queued.has(servedKey(partition, name)) };
      const servedHere = servedNow.get(partition) ?? new Set<string>();
      servedNow.set(partition, servedHere);
      for (const name of served.keys()) servedHere.add(name.toLowerCase());
      for (const { secretName, version } of unregistered(found, served, done)) {
        if (due.length >= MAX_REGISTRATIONS_PER_CHECK) break;
        queued.add(servedKey(partition, secretName));
        due.push({ partition, row: { vaultUrl: s.vaultUrl, secretName, version: version.version, updatedOn: version.updatedOn } });
      }
    }
    // Only names served now are ever looked up: forgetting the rest bounds the record by what the
    // caches and components hold, not by every name ever served. A name served again is found in the
    // table (or, if its row is gone, registered again).
    for (const [partition, names] of listed) {
      const servedHere = servedNow.get(partition);
      if (servedHere === undefined) listed.delete(partition);
      else forgetUnserved(names, servedHere);
    }
    for (let i = 0; i < due.length; i += MAX_TRANSACTION_ROWS) {
      const batch = due.slice(i, i + MAX_TRANSACTION_ROWS);
      try {
        await table.register(batch.map((d) => d.row));
      } catch (e) {
        logger.warn(`could not register ${due.length - i} served secret(s) in the shared version table: ${describeError(e)}`);
        return;
      }
      for (const { partition, row } of batch) {
        const known = listed.get(partition) ?? new Set<string>();
        listed.set(partition, known);
        known.add(row.secretName.toLowerCase());
      }
    }
  };

  /**
   * Reads the version table, applies newer versions, registers served secrets. The table is read a
   * page at a time and only rows about secrets served here are kept (plus every row when `keepRows`:
   * the refresh timer compares them all with Key Vault), so the check every few seconds holds one page
   * and what the caches bound, however many secrets other instances or earlier traffic registered.
   * Between full reads (the first check, the one after a failed check, the refresh's, and one at least
   * every {@link COHERENCE_FULL_READ_INTERVAL_IN_MS}) only rows the service stamped since the previous
   * read's server time less {@link COHERENCE_READ_MARGIN_IN_MS} are read: a row read twice compares the
   * same way twice. An incremental read does not say whether a row written earlier lists a served name
   * this instance has not seen listed (served here for the first time, or again after the cache evicted
   * it): registering such a name costs a read of its row when another instance registered it. When more
   * of them wait than the last full read took pages, the full read is the cheaper way to learn.
   * `serialized`: the caller already runs in the holder's queue (the refresh), so changes apply directly.
   * @returns every row when `keepRows`, else an empty list; undefined when the table could not be read
   */
  const coherenceNow = async (serialized: boolean, keepRows: boolean): Promise<VersionRow[] | undefined> => {
    const table = options.versionTable;
    const runtime = holder.current();
    if (table === undefined || runtime === undefined) return undefined;
    const startedAt = now();
    lastCoherenceCheck = startedAt;
    const { names: looked, unknown } = servedNames(runtime);
    const fullDue = keepRows || startedAt - lastFullRead >= fullReadInterval || unknown > fullReadPages;
    const since = fullDue ? undefined : changedSince;
    const full = since === undefined;
    const targets: VersionRow[] = [];
    const rows: VersionRow[] = [];
    const partitionOf = rowPartitions();
    // The first response's time: a row written after it has a later stamp (give or take the margin).
    let serverTime: number | undefined;
    let pages = 0;
    try {
      for await (const { rows: page, serverTime: answeredAt } of table.pages(since)) {
        if (pages === 0) serverTime = answeredAt;
        pages++;
        targets.push(...coherenceTargets(runtime, page));
        for (const row of page) {
          const partition = partitionOf(row);
          const here = partition === undefined ? undefined : looked.get(partition);
          const name = row.secretName.toLowerCase();
          // Set only where present: the map keeps its own key string, not the page's.
          if (here?.has(name) === true) here.set(name, true);
        }
        if (keepRows) rows.push(...page);
      }
    } catch (e) {
      changedSince = undefined;
      logger.warn(`could not read the shared version table: ${describeError(e)}`);
      return undefined;
    }
    if (full) fullReadPages = Math.max(1, pages);
    // A secret whose re-read failed (or answered from the cache's stale copy) is not current here, and
    // an incremental read would not find its row again: the check failed, and the next one reads the
    // whole table, as every check did before.
    let complete = true;
    try {
      for (const row of targets) {
        const change = (): Promise<RefreshSummary | undefined> => secretChangedNow(row.vaultUrl, row.secretName, false, "coherence");
        const summary = await (serialized ? change() : holder.serialize(change));
        if (summary !== undefined && summary.errors.length > 0) complete = false;
      }
    } catch (e) {
      changedSince = undefined;
      throw e;
    }
    if (targets.length > 0 && coherenceTargets(holder.current() ?? runtime, targets).length > 0) complete = false;
    if (!complete || serverTime === undefined) changedSince = undefined;
    else {
      changedSince = serverTime - readMargin;
      if (full) lastFullRead = startedAt;
    }
    await registerServed(table, holder.current() ?? runtime, looked, full);
    return rows;
  };

  const manager: RuntimeManager = {
    start: holder.start,
    ready: holder.ready,
    status: holder.status,
    async acquire() {
      const lease = await holder.acquire();
      void manager.checkCoherence();
      return lease;
    },
    acquireNow() {
      const lease = holder.acquireNow();
      // Every request comes through here: between checks, no call and no promise.
      if (lease !== undefined && options.versionTable !== undefined && coherence === undefined && coherenceDue()) void manager.checkCoherence();
      return lease;
    },
    refresh(trigger) {
      return holder.serialize(async () => {
        const summary = emptySummary(trigger);
        const runtime = holder.current() ?? (await holder.start());
        const rows = (await coherenceNow(true, true)) ?? [];
        const live = holder.current() ?? runtime;
        const changes: SecretChange[] = [];
        for (const s of vaultStores(live)) {
          if (!isVersionedSecretStore(s.store.inner)) continue;
          const inUse = secretsInUse(live, s);
          // Secrets other instances registered as served: this instance may cache none of them.
          const elsewhere = registeredElsewhere(rows, s, inUse).length;
          if (inUse.size === 0 && elsewhere === 0) continue;
          let versions: Map<string, SecretVersionInfo>;
          try {
            versions = await s.store.inner.currentVersions();
          } catch (e) {
            summary.errors.push(`${s.vaultUrl}: ${describeError(e)}`);
            continue;
          }
          summary.checked += inUse.size + elsewhere;
          for (const change of changedInStore(live, s, inUse, versions)) {
            s.store.invalidate(change.secret);
            changes.push(change);
            if (!summary.changed.includes(change.secret)) summary.changed.push(change.secret);
            await publish(s.vaultUrl, change.secret, change.version);
          }
          for (const { secretName, latest } of servedElsewhere(rows, s, inUse, versions)) {
            // Served elsewhere, not here: the table tells the instances that serve it.
            if (!summary.changed.includes(secretName)) summary.changed.push(secretName);
            await publish(s.vaultUrl, secretName, latest);
          }
        }
        // Components and caller tokens that read a changed secret are rebuilt (stores without versions,
        // such as local files, are not compared: they change only with a redeploy).
        await apply(planRebuild(live, changes), summary);
        await holder.drain();
        logSummary(summary);
        return summary;
      });
    },
    secretChanged(vaultUrl, secretName, opts = {}) {
      return holder.serialize(() => secretChangedNow(vaultUrl, secretName, opts.publish ?? true, opts.trigger ?? "event", opts.hint));
    },
    checkCoherence(force = false) {
      if (options.versionTable === undefined || holder.current() === undefined) return Promise.resolve();
      if (!force && !coherenceDue()) return coherence ?? Promise.resolve();
      coherence ??= coherenceNow(false, false)
        .then(() => undefined)
        .finally(() => {
          coherence = undefined;
        });
      return coherence;
    },
    close: holder.close,
  };
  return manager;
}
