/**
 * @module App settings: the one module that reads `process.env`.
 *
 * In Azure these are app settings (possibly Key Vault references resolved by the platform or by us);
 * locally they come from `local.settings.json` Values, applied by Core Tools or our local host.
 * Every setting is documented in `local.settings.sample.json` and the README.
 */
import { existsSync } from "node:fs";
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
  /** The Azure hosting plan when running inside Azure Functions; undefined under Core Tools or our local host. */
  azurePlan: AzurePlan | undefined;
  /** NCRONTAB schedule of the `refreshSecrets` timer (`REFRESH_SCHEDULE`). */
  refreshSchedule: string;
  /** Run `refreshSecrets` when the host starts (`REFRESH_ON_STARTUP`; off by default, and in Azure). */
  refreshOnStartup: boolean;
  /** How long a replaced caller token stays valid (`TOKEN_GRACE_SECONDS`). */
  tokenGraceInMs: number;
  /** Minimum time between reads of the shared version table (`COHERENCE_INTERVAL_SECONDS`). */
  coherenceIntervalInMs: number;
  /** Longest wait between background retries of components that failed to initialise (`START_RETRY_MAX_SECONDS`). */
  startRetryMaxDelayInMs: number;
  /** The app's own storage (`AzureWebJobsStorage`): the version table, rotation locks and audit. */
  appStorage: { connectionString?: string; accountName?: string; tableEndpoint?: string; blobEndpoint?: string; clientId?: string } | undefined;
  /** Name of the shared version table (`VERSION_TABLE_NAME`). */
  versionTableName: string;
  /** Secret rotation: the identity with Key Vault Secrets Officer, where locks and audit rows live. */
  rotation: {
    clientId: string | undefined;
    lockContainer: string;
    auditTable: string;
    leaseSeconds: number;
    /** Local only: dual-key Azurite accounts (`name:key1:key2;…`) and their blob endpoint. */
    azuriteAccounts: string | undefined;
    /** The `arm` key-pair source: subscription and resource group of the storage accounts it rotates. */
    armSubscriptionId: string | undefined;
    armResourceGroup: string | undefined;
    azuriteBlobEndpoint: string | undefined;
  };
  /** Microsoft Entra ID callers: accepted issuers and audiences (both required to turn it on). */
  entraId: { issuers: string[]; audiences: string[]; algorithms: string[]; clockSkewSeconds: number } | undefined;
  /** Per-caller rate limit (`RATE_LIMIT_PER_SECOND`, `RATE_LIMIT_BURST`); 0 turns it off. */
  rateLimit: { ratePerSecond: number; burst: number };
  /** Longest request URL (`MAX_URL_LENGTH`) and header block (`MAX_HEADER_BYTES`). */
  maxUrlLength: number | undefined;
  maxHeaderBytes: number | undefined;
  /** Request body limit in bytes (`MAX_REQUEST_BODY_BYTES`, default daprd's 4 MiB). */
  maxBodyBytes: number | undefined;
  /** One API request's deadline for upstream calls (`REQUEST_TIMEOUT_SECONDS`, default 10 s). */
  requestTimeoutInMs: number | undefined;
  /** The same for saves, deletes and transactions (`WRITE_REQUEST_TIMEOUT_SECONDS`, default 30 s). */
  writeRequestTimeoutInMs: number | undefined;
  /** Each operation on the app's own storage (version table, metadata table, rotation lock and audit; `STORAGE_TIMEOUT_SECONDS`, default 10 s). */
  appStorageTimeoutInMs: number | undefined;
  /** Secret cache tuning, in milliseconds (settings are in seconds). */
  secretCache: {
    ttlInMs?: number;
    maxEntries?: number;
    maxStalenessInMs?: number;
    negativeTtlInMs?: number;
    /** `SECRET_READ_DEADLINE_SECONDS` (default 10): a secret read's total wait, backoff included. */
    readDeadlineInMs?: number;
    /** `SECRET_MISSES_PER_SECOND_PER_CALLER` (default 20; 0 = off) and `SECRET_MISS_BURST_PER_CALLER` (default 100). */
    missesPerSecondPerCaller?: number;
    missBurstPerCaller?: number;
  };
  /** `KEYVAULT_TIMEOUT_SECONDS` (default 10) per Key Vault operation, `KEYVAULT_TOKEN_TIMEOUT_SECONDS` (default 5) per token request. */
  keyVault: { requestTimeoutInMs?: number; tokenTimeoutInMs?: number };
  /**
   * Telemetry export: Application Insights (`APPLICATIONINSIGHTS_CONNECTION_STRING`, with Entra ID auth
   * when `APPLICATIONINSIGHTS_AUTHENTICATION_STRING` says `Authorization=AAD`, as the identity its
   * `ClientId` names), and/or `TELEMETRY_EXPORTER` (`console` or `otlp`) every
   * `TELEMETRY_EXPORT_INTERVAL_SECONDS` (default 60).
   */
  telemetry: {
    connectionString: string | undefined;
    entraId: { clientId: string | undefined } | undefined;
    exporter: "console" | "otlp" | undefined;
    exportIntervalInMs: number | undefined;
  };
  /** The environment as seen at start-up, for the env secret store and `envRef`. */
  environment: Readonly<Record<string, string>>;
}

/** Azure Functions hosting plans, as far as the app can tell them apart. */
export type AzurePlan = "FlexConsumption" | "Consumption" | "Premium" | "Dedicated";

/**
 * The Azure hosting plan from the platform's environment (pure), or undefined outside Azure.
 * `WEBSITE_INSTANCE_ID` is set on App Service workers (Consumption on Windows, Premium, Dedicated) but
 * not on Flex Consumption or Linux Consumption, which set `WEBSITE_POD_NAME` / `CONTAINER_NAME`
 * instead (the Functions host's own `IsAppServiceEnvironment` / `IsAnyLinuxConsumption` checks).
 * A container name alone is not enough (dev containers and CI runners set `CONTAINER_NAME` too): the
 * platform also names the site or the SKU. Core Tools and our local host set none of them.
 */
export function azurePlan(env: Readonly<Record<string, string | undefined>>): AzurePlan | undefined {
  const set = (name: string): boolean => (env[name]?.trim() ?? "") !== "";
  const container = (set("WEBSITE_POD_NAME") || set("CONTAINER_NAME")) && (set("WEBSITE_SKU") || set("WEBSITE_SITE_NAME"));
  if (!set("WEBSITE_INSTANCE_ID") && !container) return undefined;
  const sku = env.WEBSITE_SKU?.trim().toLowerCase() ?? "";
  if (sku === "flexconsumption") return "FlexConsumption";
  if (sku === "dynamic" || (!set("WEBSITE_INSTANCE_ID") && sku === "")) return "Consumption";
  if (sku === "elasticpremium") return "Premium";
  return "Dedicated";
}

/** What the `refreshSecrets` timer is registered with. */
export interface TimerSettings {
  /** NCRONTAB schedule (`REFRESH_SCHEDULE`, default every 5 minutes). */
  schedule: string;
  /** Run when the host starts (`REFRESH_ON_STARTUP=true`; never in Azure, where every scale-out would run it). */
  runOnStartup: boolean;
}

/**
 * The timer's registration options (pure, never throws): registration happens while the app's
 * modules load, before any start hook, so nothing here may fail; the host validates the schedule.
 */
export function timerSettings(env: Readonly<Record<string, string | undefined>>): TimerSettings {
  return {
    schedule: env.REFRESH_SCHEDULE?.trim() || "0 */5 * * * *",
    runOnStartup: env.REFRESH_ON_STARTUP?.trim().toLowerCase() === "true" && azurePlan(env) === undefined,
  };
}

let root: string | undefined;

/**
 * The function app folder: the nearest folder up from this code that holds host.json. That is three
 * levels up from dist/src/config (tsc output), two from src/config (tests), and the bundle's own folder
 * for dist/bundle/main.js (esbuild), without knowing which layout runs. Looked up on first use, not
 * at import.
 */
export function appRoot(): string {
  root ??= findAppRoot(__dirname);
  return root;
}

function findAppRoot(start: string): string {
  for (let dir = start; ; dir = path.dirname(dir)) {
    if (existsSync(path.join(dir, "host.json"))) return dir;
    if (path.dirname(dir) === dir) return path.resolve(start, "..", "..", start.includes(`${path.sep}dist${path.sep}`) ? ".." : "");
  }
}

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
    componentsPath: path.resolve(appRoot(), componentsPath),
    namespace: env.NAMESPACE?.trim() || undefined,
    apiTokens: splitList(env.API_TOKEN),
    keyVaultReferenceClientId: env.KEY_VAULT_REFERENCE_CLIENT_ID?.trim() || undefined,
    allowAnonymous: env.ALLOW_ANONYMOUS?.trim().toLowerCase() === "true",
    azurePlan: azurePlan(env),
    maxBodyBytes: positiveInteger(env, "MAX_REQUEST_BODY_BYTES"),
    requestTimeoutInMs: seconds(env, "REQUEST_TIMEOUT_SECONDS"),
    writeRequestTimeoutInMs: seconds(env, "WRITE_REQUEST_TIMEOUT_SECONDS"),
    appStorageTimeoutInMs: seconds(env, "STORAGE_TIMEOUT_SECONDS"),
    maxUrlLength: positiveInteger(env, "MAX_URL_LENGTH"),
    maxHeaderBytes: positiveInteger(env, "MAX_HEADER_BYTES"),
    rotation: {
      clientId: env.ROTATION_CLIENT_ID?.trim() || undefined,
      lockContainer: env.ROTATION_LOCK_CONTAINER?.trim() || "vaultstate-locks",
      auditTable: env.ROTATION_AUDIT_TABLE?.trim() || "vaultstaterotations",
      leaseSeconds: positiveInteger(env, "ROTATION_LEASE_SECONDS") ?? 60,
      azuriteAccounts: env.ROTATION_AZURITE_ACCOUNTS?.trim() || undefined,
      azuriteBlobEndpoint: env.ROTATION_AZURITE_BLOB_ENDPOINT?.trim() || undefined,
      armSubscriptionId: env.ROTATION_ARM_SUBSCRIPTION_ID?.trim() || undefined,
      armResourceGroup: env.ROTATION_ARM_RESOURCE_GROUP?.trim() || undefined,
    },
    entraId: parseEntraId(env),
    rateLimit: {
      ratePerSecond: nonNegativeInteger(env, "RATE_LIMIT_PER_SECOND") ?? 500,
      burst: positiveInteger(env, "RATE_LIMIT_BURST") ?? Math.max(1, 2 * (nonNegativeInteger(env, "RATE_LIMIT_PER_SECOND") ?? 500)),
    },
    refreshSchedule: timerSettings(env).schedule,
    refreshOnStartup: timerSettings(env).runOnStartup,
    tokenGraceInMs: (positiveInteger(env, "TOKEN_GRACE_SECONDS") ?? 900) * 1000,
    coherenceIntervalInMs: (positiveInteger(env, "COHERENCE_INTERVAL_SECONDS") ?? 5) * 1000,
    startRetryMaxDelayInMs: (positiveInteger(env, "START_RETRY_MAX_SECONDS") ?? 30) * 1000,
    appStorage: parseAppStorage(env),
    versionTableName: env.VERSION_TABLE_NAME?.trim() || "vaultstateversions",
    secretCache: {
      ttlInMs: seconds(env, "SECRET_CACHE_TTL_SECONDS"),
      maxEntries: positiveInteger(env, "SECRET_CACHE_MAX_ENTRIES"),
      maxStalenessInMs: seconds(env, "SECRET_CACHE_MAX_STALENESS_SECONDS"),
      negativeTtlInMs: seconds(env, "SECRET_CACHE_NEGATIVE_TTL_SECONDS"),
      readDeadlineInMs: seconds(env, "SECRET_READ_DEADLINE_SECONDS"),
      missesPerSecondPerCaller: nonNegativeInteger(env, "SECRET_MISSES_PER_SECOND_PER_CALLER"),
      missBurstPerCaller: positiveInteger(env, "SECRET_MISS_BURST_PER_CALLER"),
    },
    keyVault: { requestTimeoutInMs: seconds(env, "KEYVAULT_TIMEOUT_SECONDS"), tokenTimeoutInMs: seconds(env, "KEYVAULT_TOKEN_TIMEOUT_SECONDS") },
    telemetry: parseTelemetry(env),
    environment,
  };
}

function parseTelemetry(env: Readonly<Record<string, string | undefined>>): Settings["telemetry"] {
  const exporter = env.TELEMETRY_EXPORTER?.trim().toLowerCase() || undefined;
  if (exporter !== undefined && exporter !== "console" && exporter !== "otlp" && exporter !== "none") {
    throw new SettingError(`setting TELEMETRY_EXPORTER must be console, otlp or none, got "${exporter}"`);
  }
  // "Authorization=AAD;ClientId=<guid>" in any order; without ClientId the system-assigned identity.
  const auth = new Map(
    (env.APPLICATIONINSIGHTS_AUTHENTICATION_STRING ?? "")
      .split(";")
      .map((part) => part.split("=").map((x) => x.trim()))
      .filter((kv): kv is [string, string] => kv.length === 2 && kv[0] !== "")
      .map(([k, v]) => [k.toLowerCase(), v]),
  );
  return {
    connectionString: env.APPLICATIONINSIGHTS_CONNECTION_STRING?.trim() || undefined,
    entraId: auth.get("authorization")?.toUpperCase() === "AAD" ? { clientId: auth.get("clientid") || undefined } : undefined,
    exporter: exporter === "console" || exporter === "otlp" ? exporter : undefined,
    exportIntervalInMs: seconds(env, "TELEMETRY_EXPORT_INTERVAL_SECONDS"),
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

function nonNegativeInteger(env: Readonly<Record<string, string | undefined>>, name: string): number | undefined {
  const raw = env[name]?.trim();
  if (raw === "0") return 0;
  return positiveInteger(env, name);
}

/**
 * Entra ID settings: `ENTRA_ISSUERS` (comma list; `ENTRA_TENANT_ID` alone gives the v2 and v1 issuers
 * of that tenant), `ENTRA_AUDIENCES`, `ENTRA_ALGORITHMS` (default RS256), `ENTRA_CLOCK_SKEW_SECONDS`.
 */
function parseEntraId(env: Readonly<Record<string, string | undefined>>): Settings["entraId"] {
  const tenant = env.ENTRA_TENANT_ID?.trim();
  const issuers = splitList(env.ENTRA_ISSUERS);
  if (issuers.length === 0 && tenant) issuers.push(`https://login.microsoftonline.com/${tenant}/v2.0`, `https://sts.windows.net/${tenant}/`);
  const audiences = splitList(env.ENTRA_AUDIENCES);
  if (issuers.length === 0 && audiences.length === 0) return undefined;
  if (issuers.length === 0 || audiences.length === 0) throw new SettingError("Entra ID callers need both ENTRA_ISSUERS (or ENTRA_TENANT_ID) and ENTRA_AUDIENCES");
  const algorithms = splitList(env.ENTRA_ALGORITHMS);
  return { issuers, audiences, algorithms: algorithms.length > 0 ? algorithms : ["RS256"], clockSkewSeconds: nonNegativeInteger(env, "ENTRA_CLOCK_SKEW_SECONDS") ?? 60 };
}

function seconds(env: Readonly<Record<string, string | undefined>>, name: string): number | undefined {
  const value = positiveInteger(env, name);
  return value === undefined ? undefined : value * 1000;
}

/**
 * The Functions host's own storage setting, in either form: a connection string, or identity-based
 * (`AzureWebJobsStorage__accountName` / `__tableServiceUri` / `__blobServiceUri` / `__clientId`).
 */
function parseAppStorage(env: Readonly<Record<string, string | undefined>>): Settings["appStorage"] {
  const connectionString = env.AzureWebJobsStorage?.trim();
  if (connectionString !== undefined && connectionString !== "") return { connectionString };
  const accountName = env.AzureWebJobsStorage__accountName?.trim();
  const tableEndpoint = env.AzureWebJobsStorage__tableServiceUri?.trim();
  const blobEndpoint = env.AzureWebJobsStorage__blobServiceUri?.trim();
  if (!accountName && !tableEndpoint) return undefined;
  const fromUri = tableEndpoint ? new URL(tableEndpoint).hostname.split(".")[0] : undefined;
  return {
    accountName: accountName || fromUri,
    tableEndpoint: tableEndpoint || undefined,
    blobEndpoint: blobEndpoint || undefined,
    clientId: env.AzureWebJobsStorage__clientId?.trim() || undefined,
  };
}

function splitList(value: string | undefined): string[] {
  return (value ?? "")
    .split(",")
    .map((s) => s.trim())
    .filter((s) => s.length > 0);
}

/**
 * The process's settings, read from `process.env` now (the app start hook calls it once).
 * @throws {@link SettingError} naming the first malformed setting
 */
export function readSettings(): Settings {
  return parseSettings(process.env);
}

/** The timer's registration options from `process.env` (never throws; see {@link timerSettings}). */
export function readTimerSettings(): TimerSettings {
  return timerSettings(process.env);
}
