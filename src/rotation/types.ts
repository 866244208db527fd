/**
 * @module Rotation request and result types shared by the service, the lock, the audit and generators.
 */

import type { RotationTarget } from "../components/secretstores/secretStore";

/** The secret to rotate: the secret-store contract's target (a rotatable store names it). */
export type { RotationTarget };

/** What started a rotation attempt. */
export type RotationTriggerKind = "timer" | "event" | "manual";

/**
 * A trigger with what it saw. `observedVersion` makes duplicates harmless: when the secret's current
 * version is no longer the one the trigger saw (a `SecretNearExpiry` for a version already rotated
 * away, a retried admin call), the attempt ends as `stale-trigger` without touching anything.
 */
export interface RotationTrigger {
  kind: RotationTriggerKind;
  /** The version the trigger is about (Event Grid `data.Version`, or the version an operator saw). */
  observedVersion?: string;
  /** When the trigger happened (Event Grid `eventTime`); a current version created later makes it stale. */
  observedAt?: Date;
  /** Free text for the audit row, e.g. the Event Grid event id or the admin caller; never a value. */
  source?: string;
}

/** Every way an attempt ends; the audit row's `outcome`. */
export type RotationOutcome = "rotated" | "check-failed" | "locked" | "not-due" | "no-policy" | "stale-trigger" | "error";

/** Why an attempt ended in `error` (or, for `check`, in `check-failed`). */
export type RotationErrorCode =
  /** The target is not a valid vault URL and secret name. */
  | "invalid-target"
  /** The policy tags are invalid, or name something not configured (a key-pair source). */
  | "invalid-policy"
  /** The secret does not exist. */
  | "not-found"
  /** The current version is disabled, so it cannot be read (Key Vault answers 403 SecretDisabled). */
  | "current-disabled"
  /** Key Vault refused an operation: the identity lacks a role (Secrets Officer is needed to rotate). */
  | "forbidden"
  /** Key Vault or storage throttled or failed (429, 5xx, network). */
  | "unavailable"
  /** The lease was lost before promotion; nothing was promoted. */
  | "lease-lost"
  /** Someone wrote a new version while the rotation ran; nothing was promoted. */
  | "concurrent-change"
  /** The value read back from the pending secret differs from the generated one. */
  | "pending-mismatch"
  /** The generator failed (e.g. a key-pair source did not answer). */
  | "generator"
  /** The generator's check refused the candidate. */
  | "check"
  /** Anything else. */
  | "unknown";

/** The result of one attempt. It carries versions and reasons, never a value. */
export interface RotationResult {
  outcome: RotationOutcome;
  target: RotationTarget;
  trigger: RotationTriggerKind;
  /** The audit row's RowKey (a UUID v7). */
  attemptId: string;
  /** The current version when the attempt started. */
  oldVersion?: string;
  /** The promoted version (`rotated` only). */
  newVersion?: string;
  /** The generator the policy names. */
  generator?: string;
  /** What was generated, e.g. `key2 of storage account rotacct`; never the value. */
  description?: string;
  /** Set for `error` and `check-failed`. */
  errorCode?: RotationErrorCode;
  /** Human-readable reason for `error`, `check-failed`, `stale-trigger`, `locked` and an event's `not-due`; never a value. */
  error?: string;
  /** When the next rotation is due (`not-due` and `rotated`). */
  nextDueAt?: Date;
  /** Whether the audit row was written (audit failures are logged, never fatal). */
  audited: boolean;
  durationInMs: number;
}

/** Options of the service's operations. */
export interface RotateOptions {
  abortSignal?: AbortSignal;
}
