/**
 * @module Planning a Dapr transaction as one Azure Table batch (pure).
 *
 * A batch is atomic but limited: one partition, at most 100 operations, each row at most once, and no
 * conditional delete. So the operations are collapsed per key, in order: the first operation on a key
 * sets the condition on the row as stored (checked by the service, atomically), the last one decides
 * the row's final content, and the ones in between are checked against what the transaction itself
 * did. Deletes become tombstones (see {@link tombstoneEntity}) so they can carry a condition.
 */
import { alreadyExists, etagMismatch, etagOfMissingItem, normalizeETag } from "../../concurrency";
import type { TransactionOperation } from "../../stateStore";
import { expiryFromMetadata } from "../../ttl";
import { type StateEntity, type TableKeys, type ValueLayout, isTableETag, tableKeysFor, tombstoneEntity, valueEntity } from "./tableStateStoreMetadata";

/** Azure Table Storage's limit on operations per batch. */
export const MAX_BATCH_OPERATIONS = 100;

/** The stored row as far as concurrency is concerned; `undefined` in a map means no row. */
export interface RowHead {
  etag: string;
  expired: boolean;
}

/** One batch action; `tombstone` marks the rows to clean up after the batch committed. */
export type PlannedAction =
  | { kind: "upsert"; entity: StateEntity; tombstone: boolean }
  | { kind: "create"; entity: StateEntity; tombstone: boolean }
  | { kind: "update"; entity: StateEntity; etag: string; tombstone: boolean };

/** Thrown when a transaction's keys span partitions; the API reports it as 500 ERR_STATE_TRANSACTION. */
export class CrossPartitionTransactionError extends Error {
  override readonly name = "CrossPartitionTransactionError";
  constructor(readonly partitionCount: number) {
    super(
      `Azure Table Storage transactions are atomic within one partition only, but the keys span ${partitionCount} ` +
        `partitions (the partition is the part of the key before "||", normally the app-id)`,
    );
  }
}

/**
 * The keys whose first operation carries a condition (an etag, or first-write): the planner needs
 * their stored row to choose between "replace if match" and "create".
 */
export function keysNeedingHead(operations: readonly TransactionOperation[]): string[] {
  const seen = new Set<string>();
  const keys: string[] = [];
  for (const op of operations) {
    if (seen.has(op.request.key)) continue;
    seen.add(op.request.key);
    const etag = normalizeETag(op.request.etag);
    const firstWrite = op.operation === "upsert" && op.request.options.concurrency === "first-write";
    if (etag !== undefined || firstWrite) keys.push(op.request.key);
  }
  return keys;
}

/**
 * The single partition of a transaction.
 * @throws {@link CrossPartitionTransactionError} when keys map to several partitions
 * @throws {@link RangeError} for a key Azure Tables cannot store
 */
export function transactionPartition(operations: readonly TransactionOperation[], cosmosDbMode = false): string | undefined {
  const partitions = new Set(operations.map((op) => tableKeysFor(op.request.key, cosmosDbMode).partitionKey));
  if (partitions.size > 1) throw new CrossPartitionTransactionError(partitions.size);
  return partitions.values().next().value;
}

/** What the row must look like before the batch, derived from the key's first operation. */
type Condition = { kind: "none" } | { kind: "match"; etag: string } | { kind: "absent"; leftoverEtag?: string };

interface KeyPlan {
  keys: TableKeys;
  condition: Condition;
  /** What the transaction has done to the key so far. */
  state: "written" | "deleted";
  final: { kind: "write"; value: string; expiresAt: number | undefined } | { kind: "delete" };
}

/**
 * Collapses a transaction into batch actions, one per key.
 * @param heads - the stored rows of {@link keysNeedingHead} (missing entry or `undefined` = no row)
 * @throws {@link ETagError} `mismatch` when an etag or first-write condition already fails
 * @throws {@link CrossPartitionTransactionError}, {@link TtlError}, {@link RangeError} for invalid input
 */
export function planTableTransaction(
  operations: readonly TransactionOperation[],
  heads: ReadonlyMap<string, RowHead | undefined>,
  options: { nowInMs: number; cosmosDbMode?: boolean; layout?: ValueLayout },
): PlannedAction[] {
  if (operations.length > MAX_BATCH_OPERATIONS) {
    throw new RangeError(`a transaction holds at most ${MAX_BATCH_OPERATIONS} operations, got ${operations.length}`);
  }
  transactionPartition(operations, options.cosmosDbMode);
  const plans = new Map<string, KeyPlan>();
  for (const op of operations) {
    const key = op.request.key;
    const etag = normalizeETag(op.request.etag);
    const firstWrite = op.operation === "upsert" && op.request.options.concurrency === "first-write";
    const final: KeyPlan["final"] =
      op.operation === "upsert"
        ? { kind: "write", value: op.request.value, expiresAt: expiryFromMetadata(op.request.metadata, options.nowInMs) }
        : { kind: "delete" };
    const plan = plans.get(key);
    if (plan === undefined) {
      const condition = firstCondition(op.operation, etag, firstWrite, heads.get(key));
      plans.set(key, { keys: tableKeysFor(key, options.cosmosDbMode), condition, state: final.kind === "write" ? "written" : "deleted", final });
      continue;
    }
    // Later operations see the transaction's own effect: a row it wrote has an etag nobody knows yet.
    if (op.operation === "upsert") {
      if (plan.state === "written" && etag !== undefined) throw etagMismatch();
      if (plan.state === "written" && firstWrite) throw alreadyExists();
    } else if (etag !== undefined) {
      throw etagMismatch();
    }
    plan.state = final.kind === "write" ? "written" : "deleted";
    plan.final = final;
  }
  return [...plans.values()].map((plan) => toAction(plan, options.layout ?? "binary"));
}

function firstCondition(
  operation: TransactionOperation["operation"],
  etag: string | undefined,
  firstWrite: boolean,
  head: RowHead | undefined,
): Condition {
  const live = head !== undefined && !head.expired;
  const absent: Condition = head === undefined ? { kind: "absent" } : { kind: "absent", leftoverEtag: head.etag };
  if (operation === "delete") {
    if (etag === undefined) return { kind: "none" };
    // Deleting with an etag needs a live row with exactly that etag (a missing one is a mismatch).
    if (!live || head.etag !== etag || !isTableETag(etag)) throw etagMismatch();
    return { kind: "match", etag };
  }
  if (etag !== undefined) {
    // Policy: on a live row the etag must match; on a missing (or expired) one only an etag Tables
    // never issues creates it, while one it issued names a deleted version (see concurrency.ts).
    if (!live) {
      if (isTableETag(etag)) throw etagOfMissingItem();
      return absent;
    }
    if (head.etag !== etag || !isTableETag(etag)) throw etagMismatch();
    return { kind: "match", etag };
  }
  if (firstWrite) {
    if (live) throw alreadyExists();
    return absent;
  }
  return { kind: "none" };
}

function toAction(plan: KeyPlan, layout: ValueLayout): PlannedAction {
  const tombstone = plan.final.kind === "delete";
  const entity = plan.final.kind === "write" ? valueEntity(plan.keys, plan.final.value, plan.final.expiresAt, layout) : tombstoneEntity(plan.keys);
  const { condition } = plan;
  switch (condition.kind) {
    case "none":
      return { kind: "upsert", entity, tombstone };
    case "match":
      return { kind: "update", entity, etag: condition.etag, tombstone };
    case "absent":
      return condition.leftoverEtag === undefined
        ? { kind: "create", entity, tombstone }
        : { kind: "update", entity, etag: condition.leftoverEtag, tombstone };
  }
}
