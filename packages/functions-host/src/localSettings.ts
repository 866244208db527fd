/** @module functions-host/localSettings: read local.settings.json and apply its Values the way Core Tools does. */

/** The parts of local.settings.json that the local host uses. */
export interface LocalSettings {
  readonly isEncrypted: boolean;
  /** Setting name to value; `null` values are kept so {@link applyLocalSettingsValues} can report them. */
  readonly values: Readonly<Record<string, string | null>>;
  readonly host: {
    readonly localHttpPort?: number;
    readonly cors?: string;
    readonly corsCredentials?: boolean;
  };
}

/** Thrown for a local.settings.json the host cannot use. */
export class LocalSettingsError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "LocalSettingsError";
  }
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

// Core Tools deserialises Values with Newtonsoft into Dictionary<string,string>, which stringifies scalars
// (booleans become "True"/"False") and rejects objects and arrays.
function toSettingValue(name: string, value: unknown): string | null {
  if (value === null) return null;
  if (typeof value === "string") return value;
  if (typeof value === "number") return String(value);
  if (typeof value === "boolean") return value ? "True" : "False";
  throw new LocalSettingsError(`local.settings.json: Values.${name} must be a string, not ${Array.isArray(value) ? "an array" : typeof value}`);
}

function toBoolean(field: string, value: unknown): boolean | undefined {
  if (value === undefined || value === null) return undefined;
  if (typeof value === "boolean") return value;
  if (typeof value === "string" && /^(true|false)$/i.test(value)) return value.toLowerCase() === "true";
  throw new LocalSettingsError(`local.settings.json: ${field} must be true or false`);
}

function toPort(value: unknown): number | undefined {
  if (value === undefined || value === null) return undefined;
  const n = typeof value === "string" && /^\d+$/.test(value) ? Number(value) : value;
  if (typeof n !== "number" || !Number.isInteger(n) || n < 0 || n > 65535) {
    throw new LocalSettingsError("local.settings.json: Host.LocalHttpPort must be an integer port number");
  }
  // Core Tools treats 0 (the int default) as "not set".
  return n === 0 ? undefined : n;
}

/**
 * Parses the text of local.settings.json. `IsEncrypted` defaults to true when missing, as in Core Tools,
 * and encrypted files are refused because only `func settings` (Windows DPAPI) can decrypt them. Invalid
 * JSON is an error here, where Core Tools would only warn and start without settings.
 */
export function parseLocalSettings(text: string): LocalSettings {
  let json: unknown;
  try {
    // A UTF-8 BOM is common in files written by Visual Studio.
    json = JSON.parse(text.replace(/^\uFEFF/, ""));
  } catch (err) {
    throw new LocalSettingsError(`local.settings.json is not valid JSON: ${err instanceof Error ? err.message : String(err)}`);
  }
  if (!isRecord(json)) throw new LocalSettingsError("local.settings.json must contain a JSON object");

  const isEncrypted = toBoolean("IsEncrypted", json.IsEncrypted) ?? true;
  if (isEncrypted) {
    throw new LocalSettingsError(
      'local.settings.json has "IsEncrypted": true (the default when the property is missing). ' +
        'Encrypted settings cannot be read here; set "IsEncrypted": false and store the values in plain text.',
    );
  }

  const rawValues = json.Values ?? {};
  if (!isRecord(rawValues)) throw new LocalSettingsError("local.settings.json: Values must be an object");
  const values: Record<string, string | null> = {};
  for (const [name, value] of Object.entries(rawValues)) values[name] = toSettingValue(name, value);

  const rawHost = json.Host ?? {};
  if (!isRecord(rawHost)) throw new LocalSettingsError("local.settings.json: Host must be an object");
  const cors = rawHost.CORS;
  if (cors !== undefined && cors !== null && typeof cors !== "string") {
    throw new LocalSettingsError("local.settings.json: Host.CORS must be a comma-separated string");
  }
  return {
    isEncrypted,
    values,
    host: {
      localHttpPort: toPort(rawHost.LocalHttpPort),
      cors: typeof cors === "string" ? cors : undefined,
      corsCredentials: toBoolean("Host.CORSCredentials", rawHost.CORSCredentials),
    },
  };
}

/** What {@link applyLocalSettingsValues} did with each setting. */
export interface ApplyResult {
  readonly applied: readonly string[];
  /** Human-readable notes for the settings that were skipped (Core Tools prints the same warnings). */
  readonly warnings: readonly string[];
}

/**
 * Copies Values into `env`. Follows Core Tools' StartHostAction.UpdateEnvironmentVariables: a variable that
 * is already set to a non-empty value in the real environment wins and the local setting is skipped with a
 * warning; an empty-string value is applied; a null value and an empty key are skipped.
 */
export function applyLocalSettingsValues(
  values: Readonly<Record<string, string | null>>,
  env: Record<string, string | undefined>,
): ApplyResult {
  const applied: string[] = [];
  const warnings: string[] = [];
  for (const [name, value] of Object.entries(values)) {
    if (name === "") {
      warnings.push("Skipping local setting with empty key.");
    } else if (env[name] !== undefined && env[name] !== "") {
      warnings.push(`Skipping '${name}' from local settings as it's already defined in current environment variables.`);
    } else if (value === null) {
      warnings.push(`Skipping '${name}' because value is null`);
    } else {
      env[name] = value;
      applied.push(name);
    }
  }
  return { applied, warnings };
}
