/**
 * @module keyvault-emulator/store: one vault's secrets with the service's semantics, in memory.
 *
 * Pure apart from the injected clock and version-id generator: no HTTP, no files. Every mutation emits a
 * {@link SecretChangeEvent} so persistence and Event Grid delivery (eventGrid.ts) can hang off one hook.
 */
import { type Clock, toUnixSeconds } from "./clock";
import { kvErrors } from "./errors";
import {
  cloneVersion,
  type DeletedSecretRecord,
  latestVersion,
  newVersionId,
  type SecretPropertiesPatch,
  type SecretRecord,
  type SecretVersionRecord,
  type SetSecretInput,
  validateSecretName,
  validateSecretValue,
} from "./model";
import type { SecretBackupPayload } from "./backup";

/** Values of `attributes.recoveryLevel` the emulator produces. */
export type RecoveryLevel = "Purgeable" | "Recoverable+Purgeable" | "CustomizedRecoverable+Purgeable";

/** Kinds of change; the first is also an Event Grid event type, the rest are the emulator's own. */
export type SecretChangeType =
  | "SecretNewVersionCreated"
  | "SecretUpdated"
  | "SecretDeleted"
  | "SecretRecovered"
  | "SecretPurged"
  | "SecretRestored";

/** A change notification (never carries the value). */
export interface SecretChangeEvent {
  type: SecretChangeType;
  vaultName: string;
  secretName: string;
  /** The affected version (the current one for delete/recover/purge/restore). */
  version?: string;
  /** Unix seconds. */
  nbf?: number;
  /** Unix seconds. */
  exp?: number;
  /** Emulator time of the change, ms. */
  timeMs: number;
}

/** Soft-delete settings of a vault. */
export interface SoftDeleteOptions {
  /** Soft delete on (the service's default, and it cannot be turned off there). Default true. */
  enabled?: boolean;
  /** Retention, 7–90 days. Default 90. */
  retentionDays?: number;
  /**
   * How long after a delete the secret is neither readable as deleted nor recoverable/purgeable (the service
   * finishes deletes asynchronously): GET /deletedsecrets → 404, recover/purge → 409. Default 0.
   */
  deletionLatencyMs?: number;
}

/** Options for {@link VaultStore}. */
export interface VaultStoreOptions {
  /** Vault name, used in events. */
  name: string;
  /** Source of "now" (the emulator's shiftable clock). */
  clock: Clock;
  /** Soft-delete behaviour. */
  softDelete?: SoftDeleteOptions;
  /** Version id generator; tests inject a deterministic one. */
  newVersion?: () => string;
  /** Change listener. */
  onChange?: (event: SecretChangeEvent) => void;
}

/** The serialisable state of a vault (persistence file). */
export interface VaultSnapshot {
  secrets: SecretRecord[];
  deleted: Array<Omit<DeletedSecretRecord, "deletedAtMs">>;
}

/** A secret and one of its versions, as returned by reads. */
export interface SecretVersionView {
  name: string;
  version: SecretVersionRecord;
}

/** A deleted secret's current version and deletion dates. */
export interface DeletedSecretView extends SecretVersionView {
  deletedDate: number;
  scheduledPurgeDate: number;
}

const key = (name: string): string => name.toLowerCase();

/** One vault's secrets. All names are matched case-insensitively, like the service. */
export class VaultStore {
  readonly name: string;
  readonly softDeleteEnabled: boolean;
  readonly retentionDays: number;
  readonly deletionLatencyMs: number;
  private readonly clock: Clock;
  private readonly newVersion: () => string;
  private readonly listeners = new Set<(event: SecretChangeEvent) => void>();
  private readonly active = new Map<string, SecretRecord>();
  private readonly deleted = new Map<string, DeletedSecretRecord>();

  /**
   * @param options - see {@link VaultStoreOptions}
   * @throws RangeError for a retention outside 7–90 days
   */
  constructor(options: VaultStoreOptions) {
    this.name = options.name;
    this.clock = options.clock;
    this.newVersion = options.newVersion ?? newVersionId;
    this.softDeleteEnabled = options.softDelete?.enabled ?? true;
    this.retentionDays = options.softDelete?.retentionDays ?? 90;
    this.deletionLatencyMs = options.softDelete?.deletionLatencyMs ?? 0;
    if (!Number.isInteger(this.retentionDays) || this.retentionDays < 7 || this.retentionDays > 90) {
      throw new RangeError("softDelete.retentionDays must be an integer from 7 to 90");
    }
    if (options.onChange) this.listeners.add(options.onChange);
  }

  /** `attributes.recoveryLevel` for this vault's secrets. */
  get recoveryLevel(): RecoveryLevel {
    if (!this.softDeleteEnabled) return "Purgeable";
    return this.retentionDays === 90 ? "Recoverable+Purgeable" : "CustomizedRecoverable+Purgeable";
  }

  /** `attributes.recoverableDays`, or undefined without soft delete. */
  get recoverableDays(): number | undefined {
    return this.softDeleteEnabled ? this.retentionDays : undefined;
  }

  /**
   * Subscribes to changes.
   * @param listener - called synchronously after each mutation
   * @returns a function that unsubscribes
   */
  subscribe(listener: (event: SecretChangeEvent) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /**
   * Writes a new version, which becomes the current one.
   * @param name - secret name
   * @param input - value, content type, tags and attributes
   * @throws KeyVaultError 400 (name/value), 409 (name is soft-deleted or being deleted)
   */
  set(name: string, input: SetSecretInput): SecretVersionView {
    validateSecretName(name);
    validateSecretValue(input.value);
    this.sweep();
    this.assertNameFree(name);
    const now = this.nowSeconds();
    const version: SecretVersionRecord = {
      version: this.newVersion(),
      value: input.value,
      enabled: input.enabled ?? true,
      created: now,
      updated: now,
      ...(input.contentType === undefined ? {} : { contentType: input.contentType }),
      ...(input.tags === undefined ? {} : { tags: { ...input.tags } }),
      ...(input.nbf === undefined ? {} : { nbf: input.nbf }),
      ...(input.exp === undefined ? {} : { exp: input.exp }),
    };
    let record = this.active.get(key(name));
    if (!record) {
      record = { name, versions: [] };
      this.active.set(key(name), record);
    }
    record.versions.push(version);
    this.emit("SecretNewVersionCreated", record.name, version);
    return { name: record.name, version: cloneVersion(version) };
  }

  /**
   * Reads a version (the current one when `version` is empty), including the value.
   * @param name - secret name
   * @param version - version id, or "" / undefined for the current one
   * @throws KeyVaultError 404 (unknown or deleted), 403 SecretDisabled (disabled version)
   */
  get(name: string, version?: string): SecretVersionView {
    const found = this.find(name, version);
    if (!found.version.enabled) throw kvErrors.secretDisabled();
    return found;
  }

  /**
   * Reads a version's properties without the disabled check (what PATCH and listings see).
   * @param name - secret name
   * @param version - version id, or empty for the current one
   * @throws KeyVaultError 404
   */
  getProperties(name: string, version?: string): SecretVersionView {
    return this.find(name, version);
  }

  /**
   * Changes attributes, tags and content type of a version; never the value.
   * @param name - secret name
   * @param version - version id, or empty for the current one
   * @param patch - the fields to change
   * @throws KeyVaultError 404
   */
  update(name: string, version: string | undefined, patch: SecretPropertiesPatch): SecretVersionView {
    this.sweep();
    const record = this.active.get(key(name));
    const target = record ? this.pickVersion(record, version) : undefined;
    if (!record || !target) throw kvErrors.secretNotFound(name, version || undefined);
    if (patch.contentType !== undefined) target.contentType = patch.contentType;
    if (patch.tags !== undefined) target.tags = { ...patch.tags };
    if (patch.enabled !== undefined) target.enabled = patch.enabled;
    if (patch.nbf !== undefined) target.nbf = patch.nbf;
    if (patch.exp !== undefined) target.exp = patch.exp;
    target.updated = this.nowSeconds();
    this.emit("SecretUpdated", record.name, target);
    return { name: record.name, version: cloneVersion(target) };
  }

  /** Every active secret with its current version, sorted by name (case-insensitive). */
  list(): SecretVersionView[] {
    this.sweep();
    return [...this.active.entries()]
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
      .map(([, r]) => ({ name: r.name, version: cloneVersion(latestVersion(r)) }));
  }

  /**
   * Every version of an active secret, oldest first.
   * @param name - secret name
   * @throws KeyVaultError 404
   */
  listVersions(name: string): SecretVersionView[] {
    this.sweep();
    const record = this.active.get(key(name));
    if (!record) throw kvErrors.secretNotFound(name);
    return record.versions.map((v) => ({ name: record.name, version: cloneVersion(v) }));
  }

  /**
   * Deletes a secret (all versions). With soft delete it moves to the deleted collection; without, it is gone.
   * @param name - secret name
   * @throws KeyVaultError 404
   */
  delete(name: string): DeletedSecretView | SecretVersionView {
    this.sweep();
    const record = this.active.get(key(name));
    if (!record) throw kvErrors.secretNotFound(name);
    this.active.delete(key(name));
    const current = latestVersion(record);
    this.emit("SecretDeleted", record.name, current);
    if (!this.softDeleteEnabled) return { name: record.name, version: cloneVersion(current) };
    const nowMs = this.clock.now();
    const deletedDate = toUnixSeconds(nowMs);
    const deletedRecord: DeletedSecretRecord = {
      ...record,
      deletedDate,
      scheduledPurgeDate: deletedDate + this.retentionDays * 86_400,
      deletedAtMs: nowMs,
    };
    this.deleted.set(key(name), deletedRecord);
    return this.deletedView(deletedRecord);
  }

  /**
   * Reads a deleted secret.
   * @param name - secret name
   * @throws KeyVaultError 404 (not deleted, or still being deleted)
   */
  getDeleted(name: string): DeletedSecretView {
    const record = this.findDeleted(name);
    if (this.isBeingDeleted(record)) throw kvErrors.deletedSecretNotFound(name);
    return this.deletedView(record);
  }

  /** Every deleted secret whose deletion has completed, sorted by name. */
  listDeleted(): DeletedSecretView[] {
    this.sweep();
    return [...this.deleted.entries()]
      .filter(([, r]) => !this.isBeingDeleted(r))
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
      .map(([, r]) => this.deletedView(r));
  }

  /**
   * Recovers a deleted secret with all its versions.
   * @param name - secret name
   * @throws KeyVaultError 404 (not deleted), 409 (still being deleted)
   */
  recover(name: string): SecretVersionView {
    const record = this.findDeleted(name);
    if (this.isBeingDeleted(record)) throw kvErrors.beingDeleted();
    this.deleted.delete(key(name));
    const restored: SecretRecord = { name: record.name, versions: record.versions };
    this.active.set(key(name), restored);
    const current = latestVersion(restored);
    this.emit("SecretRecovered", restored.name, current);
    return { name: restored.name, version: cloneVersion(current) };
  }

  /**
   * Permanently removes a deleted secret.
   * @param name - secret name
   * @throws KeyVaultError 404 (not deleted), 409 (still being deleted)
   */
  purge(name: string): void {
    const record = this.findDeleted(name);
    if (this.isBeingDeleted(record)) throw kvErrors.beingDeleted();
    this.deleted.delete(key(name));
    this.emit("SecretPurged", record.name, latestVersion(record));
  }

  /**
   * Everything a backup needs (values included; the caller seals it).
   * @param name - secret name
   * @throws KeyVaultError 404
   */
  backup(name: string): SecretBackupPayload {
    this.sweep();
    const record = this.active.get(key(name));
    if (!record) throw kvErrors.secretNotFound(name);
    return { name: record.name, versions: record.versions.map(cloneVersion) };
  }

  /**
   * Restores a backup with its original version ids and dates.
   * @param payload - from a backup
   * @throws KeyVaultError 409 when the name is in use (active or deleted)
   */
  restore(payload: SecretBackupPayload): SecretVersionView {
    validateSecretName(payload.name);
    this.sweep();
    if (this.active.has(key(payload.name)) || this.deleted.has(key(payload.name))) {
      throw kvErrors.restoreConflict(payload.name);
    }
    const record: SecretRecord = { name: payload.name, versions: payload.versions.map(cloneVersion) };
    this.active.set(key(payload.name), record);
    const current = latestVersion(record);
    this.emit("SecretRestored", record.name, current);
    return { name: record.name, version: cloneVersion(current) };
  }

  /** A deep copy of the state for persistence. */
  snapshot(): VaultSnapshot {
    this.sweep();
    return {
      secrets: [...this.active.values()].map((r) => ({ name: r.name, versions: r.versions.map(cloneVersion) })),
      deleted: [...this.deleted.values()].map((r) => ({
        name: r.name,
        versions: r.versions.map(cloneVersion),
        deletedDate: r.deletedDate,
        scheduledPurgeDate: r.scheduledPurgeDate,
      })),
    };
  }

  /**
   * Replaces the state with a snapshot (no change events).
   * @param snapshot - from {@link snapshot}, usually read back from the persistence file
   */
  load(snapshot: VaultSnapshot): void {
    this.active.clear();
    this.deleted.clear();
    for (const r of snapshot.secrets) {
      if (r.versions.length > 0) this.active.set(key(r.name), { name: r.name, versions: r.versions.map(cloneVersion) });
    }
    for (const r of snapshot.deleted) {
      if (r.versions.length === 0) continue;
      this.deleted.set(key(r.name), {
        name: r.name,
        versions: r.versions.map(cloneVersion),
        deletedDate: r.deletedDate,
        scheduledPurgeDate: r.scheduledPurgeDate,
        deletedAtMs: r.deletedDate * 1000,
      });
    }
  }

  /** Number of active secrets. */
  get size(): number {
    return this.active.size;
  }

  private nowSeconds(): number {
    return toUnixSeconds(this.clock.now());
  }

  /** Drops deleted secrets whose scheduled purge date has passed on the emulator clock. */
  private sweep(): void {
    const now = this.nowSeconds();
    for (const [k, r] of this.deleted) {
      if (r.scheduledPurgeDate <= now) {
        this.deleted.delete(k);
        this.emit("SecretPurged", r.name, latestVersion(r));
      }
    }
  }

  private assertNameFree(name: string): void {
    const deleted = this.deleted.get(key(name));
    if (!deleted) return;
    if (this.isBeingDeleted(deleted)) throw kvErrors.beingDeleted();
    throw kvErrors.deletedButRecoverable(deleted.name);
  }

  private isBeingDeleted(record: DeletedSecretRecord): boolean {
    return this.deletionLatencyMs > 0 && this.clock.now() - record.deletedAtMs < this.deletionLatencyMs;
  }

  private find(name: string, version: string | undefined): SecretVersionView {
    this.sweep();
    const record = this.active.get(key(name));
    const found = record ? this.pickVersion(record, version) : undefined;
    if (!record || !found) throw kvErrors.secretNotFound(name, version || undefined);
    return { name: record.name, version: cloneVersion(found) };
  }

  private pickVersion(record: SecretRecord, version: string | undefined): SecretVersionRecord | undefined {
    if (!version) return latestVersion(record);
    const wanted = version.toLowerCase();
    return record.versions.find((v) => v.version === wanted);
  }

  private findDeleted(name: string): DeletedSecretRecord {
    this.sweep();
    const record = this.deleted.get(key(name));
    if (!record) throw kvErrors.deletedSecretNotFound(name);
    return record;
  }

  private deletedView(record: DeletedSecretRecord): DeletedSecretView {
    return {
      name: record.name,
      version: cloneVersion(latestVersion(record)),
      deletedDate: record.deletedDate,
      scheduledPurgeDate: record.scheduledPurgeDate,
    };
  }

  private emit(type: SecretChangeType, secretName: string, version: SecretVersionRecord): void {
    const event: SecretChangeEvent = {
      type,
      vaultName: this.name,
      secretName,
      version: version.version,
      timeMs: this.clock.now(),
      ...(version.nbf === undefined ? {} : { nbf: version.nbf }),
      ...(version.exp === undefined ? {} : { exp: version.exp }),
    };
    for (const listener of this.listeners) listener(event);
  }
}
