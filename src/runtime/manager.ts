/**
 * @module The runtime manager: owns the current runtime, swaps successors in atomically, closes
 * replaced components once the requests that still use them are done, and runs the refresh paths:
 * the timer's full refresh, a single secret's change (Event Grid), and the cross-instance coherence
 * check against the shared version table.
 */
import { isVaultSecretStore, isVersionedSecretStore, type SecretVersionInfo } from "../components/secretstores/secretStore";
import { describeError, type Logger } from "../observability/logger";
import { isNewer, type VersionRow, type VersionTable, versionKey } from "../azure/versionTable";
import { byLowerName, rowsOfVault, unregistered } from "./servedSecrets";
import { closeAll, type LoadedComponent, type Runtime, type RuntimeLease, type RuntimeSource, type RuntimeStatus, type SecretDependency } from "./runtime";
import type { CachedSecretStore } from "./secretCache";

/** Whether a start-up failure is a configuration mistake (file/field or setting) rather than an outage. */
export function isStartupConfigurationError(e: unknown): boolean {
  return e instanceof Error && (e.name === "ResourceFileError" || e.name === "SettingError" || e.name === "MetadataError");
}

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

/** Options of the manager. */
export interface RuntimeManagerOptions {
  build: () => Promise<Runtime>;
  logger: Logger;
  /** How long a replaced caller token stays valid. */
  tokenGraceInMs: number;
  /** The shared table of latest versions, when the app has storage for it. */
  versionTable?: VersionTable;
  /** Minimum time between coherence reads of the version table. */
  coherenceIntervalInMs: number;
  /** Upper bound for waiting on in-flight requests before closing replaced components. */
  drainTimeoutInMs?: number;
  /** After a failed start, how long until a request may try again (default 10 s). */
  startRetryIntervalInMs?: number;
  /**
   * The background retry of a failed start and of components or caller tokens that failed to
   * initialise: the first after `initialDelayInMs` (default 1 s), each next one twice as late up to
   * `maxDelayInMs` (default 30 s), every delay jittered down to half of it so instances that failed
   * together do not retry together. No request is needed for an instance to recover.
   */
  startRetry?: { initialDelayInMs?: number; maxDelayInMs?: number; random?: () => number };
  now?: () => number;
}

/** The delay before background retry number `attempt` (0-based): exponential, capped, jittered to [d/2, d]. */
export function retryDelay(attempt: number, options: { initialDelayInMs?: number; maxDelayInMs?: number; random?: () => number } = {}): number {
  const max = options.maxDelayInMs ?? 30_000;
  const delay = Math.min(max, (options.initialDelayInMs ?? 1_000) * 2 ** Math.min(attempt, 30));
  return Math.round(delay / 2 + (options.random ?? Math.random)() * (delay / 2));
}

/** The process's runtime, refreshable. */
export interface RuntimeManager extends RuntimeSource {
  start(): Promise<Runtime>;
  /** The timer's refresh: coherence check, then every secret in use compared with the store. */
  refresh(trigger: string): Promise<RefreshSummary>;
  /**
   * A secret changed in a vault (an event, or another instance said so): drop it from every cache,
   * rebuild what depends on it, and (unless it came from the shared table) record it there. `hint` is
   * the version the event named, recorded when this instance does not read the secret itself.
   * @returns whether the vault is one this app uses
   */
  secretChanged(vaultUrl: string, secretName: string, options?: { publish?: boolean; trigger?: string; hint?: SecretVersionInfo }): Promise<RefreshSummary | undefined>;
  /** Reads the version table if the last read is older than the interval (no-op otherwise). */
  checkCoherence(force?: boolean): Promise<void>;
  close(): Promise<void>;
}

/** A Key Vault store (component or reference store) and the vault it talks to. */
interface VaultStore {
  vaultUrl: string;
  /** Component name, or undefined for the reference store of that vault. */
  component: string | undefined;
  store: CachedSecretStore;
}

function vaultStores(runtime: Runtime): VaultStore[] {
  const stores: VaultStore[] = [];
  for (const c of runtime.components) {
    if (c.kind === "secretstores" && isVaultSecretStore(c.store.inner)) stores.push({ vaultUrl: c.store.inner.vaultUrl(), component: c.definition.name, store: c.store });
  }
  for (const [vaultUrl, store] of runtime.referenceStores()) stores.push({ vaultUrl, component: undefined, store });
  return stores;
}

function sameOrigin(a: string, b: string): boolean {
  try {
    return new URL(a).origin.toLowerCase() === new URL(b).origin.toLowerCase();
  } catch {
    return false;
  }
}

/** Whether a dependency reads `secret` through `store` (a component store, or the vault's references). */
function dependsOn(dependency: SecretDependency, store: VaultStore, secret: string): boolean {
  if (store.store.secretKey(dependency.secret) !== store.store.secretKey(secret)) return false;
  if (dependency.kind === "store") return store.component !== undefined && dependency.store === store.component;
  return !dependency.pinned && sameOrigin(dependency.vaultUrl, store.vaultUrl);
}

function differs(known: SecretVersionInfo | undefined, current: SecretVersionInfo | undefined): boolean {
  if (known === undefined) return false;
  if (current === undefined) return true;
  if (known.version !== undefined && current.version !== undefined) return known.version !== current.version;
  return known.updatedOn !== current.updatedOn;
}

/** Creates the manager; nothing starts until {@link RuntimeManager.start}. */
export function createRuntimeManager(options: RuntimeManagerOptions): RuntimeManager {
  const { logger } = options;
  const now = options.now ?? Date.now;
  let status: RuntimeStatus = { state: "starting" };
  let starting: Promise<Runtime> | undefined;
  let current: Runtime | undefined;
  const inFlight = new Map<Runtime, number>();
  const retiring: { runtime: Runtime; components: LoadedComponent[]; deadline: number }[] = [];
  let queue: Promise<unknown> = Promise.resolve();
  let lastCoherenceCheck = 0;
  let coherence: Promise<void> | undefined;
  /** Secrets this instance has registered in the version table (vault host + lower-cased name). */
  const registered = new Set<string>();

  /** Refresh paths run one at a time, so two rebuilds never race. */
  const serialize = <T>(work: () => Promise<T>): Promise<T> => {
    const next = queue.then(work, work);
    queue = next.catch(() => undefined);
    return next;
  };

  const closeRetired = async (force: boolean): Promise<void> => {
    for (const item of [...retiring]) {
      if (!force && (inFlight.get(item.runtime) ?? 0) > 0 && now() < item.deadline) continue;
      retiring.splice(retiring.indexOf(item), 1);
      await closeAll(item.components, logger);
    }
  };

  const swap = (next: Runtime, replaced: LoadedComponent[]): void => {
    const previous = current;
    current = next;
    status = { state: "ready", runtime: next };
    if (previous !== undefined && replaced.length > 0) {
      retiring.push({ runtime: previous, components: replaced, deadline: now() + (options.drainTimeoutInMs ?? 60_000) });
      void closeRetired(false);
    }
  };

  let closed = false;
  let retryTimer: NodeJS.Timeout | undefined;
  let retryAttempt = 0;
  /** Components and caller tokens of the current runtime that failed to initialise. */
  const incomplete = (runtime: Runtime): boolean => runtime.failed.length > 0 || runtime.failedCallers.length > 0;

  /**
   * Schedules the next background retry, if one is needed and none is pending. A configuration
   * mistake is not retried: it needs a redeploy, and start-up already failed loudly.
   */
  const scheduleRetry = (): void => {
    if (closed || retryTimer !== undefined) return;
    if (current !== undefined ? !incomplete(current) : status.state !== "failed" || isStartupConfigurationError(lastStartError)) return;
    const delay = retryDelay(retryAttempt++, options.startRetry);
    retryTimer = setTimeout(() => {
      retryTimer = undefined;
      void retryNow();
    }, delay);
    // A retry never keeps the process alive on its own.
    retryTimer.unref();
  };

  /** One background retry: a new start, or the failed components rebuilt into a successor runtime. */
  const retryNow = async (): Promise<void> => {
    if (closed) return;
    if (current === undefined) {
      // A start already under way (a request's retry) reports its own outcome.
      if (startPending) return;
      starting = undefined;
      failedAt = undefined;
      await start().catch(() => undefined);
      return;
    }
    await serialize(async () => {
      const runtime = current;
      if (runtime === undefined || !incomplete(runtime) || closed) return;
      const result = await runtime.rebuild(
        runtime.failed.map((f) => f.definition.name),
        { tokenGraceInMs: options.tokenGraceInMs, now: now() },
      );
      swap(result.runtime, result.replaced);
      if (result.recovered.length > 0) logger.info(`recovered after a failed start: ${result.recovered.join(", ")}`);
      const still = [...result.runtime.failed.map((f) => f.definition.name), ...result.runtime.failedCallers.map(() => "a caller token")];
      if (still.length > 0) logger.warn(`background retry ${retryAttempt}: still not initialised: ${still.join(", ")}`);
    }).catch((e: unknown) => logger.warn(`background retry failed: ${describeError(e)}`));
    settled();
  };

  /** After every start or swap: a complete runtime resets the backoff, an incomplete one schedules a retry. */
  const settled = (): void => {
    if (current !== undefined && !incomplete(current)) retryAttempt = 0;
    scheduleRetry();
  };

  let failedAt: number | undefined;
  let lastStartError: unknown;
  let startPending = false;
  const start = (): Promise<Runtime> => {
    // A failed start is tried again (at most every retry interval) by the next request: a vault or
    // storage account that was unreachable at cold start must not leave the instance broken for good.
    if (failedAt !== undefined && now() - failedAt >= (options.startRetryIntervalInMs ?? 10_000)) {
      starting = undefined;
      failedAt = undefined;
    }
    if (starting === undefined) startPending = true;
    starting ??= options.build().then(
      (runtime) => {
        startPending = false;
        if (closed) {
          void runtime.close();
          return runtime;
        }
        current = runtime;
        status = { state: "ready", runtime };
        settled();
        return runtime;
      },
      (e: unknown) => {
        startPending = false;
        status = { state: "failed", reason: describeError(e) };
        failedAt = now();
        lastStartError = e;
        logger.error(`start-up failed: ${describeError(e)}`);
        scheduleRetry();
        throw e;
      },
    );
    return starting;
  };

  const emptySummary = (trigger: string): RefreshSummary => ({ trigger, checked: 0, changed: [], rebuilt: [], failed: [], tokensChanged: 0, errors: [] });

  /** Rebuilds the components and tokens that depend on the changed secrets, then swaps. */
  const applyChanges = async (runtime: Runtime, changes: { store: VaultStore; secret: string }[], summary: RefreshSummary): Promise<void> => {
    const names = runtime.components
      .filter((c) => c.dependencies.some((d) => changes.some((ch) => dependsOn(d, ch.store, ch.secret))))
      .map((c) => c.definition.name);
    const tokens = runtime.callers.some((c) => c.dependency !== undefined && changes.some((ch) => dependsOn(c.dependency as SecretDependency, ch.store, ch.secret)));
    if (names.length === 0 && !tokens) return;
    const result = await runtime.rebuild(names, { tokenGraceInMs: options.tokenGraceInMs, now: now() });
    summary.rebuilt.push(...result.rebuilt);
    summary.failed.push(...result.failed.map((f) => f.name));
    summary.tokensChanged += result.tokensChanged;
    swap(result.runtime, result.replaced);
    settled();
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
    const runtime = current ?? (await start());
    const stores = vaultStores(runtime).filter((s) => sameOrigin(s.vaultUrl, vaultUrl));
    if (stores.length === 0) return undefined;
    const summary = emptySummary(trigger);
    summary.checked = 1;
    let fresh: SecretVersionInfo | undefined;
    // Only secrets this instance uses are re-read: a change to any other secret of the vault costs no
    // Key Vault call and no value ever passes through memory (it is still recorded for the others).
    const inUse = stores.filter((s) => s.store.cachedNames().includes(s.store.secretKey(secretName)) || runtime.components.some((c) => c.dependencies.some((d) => dependsOn(d, s, secretName))) || runtime.callers.some((c) => c.dependency !== undefined && dependsOn(c.dependency, s, secretName)));
    for (const s of inUse) {
      s.store.invalidate(secretName);
      try {
        // Re-reading warms the cache with the new version and tells us which version that is; an
        // older duplicate event just reads the same current version again.
        fresh = (await s.store.getSecret({ name: secretName, metadata: {} })).version ?? fresh;
      } catch (e) {
        summary.errors.push(`${secretName}: ${describeError(e)}`);
      }
    }
    if (inUse.length > 0) summary.changed.push(secretName);
    await applyChanges(runtime, inUse.map((store) => ({ store, secret: secretName })), summary);
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

  /**
   * Registers the Key Vault secrets this instance serves (cached or read by a component or caller
   * token) that the table does not list yet, so the refresh timer checks them even when it runs on an
   * instance that serves none of them (Flex Consumption runs timers on instances of their own).
   */
  const registerServed = async (runtime: Runtime, rows: VersionRow[]): Promise<void> => {
    for (const s of vaultStores(runtime)) {
      const served = new Map<string, SecretVersionInfo | undefined>();
      for (const name of s.store.cachedNames()) served.set(name, knownVersion(runtime, [s], name));
      for (const c of runtime.components) for (const d of c.dependencies) if (dependsOn(d, s, d.secret)) served.set(d.secret, knownVersion(runtime, [s], d.secret));
      const host = versionKey(s.vaultUrl, "x").partitionKey;
      const done = new Set([...registered].filter((k) => k.startsWith(`${host}/`)).map((k) => k.slice(host.length + 1)));
      for (const { secretName, version } of unregistered(rowsOfVault(rows, s.vaultUrl), served, done)) {
        await publish(s.vaultUrl, secretName, version);
        registered.add(`${host}/${secretName.toLowerCase()}`);
      }
    }
  };

  /** Reads the version table, applies newer versions, registers served secrets; the rows read, if any. */
  const coherenceNow = async (): Promise<VersionRow[] | undefined> => {
    const table = options.versionTable;
    if (table === undefined || current === undefined) return undefined;
    lastCoherenceCheck = now();
    let rows: VersionRow[];
    try {
      rows = await table.read();
    } catch (e) {
      logger.warn(`could not read the shared version table: ${describeError(e)}`);
      return undefined;
    }
    const runtime = current;
    const stores = vaultStores(runtime);
    for (const row of rows) {
      const matching = stores.filter((s) => sameOrigin(s.vaultUrl, row.vaultUrl));
      if (matching.length === 0) continue;
      const known = knownVersion(runtime, matching, row.secretName);
      // Only a strictly newer version counts, so a stale row never replaces what we already have.
      if (known !== undefined && isNewer(row, known)) await serialize(() => secretChangedNow(row.vaultUrl, row.secretName, false, "coherence"));
    }
    await registerServed(current ?? runtime, rows);
    return rows;
  };

  const manager: RuntimeManager = {
    start,
    ready: start,
    status: () => status,
    async acquire(): Promise<RuntimeLease> {
      const runtime = current ?? (await start());
      inFlight.set(runtime, (inFlight.get(runtime) ?? 0) + 1);
      void manager.checkCoherence();
      let released = false;
      return {
        runtime,
        release: () => {
          if (released) return;
          released = true;
          const count = (inFlight.get(runtime) ?? 1) - 1;
          if (count <= 0) inFlight.delete(runtime);
          else inFlight.set(runtime, count);
          if (retiring.length > 0) void closeRetired(false);
        },
      };
    },
    refresh(trigger) {
      return serialize(async () => {
        const summary = emptySummary(trigger);
        const runtime = current ?? (await start());
        const rows = (await coherenceNow()) ?? [];
        const live = current ?? runtime;
        const changes: { store: VaultStore; secret: string }[] = [];
        for (const s of vaultStores(live)) {
          if (!isVersionedSecretStore(s.store.inner)) continue;
          const inUse = new Set(s.store.cachedNames());
          for (const c of live.components) for (const d of c.dependencies) if (dependsOn(d, s, d.secret)) inUse.add(s.store.secretKey(d.secret));
          for (const c of live.callers) if (c.dependency !== undefined && dependsOn(c.dependency, s, c.dependency.secret)) inUse.add(s.store.secretKey(c.dependency.secret));
          // Secrets other instances registered as served: this instance may cache none of them.
          const registeredRows = rowsOfVault(rows, s.vaultUrl);
          const served = [...registeredRows.values()].filter((r) => ![...inUse].some((n) => n.toLowerCase() === r.secretName.toLowerCase()));
          if (inUse.size === 0 && served.length === 0) continue;
          let versions: Map<string, SecretVersionInfo>;
          try {
            versions = await s.store.inner.currentVersions();
          } catch (e) {
            summary.errors.push(`${s.vaultUrl}: ${describeError(e)}`);
            continue;
          }
          for (const name of inUse) {
            summary.checked++;
            const known = knownVersion(live, [s], name);
            if (!differs(known, versions.get(name))) continue;
            s.store.invalidate(name);
            changes.push({ store: s, secret: name });
            if (!summary.changed.includes(name)) summary.changed.push(name);
            await publish(s.vaultUrl, name, versions.get(name));
          }
          const latestByName = byLowerName(versions);
          for (const row of served) {
            summary.checked++;
            const latest = latestByName.get(row.secretName.toLowerCase());
            if (latest === undefined || !differs({ version: row.version, updatedOn: row.updatedOn }, latest)) continue;
            // Served elsewhere, not here: the table tells the instances that serve it.
            if (!summary.changed.includes(row.secretName)) summary.changed.push(row.secretName);
            await publish(s.vaultUrl, row.secretName, latest);
          }
        }
        // Components and caller tokens that read a changed secret are rebuilt (stores without versions,
        // such as local files, are not compared: they change only with a redeploy).
        await applyChanges(live, changes, summary);
        await closeRetired(false);
        logSummary(summary);
        return summary;
      });
    },
    secretChanged(vaultUrl, secretName, opts = {}) {
      return serialize(() => secretChangedNow(vaultUrl, secretName, opts.publish ?? true, opts.trigger ?? "event", opts.hint));
    },
    checkCoherence(force = false) {
      if (options.versionTable === undefined || current === undefined) return Promise.resolve();
      if (!force && now() - lastCoherenceCheck < options.coherenceIntervalInMs) return coherence ?? Promise.resolve();
      coherence ??= coherenceNow()
        .then(() => undefined)
        .finally(() => {
          coherence = undefined;
        });
      return coherence;
    },
    async close() {
      closed = true;
      if (retryTimer !== undefined) clearTimeout(retryTimer);
      retryTimer = undefined;
      await closeRetired(true);
      if (current !== undefined) await current.close();
    },
  };
  return manager;
}

/** The version this instance last saw of a secret: the cached one, else the one a dependent read. */
function knownVersion(runtime: Runtime, stores: VaultStore[], secret: string): SecretVersionInfo | undefined {
  for (const s of stores) {
    const cached = s.store.cachedVersion(secret);
    if (cached !== undefined) return cached;
  }
  for (const c of runtime.components) for (const d of c.dependencies) if (stores.some((s) => dependsOn(d, s, secret)) && d.version !== undefined) return d.version;
  for (const c of runtime.callers) if (c.dependency !== undefined && stores.some((s) => dependsOn(c.dependency as SecretDependency, s, secret)) && c.dependency.version !== undefined) return c.dependency.version;
  return undefined;
}
