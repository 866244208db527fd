/**
 * @module Key Vault events from Event Grid, in either schema (Event Grid or CloudEvents 1.0), and
 * what the app does with them.
 *
 * Events are hints, Key Vault is the truth. Anyone who can reach the webhook can post any event, so:
 * - an event is acted on only when it names a vault the app uses, and the vault is then addressed by
 *   the URL from the app's own configuration, never by a URL taken from the event;
 * - a new-version event leads to at most one version check per secret at a time, and to at most one
 *   check started per secret per interval (events that arrive meanwhile join the next check), so a
 *   flood of N events costs Key Vault calls in proportion to distinct secrets, not to N;
 * - a near-expiry event only asks rotation to look: rotation reads the secret from Key Vault and
 *   rotates only when Key Vault says the current version is within the near-expiry window;
 * - repeated `SecretExpired` for one secret is logged once per interval.
 */
import { LRUCache } from "lru-cache";
import { isVaultSecretStore } from "../components/secretstores/secretStore";
import { cloudByVaultHost } from "../azure/clouds";
import type { Logger } from "../observability/logger";
import type { RuntimeManager } from "./manager";
import type { Runtime } from "./runtime";
import { isRecord } from "../shared/guards";

/** The secret events vaultstate acts on. */
export type SecretEventType = "SecretNewVersionCreated" | "SecretNearExpiry" | "SecretExpired";

/** A parsed Key Vault secret event. */
export interface SecretEvent {
  id: string;
  type: SecretEventType;
  /**
   * The vault's origin as the event claims it, from `data.Id` (or `https://<VaultName>.vault.azure.net`).
   * Untrusted: {@link createKeyVaultEventHandler} replaces it with the configured URL of that vault
   * before anything calls out.
   */
  vaultUrl: string;
  /** Whether `vaultUrl` came from `data.Id` (else it was made up from `VaultName`). */
  vaultFromId: boolean;
  vaultName: string;
  secretName: string;
  version: string | undefined;
  /** Expiry of that version in ms since the epoch, when the event carries it. */
  expiresOn: number | undefined;
  /** When the event happened (ms since the epoch), which orders versions an instance did not read. */
  time: number | undefined;
}

type Json = Record<string, unknown>;


/** Reads a data field leniently: PascalCase as Azure sends, camelCase as SDKs type it, stray spaces. */
function dataField(data: Json, name: string): unknown {
  const lowered = name.toLowerCase();
  for (const [k, v] of Object.entries(data)) if (k.trim().toLowerCase() === lowered) return v;
  return undefined;
}

function text(v: unknown): string | undefined {
  if (typeof v === "string") return v.trim() === "" ? undefined : v.trim();
  if (typeof v === "number") return String(v);
  return undefined;
}

/**
 * Parses one event (pure). Events that are not about secrets, or not Key Vault events at all, give
 * `undefined` ("ignore"), as handlers should ignore what they do not know.
 */
export function parseSecretEvent(event: unknown): SecretEvent | undefined {
  if (!isRecord(event)) return undefined;
  const rawType = text(event.eventType) ?? text(event.type);
  const match = rawType === undefined ? null : /^Microsoft\.KeyVault\.(SecretNewVersionCreated|SecretNearExpiry|SecretExpired)$/.exec(rawType);
  if (match === null) return undefined;
  const data = isRecord(event.data) ? event.data : isRecord(event.Data) ? event.Data : undefined;
  if (data === undefined) return undefined;
  const objectType = text(dataField(data, "ObjectType"));
  if (objectType !== undefined && objectType.toLowerCase() !== "secret") return undefined;
  const idText = text(dataField(data, "Id"));
  let vaultUrl: string | undefined;
  let fromId: { name?: string; version?: string } = {};
  if (idText !== undefined) {
    try {
      const url = new URL(idText);
      vaultUrl = url.origin;
      const segments = url.pathname.split("/").filter((s) => s !== "");
      if (segments[0] === "secrets") fromId = { name: segments[1], version: segments[2] };
    } catch {
      vaultUrl = undefined;
    }
  }
  const vaultName = text(dataField(data, "VaultName")) ?? (vaultUrl !== undefined ? new URL(vaultUrl).hostname.split(".")[0] : undefined);
  const secretName = text(dataField(data, "ObjectName")) ?? fromId.name ?? text(event.subject);
  if (vaultName === undefined || secretName === undefined) return undefined;
  const exp = Number(text(dataField(data, "EXP")));
  const time = Date.parse(text(event.eventTime) ?? text(event.time) ?? "");
  return {
    id: text(event.id) ?? "",
    type: match[1] as SecretEventType,
    vaultUrl: vaultUrl ?? `https://${vaultName.toLowerCase()}.vault.azure.net`,
    vaultFromId: vaultUrl !== undefined,
    vaultName,
    secretName,
    version: text(dataField(data, "Version")) ?? fromId.version,
    expiresOn: Number.isFinite(exp) && exp > 0 ? exp * 1000 : undefined,
    time: Number.isNaN(time) ? undefined : time,
  };
}

/** Counters for `/v1.0/metadata` `extended`. */
export interface EventCounters {
  received: number;
  /** Not a secret event, a vault the app does not use, or a secret internal to rotation. */
  ignored: number;
  /** Joined a check or rotation attempt already under way or queued, or repeated a logged expiry. */
  coalesced: number;
  newVersions: number;
  nearExpiry: number;
  expired: number;
}

/** Creates zeroed event counters. */
export function createEventCounters(): EventCounters {
  return { received: 0, ignored: 0, coalesced: 0, newVersions: 0, nearExpiry: 0, expired: 0 };
}

/**
 * Called for near-expiry events of the app's vaults (wired to the rotation service). `event.vaultUrl`
 * is the configured URL of the vault. It must decide from Key Vault, not from the event.
 */
export type NearExpiryHandler = (event: SecretEvent) => Promise<string>;

/**
 * The vault URLs the app uses (origins as configured): Key Vault secret store components and the
 * vaults of Key Vault references.
 */
export function configuredVaultUrls(runtime: Runtime): string[] {
  const urls = new Set<string>();
  for (const c of runtime.components) if (c.kind === "secretstores" && isVaultSecretStore(c.store.inner)) urls.add(c.store.inner.vaultUrl());
  for (const url of runtime.referenceStores().keys()) urls.add(url);
  return [...urls];
}

function originOf(url: string): string | undefined {
  try {
    return new URL(url).origin.toLowerCase();
  } catch {
    return undefined;
  }
}

/**
 * The configured URL of the vault an event is about, or `undefined` when the app does not use that
 * vault (pure). An event with `data.Id` is matched on the Id's origin; one without, on its
 * `VaultName` against the first label of each configured host.
 */
export function resolveEventVault(event: Pick<SecretEvent, "vaultUrl" | "vaultFromId" | "vaultName">, configured: readonly string[]): string | undefined {
  if (event.vaultFromId) {
    const claimed = originOf(event.vaultUrl);
    return claimed === undefined ? undefined : configured.find((url) => originOf(url) === claimed);
  }
  const name = event.vaultName.toLowerCase();
  return configured.find((url) => {
    const origin = originOf(url);
    if (origin === undefined) return false;
    const host = new URL(origin).hostname;
    return cloudByVaultHost(host) !== undefined && host.split(".")[0] === name;
  });
}

/** Tuning of the event handler; every duration in milliseconds. */
export interface KeyVaultEventHandlerOptions {
  manager: RuntimeManager;
  logger: Logger;
  counters: EventCounters;
  onNearExpiry?: NearExpiryHandler;
  /** Secrets whose events are ignored (rotation's staging companions). */
  ignoreSecret?: (name: string) => boolean;
  /** Least time between the starts of two checks (or rotation attempts) of one secret. Default 1 s. */
  minCheckIntervalInMs?: number;
  /** Checks of different secrets running at once. Default 4. */
  maxConcurrentChecks?: number;
  /** `SecretExpired` for one secret is logged at most once per this interval. Default 10 minutes. */
  expiredLogIntervalInMs?: number;
  /** Distinct secrets whose expiry-log time is remembered (least recently used dropped). Default 10,000. */
  maxTrackedSecrets?: number;
  now?: () => number;
}

/** The app's event handler: one per process, as it remembers checks under way. */
export interface KeyVaultEventHandler {
  /**
   * Handles one event delivery.
   * @returns what was done, for the log (names and versions only)
   */
  handle(event: unknown): Promise<string>;
}

/** One secret's check: at most one running and one queued behind it. */
interface Lane {
  running: Promise<string> | undefined;
  queued: Promise<string> | undefined;
  lastStart: number;
}

/**
 * Creates the event handler.
 * @example
 * const events = createKeyVaultEventHandler({ manager, logger, counters: createEventCounters(), onNearExpiry });
 * await events.handle(eventGridEvent);
 */
export function createKeyVaultEventHandler(options: KeyVaultEventHandlerOptions): KeyVaultEventHandler {
  const { manager, logger, counters } = options;
  const now = options.now ?? Date.now;
  const minInterval = options.minCheckIntervalInMs ?? 1_000;
  const maxConcurrent = Math.max(1, options.maxConcurrentChecks ?? 4);
  const expiredInterval = options.expiredLogIntervalInMs ?? 10 * 60 * 1000;
  // Bounded: a lane outlives its check so the interval holds for the next event of that secret.
  const lanes = new LRUCache<string, Lane>({ max: options.maxTrackedSecrets ?? 10_000 });
  const expiredLogged = new LRUCache<string, number>({ max: options.maxTrackedSecrets ?? 10_000 });
  let active = 0;
  const waiting: (() => void)[] = [];

  const acquireSlot = async (): Promise<void> => {
    if (active < maxConcurrent) {
      active++;
      return;
    }
    await new Promise<void>((resolve) => waiting.push(resolve));
  };
  const releaseSlot = (): void => {
    const next = waiting.shift();
    if (next !== undefined) next();
    else active--;
  };

  /**
   * Runs `work` for a lane key: joins the queued run if there is one, else queues behind the running
   * one, else starts (after the interval since the last start). Joined callers are "coalesced".
   */
  const coalesce = (key: string, work: () => Promise<string>): { result: Promise<string>; coalesced: boolean } => {
    let lane = lanes.get(key);
    if (lane === undefined) {
      lane = { running: undefined, queued: undefined, lastStart: Number.NEGATIVE_INFINITY };
      lanes.set(key, lane);
    }
    if (lane.queued !== undefined) return { result: lane.queued, coalesced: true };
    const current = lane;
    const start = async (): Promise<string> => {
      const wait = current.lastStart + minInterval - now();
      if (wait > 0) await new Promise((resolve) => setTimeout(resolve, wait));
      await acquireSlot();
      current.lastStart = now();
      try {
        return await work();
      } finally {
        releaseSlot();
      }
    };
    const run = (): Promise<string> => {
      const promise = start().finally(() => {
        current.running = undefined;
      });
      current.running = promise;
      return promise;
    };
    if (lane.running === undefined) return { result: run(), coalesced: false };
    const queued = lane.running.then(
      () => undefined,
      () => undefined,
    ).then(() => {
      current.queued = undefined;
      return run();
    });
    lane.queued = queued;
    return { result: queued, coalesced: false };
  };

  const vaultsInUse = async (): Promise<string[]> => {
    if (manager.acquire === undefined) return configuredVaultUrls(await manager.start());
    const lease = await manager.acquire();
    try {
      return configuredVaultUrls(lease.runtime);
    } finally {
      lease.release();
    }
  };

  /** Whether every cached copy of the secret already is the version the event names. */
  const alreadyCurrent = async (vaultUrl: string, secretName: string, version: string | undefined): Promise<boolean> => {
    if (version === undefined || manager.acquire === undefined) return false;
    const lease = await manager.acquire();
    try {
      const stores = [...lease.runtime.components.flatMap((c) => (c.kind === "secretstores" && isVaultSecretStore(c.store.inner) && originOf(c.store.inner.vaultUrl()) === originOf(vaultUrl) ? [c.store] : []))];
      const reference = lease.runtime.referenceStores().get(vaultUrl);
      if (reference !== undefined) stores.push(reference);
      const cached = stores.map((s) => s.cachedVersion(secretName)?.version).filter((v): v is string => v !== undefined);
      return cached.length > 0 && cached.every((v) => v.toLowerCase() === version.toLowerCase());
    } finally {
      lease.release();
    }
  };

  return {
    async handle(event) {
      counters.received++;
      const parsed = parseSecretEvent(event);
      if (parsed === undefined) {
        counters.ignored++;
        return "ignored: not a Key Vault secret event";
      }
      // Rotation's staging secrets change on every rotation and are never read by the app.
      if (options.ignoreSecret?.(parsed.secretName) === true) {
        counters.ignored++;
        return `ignored: ${parsed.secretName} is internal to rotation`;
      }
      const vaultUrl = resolveEventVault(parsed, await vaultsInUse());
      const label = `${parsed.type} for ${parsed.vaultName}/${parsed.secretName}${parsed.version !== undefined ? ` (version ${parsed.version})` : ""}`;
      if (vaultUrl === undefined) {
        counters.ignored++;
        return `ignored: ${label}: vault not used by this app`;
      }
      const verified: SecretEvent = { ...parsed, vaultUrl };
      const key = JSON.stringify([originOf(vaultUrl), parsed.secretName.toLowerCase()]);
      switch (verified.type) {
        case "SecretNewVersionCreated": {
          if (await alreadyCurrent(vaultUrl, verified.secretName, verified.version)) {
            counters.coalesced++;
            return `${label}: already the cached version`;
          }
          const { result, coalesced } = coalesce(`new${key}`, async () => {
            const summary = await manager.secretChanged(vaultUrl, verified.secretName, { trigger: "event", hint: { version: verified.version, updatedOn: verified.time } });
            return summary === undefined ? "vault not used by this app" : `refreshed, ${summary.rebuilt.length} component(s) rebuilt`;
          });
          if (coalesced) counters.coalesced++;
          else counters.newVersions++;
          return `${label}: ${coalesced ? "joined a pending check: " : ""}${await result}`;
        }
        case "SecretNearExpiry": {
          const handler = options.onNearExpiry;
          if (handler === undefined) {
            counters.nearExpiry++;
            return `${label}: no rotation configured`;
          }
          const { result, coalesced } = coalesce(`near${key}`, () => handler(verified));
          if (coalesced) counters.coalesced++;
          else counters.nearExpiry++;
          return `${label}: ${coalesced ? "joined a pending rotation check: " : ""}${await result}`;
        }
        case "SecretExpired": {
          const last = expiredLogged.get(key);
          if (last !== undefined && now() - last < expiredInterval) {
            counters.coalesced++;
            return `${label}: already logged`;
          }
          expiredLogged.set(key, now());
          counters.expired++;
          logger.error(`Key Vault secret expired: ${label}; rotate it or extend its expiry`);
          return `${label}: logged`;
        }
      }
    },
  };
}
