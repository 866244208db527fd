/**
 * @module The composition root: settings → runtime → API, built once per process.
 */
import { createApi } from "./api/router";
import { APP_ROOT, settings } from "./config/settings";
import { consoleLogger } from "./observability/logger";
import { loadResources } from "./runtime/componentFiles";
import { createManagedRuntime } from "./runtime/instance";
import { buildRuntime } from "./runtime/runtime";

const config = settings();
const logger = consoleLogger;

/** The shared runtime; `src/index.ts` starts it when the app starts. */
export const runtime = createManagedRuntime(async () => {
  const resources = await loadResources(config.componentsPath, { namespace: config.namespace });
  const built = await buildRuntime({
    appId: config.appId,
    resources,
    apiTokens: config.apiTokens,
    providerContext: { appRoot: APP_ROOT, environment: config.environment },
    logger,
  });
  if (built.callers.length === 0) {
    logger.warn(
      anonymousAllowed()
        ? "ALLOW_ANONYMOUS=true: API routes are served without a token"
        : "no caller token is configured (API_TOKEN): API routes answer 503 ERR_NO_CALLERS_CONFIGURED",
    );
  }
  return built;
}, logger);

/** Anonymous access is a local-development switch: never honoured inside Azure. */
function anonymousAllowed(): boolean {
  if (config.allowAnonymous && config.inAzure) logger.warn("ALLOW_ANONYMOUS is ignored when running in Azure");
  return config.allowAnonymous && !config.inAzure;
}

/** The API handler every HTTP function adapter calls. */
export const api = createApi({
  runtime,
  authPolicy: (rt) => ({ callers: rt.callers, allowAnonymous: anonymousAllowed(), anonymousAppId: rt.appId }),
  logger,
});
