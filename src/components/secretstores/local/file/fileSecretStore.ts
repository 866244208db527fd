/**
 * @module `secretstores.local.file`: secrets from a JSON file (development only, like Dapr's).
 */
import { readFile as fsReadFile } from "node:fs/promises";
import * as path from "node:path";
import type { SecretStoreFeature } from "../../../features";
import { type ComponentProperties, getProperty, MetadataError, parseBoolean, requireProperty } from "../../../metadata";
import { type BulkGetSecretResponse, type GetSecretRequest, type GetSecretResponse, SecretNotFoundError, type SecretStore } from "../../secretStore";
import { isRecord } from "../../../../shared/guards";

/** Typed metadata of the local file secret store. */
export interface FileSecretStoreMetadata {
  secretsFile: string;
  nestedSeparator: string;
  multiValued: boolean;
}

/**
 * Parses the file store's metadata (pure).
 * @param baseDir - relative `secretsFile` paths resolve against it (the app root)
 * @throws {@link MetadataError} when `secretsFile` is missing or a flag is not a boolean
 */
export function parseFileSecretStoreMetadata(properties: ComponentProperties, baseDir: string): FileSecretStoreMetadata {
  return {
    secretsFile: path.resolve(baseDir, requireProperty(properties, "secretsFile")),
    nestedSeparator: getProperty(properties, "nestedSeparator") ?? ":",
    multiValued: parseBoolean("multiValued", getProperty(properties, "multiValued"), false),
  };
}

/**
 * Flattens parsed JSON into secrets (pure). Leaves that are not strings are rendered as their JSON
 * text (`5432`, `true`, `null`) instead of Go's `%!s(float64=5432)` quirk.
 * @returns secret name → key/value map
 */
export function flattenSecrets(json: unknown, metadata: Pick<FileSecretStoreMetadata, "nestedSeparator" | "multiValued">): Map<string, Record<string, string>> {
  const secrets = new Map<string, Record<string, string>>();
  if (!isRecord(json)) return secrets;
  const sep = metadata.nestedSeparator;
  if (!metadata.multiValued) {
    for (const [k, v] of flatten(json, "", sep)) secrets.set(k, { [k]: v });
    return secrets;
  }
  for (const [name, value] of Object.entries(json)) {
    if (typeof value === "string") secrets.set(name, { [name]: value });
    else if (isRecord(value)) secrets.set(name, Object.fromEntries(flatten(value, "", sep)));
    // Dapr drops other top-level types in multi-valued mode; so do we.
  }
  return secrets;
}

function* flatten(value: unknown, prefix: string, sep: string): Generator<[string, string]> {
  if (isRecord(value) || Array.isArray(value)) {
    const entries: [string, unknown][] = Array.isArray(value) ? value.map((v, i) => [String(i), v]) : Object.entries(value);
    for (const [k, v] of entries) yield* flatten(v, prefix === "" ? k : `${prefix}${sep}${k}`, sep);
    return;
  }
  yield [prefix, typeof value === "string" ? value : JSON.stringify(value)];
}


/** Dependencies of the file store, injectable for tests. */
export interface FileSecretStoreDeps {
  readFile?: (file: string) => Promise<string>;
  baseDir: string;
}

/**
 * Creates a local file secret store. The file is read at `init` (as Dapr does); a changed file is
 * picked up when the component is rebuilt.
 * @example
 * const store = createFileSecretStore({ baseDir: appRoot() });
 * await store.init({ secretsFile: "components/secrets.json" });
 */
export function createFileSecretStore(deps: FileSecretStoreDeps): SecretStore {
  const readFile = deps.readFile ?? ((file: string) => fsReadFile(file, "utf8"));
  let secrets = new Map<string, Record<string, string>>();
  let multiValued = false;

  return {
    async init(properties) {
      const metadata = parseFileSecretStoreMetadata(properties, deps.baseDir);
      multiValued = metadata.multiValued;
      let text: string;
      try {
        text = await readFile(metadata.secretsFile);
      } catch (e) {
        throw new MetadataError("secretsFile", `cannot read secretsFile ${metadata.secretsFile}: ${(e as NodeJS.ErrnoException).code ?? "error"}`);
      }
      let json: unknown;
      try {
        json = JSON.parse(text);
      } catch {
        // The parser's message quotes the offending text, which may be a secret value: say less.
        throw new MetadataError("secretsFile", `secretsFile ${metadata.secretsFile} is not valid JSON`);
      }
      if (!isRecord(json)) throw new MetadataError("secretsFile", `secretsFile ${metadata.secretsFile} must hold a JSON object`);
      secrets = flattenSecrets(json, metadata);
    },
    features(): readonly SecretStoreFeature[] {
      return multiValued ? ["MULTIPLE_KEY_VALUES_PER_SECRET"] : [];
    },
    async getSecret(request: GetSecretRequest): Promise<GetSecretResponse> {
      const data = secrets.get(request.name);
      if (data === undefined) throw new SecretNotFoundError(request.name);
      return { data: { ...data } };
    },
    async bulkGetSecret(): Promise<BulkGetSecretResponse> {
      const data: Record<string, Record<string, string>> = {};
      for (const [name, value] of secrets) data[name] = { ...value };
      return { data };
    },
    async close() {
      secrets = new Map();
    },
  };
}
