/**
 * @module The provider registry: Dapr `spec.type` + `spec.version` → factory, one line per provider.
 *
 * Providers never know their registry name; adding one is a new line here.
 */
import type { AzureClients } from "../../azure/clients";
import { createKeyVaultSecretStore } from "../secretstores/azure/keyvault/keyVaultSecretStore";
import type { SecretStore } from "../secretstores/secretStore";
import { createEnvSecretStore } from "../secretstores/local/env/envSecretStore";
import { createFileSecretStore } from "../secretstores/local/file/fileSecretStore";
import type { StateStore } from "../state/stateStore";
import { createInMemoryStateStore } from "../state/inMemory/inMemoryStateStore";
import { createBlobStateStore } from "../state/azure/blobstorage/blobStateStore";
import { createTableStateStore } from "../state/azure/tablestorage/tableStateStore";

/** What factories may use: nothing read from globals, so tests can build providers freely. */
export interface ProviderContext {
  /** Relative paths in metadata (e.g. `secretsFile`) resolve against it. */
  appRoot: string;
  /** The environment snapshot from settings. */
  environment: Readonly<Record<string, string>>;
  /** The app's Azure client factories (credentials and SDK clients are never process-wide). */
  azure: AzureClients;
  /** The component's `spec.version`, for providers whose versions differ (blob v1/v2 naming). */
  version?: string;
}

/** The component kinds vaultstate serves. */
export type ComponentKind = "secretstores" | "state";

/** A registry entry: the kind, the versions accepted, and a factory. */
export type ProviderEntry =
  | { kind: "secretstores"; versions: readonly string[]; create: (ctx: ProviderContext) => SecretStore }
  | { kind: "state"; versions: readonly string[]; create: (ctx: ProviderContext) => StateStore };

/** The registry table. Keys are Dapr component types. */
export const PROVIDERS: Readonly<Record<string, ProviderEntry>> = {
  "secretstores.azure.keyvault": { kind: "secretstores", versions: ["v1"], create: (ctx) => createReferenceStore(ctx) },
  "secretstores.local.file": { kind: "secretstores", versions: ["v1"], create: (ctx) => createFileSecretStore({ baseDir: ctx.appRoot }) },
  "secretstores.local.env": { kind: "secretstores", versions: ["v1"], create: (ctx) => createEnvSecretStore({ env: ctx.environment }) },
  "state.in-memory": { kind: "state", versions: ["v1"], create: () => createInMemoryStateStore() },
  // v1 and v2 differ only in blob naming (v1 drops the app-id prefix, as Dapr's v1 does).
  "state.azure.blobstorage": { kind: "state", versions: ["v1", "v2"], create: (ctx) => createBlobStateStore({ azure: ctx.azure, naming: ctx.version === "v1" ? "v1" : "v2" }) },
  "state.azure.tablestorage": { kind: "state", versions: ["v1"], create: (ctx) => createTableStateStore({ azure: ctx.azure }) },
};

/**
 * Looks a provider up by type and version.
 * @returns the entry, or a reason naming what is wrong (unknown type or unsupported version)
 */
export function findProvider(type: string, version: string): { entry: ProviderEntry } | { error: string; field: "spec.type" | "spec.version" } {
  const entry = Object.prototype.hasOwnProperty.call(PROVIDERS, type) ? PROVIDERS[type] : undefined;
  if (entry === undefined) {
    return { error: `unknown component type "${type}" (supported: ${Object.keys(PROVIDERS).sort().join(", ")})`, field: "spec.type" };
  }
  if (!entry.versions.includes(version)) {
    return { error: `component type "${type}" has no version "${version}" (supported: ${entry.versions.join(", ")})`, field: "spec.version" };
  }
  return { entry };
}

/**
 * The store `@Microsoft.KeyVault(...)` references are read through (they name a vault, not a
 * component), uninitialised: the runtime initialises one per vault.
 */
export function createReferenceStore(context: ProviderContext): SecretStore {
  return createKeyVaultSecretStore({ getClient: context.azure.secretClient });
}
