/**
 * @module Component metadata helpers: case-insensitive lookup with Dapr's field aliases, typed parsers.
 *
 * Every provider turns its raw `spec.metadata` (already resolved: secret references replaced by values)
 * into a typed object with a pure `parseXMetadata(properties)` function built from these helpers.
 */

/** Resolved component metadata: name → value, as Dapr hands it to a component's `Init`. */
export type ComponentProperties = Readonly<Record<string, string>>;

/**
 * Thrown when a component's metadata is invalid; `field` names the offending metadata field so the
 * loader can report "file, component, field".
 */
export class MetadataError extends Error {
  override readonly name = "MetadataError";
  constructor(
    readonly field: string,
    message: string,
  ) {
    super(message);
  }
}

/** Narrows an unknown error to a {@link MetadataError}. */
export function isMetadataError(e: unknown): e is MetadataError {
  return e instanceof Error && e.name === "MetadataError";
}

/**
 * Dapr's aliases of the Azure metadata fields every Azure component reads (components-contrib
 * `common/authentication/azure/metadata-properties.go` and the storage components), first name
 * preferred. The one table: providers spread these into their own key lists.
 */
export const AZURE_METADATA_ALIASES = {
  clientId: ["azureClientId", "spnClientId", "clientId"],
  tenantId: ["azureTenantId", "spnTenantId", "tenantId"],
  clientSecret: ["azureClientSecret", "spnClientSecret", "clientSecret"],
  environment: ["azureEnvironment", "azureCloud"],
  storageAccountName: ["accountName", "storageAccount", "storageAccountName"],
  storageAccountKey: ["accountKey", "accessKey", "storageAccessKey", "storageAccountKey"],
} as const satisfies Record<string, readonly string[]>;

/**
 * Returns the value of the first of `names` present in `properties`, matching names case-insensitively
 * like Dapr's `metadata.GetMetadataProperty`; empty strings count as absent.
 * @param properties - resolved component metadata
 * @param names - the canonical field name followed by its aliases, in priority order
 */
export function getProperty(properties: ComponentProperties, ...names: string[]): string | undefined {
  const lowered = new Map<string, string>();
  for (const [k, v] of Object.entries(properties)) {
    const key = k.toLowerCase();
    if (!lowered.has(key)) lowered.set(key, v);
  }
  for (const name of names) {
    const value = lowered.get(name.toLowerCase());
    if (value !== undefined && value !== "") return value;
  }
  return undefined;
}

/**
 * Like {@link getProperty} but required.
 * @throws {@link MetadataError} naming the canonical field when none of the names is set
 */
export function requireProperty(properties: ComponentProperties, ...names: string[]): string {
  const value = getProperty(properties, ...names);
  if (value === undefined) {
    throw new MetadataError(names[0] ?? "", `missing required metadata field "${names[0]}"`);
  }
  return value;
}

/**
 * Parses a Dapr boolean (`true/false`, `1/0`, `yes/no`, `on/off`, case-insensitive, as Go's
 * `utils.IsTruthy` plus explicit falsy words so typos fail loudly instead of meaning false).
 * @throws {@link MetadataError} for any other text
 */
export function parseBoolean(field: string, value: string | undefined, fallback: boolean): boolean {
  if (value === undefined) return fallback;
  const v = value.trim().toLowerCase();
  if (["true", "1", "yes", "y", "on"].includes(v)) return true;
  if (["false", "0", "no", "n", "off"].includes(v)) return false;
  throw new MetadataError(field, `metadata field "${field}" must be a boolean, got "${value}"`);
}

/**
 * Parses a non-negative integer field.
 * @throws {@link MetadataError} when the text is not a whole number in range
 */
export function parseInteger(
  field: string,
  value: string | undefined,
  fallback: number,
  range: { min?: number; max?: number } = {},
): number {
  if (value === undefined) return fallback;
  const trimmed = value.trim();
  const n = /^-?\d+$/.test(trimmed) ? Number(trimmed) : Number.NaN;
  const { min = Number.MIN_SAFE_INTEGER, max = Number.MAX_SAFE_INTEGER } = range;
  if (!Number.isSafeInteger(n) || n < min || n > max) {
    throw new MetadataError(field, `metadata field "${field}" must be an integer in [${min}, ${max}], got "${value}"`);
  }
  return n;
}
