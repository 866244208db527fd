/**
 * @module The composition root: settings → runtime → API, built once per process.
 */
import { createApi } from "./api/router";
import { APP_ROOT, settings } from "./config/settings";
import { consoleLogger } from "./observability/logger";
import { loadResources } from "./runtime/componentFiles";
import { createManagedRuntime } from "./runtime/instance";
import { buildRuntime } from "./runtime/runtime";
import { createCounters } from "./runtime/secretCache";

const config = settings();
/** Anonymous access is a local-development switch: never honoured inside Azure. */
const allowAnonymous = config.allowAnonymous && !config.inAzure;
const logger = consoleLogger;
const cacheCounters = createCounters();

/** The shared runtime; `src/index.ts` starts it when the app starts. */
export const runtime = createManagedRuntime(async () => {
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
}, logger);

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
  }),
});

function withoutUndefined<T extends object>(value: T): Partial<T> {
  return Object.fromEntries(Object.entries(value).filter(([, v]) => v !== undefined)) as Partial<T>;
}
