/**
 * @module The composition root: `createApp(settings, clients)` builds the runtime manager, the API,
 * rotation and the trigger handlers of one app. Nothing here runs at import; the Functions entry
 * (`src/functions/appHost.ts`) calls it once, from the app start hook, and tests build as many apps
 * as they like in one process.
 */
import { readFile } from "node:fs/promises";
import * as path from "node:path";
import type { AuthPolicy } from "./api/auth";
import { createEntraIdValidator, type EntraIdValidator } from "./api/entraId";
import { rotateSecret, type RotationPort } from "./api/rotationApi";
import { createApi, type ApiHandler } from "./api/router";
import { APP_METADATA_TABLE, type AppMetadataStore, createTableAppMetadataStore } from "./azure/appMetadataTable";
import { createAzureClients, type AzureClients } from "./azure/clients";
import { setUpstreamTelemetry } from "./azure/upstreamTelemetry";
import { createRotationAuditTableClient, createRotationLockContainerClient, createStorageAccountKeysClient, getRotationSecretClient } from "./azure/rotationClients";
import { DEFAULT_STORAGE_TIMEOUT_IN_MS, type StorageAccountOptions } from "./azure/storage";
import { createTableVersionTable, type VersionTable } from "./azure/versionTable";
import { isRotatableSecretStore } from "./components/secretstores/secretStore";
import { appRoot, type Settings } from "./config/settings";
import { consoleLogger, describeError, type Logger } from "./observability/logger";
import { startTelemetry } from "./observability/otel";
import { keyVaultEventFacts, noTelemetry, type Telemetry } from "./observability/telemetry";
import {
  createArmKeyPairSource,
  createAzuriteKeyPairSource,
  createBlobLeaseLock,
  createRotationService,
  createTableRotationAudit,
  type KeyPairSource,
  PENDING_SUFFIX,
  type RotationResult,
  type RotationService,
} from "./rotation";
import { loadResources } from "./runtime/componentFiles";
import { createEventCounters, createKeyVaultEventHandler, type SecretEvent } from "./runtime/keyVaultEvents";
import { createRuntimeManager, isStartupConfigurationError, type RefreshSummary, type RuntimeManager } from "./runtime/manager";
import { buildRuntime, type Runtime } from "./runtime/runtime";
import { createCounters } from "./runtime/secretCache";

/** What an app reaches the outside world with; tests pass fakes or their own instances. */
export interface AppClients {
  /** Credentials and SDK client factories (one set per app). */
  azure: AzureClients;
  logger: Logger;
  /** Metrics and spans (src/observability); none recorded when absent. The app's close() flushes it. */
  telemetry?: Telemetry;
}

/** What `refreshSecrets` did, for the timer's invocation log. */
export type RefreshReport = RefreshSummary & { rotations: string[] };

/** One app: the handlers the trigger adapters call, and its lifecycle. */
export interface App {
  /** The API handler every HTTP adapter calls. */
  readonly api: ApiHandler;
  /** The component runtime (status, refresh, coherence). */
  readonly runtime: RuntimeManager;
  /** The settings the app was built with. */
  readonly settings: Settings;
  /**
   * Loads component files and callers and initialises the components. A configuration mistake (a
   * component file, a caller document) throws; an outage (a vault unreachable at cold start) does not:
   * the components that did initialise serve, and the runtime retries the rest in the background.
   */
  start(): Promise<void>;
  /** The timer's work: coherence check, refresh of changed secrets, hot swap of dependents, then due rotations. */
  refreshSecrets(trigger: string): Promise<RefreshReport>;
  /** The Event Grid trigger's work for one event; resolves with a one-line description. */
  onKeyVaultEvent(event: unknown): Promise<string>;
  /** Closes every component (app shutdown). */
  close(): Promise<void>;
}

/** The production clients of an app: Azure factories over the settings' environment, console logging. */
export async function defaultClients(settings: Settings): Promise<AppClients> {
  const azure = createAzureClients(settings.environment, { keyVaultTimeouts: settings.keyVault });
  // To Application Insights as the identity the platform settings name, and/or the console/OTLP
  // exporter; every Azure SDK client of the process reports its attempts to it.
  const { connectionString, entraId } = settings.telemetry;
  const telemetry = await startTelemetry({
    connectionString,
    ...(connectionString !== undefined && entraId !== undefined ? { credential: azure.credential(entraId.clientId === undefined ? {} : { clientId: entraId.clientId }) } : {}),
    exporter: settings.telemetry.exporter,
    exportIntervalInMs: settings.telemetry.exportIntervalInMs,
    serviceName: settings.appId,
  });
  setUpstreamTelemetry(telemetry);
  return { azure, logger: consoleLogger, telemetry };
}

/** Builds an app; no I/O happens until {@link App.start} or the first request. */
export function createApp(settings: Settings, clients: AppClients): App {
  const { logger, azure } = clients;
  const cacheCounters = createCounters();
  const telemetry = clients.telemetry ?? noTelemetry;
  telemetry.observeCache(() => cacheCounters);
  const eventCounters = createEventCounters();
  const rotationCounters = { rotated: 0, failed: 0 };
  const inAzure = settings.azurePlan !== undefined;
  /** Anonymous access is a local-development switch: never honoured inside Azure. */
  const allowAnonymous = settings.allowAnonymous && !inAzure;
  /** Said once, when the app starts (building an app is silent). */
  const notices: string[] = [];

  const storage = appStorageOptions(settings);
  const versionTable = createVersionTable(settings, azure, storage, notices);
  const rotation = createRotation(settings, azure, storage, logger, notices);
  const appMetadata = createAppMetadataStore(azure, storage, notices);
  const entraId: EntraIdValidator | undefined =
    settings.entraId === undefined
      ? undefined
      : createEntraIdValidator({ issuers: settings.entraId.issuers, audiences: settings.entraId.audiences, algorithms: settings.entraId.algorithms, clockToleranceInSeconds: settings.entraId.clockSkewSeconds });

  const runtime = createRuntimeManager({
    logger,
    tokenGraceInMs: settings.tokenGraceInMs,
    coherenceIntervalInMs: settings.coherenceIntervalInMs,
    startRetry: { maxDelayInMs: settings.startRetryMaxDelayInMs },
    versionTable,
    build: async () => {
      const resources = await loadResources(settings.componentsPath, { namespace: settings.namespace });
      const built = await buildRuntime({
        appId: settings.appId,
        namespace: settings.namespace,
        resources,
        apiTokens: settings.apiTokens,
        providerContext: { appRoot: appRoot(), environment: settings.environment, azure },
        logger,
        referenceClientId: settings.keyVaultReferenceClientId,
        secretCache: { options: withoutUndefined(settings.secretCache), counters: cacheCounters },
      });
      if (settings.allowAnonymous && inAzure) logger.warn("ALLOW_ANONYMOUS is ignored when running in Azure");
      if (built.entraCallers.length > 0 && settings.entraId === undefined) logger.warn("Caller documents name Entra ID principals, but ENTRA_ISSUERS/ENTRA_AUDIENCES are not set: those callers cannot sign in");
      if (built.callers.length === 0 && built.entraCallers.length === 0) {
        logger.warn(
          allowAnonymous
            ? "ALLOW_ANONYMOUS=true: API routes are served without a token to loopback callers"
            : "no caller is configured (API_TOKEN or Caller documents): API routes answer 503 ERR_NO_CALLERS_CONFIGURED",
        );
      }
      return built;
    },
  });

  /** After a rotation promoted a version, this instance serves it now (the event tells the others). */
  const afterRotation = async (result: RotationResult): Promise<void> => {
    telemetry.rotation({ outcome: result.outcome, trigger: result.trigger, ...(result.generator !== undefined ? { generator: result.generator } : {}) });
    if (result.outcome === "rotated") {
      rotationCounters.rotated++;
      await runtime.secretChanged(result.target.vaultUrl, result.target.secretName, { trigger: "rotation" });
    } else if (result.outcome === "error" || result.outcome === "check-failed") {
      rotationCounters.failed++;
    }
  };

  const rotationPort: RotationPort = {
    async rotate(target, caller) {
      if (rotation === undefined) return { outcome: "error", error: "rotation is off: the app has no storage for locks and audit (AzureWebJobsStorage)" };
      const result = await rotation.rotateNow(target, { kind: "manual", source: caller.appId });
      await afterRotation(result);
      return {
        outcome: result.outcome,
        ...(result.oldVersion !== undefined ? { oldVersion: result.oldVersion } : {}),
        ...(result.newVersion !== undefined ? { newVersion: result.newVersion } : {}),
        ...(result.generator !== undefined ? { generator: result.generator } : {}),
        ...(result.description !== undefined ? { description: result.description } : {}),
        ...(result.error !== undefined ? { error: result.error } : {}),
        ...(result.nextDueAt !== undefined ? { nextDueAt: result.nextDueAt.toISOString() } : {}),
      };
    },
  };

  const authPolicies = new WeakMap<Runtime, AuthPolicy>();
  const handler = createApi({
    runtime,
    authPolicy: (rt) => {
      // One policy object per runtime build, not one per request.
      let policy = authPolicies.get(rt);
      if (policy === undefined) {
        // A configured caller whose token could not be read yet must not turn on anonymous access.
        policy = { callers: rt.callers, entraCallers: rt.entraCallers, entraId, allowAnonymous: allowAnonymous && rt.failedCallers.length === 0, anonymousAppId: rt.appId };
        authPolicies.set(rt, policy);
      }
      return policy;
    },
    logger,
    telemetry,
    maxBodyBytes: settings.maxBodyBytes,
    requestTimeoutInMs: settings.requestTimeoutInMs,
    writeRequestTimeoutInMs: settings.writeRequestTimeoutInMs,
    maxUrlLength: settings.maxUrlLength,
    maxHeaderBytes: settings.maxHeaderBytes,
    rateLimit: settings.rateLimit,
    appMetadata,
    openApiDocument: openApiDocument(),
    routes: [
      {
        method: "POST",
        pattern: "/v1.0-alpha1/secrets/:store/:name/rotate",
        role: "admin",
        action: "rotate secrets",
        handle: (c) => rotateSecret(rotationPort, c.runtime, c.caller, c.params.store ?? "", c.params.name ?? ""),
      },
    ],
    extended: () => ({
      secretCacheHits: cacheCounters.hits,
      secretCacheMisses: cacheCounters.misses,
      secretCacheUpstreamCalls: cacheCounters.upstreamCalls,
      secretCacheStaleServes: cacheCounters.staleServes,
      secretCacheErrors: cacheCounters.errors,
      secretCacheBudgetRefusals: cacheCounters.budgetRefusals,
      keyVaultEventsReceived: eventCounters.received,
      keyVaultEventsIgnored: eventCounters.ignored,
      keyVaultEventsCoalesced: eventCounters.coalesced,
      keyVaultSecretsExpired: eventCounters.expired,
      secretsRotated: rotationCounters.rotated,
      secretRotationsFailed: rotationCounters.failed,
      ...telemetry.snapshot(),
    }),
  });

  /**
   * Each request runs in a span that continues the caller's W3C trace when it sends one, so the Key
   * Vault and Storage calls it causes form one trace.
   */
  const api: ApiHandler = (request) => {
    if (!telemetry.recordsSpans) return handler(request);
    const traceParent = request.headers.get("traceparent") ?? undefined;
    return telemetry.span("vaultstate request", traceParent === undefined ? {} : { traceParent }, () => handler(request));
  };

  /**
   * A near-expiry event (for one of the app's vaults, `event.vaultUrl` as configured) makes rotation
   * look: it rotates only when Key Vault says the current version is within the near-expiry window.
   */
  const onNearExpiry = async (event: SecretEvent): Promise<string> => {
    if (rotation === undefined) return "rotation is off";
    const result = await rotation.rotateIfNearExpiry({ vaultUrl: event.vaultUrl, secretName: event.secretName }, { kind: "event", observedVersion: event.version, source: event.id });
    await afterRotation(result);
    return describeResult(result);
  };

  const keyVaultEvents = createKeyVaultEventHandler({ manager: runtime, logger, counters: eventCounters, onNearExpiry, ignoreSecret: (name) => name.toLowerCase().endsWith(PENDING_SUFFIX) });

  return {
    api,
    runtime,
    settings,
    async start() {
      for (const notice of notices.splice(0)) logger.warn(notice);
      try {
        await runtime.start();
      } catch (e) {
        // A broken configuration will not fix itself: fail start-up loudly. Anything else (a vault or
        // storage account unreachable at cold start) is retried in the background.
        if (isStartupConfigurationError(e)) throw e;
      }
    },
    async refreshSecrets(trigger) {
      const summary = await runtime.refresh(trigger);
      const rotations: string[] = [];
      if (rotation !== undefined) {
        for (const vaultUrl of rotatableVaults(await runtime.start())) {
          try {
            for (const result of await rotation.rotateDueSecrets(vaultUrl, "timer")) {
              await afterRotation(result);
              rotations.push(`${result.target.secretName}: ${describeResult(result)}`);
            }
          } catch (e) {
            logger.warn(`rotation sweep of ${vaultUrl} failed: ${describeError(e)}`);
          }
        }
      }
      return { ...summary, rotations };
    },
    async onKeyVaultEvent(event) {
      const facts = keyVaultEventFacts(event);
      try {
        const outcome = await telemetry.span("vaultstate keyvault event", { attributes: { "vaultstate.event.type": facts.type } }, () => keyVaultEvents.handle(event));
        telemetry.keyVaultEvent({ ...facts, outcome: outcome.startsWith("ignored") ? "ignored" : "handled" });
        return outcome;
      } catch (e) {
        telemetry.keyVaultEvent({ ...facts, outcome: "failed" });
        throw e;
      }
    },
    async close() {
      try {
        await runtime.close();
      } finally {
        // The last metrics and spans of this instance.
        await telemetry.shutdown();
      }
    },
  };
}

/** The app's own storage account (AzureWebJobsStorage), for the version table, locks and audit. */
function appStorageOptions(settings: Settings): StorageAccountOptions | undefined {
  const storage = settings.appStorage;
  if (storage === undefined) return undefined;
  return {
    connectionString: storage.connectionString,
    accountName: storage.accountName,
    endpoint: storage.tableEndpoint,
    clientId: storage.clientId,
    // Their callers pass no abort signal: the clients bound every operation themselves.
    operationTimeoutInMs: settings.appStorageTimeoutInMs ?? DEFAULT_STORAGE_TIMEOUT_IN_MS,
  };
}

function createVersionTable(settings: Settings, azure: AzureClients, storage: StorageAccountOptions | undefined, notices: string[]): VersionTable | undefined {
  if (storage === undefined) {
    notices.push(
      "no AzureWebJobsStorage: cross-instance coherence is off: a Key Vault change reaches an instance only through an Event Grid delivery to it, a refreshSecrets run on that same instance (on Flex Consumption the timer runs on instances of its own, so HTTP instances never refresh) or the cache TTL",
    );
    return undefined;
  }
  try {
    return createTableVersionTable(azure.table({ ...storage, tableName: settings.versionTableName }));
  } catch (e) {
    notices.push(`cross-instance coherence is off: ${describeError(e)}`);
    return undefined;
  }
}

/** `openapi.yaml` from the app root, read on first request and kept. */
function openApiDocument(): () => Promise<string> {
  let text: Promise<string> | undefined;
  return () => {
    text ??= readFile(path.join(appRoot(), "openapi.yaml"), "utf8").catch((e: unknown) => {
      text = undefined;
      throw e;
    });
    return text;
  };
}

/** Callers' `PUT /v1.0/metadata` values, shared by every instance through the app's storage. */
function createAppMetadataStore(azure: AzureClients, storage: StorageAccountOptions | undefined, notices: string[]): AppMetadataStore | undefined {
  if (storage === undefined) {
    notices.push("no AzureWebJobsStorage: app metadata (PUT /v1.0/metadata) is kept per instance, in memory");
    return undefined;
  }
  try {
    return createTableAppMetadataStore(azure.table({ ...storage, tableName: APP_METADATA_TABLE }));
  } catch (e) {
    notices.push(`app metadata is kept per instance, in memory: ${describeError(e)}`);
    return undefined;
  }
}

function createRotation(settings: Settings, azure: AzureClients, storage: StorageAccountOptions | undefined, logger: Logger, notices: string[]): RotationService | undefined {
  if (storage === undefined) {
    notices.push("no AzureWebJobsStorage: secret rotation is off (it needs a lock container and an audit table)");
    return undefined;
  }
  const config = settings.rotation;
  try {
    const blobStorage = { ...storage, endpoint: settings.appStorage?.blobEndpoint };
    const keyPairSources: Record<string, KeyPairSource> = {};
    if (config.azuriteAccounts !== undefined && config.azuriteBlobEndpoint !== undefined) {
      keyPairSources.azurite = createAzuriteKeyPairSource({ accounts: config.azuriteAccounts, blobEndpoint: config.azuriteBlobEndpoint });
    }
    if (config.armSubscriptionId !== undefined && config.armResourceGroup !== undefined) {
      keyPairSources.arm = createArmKeyPairSource({
        resourceGroup: config.armResourceGroup,
        client: createStorageAccountKeysClient(azure, config.armSubscriptionId, { clientId: config.clientId }),
      });
    }
    return createRotationService({
      getSecretClient: (vaultUrl) => getRotationSecretClient(azure, vaultUrl, { clientId: config.clientId }),
      lock: createBlobLeaseLock(createRotationLockContainerClient(azure, blobStorage, config.lockContainer), { leaseDurationInSeconds: config.leaseSeconds, logger }),
      audit: createTableRotationAudit(createRotationAuditTableClient(azure, storage, config.auditTable)),
      keyPairSources,
      logger,
    });
  } catch (e) {
    notices.push(`secret rotation is off: ${describeError(e)}`);
    return undefined;
  }
}

/** The vaults of a runtime's rotatable secret stores (the timer's rotation sweep covers each once). */
function rotatableVaults(rt: Runtime): string[] {
  const urls = new Set<string>();
  for (const c of rt.components) if (c.kind === "secretstores" && isRotatableSecretStore(c.store.inner)) urls.add(c.store.inner.vaultUrl());
  return [...urls];
}

function describeResult(r: RotationResult): string {
  return `rotation ${r.outcome}${r.oldVersion !== undefined ? ` from ${r.oldVersion}` : ""}${r.newVersion !== undefined ? ` to ${r.newVersion}` : ""}${r.error !== undefined ? `: ${r.error}` : ""}`;
}

function withoutUndefined<T extends object>(value: T): Partial<T> {
  return Object.fromEntries(Object.entries(value).filter(([, v]) => v !== undefined)) as Partial<T>;
}
