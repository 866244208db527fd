/**
 * @module The component runtime: loads component files, resolves references, initialises providers
 * in dependency order, and answers lookups per caller app-id (component `scopes`).
 *
 * A runtime is immutable. Refresh builds a successor with {@link Runtime.rebuild}: only components
 * whose resolved metadata changed get a new instance; the rest are shared with the predecessor.
 */
import { createReferenceStore, findProvider, type ProviderContext, type ProviderEntry } from "../components/registry/registry";
import type { GetSecretResponse, SecretStore, SecretVersionInfo } from "../components/secretstores/secretStore";
import { isTransactionalStateStore, type StateStore } from "../components/state/stateStore";
import { isExposable } from "../components/secretstores/local/env/envSecretStore";
import { getProperty, isMetadataError } from "../components/metadata";
import { type KeyPrefixStrategy, parseKeyPrefix } from "../components/state/stateKeys";
import { describeError, type Logger } from "../observability/logger";
import { CALLER_ROLES, type CallerDefinition, type CallerRole, type ComponentDefinition, type ConfigurationDefinition, type Resources, ResourceFileError } from "./componentFiles";
import { type CachedSecretStore, createCachingSecretStore, createCounters, type SecretCacheCounters, type SecretCacheOptions } from "./secretCache";
import { createKeyVaultReferenceResolver, isKeyVaultReference, type KeyVaultReferenceResolver } from "./keyVaultReferences";
import { configurationFor } from "./secretScopes";

/** A secret a component or caller token was resolved from: refresh rebuilds dependents when it changes. */
export type SecretDependency = (
  | { kind: "store"; store: string; secret: string }
  | { kind: "reference"; vaultUrl: string; secret: string; pinned: boolean }
) & {
  /** The version that was read, where the store keeps versions. */
  version?: SecretVersionInfo;
};

/** A loaded, initialised component, with what it was built from. */
export type LoadedComponent = (
  | { kind: "secretstores"; definition: ComponentDefinition; store: CachedSecretStore }
  | { kind: "state"; definition: ComponentDefinition; store: StateStore; keyPrefix: KeyPrefixStrategy }
) & {
  /** The resolved metadata the instance was initialised with (compared on refresh, never logged). */
  properties: Readonly<Record<string, string>>;
  dependencies: readonly SecretDependency[];
};

export type { CallerRole };

/** A caller that proves itself with a Microsoft Entra ID access token. */
export interface EntraCaller {
  appId: string;
  role: CallerRole;
  objectIds: readonly string[];
  clientIds: readonly string[];
}

/** A caller credential: an API token, the app-id and role it acts as, and where it came from. */
export interface CallerToken {
  appId: string;
  role: CallerRole;
  token: string;
  /** The `API_TOKEN` entry it was resolved from (refresh re-resolves it). */
  entry: string;
  dependency?: SecretDependency;
  /** A replaced token stays valid until this time (ms since the epoch), then it is dropped. */
  notAfter?: number;
}

/** A state store as the API sees it: the provider and its key prefix strategy. */
export interface StateComponent {
  store: StateStore;
  keyPrefix: KeyPrefixStrategy;
}

/**
 * A component that failed to initialise (an outage, not a configuration mistake): the others serve,
 * its own routes answer `ERR_COMPONENT_NOT_READY`, and the manager retries it in the background.
 */
export interface FailedComponent {
  definition: ComponentDefinition;
  kind: "secretstores" | "state";
  /** For logs only (file, component, field); never sent to callers. */
  reason: string;
}

/** A caller token entry whose secret could not be read: that caller cannot sign in until a retry succeeds. */
export interface FailedCaller {
  /** The entry, as {@link CallerToken.entry}. */
  entry: string;
  reason: string;
}

/** Where the runtime is in its start-up. */
export type RuntimeStatus = { state: "starting" } | { state: "ready"; runtime: Runtime } | { state: "failed"; reason: string };

/** A runtime held for one request; released when the response is ready. */
export interface RuntimeLease {
  runtime: Runtime;
  release(): void;
}

/**
 * Where the API gets its runtime: a status for health checks and a promise for everything else.
 * With `acquire`, a request holds its runtime until it is done, so a swapped-out component is closed
 * only after the requests that were using it finished.
 */
export interface RuntimeSource {
  status(): RuntimeStatus;
  ready(): Promise<Runtime>;
  acquire?(): Promise<RuntimeLease>;
  /**
   * A lease on the current runtime without waiting, or undefined when none is built yet (then
   * `acquire`). Lets a request on a running instance skip an await and its promise.
   */
  acquireNow?(): RuntimeLease | undefined;
}

/** The runtime's view of components, configurations and callers. Immutable once built. */
export interface Runtime {
  /** The app's own app-id (metadata `id`, health `appid`). */
  readonly appId: string;
  readonly components: readonly LoadedComponent[];
  readonly callers: readonly CallerToken[];
  /** Callers identified by Entra ID access tokens. */
  readonly entraCallers: readonly EntraCaller[];
  /** Components that failed to initialise, in load order (a store before the components that read it). */
  readonly failed: readonly FailedComponent[];
  /** Caller token entries that could not be resolved (and have no earlier token to keep). */
  readonly failedCallers: readonly FailedCaller[];
  /** A component that failed to initialise and is visible to an app-id, by name. */
  failedComponent(appId: string, name: string): FailedComponent | undefined;
  /** Secret stores visible to an app-id, by name. */
  secretStores(appId: string): ReadonlyMap<string, CachedSecretStore>;
  /** State stores visible to an app-id, by name, with their key prefix strategy. */
  stateStores(appId: string): ReadonlyMap<string, StateComponent>;
  /** Dapr namespace (`NAMESPACE`), for the `namespace` key prefix strategy. */
  readonly namespace: string | undefined;
  /** The Configuration that applies to an app-id. */
  configuration(appId: string): ConfigurationDefinition | undefined;
  /** Dapr `capabilities` of a component as listed by `/v1.0/metadata`. */
  capabilities(component: LoadedComponent): string[];
  /** The cached Key Vault stores behind `@Microsoft.KeyVault(...)` references, by vault URL. */
  referenceStores(): ReadonlyMap<string, CachedSecretStore>;
  /**
   * Builds a successor: re-resolves the named components (after their secrets were invalidated) and
   * every caller token, replacing only what changed. A component that fails to rebuild keeps its old
   * instance; a named component that had failed to initialise is tried again. Nothing is closed here:
   * the caller swaps runtimes and then closes `replaced`.
   */
  rebuild(names: readonly string[], options?: { tokenGraceInMs?: number; now?: number }): Promise<RebuildResult>;
  /** Closes every component and the reference stores (shutdown). */
  close(): Promise<void>;
}

/** What a rebuild did. */
export interface RebuildResult {
  runtime: Runtime;
  /** Old instances that the new runtime no longer uses: close them once in-flight requests are done. */
  replaced: LoadedComponent[];
  rebuilt: string[];
  unchanged: string[];
  /** Components that had failed to initialise and now serve. */
  recovered: string[];
  failed: { name: string; reason: string }[];
  tokensChanged: number;
}

/** What building a runtime needs. */
export interface RuntimeOptions {
  appId: string;
  namespace?: string;
  resources: Resources;
  /** Raw `API_TOKEN` entries: `[appId[:role]=]token`, `…=secretstore:<store>/<secret>[/<key>]` or `…=@Microsoft.KeyVault(…)`. */
  apiTokens: readonly string[];
  providerContext: ProviderContext;
  logger: Logger;
  /** Upper bound for one component's `init`, like daprd's init timeout. */
  initTimeoutInMs?: number;
  /** Client id of the user-assigned identity used for `@Microsoft.KeyVault(...)` references. */
  referenceClientId?: string;
  /** Cache tuning for every secret store, and the counters they share. */
  secretCache?: { options?: Partial<SecretCacheOptions>; counters?: SecretCacheCounters };
}

/** A component failed to initialise or a reference could not be resolved; names file and field. */
export class ComponentInitError extends Error {
  override readonly name = "ComponentInitError";
}

const DEFAULT_INIT_TIMEOUT_IN_MS = 30_000;

/** Everything a runtime generation shares with its successors. */
interface RuntimeContext {
  options: RuntimeOptions;
  entries: ReadonlyMap<string, ProviderEntry>;
  references: KeyVaultReferenceResolver;
  cache: (store: SecretStore, name: string) => CachedSecretStore;
}

/**
 * Builds the runtime: validates types, initialises components in reference order (a store used by
 * `auth.secretStore` first), resolves caller tokens. A component that fails to initialise (a vault or
 * account unreachable) does not stop the others: it is listed in {@link Runtime.failed}, and so are
 * the components that read their secrets through it; a caller token that cannot be read is listed in
 * {@link Runtime.failedCallers}. Components with `ignoreErrors` are skipped for good, as in daprd.
 * @throws {@link ResourceFileError} for unknown types, broken references and invalid metadata
 * @throws {@link ComponentInitError} when two callers share a token
 */
export async function buildRuntime(options: RuntimeOptions): Promise<Runtime> {
  const { resources, logger } = options;
  const entries = new Map<string, ProviderEntry>();
  for (const def of resources.components) {
    const found = findProvider(def.type, def.version);
    if ("error" in found) throw new ResourceFileError(def.file, `component ${def.name}: ${found.field}`, found.error);
    entries.set(def.name, found.entry);
  }
  const byName = new Map(resources.components.map((d) => [d.name, d]));
  for (const def of resources.components) {
    if (def.secretStore === undefined) continue;
    const target = byName.get(def.secretStore);
    if (target === undefined) {
      throw new ResourceFileError(def.file, `component ${def.name}: auth.secretStore`, `no component named "${def.secretStore}"`);
    }
    if (entries.get(target.name)?.kind !== "secretstores") {
      throw new ResourceFileError(def.file, `component ${def.name}: auth.secretStore`, `"${def.secretStore}" is not a secret store`);
    }
  }

  const counters = options.secretCache?.counters ?? createCounters();
  const cache = (store: SecretStore, name: string): CachedSecretStore =>
    createCachingSecretStore(store, name, { options: options.secretCache?.options, counters, logger });
  const ctx: RuntimeContext = {
    options,
    entries,
    cache,
    references: createKeyVaultReferenceResolver({ clientId: options.referenceClientId, wrap: cache, createStore: () => createReferenceStore(options.providerContext) }),
  };

  const loaded = new Map<string, LoadedComponent>();
  const skipped = new Set<string>();
  const failed: FailedComponent[] = [];
  const pending = [...resources.components];
  const unavailable = (name: string): boolean => skipped.has(name) || failed.some((f) => f.definition.name === name);
  // Caller tokens come from secret stores only: they are read while the state stores initialise.
  let callersRead: Promise<ResolvedCallers> | undefined;
  const readCallersOnceStoresSettle = (): void => {
    if (callersRead !== undefined || pending.some((d) => entries.get(d.name)?.kind === "secretstores")) return;
    callersRead = resolveAllCallers(ctx, loaded);
    // Handled where it is awaited; a failed component start-up may never await it.
    callersRead.catch(() => undefined);
  };
  try {
    readCallersOnceStoresSettle();
    while (pending.length > 0) {
      // Every component whose secret store is settled loads at once: start-up waits for the slowest
      // of a wave, not for the sum of all of them.
      const wave = pending.filter((d) => d.secretStore === undefined || loaded.has(d.secretStore) || unavailable(d.secretStore));
      if (wave.length === 0) {
        const names = pending.map((d) => d.name).join(", ");
        throw new ResourceFileError(pending[0]?.file ?? "", "auth.secretStore", `components reference each other in a cycle: ${names}`);
      }
      for (const def of wave) pending.splice(pending.indexOf(def), 1);
      const settled = await Promise.allSettled(
        wave.map(async (def) => {
          if (def.secretStore !== undefined && unavailable(def.secretStore)) {
            throw new ComponentInitError(`${def.file}: component ${def.name}: auth.secretStore "${def.secretStore}" failed to initialise`);
          }
          return loadComponent(ctx, def, loaded);
        }),
      );
      let configurationError: { error: unknown } | undefined;
      for (const [i, result] of settled.entries()) {
        const def = wave[i] as ComponentDefinition;
        if (result.status === "fulfilled") {
          loaded.set(def.name, result.value);
          logger.info(`component ${def.name} (${def.type}/${def.version}) initialised`);
        } else if (def.ignoreErrors) {
          skipped.add(def.name);
          logger.warn(`component ${def.name} skipped (ignoreErrors): ${describeError(result.reason)}`);
        } else if (result.reason instanceof ResourceFileError) {
          // A configuration mistake will not fix itself: start-up fails, naming file and field.
          configurationError ??= { error: result.reason };
        } else {
          failed.push({ definition: def, kind: entries.get(def.name)?.kind ?? "secretstores", reason: describeError(result.reason) });
          logger.error(`component ${def.name} (${def.type}/${def.version}) failed to initialise; the others serve, it is retried in the background: ${describeError(result.reason)}`);
        }
      }
      if (configurationError !== undefined) throw configurationError.error;
      readCallersOnceStoresSettle();
    }
  } catch (e) {
    await callersRead?.catch(() => undefined);
    await closeAll([...loaded.values()], logger);
    await ctx.references.close();
    throw e;
  }

  let callers: ResolvedCallers;
  try {
    callers = await (callersRead ?? resolveAllCallers(ctx, loaded));
  } catch (e) {
    await closeAll([...loaded.values()], logger);
    await ctx.references.close();
    throw e;
  }
  for (const f of callers.failed) logger.error(`caller token ${describeEntry(f.entry)} could not be resolved; it is retried in the background: ${f.reason}`);
  return createRuntime(ctx, [...loaded.values()], callers.tokens, failed, callers.failed);
}

/** An entry for a log line: the app-id part of an `API_TOKEN` entry (never the token), or a Caller document's. */
function describeEntry(entry: string): string {
  if (entry.startsWith("caller:")) return entry;
  return `API_TOKEN entry for app-id ${splitCallerEntry(entry, "(default)").appId}`;
}

/**
 * What a runtime answers per caller app-id, worked out once per app-id: every request asks, and a
 * runtime's resources never change (a rebuild is a new runtime).
 */
function perCaller<T>(build: (caller: string) => T): (caller: string) => T {
  const answers = new Map<string, T>();
  return (caller) => {
    // One lookup when the answer is known and defined (a configuration may be undefined).
    const known = answers.get(caller);
    if (known !== undefined || answers.has(caller)) return known as T;
    const answer = build(caller);
    answers.set(caller, answer);
    return answer;
  };
}

function createRuntime(ctx: RuntimeContext, components: LoadedComponent[], callers: CallerToken[], failed: FailedComponent[], failedCallers: FailedCaller[]): Runtime {
  const { options } = ctx;
  const visible = (component: { definition: ComponentDefinition }, caller: string): boolean =>
    component.definition.scopes.length === 0 || component.definition.scopes.includes(caller);
  const secretStores = perCaller((caller) => {
    const map = new Map<string, CachedSecretStore>();
    for (const c of components) if (c.kind === "secretstores" && visible(c, caller)) map.set(c.definition.name, c.store);
    return map;
  });
  const stateStores = perCaller((caller) => {
    const map = new Map<string, StateComponent>();
    for (const c of components) if (c.kind === "state" && visible(c, caller)) map.set(c.definition.name, { store: c.store, keyPrefix: c.keyPrefix });
    return map;
  });
  const configuration = perCaller((caller) => configurationFor(caller, options.resources.configurations));
  const runtime: Runtime = {
    appId: options.appId,
    namespace: options.namespace,
    components,
    callers,
    failed,
    failedCallers,
    failedComponent(caller, name) {
      // A loop, not `find` with a closure: every request naming a component asks.
      for (const f of failed) if (f.definition.name === name && visible(f, caller)) return f;
      return undefined;
    },
    entraCallers: options.resources.callers.flatMap((c) =>
      c.entraId === undefined ? [] : [{ appId: c.appId, role: c.role, objectIds: c.entraId.objectIds, clientIds: c.entraId.clientIds }],
    ),
    secretStores,
    stateStores,
    configuration,
    capabilities(component) {
      const features: string[] = [...component.store.features()];
      // daprd reports ACTOR for state stores that can back actors (ETAG + TRANSACTIONAL).
      if (component.kind === "state" && features.includes("ETAG") && isTransactionalStateStore(component.store)) features.push("ACTOR");
      return features;
    },
    referenceStores: () => ctx.references.stores(),
    rebuild: (names, rebuildOptions = {}) => rebuildRuntime(ctx, runtime, names, rebuildOptions),
    async close() {
      await closeAll(components, options.logger);
      await ctx.references.close();
    },
  };
  return runtime;
}

async function rebuildRuntime(
  ctx: RuntimeContext,
  previous: Runtime,
  names: readonly string[],
  options: { tokenGraceInMs?: number; now?: number },
): Promise<RebuildResult> {
  const { logger } = ctx.options;
  const wanted = new Set(names);
  const current = new Map(previous.components.map((c) => [c.definition.name, c]));
  const result: Omit<RebuildResult, "runtime"> = { replaced: [], rebuilt: [], unchanged: [], recovered: [], failed: [], tokensChanged: 0 };
  // Definition order is dependency order already (build order), so a rebuilt secret store is in
  // place before the components that resolve secrets through it.
  for (const component of previous.components) {
    const def = component.definition;
    if (!wanted.has(def.name)) continue;
    try {
      const properties = await resolveMetadata(ctx, def, current);
      if (sameProperties(properties.values, component.properties)) {
        result.unchanged.push(def.name);
        continue;
      }
      const entry = ctx.entries.get(def.name);
      if (entry === undefined) continue;
      const next = await initComponent(ctx, def, entry, properties);
      current.set(def.name, next);
      result.replaced.push(component);
      result.rebuilt.push(def.name);
      logger.info(`component ${def.name} rebuilt with changed metadata`);
    } catch (e) {
      // The old instance keeps serving; the next refresh tries again.
      result.failed.push({ name: def.name, reason: describeError(e) });
      logger.warn(`component ${def.name} could not be rebuilt, keeping the old instance: ${describeError(e)}`);
    }
  }

  // Components that failed to initialise, in load order: a store before the components that read it.
  const stillFailing: FailedComponent[] = [];
  const added: LoadedComponent[] = [];
  for (const f of previous.failed) {
    const def = f.definition;
    if (!wanted.has(def.name)) {
      stillFailing.push(f);
      continue;
    }
    try {
      if (def.secretStore !== undefined && !current.has(def.secretStore)) {
        throw new ComponentInitError(`${def.file}: component ${def.name}: auth.secretStore "${def.secretStore}" failed to initialise`);
      }
      const next = await loadComponent(ctx, def, current);
      current.set(def.name, next);
      added.push(next);
      result.recovered.push(def.name);
      logger.info(`component ${def.name} (${def.type}/${def.version}) initialised after an earlier failure`);
    } catch (e) {
      stillFailing.push({ ...f, reason: describeError(e) });
      result.failed.push({ name: def.name, reason: describeError(e) });
    }
  }

  const now = options.now ?? Date.now();
  let callers = previous.callers.filter((c) => c.notAfter === undefined || c.notAfter > now);
  let failedCallers: FailedCaller[] = [...previous.failedCallers];
  try {
    const resolved = await resolveAllCallers(ctx, current);
    const currentTokens = callers.filter((c) => c.notAfter === undefined);
    // An entry that cannot be read now keeps the token it had: a refresh never locks a caller out.
    const kept = currentTokens.filter((c) => resolved.failed.some((f) => f.entry === c.entry));
    failedCallers = resolved.failed.filter((f) => !kept.some((c) => c.entry === f.entry));
    const fresh = [...resolved.tokens, ...kept];
    const changed = fresh.filter((f) => !currentTokens.some((c) => c.entry === f.entry && c.token === f.token));
    const dropped = currentTokens.filter((c) => !fresh.some((f) => f.entry === c.entry && f.token === c.token));
    if (changed.length > 0 || dropped.length > 0) {
      result.tokensChanged = changed.length;
      const grace = options.tokenGraceInMs ?? 0;
      // A rotated token stays valid for the grace period so callers can pick up the new one.
      const retired = dropped.map((c) => ({ ...c, notAfter: now + grace }));
      callers = [...fresh, ...(grace > 0 ? retired : []), ...callers.filter((c) => c.notAfter !== undefined)];
      if (changed.length > 0) logger.info(`${changed.length} caller token(s) changed; previous tokens accepted for ${Math.round(grace / 1000)} s`);
    }
  } catch (e) {
    logger.warn(`caller tokens could not be re-resolved, keeping the current ones: ${describeError(e)}`);
  }
  const components = [...previous.components.map((c) => current.get(c.definition.name) ?? c), ...added];
  return { ...result, runtime: createRuntime(ctx, components, callers, stillFailing, failedCallers) };
}

function sameProperties(a: Readonly<Record<string, string>>, b: Readonly<Record<string, string>>): boolean {
  const keys = Object.keys(a);
  return keys.length === Object.keys(b).length && keys.every((k) => Object.prototype.hasOwnProperty.call(b, k) && a[k] === b[k]);
}

/** Closes components, logging (not throwing) failures. */
export async function closeAll(components: readonly LoadedComponent[], logger: Logger): Promise<void> {
  await Promise.all(
    components.map(async (c) => {
      try {
        await c.store.close();
      } catch (e) {
        logger.warn(`closing component ${c.definition.name} failed: ${describeError(e)}`);
      }
    }),
  );
}

async function loadComponent(ctx: RuntimeContext, def: ComponentDefinition, loaded: ReadonlyMap<string, LoadedComponent>): Promise<LoadedComponent> {
  const entry = ctx.entries.get(def.name);
  if (entry === undefined) throw new ComponentInitError(`${def.file}: component ${def.name}: no provider`);
  return initComponent(ctx, def, entry, await resolveMetadata(ctx, def, loaded));
}

async function initComponent(
  ctx: RuntimeContext,
  def: ComponentDefinition,
  entry: ProviderEntry,
  resolved: { values: Record<string, string>; dependencies: SecretDependency[] },
): Promise<LoadedComponent> {
  const providerContext: ProviderContext = { ...ctx.options.providerContext, version: def.version };
  const abortSignal = AbortSignal.timeout(ctx.options.initTimeoutInMs ?? DEFAULT_INIT_TIMEOUT_IN_MS);
  const common = { definition: def, properties: resolved.values, dependencies: resolved.dependencies };
  let component: LoadedComponent;
  if (entry.kind === "secretstores") {
    component = { ...common, kind: "secretstores", store: ctx.cache(entry.create(providerContext), def.name) };
  } else {
    let keyPrefix: KeyPrefixStrategy;
    try {
      keyPrefix = parseKeyPrefix(getProperty(resolved.values, "keyPrefix"));
    } catch (e) {
      throw new ResourceFileError(def.file, `component ${def.name}: spec.metadata keyPrefix`, e instanceof Error ? e.message : "invalid keyPrefix");
    }
    component = { ...common, kind: "state", store: entry.create(providerContext), keyPrefix };
  }
  try {
    await component.store.init(resolved.values, { abortSignal });
  } catch (e) {
    if (isMetadataError(e)) throw new ResourceFileError(def.file, `component ${def.name}: spec.metadata ${e.field}`, e.message);
    throw new ComponentInitError(`${def.file}: component ${def.name} (${def.type}) failed to initialise: ${describeError(e)}`, { cause: e });
  }
  return component;
}

async function resolveMetadata(
  ctx: RuntimeContext,
  def: ComponentDefinition,
  loaded: ReadonlyMap<string, LoadedComponent>,
): Promise<{ values: Record<string, string>; dependencies: SecretDependency[] }> {
  const environment = ctx.options.providerContext.environment;
  const values: Record<string, string> = {};
  const dependencies: SecretDependency[] = [];
  const depended = new Set<string>();
  // Every secret the component names is requested at once (awaited below, in order).
  const reads = new Map<string, Promise<GetSecretResponse>>();
  const secretStore = loaded.get(def.secretStore ?? "");
  for (const item of def.metadata) {
    if (item.kind !== "secretKeyRef" || secretStore?.kind !== "secretstores" || reads.has(item.secretKeyRef.name)) continue;
    const read = secretStore.store.getSecret({ name: item.secretKeyRef.name, metadata: def.namespace !== undefined ? { namespace: def.namespace } : {} });
    // Marks the rejection handled when an earlier item fails first; the loop still sees it.
    read.catch(() => undefined);
    reads.set(item.secretKeyRef.name, read);
  }
  for (const item of def.metadata) {
    const where = `${def.file}: component ${def.name}: spec.metadata ${item.name}`;
    if (item.kind === "value" && isKeyVaultReference(item.value)) {
      const resolved = await resolveSecret(ctx.references, loaded, { kind: "reference", value: item.value }, where);
      values[item.name] = resolved.value;
      dependencies.push(resolved.dependency);
    } else if (item.kind === "value") {
      values[item.name] = item.value;
    } else if (item.kind === "envRef") {
      if (!isExposable(item.envRef)) {
        throw new ResourceFileError(def.file, `component ${def.name}: spec.metadata ${item.name}.envRef`, `environment variable ${item.envRef} may not be referenced`);
      }
      // As daprd: an unset variable yields no value, so one component file can serve environments
      // that set the variable (an emulator endpoint) and environments that do not (Azure).
      const value = environment[item.envRef];
      if (value !== undefined && value !== "") values[item.name] = value;
    } else {
      const storeName = def.secretStore ?? "";
      const store = loaded.get(storeName);
      if (store === undefined || store.kind !== "secretstores") {
        throw new ResourceFileError(def.file, `component ${def.name}: auth.secretStore`, `secret store "${storeName}" is not loaded`);
      }
      const ref = item.secretKeyRef;
      // One read per secret while a component is processed, as daprd caches them.
      const resolved = await resolveSecret(ctx.references, loaded, { kind: "store", store: storeName, secret: ref.name, key: ref.key, read: reads.get(ref.name), allowEmpty: true }, where);
      if (!depended.has(ref.name)) {
        depended.add(ref.name);
        dependencies.push(resolved.dependency);
      }
      // daprd does not apply empty secret values.
      if (resolved.value !== "") values[item.name] = resolved.value;
    }
  }
  return { values, dependencies };
}

/** Caller tokens resolved, and the entries that could not be. */
interface ResolvedCallers {
  tokens: CallerToken[];
  failed: FailedCaller[];
}

/**
 * Every token caller: `API_TOKEN` entries, then `Caller` documents. An entry whose secret cannot be
 * read is reported in `failed`; the others still sign in.
 * @throws {@link ComponentInitError} when two callers share a token (it would be ambiguous who calls)
 */
async function resolveAllCallers(ctx: RuntimeContext, loaded: ReadonlyMap<string, LoadedComponent>): Promise<ResolvedCallers> {
  // Every entry and token is read at once (start-up waits for the slowest read, not for their sum);
  // the results keep the configured order.
  const [fromEntries, fromDocuments] = await Promise.all([
    Promise.all(
      ctx.options.apiTokens.map(async (entry): Promise<ResolvedCallers> => {
        try {
          return { tokens: await resolveCallerTokens([entry], ctx.options.appId, loaded, ctx.references), failed: [] };
        } catch (e) {
          return { tokens: [], failed: [{ entry, reason: describeError(e) }] };
        }
      }),
    ),
    Promise.all(ctx.options.resources.callers.map((caller) => resolveCallerDocument(caller, loaded, ctx.references))),
  ]);
  const resolved: ResolvedCallers = { tokens: [], failed: [] };
  for (const part of [...fromEntries, ...fromDocuments]) {
    resolved.tokens.push(...part.tokens);
    resolved.failed.push(...part.failed);
  }
  const all = resolved.tokens;
  for (const [i, a] of all.entries()) {
    const clash = all.slice(i + 1).find((b) => b.token === a.token && (b.appId !== a.appId || b.role !== a.role));
    if (clash !== undefined) {
      throw new ComponentInitError(`callers ${a.appId} (${a.role}) and ${clash.appId} (${clash.role}) use the same token; every caller needs its own`);
    }
  }
  return resolved;
}

/**
 * Resolves a `Caller` document's tokens: literals, Key Vault references, or `secretKeyRef`s through
 * its `auth.secretStore`.
 * @throws {@link ComponentInitError} naming the file and token (never a value)
 */
async function resolveCallerDocument(caller: CallerDefinition, loaded: ReadonlyMap<string, LoadedComponent>, references: KeyVaultReferenceResolver): Promise<ResolvedCallers> {
  const settled = await Promise.allSettled(caller.tokens.map((source, i) => resolveCallerDocumentToken(caller, i, source, loaded, references)));
  const resolved: ResolvedCallers = { tokens: [], failed: [] };
  for (const [i, result] of settled.entries()) {
    if (result.status === "fulfilled") resolved.tokens.push(result.value);
    else resolved.failed.push({ entry: `caller:${caller.appId}#${i}`, reason: describeError(result.reason) });
  }
  return resolved;
}

/** One token of a `Caller` document. */
async function resolveCallerDocumentToken(
  caller: CallerDefinition,
  i: number,
  source: CallerDefinition["tokens"][number],
  loaded: ReadonlyMap<string, LoadedComponent>,
  references: KeyVaultReferenceResolver,
): Promise<CallerToken> {
  const where = `${caller.file}: caller ${caller.appId}: spec.tokens[${i}]`;
  const entry = `caller:${caller.appId}#${i}`;
  if (source.kind === "value" && !isKeyVaultReference(source.value)) return { appId: caller.appId, role: caller.role, entry, token: source.value };
  const secret: SecretSource =
    source.kind === "value"
      ? { kind: "reference", value: source.value }
      : { kind: "store", store: caller.secretStore ?? "", secret: source.secretKeyRef.name, key: source.secretKeyRef.key };
  const { value, dependency } = await resolveSecret(references, loaded, secret, where);
  return { appId: caller.appId, role: caller.role, entry, token: value, dependency };
}

/** Where one secret value comes from: a `@Microsoft.KeyVault(...)` reference, or a key of a secret in a loaded store. */
type SecretSource =
  | { kind: "reference"; value: string }
  | {
      kind: "store";
      store: string;
      secret: string;
      key: string;
      /** A read already under way (a component requests all its secrets at once). */
      read?: Promise<GetSecretResponse>;
      /** Component metadata may be empty (daprd then leaves the field unset); a token may not. */
      allowEmpty?: boolean;
    };

/**
 * Resolves one secret for a component field, a `Caller` document token or an `API_TOKEN` entry (the
 * one path all three take), with the dependency refresh watches.
 * @param where - what is being resolved, for the error (`<file>: component x: spec.metadata y`)
 * @throws {@link ComponentInitError} naming the store, secret and key, never the value
 */
async function resolveSecret(
  references: KeyVaultReferenceResolver | undefined,
  loaded: ReadonlyMap<string, LoadedComponent>,
  source: SecretSource,
  where: string,
): Promise<{ value: string; dependency: SecretDependency }> {
  if (source.kind === "reference") {
    if (references === undefined) throw new ComponentInitError(`${where}: Key Vault references cannot be resolved here`);
    try {
      const { value, reference, version } = await references.resolve(source.value);
      return { value, dependency: { kind: "reference", vaultUrl: reference.vaultUrl, secret: reference.secretName, pinned: reference.version !== undefined, version } };
    } catch (e) {
      throw new ComponentInitError(`${where}: cannot resolve the Key Vault reference: ${describeError(e)}`, { cause: e });
    }
  }
  const store = loaded.get(source.store);
  if (store === undefined || store.kind !== "secretstores") throw new ComponentInitError(`${where}: secret store "${source.store}" is not loaded`);
  let data: Record<string, string>;
  let version: SecretVersionInfo | undefined;
  try {
    ({ data, version } = await (source.read ?? store.store.getSecret({ name: source.secret, metadata: {} })));
  } catch (e) {
    throw new ComponentInitError(`${where}: cannot read secret "${source.secret}" from "${source.store}": ${describeError(e)}`, { cause: e });
  }
  const value = data[source.key];
  if (value === undefined || (value === "" && source.allowEmpty !== true)) {
    throw new ComponentInitError(`${where}: secret "${source.secret}" in "${source.store}" has no value for key "${source.key}"`);
  }
  return { value, dependency: { kind: "store", store: source.store, secret: source.secret, version } };
}

const SECRET_REFERENCE = /^secretstore:([^/]+)\/([^/]+)(?:\/(.+))?$/;

/**
 * Turns `API_TOKEN` entries into caller tokens, reading referenced ones from secret stores.
 * @throws {@link ComponentInitError} naming the entry's store and secret (never a value)
 */
export async function resolveCallerTokens(
  entries: readonly string[],
  defaultAppId: string,
  loaded: ReadonlyMap<string, LoadedComponent>,
  references?: KeyVaultReferenceResolver,
): Promise<CallerToken[]> {
  const callers: CallerToken[] = [];
  for (const entry of entries) {
    const { appId, role, value } = splitCallerEntry(entry, defaultAppId);
    const stored = SECRET_REFERENCE.exec(value);
    let source: SecretSource | undefined;
    if (references !== undefined && isKeyVaultReference(value)) source = { kind: "reference", value };
    else if (stored !== null) {
      const [, storeName = "", secretName = "", key = secretName] = stored;
      source = { kind: "store", store: storeName, secret: secretName, key };
    }
    if (source === undefined) {
      callers.push({ appId, role, entry, token: value });
      continue;
    }
    const resolved = await resolveSecret(references, loaded, source, "setting API_TOKEN");
    callers.push({ appId, role, entry, token: resolved.value, dependency: resolved.dependency });
  }
  return callers;
}

/**
 * Splits `appId[:role]=token`; a token may itself contain `=`, so only an app-id-shaped prefix counts.
 * The role defaults to `writer`.
 */
export function splitCallerEntry(entry: string, defaultAppId: string): { appId: string; role: CallerRole; value: string } {
  const match = /^([A-Za-z0-9][A-Za-z0-9_.-]*)(?::(reader|writer|admin))?=(.+)$/.exec(entry);
  if (match !== null && !match[3]?.startsWith("=")) {
    const role = CALLER_ROLES.find((r) => r === match[2]) ?? "writer";
    return { appId: match[1] ?? defaultAppId, role, value: match[3] ?? "" };
  }
  return { appId: defaultAppId, role: "writer", value: entry };
}
