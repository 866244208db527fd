/**
 * @module The rotation audit: one Table row per attempt. PartitionKey = the secret (vault host + name),
 * so one secret's history is one partition query; RowKey = a UUID v7, so rows sort by start time.
 * Rows hold versions, outcomes and reasons, never a value.
 */
import { odata, type TableClient } from "@azure/data-tables";
import type { RotationErrorCode, RotationOutcome, RotationResult, RotationTarget, RotationTrigger } from "./types";
import { createTableOnFirstUse } from "../azure/storage";

/**
 * One attempt, as audited: the result's versions, outcome and reasons (never a value), with the full
 * trigger (source, observed version) and the start time instead of the result's follow-up fields.
 */
export type RotationAuditEntry = Pick<
  RotationResult,
  "attemptId" | "target" | "outcome" | "oldVersion" | "newVersion" | "generator" | "description" | "errorCode" | "error" | "durationInMs"
> & {
  trigger: RotationTrigger;
  /** When the attempt started. */
  time: Date;
};

/** Where attempts are recorded. */
export interface RotationAudit {
  /**
   * Writes one row.
   * @throws storage errors (the service logs them and carries on)
   */
  record(entry: RotationAuditEntry, options?: { abortSignal?: AbortSignal }): Promise<void>;
}

/** The Table-backed audit, which can also read a secret's history. */
export interface TableRotationAudit extends RotationAudit {
  /**
   * A secret's attempts, oldest first (RowKey order).
   * @param options.top - at most this many rows
   */
  history(target: RotationTarget, options?: { top?: number; abortSignal?: AbortSignal }): Promise<RotationAuditEntry[]>;
}

/** Whether Table storage forbids a character in keys: `/ \\ # ?` and control characters. */
function forbiddenInKey(ch: string): boolean {
  const code = ch.charCodeAt(0);
  return "/\\#?".includes(ch) || code <= 0x1f || (code >= 0x7f && code <= 0x9f);
}

/**
 * The PartitionKey of a secret's history (pure): `<vault host>|<secret name>`, lower-cased (Key Vault
 * names are case-insensitive), with characters Table keys forbid replaced.
 */
export function auditPartitionKey(target: RotationTarget): string {
  let host: string;
  try {
    host = new URL(target.vaultUrl).host;
  } catch {
    host = target.vaultUrl;
  }
  return [...`${host}|${target.secretName}`.toLowerCase()].map((ch) => (forbiddenInKey(ch) ? "_" : ch)).join("");
}

/** Table string properties hold 32 K characters; reasons are short, keep rows small. */
const MAX_ERROR_LENGTH = 2000;

interface AuditEntity {
  partitionKey: string;
  rowKey: string;
  vaultUrl: string;
  secretName: string;
  trigger: string;
  outcome: string;
  time: Date;
  durationInMs: number;
  triggerSource?: string;
  observedVersion?: string;
  oldVersion?: string;
  newVersion?: string;
  generator?: string;
  description?: string;
  errorCode?: string;
  error?: string;
}

/** Maps an entry to its Table entity (pure); absent fields are left out rather than written empty. */
export function toAuditEntity(entry: RotationAuditEntry): AuditEntity {
  const optional: Partial<AuditEntity> = {
    triggerSource: entry.trigger.source,
    observedVersion: entry.trigger.observedVersion,
    oldVersion: entry.oldVersion,
    newVersion: entry.newVersion,
    generator: entry.generator,
    description: entry.description,
    errorCode: entry.errorCode,
    error: entry.error?.slice(0, MAX_ERROR_LENGTH),
  };
  const entity: AuditEntity = {
    partitionKey: auditPartitionKey(entry.target),
    rowKey: entry.attemptId,
    vaultUrl: entry.target.vaultUrl,
    secretName: entry.target.secretName,
    trigger: entry.trigger.kind,
    outcome: entry.outcome,
    time: entry.time,
    durationInMs: entry.durationInMs,
  };
  for (const [key, value] of Object.entries(optional) as [keyof AuditEntity, string | undefined][]) {
    if (value !== undefined) Object.assign(entity, { [key]: value });
  }
  return entity;
}

const str = (v: unknown): string | undefined => (typeof v === "string" ? v : undefined);

function fromEntity(e: Record<string, unknown>): RotationAuditEntry {
  const kind = str(e.trigger);
  const time = e.time instanceof Date ? e.time : new Date(str(e.time) ?? 0);
  const entry: RotationAuditEntry = {
    attemptId: str(e.rowKey) ?? "",
    target: { vaultUrl: str(e.vaultUrl) ?? "", secretName: str(e.secretName) ?? "" },
    trigger: { kind: kind === "event" || kind === "manual" ? kind : "timer" },
    outcome: (str(e.outcome) ?? "error") as RotationOutcome,
    time,
    durationInMs: typeof e.durationInMs === "number" ? e.durationInMs : 0,
  };
  const source = str(e.triggerSource);
  const observed = str(e.observedVersion);
  if (source !== undefined) entry.trigger.source = source;
  if (observed !== undefined) entry.trigger.observedVersion = observed;
  const copy = { oldVersion: str(e.oldVersion), newVersion: str(e.newVersion), generator: str(e.generator), description: str(e.description), error: str(e.error) };
  for (const [k, v] of Object.entries(copy)) if (v !== undefined) Object.assign(entry, { [k]: v });
  const code = str(e.errorCode);
  if (code !== undefined) entry.errorCode = code as RotationErrorCode;
  return entry;
}

/**
 * The audit on a Table (created on first write).
 * @param table - from `createRotationAuditTableClient` (src/azure/rotationClients.ts)
 * @example
 * const audit = createTableRotationAudit(createRotationAuditTableClient({ accountName, clientId }));
 * const rows = await audit.history({ vaultUrl, secretName });
 */
export function createTableRotationAudit(table: TableClient): TableRotationAudit {
  const ensureTable = createTableOnFirstUse(table);
  return {
    async record(entry, options) {
      await ensureTable(options?.abortSignal);
      await table.createEntity(toAuditEntity(entry), { abortSignal: options?.abortSignal });
    },
    async history(target, options) {
      await ensureTable(options?.abortSignal);
      const out: RotationAuditEntry[] = [];
      const pages = table.listEntities<Record<string, unknown>>({ queryOptions: { filter: odata`PartitionKey eq ${auditPartitionKey(target)}` }, abortSignal: options?.abortSignal });
      for await (const entity of pages) {
        out.push(fromEntity(entity));
        if (options?.top !== undefined && out.length >= options.top) break;
      }
      return out;
    },
  };
}
