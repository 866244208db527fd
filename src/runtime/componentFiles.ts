/**
 * @module Loading Dapr `Component` and `Configuration` YAML documents from the components folder.
 *
 * Parsing is pure ({@link parseResourceDocuments}); {@link loadResources} only adds the file reads.
 * Every validation error names the file and the field, so a broken deployment says what to fix.
 */
import { readdir, readFile } from "node:fs/promises";
import * as path from "node:path";
import { parseAllDocuments } from "yaml";
import { isRecord } from "../shared/guards";

/** A `secretKeyRef` on a metadata item. `key` defaults to `name`, as in Dapr. */
export interface SecretKeyRef {
  name: string;
  key: string;
}

/** One `spec.metadata` item: a literal value, a secret reference or an environment reference. */
export type MetadataItem =
  | { name: string; kind: "value"; value: string }
  | { name: string; kind: "secretKeyRef"; secretKeyRef: SecretKeyRef }
  | { name: string; kind: "envRef"; envRef: string };

/** A validated Dapr Component. */
export interface ComponentDefinition {
  file: string;
  name: string;
  namespace: string | undefined;
  type: string;
  version: string;
  ignoreErrors: boolean;
  metadata: MetadataItem[];
  /** `auth.secretStore`: the store `secretKeyRef`s resolve through. */
  secretStore: string | undefined;
  /** App-ids allowed to use it; empty means all. */
  scopes: string[];
}

/** One `spec.secrets.scopes` entry of a Configuration. */
export interface SecretScope {
  storeName: string;
  defaultAccess: "allow" | "deny";
  allowedSecrets: string[];
  deniedSecrets: string[];
}

/** A validated Dapr Configuration (only what vaultstate uses). */
export interface ConfigurationDefinition {
  file: string;
  name: string;
  /** App-ids it applies to; empty means every app-id without a Configuration of its own. */
  scopes: string[];
  secretScopes: SecretScope[];
}

/** What a caller may do: `reader` reads secrets and state, `writer` also writes state, `admin` also manages. */
export type CallerRole = "reader" | "writer" | "admin";

/** One API token of a caller: a literal (or Key Vault reference), or a `secretKeyRef`. */
export type CallerTokenSource = { kind: "value"; value: string } | { kind: "secretKeyRef"; secretKeyRef: SecretKeyRef };

/** A validated vaultstate `Caller`: who may call, how they prove it, what they may do. */
export interface CallerDefinition {
  file: string;
  /** `metadata.name`: the app-id the caller acts as. */
  appId: string;
  role: CallerRole;
  tokens: CallerTokenSource[];
  /** Microsoft Entra ID principals: matched by `oid`, or by `azp`/`appid` for client ids. */
  entraId: { objectIds: string[]; clientIds: string[] } | undefined;
  secretStore: string | undefined;
}

/** The documents found in the components folder. */
export interface Resources {
  components: ComponentDefinition[];
  configurations: ConfigurationDefinition[];
  callers: CallerDefinition[];
}

/** A component or configuration file is invalid; the message names the file and the field. */
export class ResourceFileError extends Error {
  override readonly name = "ResourceFileError";
  constructor(
    readonly file: string,
    readonly field: string,
    detail: string,
  ) {
    super(`${file}: ${field}: ${detail}`);
  }
}

type Json = Record<string, unknown>;


/** A YAML scalar as Dapr's `DynamicValue` renders it: strings as is, numbers/bools as text. */
function scalarText(v: unknown): string | undefined {
  if (typeof v === "string") return v;
  if (typeof v === "number" || typeof v === "boolean") return String(v);
  return undefined;
}

function stringField(file: string, field: string, v: unknown, required: boolean): string | undefined {
  if (v === undefined || v === null) {
    if (required) throw new ResourceFileError(file, field, "is required");
    return undefined;
  }
  if (typeof v !== "string" || (required && v.trim() === "")) {
    throw new ResourceFileError(file, field, required ? "must be a non-empty string" : "must be a string");
  }
  return v;
}

function stringList(file: string, field: string, v: unknown): string[] {
  if (v === undefined || v === null) return [];
  if (!Array.isArray(v) || !v.every((x): x is string => typeof x === "string")) {
    throw new ResourceFileError(file, field, "must be a list of strings");
  }
  return v;
}

/** A Kubernetes-style resource name (what Dapr accepts as a component name). */
const NAME_PATTERN = /^[a-zA-Z0-9]([-a-zA-Z0-9_.]{0,251}[a-zA-Z0-9])?$/;

function parseComponent(file: string, doc: Json): ComponentDefinition {
  const meta = isRecord(doc.metadata) ? doc.metadata : undefined;
  if (meta === undefined) throw new ResourceFileError(file, "metadata", "is required");
  const name = stringField(file, "metadata.name", meta.name, true) ?? "";
  if (!NAME_PATTERN.test(name)) throw new ResourceFileError(file, "metadata.name", `"${name}" is not a valid component name`);
  const where = `component ${name}`;
  const spec = isRecord(doc.spec) ? doc.spec : undefined;
  if (spec === undefined) throw new ResourceFileError(file, `${where}: spec`, "is required");
  const type = stringField(file, `${where}: spec.type`, spec.type, true) ?? "";
  const version = stringField(file, `${where}: spec.version`, spec.version, true) ?? "";
  let ignoreErrors = false;
  if (spec.ignoreErrors !== undefined) {
    if (typeof spec.ignoreErrors !== "boolean") throw new ResourceFileError(file, `${where}: spec.ignoreErrors`, "must be a boolean");
    ignoreErrors = spec.ignoreErrors;
  }
  const rawItems = spec.metadata ?? [];
  if (!Array.isArray(rawItems)) throw new ResourceFileError(file, `${where}: spec.metadata`, "must be a list");
  const seen = new Set<string>();
  const metadata = rawItems.map((item, i): MetadataItem => {
    const field = `${where}: spec.metadata[${i}]`;
    if (!isRecord(item)) throw new ResourceFileError(file, field, "must be a mapping with name and value");
    const itemName = stringField(file, `${field}.name`, item.name, true) ?? "";
    if (seen.has(itemName.toLowerCase())) throw new ResourceFileError(file, `${field}.name`, `"${itemName}" is set twice`);
    seen.add(itemName.toLowerCase());
    const sources = ["value", "secretKeyRef", "envRef"].filter((k) => item[k] !== undefined);
    if (sources.length > 1) throw new ResourceFileError(file, `${field} (${itemName})`, "set only one of value, secretKeyRef, envRef");
    if (isRecord(item.secretKeyRef)) {
      const refName = stringField(file, `${field} (${itemName}).secretKeyRef.name`, item.secretKeyRef.name, true) ?? "";
      const key = stringField(file, `${field} (${itemName}).secretKeyRef.key`, item.secretKeyRef.key, false);
      return { name: itemName, kind: "secretKeyRef", secretKeyRef: { name: refName, key: key === undefined || key === "" ? refName : key } };
    }
    if (item.secretKeyRef !== undefined) throw new ResourceFileError(file, `${field} (${itemName}).secretKeyRef`, "must be a mapping with name and key");
    if (item.envRef !== undefined) {
      return { name: itemName, kind: "envRef", envRef: stringField(file, `${field} (${itemName}).envRef`, item.envRef, true) ?? "" };
    }
    const value = item.value === undefined || item.value === null ? "" : scalarText(item.value);
    if (value === undefined) throw new ResourceFileError(file, `${field} (${itemName}).value`, "must be a string, number or boolean");
    return { name: itemName, kind: "value", value };
  });
  // Go's JSON decoding of `auth.secretStore` is case-insensitive, and the docs spell it `secretstore`.
  let secretStore: string | undefined;
  if (doc.auth !== undefined) {
    if (!isRecord(doc.auth)) throw new ResourceFileError(file, `${where}: auth`, "must be a mapping");
    const key = Object.keys(doc.auth).find((k) => k.toLowerCase() === "secretstore");
    secretStore = key === undefined ? undefined : stringField(file, `${where}: auth.secretStore`, doc.auth[key], true);
  }
  if (secretStore === undefined && metadata.some((m) => m.kind === "secretKeyRef")) {
    throw new ResourceFileError(file, `${where}: auth.secretStore`, "is required when a metadata item uses secretKeyRef");
  }
  return {
    file,
    name,
    namespace: stringField(file, `${where}: metadata.namespace`, meta.namespace, false),
    type,
    version,
    ignoreErrors,
    metadata,
    secretStore,
    scopes: stringList(file, `${where}: scopes`, doc.scopes),
  };
}

function parseConfiguration(file: string, doc: Json): ConfigurationDefinition {
  const meta = isRecord(doc.metadata) ? doc.metadata : {};
  const name = stringField(file, "metadata.name", meta.name, true) ?? "";
  const where = `configuration ${name}`;
  const spec = isRecord(doc.spec) ? doc.spec : {};
  const secrets = spec.secrets;
  const rawScopes = isRecord(secrets) ? (secrets.scopes ?? []) : [];
  if (!Array.isArray(rawScopes)) throw new ResourceFileError(file, `${where}: spec.secrets.scopes`, "must be a list");
  const stores = new Set<string>();
  const secretScopes = rawScopes.map((entry, i): SecretScope => {
    const field = `${where}: spec.secrets.scopes[${i}]`;
    if (!isRecord(entry)) throw new ResourceFileError(file, field, "must be a mapping");
    const storeName = stringField(file, `${field}.storeName`, entry.storeName, true) ?? "";
    // Dapr refuses to load a configuration that scopes the same store twice.
    if (stores.has(storeName)) throw new ResourceFileError(file, `${field}.storeName`, `"${storeName}" appears twice`);
    stores.add(storeName);
    const access = stringField(file, `${field}.defaultAccess`, entry.defaultAccess, false) ?? "allow";
    const lowered = access.toLowerCase();
    if (lowered !== "allow" && lowered !== "deny" && access !== "") {
      throw new ResourceFileError(file, `${field}.defaultAccess`, `must be "allow" or "deny", got "${access}"`);
    }
    return {
      storeName,
      defaultAccess: lowered === "deny" ? "deny" : "allow",
      allowedSecrets: stringList(file, `${field}.allowedSecrets`, entry.allowedSecrets),
      deniedSecrets: stringList(file, `${field}.deniedSecrets`, entry.deniedSecrets),
    };
  });
  return { file, name, scopes: stringList(file, `${where}: scopes`, doc.scopes), secretScopes };
}

const CALLER_API_VERSION = "vaultstate.io/v1alpha1";
/** Every caller role, lowest first. */
export const CALLER_ROLES: readonly CallerRole[] = ["reader", "writer", "admin"];

function parseCaller(file: string, doc: Json): CallerDefinition {
  const meta = isRecord(doc.metadata) ? doc.metadata : undefined;
  if (meta === undefined) throw new ResourceFileError(file, "metadata", "is required");
  const appId = stringField(file, "metadata.name", meta.name, true) ?? "";
  if (!NAME_PATTERN.test(appId)) throw new ResourceFileError(file, "metadata.name", `"${appId}" is not a valid app-id`);
  const where = `caller ${appId}`;
  const spec = isRecord(doc.spec) ? doc.spec : undefined;
  if (spec === undefined) throw new ResourceFileError(file, `${where}: spec`, "is required");
  const role = CALLER_ROLES.find((r) => r === spec.role);
  if (role === undefined) throw new ResourceFileError(file, `${where}: spec.role`, `must be one of ${CALLER_ROLES.join(", ")}`);
  const rawTokens = spec.tokens ?? [];
  if (!Array.isArray(rawTokens)) throw new ResourceFileError(file, `${where}: spec.tokens`, "must be a list");
  const tokens = rawTokens.map((item, i): CallerTokenSource => {
    const field = `${where}: spec.tokens[${i}]`;
    if (!isRecord(item)) throw new ResourceFileError(file, field, "must be a mapping with value or secretKeyRef");
    if (item.value !== undefined && item.secretKeyRef !== undefined) throw new ResourceFileError(file, field, "set only one of value, secretKeyRef");
    if (isRecord(item.secretKeyRef)) {
      const name = stringField(file, `${field}.secretKeyRef.name`, item.secretKeyRef.name, true) ?? "";
      const key = stringField(file, `${field}.secretKeyRef.key`, item.secretKeyRef.key, false);
      return { kind: "secretKeyRef", secretKeyRef: { name, key: key === undefined || key === "" ? name : key } };
    }
    const value = stringField(file, `${field}.value`, item.value, true) ?? "";
    return { kind: "value", value };
  });
  let entraId: CallerDefinition["entraId"];
  if (spec.entraId !== undefined) {
    if (!isRecord(spec.entraId)) throw new ResourceFileError(file, `${where}: spec.entraId`, "must be a mapping with objectIds and/or clientIds");
    entraId = {
      objectIds: stringList(file, `${where}: spec.entraId.objectIds`, spec.entraId.objectIds),
      clientIds: stringList(file, `${where}: spec.entraId.clientIds`, spec.entraId.clientIds),
    };
    if (entraId.objectIds.length + entraId.clientIds.length === 0) throw new ResourceFileError(file, `${where}: spec.entraId`, "needs at least one objectId or clientId");
  }
  if (tokens.length === 0 && entraId === undefined) throw new ResourceFileError(file, `${where}: spec`, "needs tokens or entraId");
  let secretStore: string | undefined;
  if (doc.auth !== undefined) {
    if (!isRecord(doc.auth)) throw new ResourceFileError(file, `${where}: auth`, "must be a mapping");
    const key = Object.keys(doc.auth).find((k) => k.toLowerCase() === "secretstore");
    secretStore = key === undefined ? undefined : stringField(file, `${where}: auth.secretStore`, doc.auth[key], true);
  }
  if (secretStore === undefined && tokens.some((t) => t.kind === "secretKeyRef")) {
    throw new ResourceFileError(file, `${where}: auth.secretStore`, "is required when a token uses secretKeyRef");
  }
  return { file, appId, role, tokens, entraId, secretStore };
}

/**
 * Parses the YAML documents of one file (pure). Documents of other kinds (e.g. Subscription) are
 * ignored, as daprd's disk loader ignores them.
 * @throws {@link ResourceFileError} naming the file and field
 */
export function parseResourceDocuments(file: string, text: string): Resources {
  const resources: Resources = { components: [], configurations: [], callers: [] };
  for (const document of parseAllDocuments(text)) {
    if (document.errors.length > 0) {
      throw new ResourceFileError(file, "yaml", document.errors[0]?.message.split("\n")[0] ?? "invalid YAML");
    }
    let doc: unknown;
    try {
      // toJS resolves aliases; yaml caps their expansion (maxAliasCount), so an alias bomb fails here.
      doc = document.toJS({ maxAliasCount: 100 });
    } catch (e) {
      throw new ResourceFileError(file, "yaml", e instanceof Error ? (e.message.split("\n")[0] ?? "invalid YAML") : "invalid YAML");
    }
    if (doc === null || doc === undefined) continue;
    if (!isRecord(doc)) throw new ResourceFileError(file, "document", "must be a mapping");
    if (doc.kind === "Component") {
      checkApiVersion(file, doc);
      resources.components.push(parseComponent(file, doc));
    } else if (doc.kind === "Configuration") {
      checkApiVersion(file, doc);
      resources.configurations.push(parseConfiguration(file, doc));
    } else if (doc.kind === "Caller") {
      if (doc.apiVersion !== CALLER_API_VERSION) {
        throw new ResourceFileError(file, "apiVersion", `a Caller must be "${CALLER_API_VERSION}", got ${JSON.stringify(doc.apiVersion ?? null)}`);
      }
      resources.callers.push(parseCaller(file, doc));
    }
  }
  return resources;
}

function checkApiVersion(file: string, doc: Json): void {
  if (doc.apiVersion !== "dapr.io/v1alpha1") {
    throw new ResourceFileError(file, "apiVersion", `must be "dapr.io/v1alpha1", got ${JSON.stringify(doc.apiVersion ?? null)}`);
  }
}

/**
 * Reads every `.yaml`/`.yml` file of a folder (not recursive, sorted by name) and validates the
 * whole set: component names are unique (per namespace), as are Configuration app-id scopes.
 * @throws {@link ResourceFileError} naming the file and field
 */
export async function loadResources(folder: string, options: { namespace?: string } = {}): Promise<Resources> {
  let entries: string[];
  try {
    entries = (await readdir(folder)).filter((f) => /\.ya?ml$/i.test(f)).sort();
  } catch (e) {
    throw new ResourceFileError(folder, "COMPONENTS_PATH", `cannot read the folder (${(e as NodeJS.ErrnoException).code ?? "error"})`);
  }
  const all: Resources = { components: [], configurations: [], callers: [] };
  for (const entry of entries) {
    const file = path.join(folder, entry);
    const parsed = parseResourceDocuments(file, await readFile(file, "utf8"));
    all.components.push(...parsed.components);
    all.configurations.push(...parsed.configurations);
    all.callers.push(...parsed.callers);
  }
  return selectResources(all, options.namespace);
}

/**
 * Applies namespace filtering and the cross-file uniqueness rules (pure).
 * @throws {@link ResourceFileError} on duplicates
 */
export function selectResources(all: Resources, namespace: string | undefined): Resources {
  const components = all.components.filter((c) => namespace === undefined || c.namespace === undefined || c.namespace === namespace);
  const byName = new Map<string, ComponentDefinition>();
  for (const c of components) {
    const previous = byName.get(c.name);
    if (previous !== undefined) {
      throw new ResourceFileError(c.file, "metadata.name", `component "${c.name}" is also defined in ${previous.file}`);
    }
    byName.set(c.name, c);
  }
  const scopeOwners = new Map<string, ConfigurationDefinition>();
  for (const config of all.configurations) {
    for (const appId of config.scopes.length === 0 ? ["*"] : config.scopes) {
      const previous = scopeOwners.get(appId);
      if (previous !== undefined) {
        throw new ResourceFileError(config.file, "scopes", `app-id ${appId === "*" ? "(all)" : appId} already has configuration ${previous.name} (${previous.file})`);
      }
      scopeOwners.set(appId, config);
    }
  }
  const callers = new Map<string, CallerDefinition>();
  for (const caller of all.callers) {
    const previous = callers.get(caller.appId);
    if (previous !== undefined) throw new ResourceFileError(caller.file, "metadata.name", `caller "${caller.appId}" is also defined in ${previous.file}`);
    callers.set(caller.appId, caller);
  }
  return { components, configurations: all.configurations, callers: all.callers };
}
