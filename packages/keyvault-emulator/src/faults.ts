/**
 * @module keyvault-emulator/faults: fault injection rules and the request log.
 *
 * Rules apply to authenticated vault requests (so "the next N getSecret calls" counts real operations, not
 * the SDK's unauthenticated challenge request) and to identity-endpoint requests named explicitly.
 */
import { isRecord } from "./model";
import { isSecretOperation, type SecretOperation } from "./rbac";

/** Operations of the identity listener, usable in fault rules and seen in the request log. */
export type IdentityOperation = "getManagedIdentityToken" | "getImdsToken" | "getOpenIdConfiguration" | "getJwks";
/** Any operation the emulator logs. */
export type LoggedOperation = SecretOperation | IdentityOperation | "unknown";

/** What a rule does to a matching request. */
export interface FaultAction {
  /** Answer with this status and a Key Vault error body (429 → `Throttled`, 503 → `ServiceUnavailable`, ...). */
  status?: number;
  /** With `status`: send `Retry-After: <seconds>`. */
  retryAfterSeconds?: number;
  /** Delay before handling (alone, the request then proceeds normally). */
  latencyMs?: number;
  /** Destroy the socket without answering (ECONNRESET on the client). */
  reset?: boolean;
}

/** A rule as created through the API. */
export interface FaultRuleInput extends FaultAction {
  /** Operation name, or "*" for every secrets operation. */
  operation: SecretOperation | IdentityOperation | "*";
  /** Only this vault (vault operations only). */
  vault?: string;
  /** Apply to the next N matching requests; absent = until cleared. */
  count?: number;
}

/** A stored rule. */
export interface FaultRule extends FaultRuleInput {
  id: number;
  /** Requests it has been applied to. */
  hits: number;
}

const IDENTITY_OPERATIONS: readonly IdentityOperation[] = ["getManagedIdentityToken", "getImdsToken", "getOpenIdConfiguration", "getJwks"];

/**
 * Validates a rule from the admin API.
 * @param input - untrusted JSON
 * @throws TypeError / RangeError naming the bad field
 */
export function parseFaultRule(input: unknown): FaultRuleInput {
  if (!isRecord(input)) throw new TypeError("a fault rule must be an object");
  const { operation, vault, count, status, retryAfterSeconds, latencyMs, reset } = input;
  if (!(operation === "*" || isSecretOperation(operation) || IDENTITY_OPERATIONS.includes(operation as IdentityOperation))) {
    throw new RangeError(`fault.operation must be "*", a secrets operation or an identity operation (got ${JSON.stringify(operation)})`);
  }
  const int = (v: unknown, field: string, min: number, max: number): number | undefined => {
    if (v === undefined || v === null) return undefined;
    if (typeof v !== "number" || !Number.isInteger(v) || v < min || v > max) throw new RangeError(`fault.${field} must be an integer from ${min} to ${max}`);
    return v;
  };
  const s = int(status, "status", 400, 599);
  const ra = int(retryAfterSeconds, "retryAfterSeconds", 0, 3600);
  const lat = int(latencyMs, "latencyMs", 0, 120_000);
  const c = int(count, "count", 1, 1_000_000);
  if (vault !== undefined && typeof vault !== "string") throw new TypeError("fault.vault must be a string");
  if (reset !== undefined && typeof reset !== "boolean") throw new TypeError("fault.reset must be a boolean");
  if (s === undefined && !reset && lat === undefined) throw new RangeError("a fault needs status, reset or latencyMs");
  if (s !== undefined && reset) throw new RangeError("a fault has either status or reset, not both");
  if (ra !== undefined && s === undefined) throw new RangeError("fault.retryAfterSeconds needs status");
  return {
    operation: operation as FaultRuleInput["operation"],
    ...(typeof vault === "string" ? { vault } : {}),
    ...(c === undefined ? {} : { count: c }),
    ...(s === undefined ? {} : { status: s }),
    ...(ra === undefined ? {} : { retryAfterSeconds: ra }),
    ...(lat === undefined ? {} : { latencyMs: lat }),
    ...(reset ? { reset: true } : {}),
  };
}

/** The active fault rules; the first matching rule wins. */
export class FaultInjector {
  private rules: FaultRule[] = [];
  private nextId = 1;

  /**
   * Adds a rule.
   * @param input - validated with {@link parseFaultRule}
   */
  add(input: FaultRuleInput): FaultRule {
    const rule: FaultRule = { ...input, id: this.nextId++, hits: 0 };
    this.rules.push(rule);
    return rule;
  }

  /** Current rules. */
  list(): readonly FaultRule[] {
    return this.rules;
  }

  /**
   * Removes one rule, or all with no id.
   * @returns how many were removed
   */
  clear(id?: number): number {
    const before = this.rules.length;
    this.rules = id === undefined ? [] : this.rules.filter((r) => r.id !== id);
    return before - this.rules.length;
  }

  /**
   * Finds the action for a request and consumes one use of the rule.
   * @param operation - the request's operation
   * @param vault - the vault, for vault requests
   */
  take(operation: LoggedOperation, vault?: string): FaultAction | undefined {
    const rule = this.rules.find(
      (r) =>
        (r.operation === operation || (r.operation === "*" && isSecretOperation(operation))) &&
        (r.vault === undefined || (vault !== undefined && r.vault.toLowerCase() === vault.toLowerCase())),
    );
    if (!rule) return undefined;
    rule.hits++;
    if (rule.count !== undefined && rule.hits >= rule.count) this.rules = this.rules.filter((r) => r !== rule);
    const { status, retryAfterSeconds, latencyMs, reset } = rule;
    return {
      ...(status === undefined ? {} : { status }),
      ...(retryAfterSeconds === undefined ? {} : { retryAfterSeconds }),
      ...(latencyMs === undefined ? {} : { latencyMs }),
      ...(reset ? { reset } : {}),
    };
  }
}

/** One logged request; never holds secret values or tokens. */
export interface RequestLogEntry {
  seq: number;
  /** Emulator time, ISO 8601. */
  time: string;
  listener: "vault" | "identity";
  vault?: string;
  method: string;
  /** Path without the query string. */
  path: string;
  operation: LoggedOperation;
  status: number;
  secretName?: string;
  version?: string;
  /** Caller object id once the token was accepted. */
  principalId?: string;
  /** "status" | "reset" when a fault rule answered instead of the emulator. */
  fault?: "status" | "reset";
  durationMs: number;
}

/** Counts per operation and per status. */
export interface RequestCounts {
  total: number;
  byOperation: Record<string, number>;
  byOperationAndStatus: Record<string, Record<string, number>>;
}

/** Request log: a bounded list of entries plus counters that survive the bound. */
export class RequestLog {
  private entries: RequestLogEntry[] = [];
  private seq = 0;
  private counts: RequestCounts = { total: 0, byOperation: {}, byOperationAndStatus: {} };

  /** @param capacity - entries kept (counts are exact regardless) */
  constructor(private readonly capacity = 10_000) {}

  /**
   * Records a request.
   * @param entry - everything but the sequence number
   */
  record(entry: Omit<RequestLogEntry, "seq">): RequestLogEntry {
    const full: RequestLogEntry = { seq: ++this.seq, ...entry };
    this.entries.push(full);
    if (this.entries.length > this.capacity) this.entries.splice(0, this.entries.length - this.capacity);
    this.counts.total++;
    this.counts.byOperation[entry.operation] = (this.counts.byOperation[entry.operation] ?? 0) + 1;
    const byStatus = (this.counts.byOperationAndStatus[entry.operation] ??= {});
    byStatus[String(entry.status)] = (byStatus[String(entry.status)] ?? 0) + 1;
    return full;
  }

  /**
   * Entries, oldest first, optionally filtered.
   * @param filter - operation and/or vault
   */
  list(filter: { operation?: string; vault?: string } = {}): RequestLogEntry[] {
    return this.entries.filter(
      (e) =>
        (filter.operation === undefined || e.operation === filter.operation) &&
        (filter.vault === undefined || e.vault?.toLowerCase() === filter.vault.toLowerCase()),
    );
  }

  /** A copy of the counters. */
  summary(): RequestCounts {
    return JSON.parse(JSON.stringify(this.counts)) as RequestCounts;
  }

  /** Forgets everything. */
  reset(): void {
    this.entries = [];
    this.counts = { total: 0, byOperation: {}, byOperationAndStatus: {} };
  }
}
