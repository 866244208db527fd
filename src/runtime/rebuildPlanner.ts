/**
 * @module The rebuild planner: pure decisions of the refresh paths, from a runtime (its components'
 * and caller tokens' secret dependencies, the versions they were built with, what its caches hold)
 * and versions read elsewhere. Which Key Vault stores a runtime has, which secrets it serves, which
 * secrets changed, which components and tokens must be rebuilt. No I/O: the manager reads Key Vault
 * and the version table and hands the answers in.
 */
import { isVaultSecretStore, type SecretVersionInfo } from "../components/secretstores/secretStore";
import { isNewer, type VersionRow } from "../azure/versionTable";
import { byLowerName, rowsOfVault } from "./servedSecrets";
import type { Runtime, SecretDependency } from "./runtime";
import type { CachedSecretStore } from "./secretCache";

/** A Key Vault store (component or reference store) and the vault it talks to. */
export interface VaultStore {
  vaultUrl: string;
  /** Component name, or undefined for the reference store of that vault. */
  component: string | undefined;
  store: CachedSecretStore;
}

/** Every Key Vault store of a runtime: components, then the reference stores. */
export function vaultStores(runtime: Runtime): VaultStore[] {
  const stores: VaultStore[] = [];
  for (const c of runtime.components) {
    if (c.kind === "secretstores" && isVaultSecretStore(c.store.inner)) stores.push({ vaultUrl: c.store.inner.vaultUrl(), component: c.definition.name, store: c.store });
  }
  for (const [vaultUrl, store] of runtime.referenceStores()) stores.push({ vaultUrl, component: undefined, store });
  return stores;
}

/** The Key Vault stores of a runtime that talk to the vault at `vaultUrl` (same origin). */
export function storesOfVault(runtime: Runtime, vaultUrl: string): VaultStore[] {
  return vaultStores(runtime).filter((s) => sameOrigin(s.vaultUrl, vaultUrl));
}

/** Whether two vault URLs name the same vault (scheme, host and port; letter case ignored). */
export function sameOrigin(a: string, b: string): boolean {
  try {
    return new URL(a).origin.toLowerCase() === new URL(b).origin.toLowerCase();
  } catch {
    return false;
  }
}

/** Whether a dependency reads `secret` through `store` (a component store, or the vault's references). */
export function dependsOn(dependency: SecretDependency, store: VaultStore, secret: string): boolean {
  if (store.store.secretKey(dependency.secret) !== store.store.secretKey(secret)) return false;
  if (dependency.kind === "store") return store.component !== undefined && dependency.store === store.component;
  return !dependency.pinned && sameOrigin(dependency.vaultUrl, store.vaultUrl);
}

/** Whether `current` is another version than `known` (unknown `known`: no; vanished `current`: yes). */
export function differs(known: SecretVersionInfo | undefined, current: SecretVersionInfo | undefined): boolean {
  if (known === undefined) return false;
  if (current === undefined) return true;
  if (known.version !== undefined && current.version !== undefined) return known.version.toLowerCase() !== current.version.toLowerCase();
  return known.updatedOn !== current.updatedOn;
}

/** Every secret dependency of a runtime: its components' and its caller tokens'. */
function dependencies(runtime: Runtime): SecretDependency[] {
  return [...runtime.components.flatMap((c) => c.dependencies), ...runtime.callers.flatMap((c) => (c.dependency === undefined ? [] : [c.dependency]))];
}

/** The version this instance last saw of a secret: the cached one, else the one a dependent was built with. */
export function knownVersion(runtime: Runtime, stores: readonly VaultStore[], secret: string): SecretVersionInfo | undefined {
  for (const s of stores) {
    const cached = s.store.cachedVersion(secret);
    if (cached !== undefined) return cached;
  }
  return builtVersion(runtime, stores, secret);
}

/** The version the runtime's components or caller tokens were built with, if any reads the secret. */
export function builtVersion(runtime: Runtime, stores: readonly VaultStore[], secret: string): SecretVersionInfo | undefined {
  for (const d of dependencies(runtime)) if (d.version !== undefined && stores.some((s) => dependsOn(d, s, secret))) return d.version;
  return undefined;
}

/** The secrets (folded keys) this instance serves from a store: cached, or read by a component or token. */
export function secretsInUse(runtime: Runtime, store: VaultStore): Set<string> {
  const inUse = new Set(store.store.cachedNames());
  for (const d of dependencies(runtime)) if (dependsOn(d, store, d.secret)) inUse.add(store.store.secretKey(d.secret));
  return inUse;
}

/** Whether this instance serves `secret` from `store`. */
export function usesSecret(runtime: Runtime, store: VaultStore, secret: string): boolean {
  return store.store.cachedNames().includes(store.store.secretKey(secret)) || dependencies(runtime).some((d) => dependsOn(d, store, secret));
}

/** A secret that changed in a store, with its current version when known. */
export interface SecretChange {
  store: VaultStore;
  secret: string;
  /** The version read now; without it every dependent is rebuilt. */
  version?: SecretVersionInfo;
}

/** What a rebuild must redo. */
export interface RebuildPlan {
  /** Components to rebuild, in load order. */
  components: string[];
  /** Whether caller tokens read a changed secret (every token is re-resolved with a rebuild). */
  tokens: boolean;
}

/** Whether a dependency is affected by a change: it reads the secret and was built with another version. */
function affected(d: SecretDependency, change: SecretChange): boolean {
  if (!dependsOn(d, change.store, change.secret)) return false;
  // Built with the version Key Vault says is current: nothing to redo.
  return change.version === undefined || d.version === undefined || differs(d.version, change.version);
}

/** The components and caller tokens that read a changed secret with another version than the current one. */
export function planRebuild(runtime: Runtime, changes: readonly SecretChange[]): RebuildPlan {
  const components = runtime.components.filter((c) => c.dependencies.some((d) => changes.some((ch) => affected(d, ch)))).map((c) => c.definition.name);
  const tokens = runtime.callers.some((c) => c.dependency !== undefined && changes.some((ch) => affected(c.dependency as SecretDependency, ch)));
  return { components, tokens };
}

/** Whether a plan has nothing to do. */
export function isEmptyPlan(plan: RebuildPlan): boolean {
  return plan.components.length === 0 && !plan.tokens;
}

/**
 * The secrets of a store, in use here, whose current version (from Key Vault's listing) is not the
 * one this instance holds: its cached copy, or the one its components and tokens were built with.
 */
export function changedInStore(runtime: Runtime, store: VaultStore, inUse: ReadonlySet<string>, versions: ReadonlyMap<string, SecretVersionInfo>): SecretChange[] {
  const changes: SecretChange[] = [];
  for (const name of inUse) {
    const current = versions.get(name);
    const cached = store.store.cachedVersion(name);
    const built = builtVersion(runtime, [store], name);
    if (differs(cached, current) || differs(built, current)) changes.push({ store, secret: name, ...(current === undefined ? {} : { version: current }) });
  }
  return changes;
}

/**
 * Rows other instances registered for a store's vault that this instance does not serve, whose
 * version Key Vault has moved past: the version table must learn the new one.
 */
export function servedElsewhere(rows: readonly VersionRow[], store: VaultStore, inUse: ReadonlySet<string>, versions: ReadonlyMap<string, SecretVersionInfo>): { secretName: string; latest: SecretVersionInfo }[] {
  const latestByName = byLowerName(versions);
  const out: { secretName: string; latest: SecretVersionInfo }[] = [];
  for (const row of registeredElsewhere(rows, store, inUse)) {
    const latest = latestByName.get(row.secretName.toLowerCase());
    if (latest !== undefined && differs({ version: row.version, updatedOn: row.updatedOn }, latest)) out.push({ secretName: row.secretName, latest });
  }
  return out;
}

/** Rows other instances registered for a store's vault that this instance does not serve itself. */
export function registeredElsewhere(rows: readonly VersionRow[], store: VaultStore, inUse: ReadonlySet<string>): VersionRow[] {
  // One set of lower-cased names, not a scan of `inUse` per row: both grow with the vault.
  const here = new Set([...inUse].map((n) => n.toLowerCase()));
  return [...rowsOfVault(rows, store.vaultUrl).values()].filter((r) => !here.has(r.secretName.toLowerCase()));
}

/** Version table rows strictly newer than what this instance holds (a stale row never counts). */
export function coherenceTargets(runtime: Runtime, rows: readonly VersionRow[]): VersionRow[] {
  const stores = vaultStores(runtime);
  // The rows name a handful of vaults many times over: each vault URL is matched once.
  const byVault = new Map<string, VaultStore[]>();
  return rows.filter((row) => {
    let matching = byVault.get(row.vaultUrl);
    if (matching === undefined) {
      matching = stores.filter((s) => sameOrigin(s.vaultUrl, row.vaultUrl));
      byVault.set(row.vaultUrl, matching);
    }
    if (matching.length === 0) return false;
    const known = knownVersion(runtime, matching, row.secretName);
    return known !== undefined && isNewer(row, known);
  });
}

/** The secrets a store serves here with the version this instance holds, for registration in the table. */
export function servedVersions(runtime: Runtime, store: VaultStore): Map<string, SecretVersionInfo | undefined> {
  const served = new Map<string, SecretVersionInfo | undefined>();
  for (const name of store.store.cachedNames()) served.set(name, knownVersion(runtime, [store], name));
  for (const c of runtime.components) for (const d of c.dependencies) if (dependsOn(d, store, d.secret)) served.set(d.secret, knownVersion(runtime, [store], d.secret));
  return served;
}

/**
 * After a secret was re-read because of an event: whether anything must be rebuilt. A forged or
 * duplicate event names some version; only the version Key Vault returned counts, compared with the
 * one the runtime was built with (and, for a cached-only secret, nothing is rebuilt at all).
 */
export function planAfterReread(runtime: Runtime, stores: readonly VaultStore[], secret: string, fresh: SecretVersionInfo | undefined): RebuildPlan {
  // The re-read failed: a rebuild would read through the same failing store; the next refresh tries.
  if (fresh === undefined) return { components: [], tokens: false };
  return planRebuild(
    runtime,
    stores.map((store) => ({ store, secret, version: fresh })),
  );
}
