/**
 * @module keyvault-emulator/wire: the JSON shapes of the secrets API (SecretBundle, SecretItem, ...).
 *
 * `id`s are built from the origin the client used (Host header) because the SDK parses vault URL and version
 * out of them (`parseKeyVaultIdentifier`).
 */
import type { SecretVersionRecord, Tags } from "./model";
import type { DeletedSecretView, RecoveryLevel, SecretVersionView } from "./store";

/** `SecretAttributes` on the wire; dates are Unix seconds. */
export interface WireSecretAttributes {
  enabled: boolean;
  nbf?: number;
  exp?: number;
  created: number;
  updated: number;
  recoveryLevel: RecoveryLevel;
  recoverableDays?: number;
}

/** `SecretBundle`. */
export interface WireSecretBundle {
  value?: string;
  id: string;
  contentType?: string;
  attributes: WireSecretAttributes;
  tags?: Tags;
}

/** `DeletedSecretBundle`. */
export interface WireDeletedSecretBundle extends WireSecretBundle {
  recoveryId: string;
  deletedDate: number;
  scheduledPurgeDate: number;
}

/** `SecretItem` (list entries never carry the value). */
export interface WireSecretItem {
  id: string;
  attributes: WireSecretAttributes;
  contentType?: string;
  tags?: Tags;
}

/** `DeletedSecretItem`. */
export interface WireDeletedSecretItem extends WireSecretItem {
  recoveryId: string;
  deletedDate: number;
  scheduledPurgeDate: number;
}

/** A list page. */
export interface WireListResult<T> {
  value: T[];
  nextLink: string | null;
}

/** What the renderers need to know about the vault and the request. */
export interface WireContext {
  /** `https://<host:port the client used>`, no trailing slash. */
  origin: string;
  recoveryLevel: RecoveryLevel;
  recoverableDays?: number;
}

function attributesOf(ctx: WireContext, v: SecretVersionRecord): WireSecretAttributes {
  return {
    enabled: v.enabled,
    ...(v.nbf === undefined ? {} : { nbf: v.nbf }),
    ...(v.exp === undefined ? {} : { exp: v.exp }),
    created: v.created,
    updated: v.updated,
    recoveryLevel: ctx.recoveryLevel,
    ...(ctx.recoverableDays === undefined ? {} : { recoverableDays: ctx.recoverableDays }),
  };
}

function optionalFields(v: SecretVersionRecord): { contentType?: string; tags?: Tags } {
  return {
    ...(v.contentType === undefined ? {} : { contentType: v.contentType }),
    ...(v.tags === undefined ? {} : { tags: { ...v.tags } }),
  };
}

/**
 * `https://host/secrets/name[/version]`.
 * @param ctx - request context
 * @param name - secret name
 * @param version - version id, omitted for the base id used in plain listings
 */
export function secretId(ctx: WireContext, name: string, version?: string): string {
  return `${ctx.origin}/secrets/${name}${version === undefined ? "" : `/${version}`}`;
}

/**
 * A `SecretBundle`.
 * @param ctx - request context
 * @param view - the secret and version
 * @param includeValue - true for SET and GET; PATCH, recover and restore answer without the value
 */
export function toSecretBundle(ctx: WireContext, view: SecretVersionView, includeValue: boolean): WireSecretBundle {
  return {
    ...(includeValue ? { value: view.version.value } : {}),
    id: secretId(ctx, view.name, view.version.version),
    ...optionalFields(view.version),
    attributes: attributesOf(ctx, view.version),
  };
}

/**
 * A `DeletedSecretBundle` (no value, as in the service's DELETE and GET deleted examples).
 * @param ctx - request context
 * @param view - the deleted secret's current version and dates
 */
export function toDeletedSecretBundle(ctx: WireContext, view: DeletedSecretView): WireDeletedSecretBundle {
  return {
    recoveryId: `${ctx.origin}/deletedsecrets/${view.name}`,
    deletedDate: view.deletedDate,
    scheduledPurgeDate: view.scheduledPurgeDate,
    ...toSecretBundle(ctx, view, false),
  };
}

/**
 * A `SecretItem`.
 * @param ctx - request context
 * @param view - the secret and version
 * @param withVersion - true in version listings, where item ids carry the version
 */
export function toSecretItem(ctx: WireContext, view: SecretVersionView, withVersion: boolean): WireSecretItem {
  return {
    id: secretId(ctx, view.name, withVersion ? view.version.version : undefined),
    attributes: attributesOf(ctx, view.version),
    ...optionalFields(view.version),
  };
}

/**
 * A `DeletedSecretItem`.
 * @param ctx - request context
 * @param view - the deleted secret's current version and dates
 */
export function toDeletedSecretItem(ctx: WireContext, view: DeletedSecretView): WireDeletedSecretItem {
  return {
    recoveryId: `${ctx.origin}/deletedsecrets/${view.name}`,
    deletedDate: view.deletedDate,
    scheduledPurgeDate: view.scheduledPurgeDate,
    ...toSecretItem(ctx, view, false),
  };
}
