/**
 * @module The composition root: settings → runtime manager → API and trigger handlers, built once
 * per process.
 */
import type { AuthPolicy } from "./api/auth";
import { createEntraIdValidator, type EntraIdValidator } from "./api/entraId";
import type { RotationPort } from "./api/rotationApi";
import { rotateSecret } from "./api/rotationApi";
import { createApi } from "./api/router";
import { createRotationAuditTableClient, createRotationLockContainerClient, createStorageAccountKeysClient, getRotationSecretClient } from "./azure/rotationClients";
import { configureKeyVaultTimeouts } from "./azure/keyvault";
import { createTableClient, type StorageAccountOptions } from "./azure/storage";
import { createTableVersionTable } from "./azure/versionTable";
import { APP_METADATA_TABLE, createTableAppMetadataStore } from "./azure/appMetadataTable";
import type { AppMetadataStore } from "./api/metadataApi";
import { isKeyVaultSecretStore } from "./components/secretstores/azure/keyvault/keyVaultSecretStore";
import { APP_ROOT, settings } from "./config/settings";
import { consoleLogger, describeError } from "./observability/logger";
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
import type { VersionTable } from "./runtime/coherence";
import { loadResources } from "./runtime/componentFiles";
import { createEventCounters, createKeyVaultEventHandler, type SecretEvent } from "./runtime/keyVaultEvents";
import { createRuntimeManager, type RefreshSummary } from "./runtime/manager";
import { buildRuntime, type Runtime } from "./runtime/runtime";
import { createCounters } from "./runtime/secretCache";

const config = settings();
const logger = consoleLogger;
const cacheCounters = createCounters();
const eventCounters = createEventCounters();
const rotationCounters = { rotated: 0, failed: 0 };
/** Anonymous access is a local-development switch: never honoured inside Azure. */
const allowAnonymous = config.allowAnonymous && !config.inAzure;

/** The app's own storage account (AzureWebJobsStorage), for the version table, locks and audit. */
function appStorageOptions(): StorageAccountOptions | undefined {
  const storage = config.appStorage;
  if (storage === undefined) return undefined;
  return { connectionString: storage.connectionString, accountName: storage.accountName, endpoint: storage.tableEndpoint, clientId: storage.clientId };
}

function versionTable(): VersionTable | undefined {
  const storage = appStorageOptions();
  if (storage === undefined) {
    logger.warn(
      "no AzureWebJobsStorage: cross-instance coherence is off: a Key Vault change reaches an instance only through an Event Grid delivery to it, a refreshSecrets run on that same instance (on Flex Consumption the timer runs on instances of its own, so HTTP instances never refresh) or the cache TTL",
    );
    return undefined;
  }
  try {
    return createTableVersionTable(createTableClient({ ...storage, tableName: config.versionTableName }));
  } catch (e) {
    logger.warn(`cross-instance coherence is off: ${describeError(e)}`);
    return undefined;
  }
}

/** Callers' `PUT /v1.0/metadata` values, shared by every instance through the app's storage. */
function appMetadataStore(): AppMetadataStore | undefined {
  const storage = appStorageOptions();
  if (storage === undefined) {
    logger.warn("no AzureWebJobsStorage: app metadata (PUT /v1.0/metadata) is kept per instance, in memory");
    return undefined;
  }
  try {
    return createTableAppMetadataStore(createTableClient({ ...storage, tableName: APP_METADATA_TABLE }));
  } catch (e) {
    logger.warn(`app metadata is kept per instance, in memory: ${describeError(e)}`);
    return undefined;
  }
}

function rotationService(): RotationService | undefined {
  const storage = appStorageOptions();
  if (storage === undefined) {
    logger.warn("no AzureWebJobsStorage: secret rotation is off (it needs a lock container and an audit table)");
    return undefined;
  }
  try {
    const blobStorage = { ...storage, endpoint: config.appStorage?.blobEndpoint };
    const keyPairSources: Record<string, KeyPairSource> = {};
    if (config.rotation.azuriteAccounts !== undefined && config.rotation.azuriteBlobEndpoint !== undefined) {
      keyPairSources.azurite = createAzuriteKeyPairSource({ accounts: config.rotation.azuriteAccounts, blobEndpoint: config.rotation.azuriteBlobEndpoint });
    }
    if (config.rotation.armSubscriptionId !== undefined && config.rotation.armResourceGroup !== undefined) {
      keyPairSources.arm = createArmKeyPairSource({
        resourceGroup: config.rotation.armResourceGroup,
        client: createStorageAccountKeysClient(config.rotation.armSubscriptionId, { clientId: config.rotation.clientId }),
      });
    }
    return createRotationService({
      getSecretClient: (vaultUrl) => getRotationSecretClient(vaultUrl, { clientId: config.rotation.clientId }),
      lock: createBlobLeaseLock(createRotationLockContainerClient(blobStorage, config.rotation.lockContainer), { leaseDurationInSeconds: config.rotation.leaseSeconds, logger }),
      audit: createTableRotationAudit(createRotationAuditTableClient(storage, config.rotation.auditTable)),
      keyPairSources,
      logger,
    });
  } catch (e) {
    logger.warn(`secret rotation is off: ${describeError(e)}`);
    return undefined;
  }
}

function entraIdValidator(): EntraIdValidator | undefined {
  return config.entraId === undefined
    ? undefined
    : createEntraIdValidator({ issuers: config.entraId.issuers, audiences: config.entraId.audiences, algorithms: config.entraId.algorithms, clockToleranceInSeconds: config.entraId.clockSkewSeconds });
}

/** The shared runtime; `src/index.ts` starts it when the app starts. */
export const runtime = createRuntimeManager({
  logger,
  tokenGraceInMs: config.tokenGraceInMs,
  coherenceIntervalInMs: config.coherenceIntervalInMs,
  versionTable: versionTable(),
  build: async () => {
    configureKeyVaultTimeouts(withoutUndefined(config.keyVault));
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
    if (built.entraCallers.length > 0 && config.entraId === undefined) logger.warn("Caller documents name Entra ID principals, but ENTRA_ISSUERS/ENTRA_AUDIENCES are not set: those callers cannot sign in");
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

const rotation = rotationService();
const entraId = entraIdValidator();

/** The Key Vault stores of the runtime, by vault URL. */
function vaultUrls(rt: Runtime): string[] {
  const urls = new Set<string>();
  for (const c of rt.components) if (c.kind === "secretstores" && isKeyVaultSecretStore(c.store.inner)) urls.add(c.store.inner.vaultUrl());
  return [...urls];
}

/** After a rotation promoted a version, this instance serves it now (the event tells the others). */
async function afterRotation(result: RotationResult): Promise<void> {
  if (result.outcome === "rotated") {
    rotationCounters.rotated++;
    await runtime.secretChanged(result.target.vaultUrl, result.target.secretName, { trigger: "rotation" });
  } else if (result.outcome === "error" || result.outcome === "check-failed") {
    rotationCounters.failed++;
  }
}

function describeResult(r: RotationResult): string {
  return `rotation ${r.outcome}${r.oldVersion !== undefined ? ` from ${r.oldVersion}` : ""}${r.newVersion !== undefined ? ` to ${r.newVersion}` : ""}${r.error !== undefined ? `: ${r.error}` : ""}`;
}

const rotationPort: RotationPort = {
  async rotate(vaultUrl, secretName, caller) {
    if (rotation === undefined) return { outcome: "error", error: "rotation is off: the app has no storage for locks and audit (AzureWebJobsStorage)" };
    const result = await rotation.rotateNow({ vaultUrl, secretName }, { kind: "manual", source: caller.appId });
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

/** The API handler every HTTP function adapter calls. */
export const api = createApi({
  runtime,
  authPolicy: (rt) => {
    // One policy object per runtime build, not one per request.
    let policy = authPolicies.get(rt);
    if (policy === undefined) {
      policy = { callers: rt.callers, entraCallers: rt.entraCallers, entraId, allowAnonymous, anonymousAppId: rt.appId };
      authPolicies.set(rt, policy);
    }
    return policy;
  },
  logger,
  maxBodyBytes: config.maxBodyBytes,
  requestTimeoutInMs: config.requestTimeoutInMs,
  maxUrlLength: config.maxUrlLength,
  maxHeaderBytes: config.maxHeaderBytes,
  rateLimit: config.rateLimit,
  appMetadata: appMetadataStore(),
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
  }),
});

/** The `refreshSecrets` timer's schedule and start-up behaviour. */
export const refreshTimer = { schedule: config.refreshSchedule, runOnStartup: config.refreshOnStartup };

/** The timer's work: coherence check, refresh of changed secrets, hot swap of dependents, then due rotations. */
export async function refreshSecrets(trigger: string): Promise<RefreshSummary & { rotations: string[] }> {
  const summary = await runtime.refresh(trigger);
  const rotations: string[] = [];
  if (rotation !== undefined) {
    for (const vaultUrl of vaultUrls(await runtime.start())) {
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
}

/**
 * A near-expiry event (for one of the app's vaults, `event.vaultUrl` as configured) makes rotation
 * look: it rotates only when Key Vault says the current version is within the near-expiry window.
 */
async function onNearExpiry(event: SecretEvent): Promise<string> {
  if (rotation === undefined) return "rotation is off";
  const result = await rotation.rotateIfNearExpiry({ vaultUrl: event.vaultUrl, secretName: event.secretName }, { kind: "event", observedVersion: event.version, source: event.id });
  await afterRotation(result);
  return describeResult(result);
}

const keyVaultEvents = createKeyVaultEventHandler({ manager: runtime, logger, counters: eventCounters, onNearExpiry, ignoreSecret: (name) => name.toLowerCase().endsWith(PENDING_SUFFIX) });

/** The Event Grid trigger's work for one event. */
export function onKeyVaultEvent(event: unknown): Promise<string> {
  return keyVaultEvents.handle(event);
}

function withoutUndefined<T extends object>(value: T): Partial<T> {
  return Object.fromEntries(Object.entries(value).filter(([, v]) => v !== undefined)) as Partial<T>;
}
