/**
 * @module The composition root: settings → runtime manager → API and trigger handlers, built once
 * per process.
 */
import { createApi } from "./api/router";
import { createTableClient } from "./azure/storage";
import { createTableVersionTable } from "./azure/versionTable";
import { APP_ROOT, settings } from "./config/settings";
import { consoleLogger, describeError } from "./observability/logger";
import type { VersionTable } from "./runtime/coherence";
import { loadResources } from "./runtime/componentFiles";
import { createEventCounters, handleKeyVaultEvent } from "./runtime/keyVaultEvents";
import { createRuntimeManager, type RefreshSummary } from "./runtime/manager";
import { buildRuntime } from "./runtime/runtime";
import { createCounters } from "./runtime/secretCache";

const config = settings();
const logger = consoleLogger;
const cacheCounters = createCounters();
const eventCounters = createEventCounters();
/** Anonymous access is a local-development switch: never honoured inside Azure. */
const allowAnonymous = config.allowAnonymous && !config.inAzure;

function versionTable(): VersionTable | undefined {
  const storage = config.appStorage;
  if (storage === undefined) {
    logger.warn("no AzureWebJobsStorage: cross-instance coherence is off (each instance refreshes on its own timer)");
    return undefined;
  }
  try {
    return createTableVersionTable(
      createTableClient({
        tableName: config.versionTableName,
        connectionString: storage.connectionString,
        accountName: storage.accountName,
        endpoint: storage.tableEndpoint,
        clientId: storage.clientId,
      }),
    );
  } catch (e) {
    logger.warn(`cross-instance coherence is off: ${describeError(e)}`);
    return undefined;
  }
}

/** The shared runtime; `src/index.ts` starts it when the app starts. */
export const runtime = createRuntimeManager({
  logger,
  tokenGraceInMs: config.tokenGraceInMs,
  coherenceIntervalInMs: config.coherenceIntervalInMs,
  versionTable: versionTable(),
  build: async () => {
    const resources = await loadResources(config.componentsPath, { namespace: config.namespace });
    const built = await buildRuntime({
      appId: config.appId,
      namespace: config.namespace,
      resources,
      apiTokens: config.apiTokens,
      providerContext: { appRoot: APP_ROOT, environment: config.environment },
      logger,
      referenceClientId: config.keyVaultReferenceClientId,
      secretCache: { options: withoutUndefined(config.secretCache), counters: cacheCounters },
    });
    if (config.allowAnonymous && config.inAzure) logger.warn("ALLOW_ANONYMOUS is ignored when running in Azure");
    if (built.callers.length === 0) {
      logger.warn(
        allowAnonymous
          ? "ALLOW_ANONYMOUS=true: API routes are served without a token"
          : "no caller token is configured (API_TOKEN): API routes answer 503 ERR_NO_CALLERS_CONFIGURED",
      );
    }
    return built;
  },
});

/** The API handler every HTTP function adapter calls. */
export const api = createApi({
  runtime,
  authPolicy: (rt) => ({ callers: rt.callers, allowAnonymous, anonymousAppId: rt.appId }),
  logger,
  maxBodyBytes: config.maxBodyBytes,
  extended: () => ({
    secretCacheHits: cacheCounters.hits,
    secretCacheMisses: cacheCounters.misses,
    secretCacheUpstreamCalls: cacheCounters.upstreamCalls,
    secretCacheStaleServes: cacheCounters.staleServes,
    secretCacheErrors: cacheCounters.errors,
    keyVaultEventsReceived: eventCounters.received,
    keyVaultEventsIgnored: eventCounters.ignored,
    keyVaultSecretsExpired: eventCounters.expired,
  }),
});

/** The `refreshSecrets` timer's schedule and start-up behaviour. */
export const refreshTimer = { schedule: config.refreshSchedule, runOnStartup: config.refreshOnStartup };

/** The timer's work: coherence check, refresh of changed secrets, hot swap of dependents. */
export function refreshSecrets(trigger: string): Promise<RefreshSummary> {
  return runtime.refresh(trigger);
}

/** The Event Grid trigger's work for one event. */
export function onKeyVaultEvent(event: unknown): Promise<string> {
  return handleKeyVaultEvent(event, { manager: runtime, logger, counters: eventCounters });
}

function withoutUndefined<T extends object>(value: T): Partial<T> {
  return Object.fromEntries(Object.entries(value).filter(([, v]) => v !== undefined)) as Partial<T>;
}
