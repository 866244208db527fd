/**
 * @module Secret rotation: policies in Key Vault tags, generators, AWS-style staging, a blob-lease lock
 * and a Table audit. The public surface the Functions adapters (timer, Event Grid, admin route) use.
 */
export { type ArmKeyPairSourceOptions, createArmKeyPairSource } from "./armKeyPairSource";
export { auditPartitionKey, createTableRotationAudit, type RotationAudit, type RotationAuditEntry, type TableRotationAudit } from "./audit";
export { DEFAULT_GENERATORS } from "./generators";
export type { CheckResult, CurrentSecret, GeneratedSecret, GeneratorContext, GeneratorRegistry, SecretGenerator, SharedKeyBlobClientFactory } from "./generators/generator";
export { CHARSETS, type CharsetName, type RandomOptions, randomPasswordGenerator, randomTokenGenerator } from "./generators/random";
export { type StorageAccountKeyOptions, storageAccountKeyGenerator } from "./generators/storageAccountKey";
export {
  type AzuriteKeyPairSourceOptions,
  createAzuriteKeyPairSource,
  type KeyPairSource,
  KeyPairSourceError,
  parseDualKeyAccounts,
  type StorageAccountKeyPair,
  type StorageKeyName,
} from "./keyPairSources";
export { type BlobLeaseLockOptions, createBlobLeaseLock, LeaseLostError, lockBlobName, type RotationLease, type RotationLock } from "./lock";
export { isRotationDue, nextRotationAt, parseDuration, parseRotationPolicy, type RotationPolicy } from "./policy";
export { createRotationService, type RotationSecretClient, type RotationService, type RotationServiceDeps, type RotationTriggerInput } from "./service";
export { BOOKKEEPING_TAGS, isRotationPolicyError, PENDING_SUFFIX, PENDING_TAGS, POLICY_TAGS, RotationPolicyError } from "./tags";
export type { RotateOptions, RotationErrorCode, RotationOutcome, RotationResult, RotationTarget, RotationTrigger, RotationTriggerKind } from "./types";
