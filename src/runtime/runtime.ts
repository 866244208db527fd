/**
 * @module The component runtime: loads component files, resolves references, initialises providers
 * in dependency order, and answers lookups per caller app-id (component `scopes`).
 */
import { findProvider, type ProviderContext, type ProviderEntry } from "../components/registry";
import type { SecretStore } from "../components/secretstores/secretStore";
import { isTransactionalStateStore, type StateStore } from "../components/state/stateStore";
import { isExposable } from "../components/secretstores/local/env/envSecretStore";
import { getProperty, isMetadataError } from "../components/metadata";
import type { StateComponent } from "../api/stateApi";
import { type KeyPrefixStrategy, parseKeyPrefix } from "../api/stateKeys";
import { describeError, type Logger } from "../observability/logger";
import { type ComponentDefinition, type ConfigurationDefinition, type Resources, ResourceFileError } from "./componentFiles";
import { type CachedSecretStore, createCachingSecretStore, createCounters, type SecretCacheCounters, type SecretCacheOptions } from "./secretCache";
import { createKeyVaultReferenceResolver, isKeyVaultReference, type KeyVaultReferenceResolver } from "./keyVaultReferences";
import { configurationFor } from "./secretScopes";

/** A loaded, initialised component. */
export type LoadedComponent =
  | { kind: "secretstores"; definition: ComponentDefinition; store: CachedSecretStore }
  | { kind: "state"; definition: ComponentDefinition; store: StateStore; keyPrefix: KeyPrefixStrategy };

/** A caller credential: an API token and the app-id it acts as. */
export interface CallerToken {
  appId: string;
  token: string;
}

/** The runtime's view of components, configurations and callers. Immutable once built. */
export interface Runtime {
  /** The app's own app-id (metadata `id`, health `appid`). */
  readonly appId: string;
  readonly components: readonly LoadedComponent[];
  readonly callers: readonly CallerToken[];
  /** Secret stores visible to an app-id, by name. */
  secretStores(appId: string): ReadonlyMap<string, SecretStore>;
  /** State stores visible to an app-id, by name, with their key prefix strategy. */
  stateStores(appId: string): ReadonlyMap<string, StateComponent>;
  /** Dapr namespace (`NAMESPACE`), for the `namespace` key prefix strategy. */
  readonly namespace: string | undefined;
  /** The Configuration that applies to an app-id. */
  configuration(appId: string): ConfigurationDefinition | undefined;
  /** Dapr `capabilities` of a component as listed by `/v1.0/metadata`. */
  capabilities(component: LoadedComponent): string[];
  close(): Promise<void>;
}

/** What building a runtime needs. */
export interface RuntimeOptions {
  appId: string;
  namespace?: string;
  resources: Resources;
  /** Raw `API_TOKEN` entries: `[appId=]token` or `[appId=]secretstore:<store>/<secret>[/<key>]`. */
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

/**
 * Builds the runtime: validates types, initialises components in reference order (a store used by
 * `auth.secretStore` first), resolves caller tokens.
 * @throws {@link ResourceFileError} for unknown types or broken references
 * @throws {@link ComponentInitError} when a component without `ignoreErrors` fails to initialise
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

  const loaded = new Map<string, LoadedComponent>();
  const skipped = new Set<string>();
  const pending = [...resources.components];
  const initTimeout = options.initTimeoutInMs ?? DEFAULT_INIT_TIMEOUT_IN_MS;
  const cacheCounters = options.secretCache?.counters ?? createCounters();
  const references = createKeyVaultReferenceResolver({
    clientId: options.referenceClientId,
    wrap: (store, name) => createCachingSecretStore(store, name, { options: options.secretCache?.options, counters: cacheCounters, logger }),
  });
  try {
    while (pending.length > 0) {
      const index = pending.findIndex((d) => d.secretStore === undefined || loaded.has(d.secretStore) || skipped.has(d.secretStore));
      if (index === -1) {
        const names = pending.map((d) => d.name).join(", ");
        throw new ResourceFileError(pending[0]?.file ?? "", "auth.secretStore", `components reference each other in a cycle: ${names}`);
      }
      const [def] = pending.splice(index, 1);
      if (def === undefined) break;
      const entry = entries.get(def.name);
      if (entry === undefined) continue;
      try {
        if (def.secretStore !== undefined && skipped.has(def.secretStore)) {
          throw new ComponentInitError(`${def.file}: component ${def.name}: auth.secretStore "${def.secretStore}" failed to initialise`);
        }
        const properties = await resolveMetadata(def, loaded, options.providerContext.environment, references);
        const component = await initComponent(def, entry, properties, { ...options.providerContext, version: def.version }, initTimeout, (store) =>
          createCachingSecretStore(store, def.name, { options: options.secretCache?.options, counters: cacheCounters, logger }),
        );
        loaded.set(def.name, component);
        logger.info(`component ${def.name} (${def.type}/${def.version}) initialised`);
      } catch (e) {
        if (!def.ignoreErrors) throw e;
        skipped.add(def.name);
        logger.warn(`component ${def.name} skipped (ignoreErrors): ${describeError(e)}`);
      }
    }
  } catch (e) {
    await closeAll([...loaded.values()], logger);
    await references.close();
    throw e;
  }

  const components = [...loaded.values()];
  let callers: CallerToken[];
  try {
    callers = await resolveCallerTokens(options.apiTokens, options.appId, loaded, references);
  } catch (e) {
    await closeAll(components, logger);
    await references.close();
    throw e;
  }
  return createRuntime(options.appId, options.namespace, components, resources.configurations, callers, logger, references);
}

function createRuntime(
  appId: string,
  namespace: string | undefined,
  components: LoadedComponent[],
  configurations: readonly ConfigurationDefinition[],
  callers: CallerToken[],
  logger: Logger,
  references: KeyVaultReferenceResolver,
): Runtime {
  const visible = (component: LoadedComponent, caller: string): boolean =>
    component.definition.scopes.length === 0 || component.definition.scopes.includes(caller);
  const secretStoreCache = new Map<string, ReadonlyMap<string, SecretStore>>();
  const stateStoreCache = new Map<string, ReadonlyMap<string, StateComponent>>();
  return {
    appId,
    namespace,
    components,
    callers,
    secretStores(caller) {
      let stores = secretStoreCache.get(caller);
      if (stores === undefined) {
        const map = new Map<string, SecretStore>();
        for (const c of components) if (c.kind === "secretstores" && visible(c, caller)) map.set(c.definition.name, c.store);
        stores = map;
        secretStoreCache.set(caller, stores);
      }
      return stores;
    },
    stateStores(caller) {
      let stores = stateStoreCache.get(caller);
      if (stores === undefined) {
        const map = new Map<string, StateComponent>();
        for (const c of components) if (c.kind === "state" && visible(c, caller)) map.set(c.definition.name, { store: c.store, keyPrefix: c.keyPrefix });
        stores = map;
        stateStoreCache.set(caller, stores);
      }
      return stores;
    },
    configuration: (caller) => configurationFor(caller, configurations),
    capabilities(component) {
      const features: string[] = [...component.store.features()];
      // daprd reports ACTOR for state stores that can back actors (ETAG + TRANSACTIONAL).
      if (component.kind === "state" && features.includes("ETAG") && isTransactionalStateStore(component.store)) features.push("ACTOR");
      return features;
    },
    async close() {
      await closeAll(components, logger);
      await references.close();
    },
  };
}

async function closeAll(components: LoadedComponent[], logger: Logger): Promise<void> {
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

async function initComponent(
  def: ComponentDefinition,
  entry: ProviderEntry,
  properties: Record<string, string>,
  ctx: ProviderContext,
  timeoutInMs: number,
  cache: (store: SecretStore) => CachedSecretStore,
): Promise<LoadedComponent> {
  const abortSignal = AbortSignal.timeout(timeoutInMs);
  let component: LoadedComponent;
  if (entry.kind === "secretstores") {
    component = { kind: "secretstores", definition: def, store: cache(entry.create(ctx)) };
  } else {
    let keyPrefix: KeyPrefixStrategy;
    try {
      keyPrefix = parseKeyPrefix(getProperty(properties, "keyPrefix"));
    } catch (e) {
      throw new ResourceFileError(def.file, `component ${def.name}: spec.metadata keyPrefix`, e instanceof Error ? e.message : "invalid keyPrefix");
    }
    component = { kind: "state", definition: def, store: entry.create(ctx), keyPrefix };
  }
  try {
    await component.store.init(properties, { abortSignal });
  } catch (e) {
    if (isMetadataError(e)) throw new ResourceFileError(def.file, `component ${def.name}: spec.metadata ${e.field}`, e.message);
    throw new ComponentInitError(`${def.file}: component ${def.name} (${def.type}) failed to initialise: ${describeError(e)}`, { cause: e });
  }
  return component;
}

async function resolveMetadata(
  def: ComponentDefinition,
  loaded: ReadonlyMap<string, LoadedComponent>,
  environment: Readonly<Record<string, string>>,
  references: KeyVaultReferenceResolver,
): Promise<Record<string, string>> {
  const properties: Record<string, string> = {};
  const fetched = new Map<string, Record<string, string>>();
  for (const item of def.metadata) {
    if (item.kind === "value" && isKeyVaultReference(item.value)) {
      try {
        properties[item.name] = await references.resolve(item.value);
      } catch (e) {
        throw new ComponentInitError(`${def.file}: component ${def.name}: spec.metadata ${item.name}: cannot resolve the Key Vault reference: ${describeError(e)}`, { cause: e });
      }
    } else if (item.kind === "value") {
      properties[item.name] = item.value;
    } else if (item.kind === "envRef") {
      if (!isExposable(item.envRef)) {
        throw new ResourceFileError(def.file, `component ${def.name}: spec.metadata ${item.name}.envRef`, `environment variable ${item.envRef} may not be referenced`);
      }
      // As daprd: an unset variable yields no value, so one component file can serve environments
      // that set the variable (an emulator endpoint) and environments that do not (Azure).
      const value = environment[item.envRef];
      if (value !== undefined && value !== "") properties[item.name] = value;
    } else {
      const storeName = def.secretStore ?? "";
      const store = loaded.get(storeName);
      if (store === undefined || store.kind !== "secretstores") {
        throw new ResourceFileError(def.file, `component ${def.name}: auth.secretStore`, `secret store "${storeName}" is not loaded`);
      }
      const ref = item.secretKeyRef;
      // One read per secret while a component is processed, as daprd caches them.
      let data = fetched.get(ref.name);
      if (data === undefined) {
        try {
          data = (await store.store.getSecret({ name: ref.name, metadata: def.namespace !== undefined ? { namespace: def.namespace } : {} })).data;
        } catch (e) {
          throw new ComponentInitError(`${def.file}: component ${def.name}: spec.metadata ${item.name}: cannot read secret "${ref.name}" from secret store "${storeName}": ${describeError(e)}`, { cause: e });
        }
        fetched.set(ref.name, data);
      }
      const value = data[ref.key];
      if (value === undefined) {
        throw new ComponentInitError(`${def.file}: component ${def.name}: spec.metadata ${item.name}: secret "${ref.name}" in store "${storeName}" has no key "${ref.key}"`);
      }
      // daprd does not apply empty secret values.
      if (value !== "") properties[item.name] = value;
    }
  }
  return properties;
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
    const { appId, value } = splitCallerEntry(entry, defaultAppId);
    if (references !== undefined && isKeyVaultReference(value)) {
      try {
        callers.push({ appId, token: await references.resolve(value) });
      } catch (e) {
        throw new ComponentInitError(`setting API_TOKEN: cannot resolve the Key Vault reference for app-id ${appId}: ${describeError(e)}`, { cause: e });
      }
      continue;
    }
    const reference = SECRET_REFERENCE.exec(value);
    if (reference === null) {
      callers.push({ appId, token: value });
      continue;
    }
    const [, storeName = "", secretName = "", key = secretName] = reference;
    const store = loaded.get(storeName);
    if (store === undefined || store.kind !== "secretstores") {
      throw new ComponentInitError(`setting API_TOKEN: secret store "${storeName}" is not loaded`);
    }
    let data: Record<string, string>;
    try {
      data = (await store.store.getSecret({ name: secretName, metadata: {} })).data;
    } catch (e) {
      throw new ComponentInitError(`setting API_TOKEN: cannot read secret "${secretName}" from "${storeName}": ${describeError(e)}`, { cause: e });
    }
    const token = data[key];
    if (token === undefined || token === "") throw new ComponentInitError(`setting API_TOKEN: secret "${secretName}" in "${storeName}" has no value for key "${key}"`);
    callers.push({ appId, token });
  }
  return callers;
}

/** Splits `appId=token`; a token may itself contain `=`, so only an app-id-shaped prefix counts. */
export function splitCallerEntry(entry: string, defaultAppId: string): { appId: string; value: string } {
  const match = /^([A-Za-z0-9][A-Za-z0-9_.-]*)=(.+)$/.exec(entry);
  if (match !== null && !match[2]?.startsWith("=")) return { appId: match[1] ?? defaultAppId, value: match[2] ?? "" };
  return { appId: defaultAppId, value: entry };
}
