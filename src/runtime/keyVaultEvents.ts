/**
 * @module Key Vault events from Event Grid, in either schema (Event Grid or CloudEvents 1.0), and
 * what the app does with them.
 */
import type { Logger } from "../observability/logger";
import type { RuntimeManager } from "./manager";

/** The secret events vaultstate acts on. */
export type SecretEventType = "SecretNewVersionCreated" | "SecretNearExpiry" | "SecretExpired";

/** A parsed Key Vault secret event. */
export interface SecretEvent {
  id: string;
  type: SecretEventType;
  /** The vault's origin, from `data.Id` (or `https://<VaultName>.vault.azure.net`). */
  vaultUrl: string;
  vaultName: string;
  secretName: string;
  version: string | undefined;
  /** Expiry of that version in ms since the epoch, when the event carries it. */
  expiresOn: number | undefined;
  /** When the event happened (ms since the epoch), which orders versions an instance did not read. */
  time: number | undefined;
}

type Json = Record<string, unknown>;

function isObject(v: unknown): v is Json {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

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
  if (!isObject(event)) return undefined;
  const rawType = text(event.eventType) ?? text(event.type);
  const match = rawType === undefined ? null : /^Microsoft\.KeyVault\.(SecretNewVersionCreated|SecretNearExpiry|SecretExpired)$/.exec(rawType);
  if (match === null) return undefined;
  const data = isObject(event.data) ? event.data : isObject(event.Data) ? event.Data : undefined;
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
  ignored: number;
  newVersions: number;
  nearExpiry: number;
  expired: number;
}

/** Creates zeroed event counters. */
export function createEventCounters(): EventCounters {
  return { received: 0, ignored: 0, newVersions: 0, nearExpiry: 0, expired: 0 };
}

/** Called for near-expiry events of secrets with a rotation policy (wired to the rotation service). */
export type NearExpiryHandler = (event: SecretEvent) => Promise<string>;

/**
 * Handles one event delivery. New versions refresh the secret and its dependents now (and tell other
 * instances through the version table); near-expiry asks the rotation service; expiry is logged as
 * an error. Events for vaults the app does not use are ignored.
 * @returns what was done, for the log
 */
export async function handleKeyVaultEvent(
  event: unknown,
  deps: { manager: RuntimeManager; logger: Logger; counters: EventCounters; onNearExpiry?: NearExpiryHandler; ignoreSecret?: (name: string) => boolean },
): Promise<string> {
  deps.counters.received++;
  const parsed = parseSecretEvent(event);
  if (parsed === undefined) {
    deps.counters.ignored++;
    return "ignored: not a Key Vault secret event";
  }
  // Rotation's staging secrets change on every rotation and are never read by the app.
  if (deps.ignoreSecret?.(parsed.secretName) === true) {
    deps.counters.ignored++;
    return `ignored: ${parsed.secretName} is internal to rotation`;
  }
  const label = `${parsed.type} for ${parsed.vaultName}/${parsed.secretName}${parsed.version !== undefined ? ` (version ${parsed.version})` : ""}`;
  switch (parsed.type) {
    case "SecretNewVersionCreated": {
      const summary = await deps.manager.secretChanged(parsed.vaultUrl, parsed.secretName, { trigger: "event", hint: { version: parsed.version, updatedOn: parsed.time } });
      if (summary === undefined) {
        deps.counters.ignored++;
        return `ignored: ${label}: vault not used by this app`;
      }
      deps.counters.newVersions++;
      return `${label}: refreshed, ${summary.rebuilt.length} component(s) rebuilt`;
    }
    case "SecretNearExpiry": {
      deps.counters.nearExpiry++;
      if (deps.onNearExpiry === undefined) return `${label}: no rotation configured`;
      return `${label}: ${await deps.onNearExpiry(parsed)}`;
    }
    case "SecretExpired": {
      deps.counters.expired++;
      deps.logger.error(`Key Vault secret expired: ${label}; rotate it or extend its expiry`);
      return `${label}: logged`;
    }
  }
}
