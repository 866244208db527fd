/**
 * @module App settings: the one module that reads `process.env`.
 *
 * In Azure these are app settings (possibly Key Vault references resolved by the platform or by us);
 * locally they come from `local.settings.json` Values, applied by Core Tools or our local host.
 * Every setting is documented in `local.settings.sample.json` and the README.
 */
import * as path from "node:path";

/** The app's typed settings. */
export interface Settings {
  /** The Dapr app-id this app acts as (metadata `id`, default key prefix, component scopes). */
  appId: string;
  /** Absolute path of the folder holding Component and Configuration YAML files. */
  componentsPath: string;
  /** Dapr namespace (`NAMESPACE`): components with another `metadata.namespace` are skipped. */
  namespace: string | undefined;
  /**
   * Caller tokens for `dapr-api-token`: literal values and secret-store references of the form
   * `secretstore:<store>/<secret>[/<key>]`, each optionally prefixed with `<appId>=`.
   */
  apiTokens: readonly string[];
  /** User-assigned identity for `@Microsoft.KeyVault(...)` references (App Service's keyVaultReferenceIdentity). */
  keyVaultReferenceClientId: string | undefined;
  /** Serve API routes without a token (honoured only when explicitly "true"). */
  allowAnonymous: boolean;
  /** Running inside Azure Functions (not Core Tools or our local host). */
  inAzure: boolean;
  /** Request body limit in bytes (`MAX_REQUEST_BODY_BYTES`, default daprd's 4 MiB). */
  maxBodyBytes: number | undefined;
  /** Secret cache tuning, in milliseconds (settings are in seconds). */
  secretCache: {
    ttlInMs?: number;
    maxEntries?: number;
    maxStalenessInMs?: number;
    negativeTtlInMs?: number;
  };
  /** The environment as seen at start-up, for the env secret store and `envRef`. */
  environment: Readonly<Record<string, string>>;
}

/** The folder that holds package.json (dist/src/config → three levels up once compiled). */
export const APP_ROOT = path.resolve(__dirname, "..", "..", __dirname.includes(`${path.sep}dist${path.sep}`) ? ".." : "");

/**
 * Builds settings from an environment map (pure; tests pass their own map).
 * @param env - usually `process.env`
 */
export function parseSettings(env: Readonly<Record<string, string | undefined>>): Settings {
  const environment: Record<string, string> = {};
  for (const [k, v] of Object.entries(env)) if (v !== undefined) environment[k] = v;
  const componentsPath = env.COMPONENTS_PATH?.trim() || "components";
  return {
    appId: env.APP_ID?.trim() || env.WEBSITE_SITE_NAME?.trim() || "vaultstate",
    componentsPath: path.resolve(APP_ROOT, componentsPath),
    namespace: env.NAMESPACE?.trim() || undefined,
    apiTokens: splitList(env.API_TOKEN),
    keyVaultReferenceClientId: env.KEY_VAULT_REFERENCE_CLIENT_ID?.trim() || undefined,
    allowAnonymous: env.ALLOW_ANONYMOUS?.trim().toLowerCase() === "true",
    // WEBSITE_INSTANCE_ID is set on every Azure App Service / Functions worker and never by Core Tools.
    inAzure: Boolean(env.WEBSITE_INSTANCE_ID),
    maxBodyBytes: positiveInteger(env, "MAX_REQUEST_BODY_BYTES"),
    secretCache: {
      ttlInMs: seconds(env, "SECRET_CACHE_TTL_SECONDS"),
      maxEntries: positiveInteger(env, "SECRET_CACHE_MAX_ENTRIES"),
      maxStalenessInMs: seconds(env, "SECRET_CACHE_MAX_STALENESS_SECONDS"),
      negativeTtlInMs: seconds(env, "SECRET_CACHE_NEGATIVE_TTL_SECONDS"),
    },
    environment,
  };
}

/** Thrown for a setting that is present but malformed; names the setting, never echoes secrets. */
export class SettingError extends Error {
  override readonly name = "SettingError";
}

function positiveInteger(env: Readonly<Record<string, string | undefined>>, name: string): number | undefined {
  const raw = env[name]?.trim();
  if (raw === undefined || raw === "") return undefined;
  if (!/^\d+$/.test(raw) || Number(raw) <= 0 || !Number.isSafeInteger(Number(raw))) {
    throw new SettingError(`setting ${name} must be a positive whole number, got "${raw}"`);
  }
  return Number(raw);
}

function seconds(env: Readonly<Record<string, string | undefined>>, name: string): number | undefined {
  const value = positiveInteger(env, name);
  return value === undefined ? undefined : value * 1000;
}

function splitList(value: string | undefined): string[] {
  return (value ?? "")
    .split(",")
    .map((s) => s.trim())
    .filter((s) => s.length > 0);
}

let cached: Settings | undefined;

/** The process's settings, read once. */
export function settings(): Settings {
  cached ??= parseSettings(process.env);
  return cached;
}
