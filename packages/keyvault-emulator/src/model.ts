/**
 * @module keyvault-emulator/model: the secret data model, its limits and the validation of request bodies.
 *
 * Pure: no I/O, no clock. Limits come from the Key Vault docs quoted in the reference §1.1.
 */
import { randomBytes } from "node:crypto";
import { kvErrors } from "./errors";

/** Object names: 1–127 of `0-9 a-z A-Z -`. */
export const SECRET_NAME_PATTERN = /^[0-9a-zA-Z-]{1,127}$/;
/** Vault names: 3–24 characters, letters, digits and hyphens, starting with a letter (Azure's rule). */
export const VAULT_NAME_PATTERN = /^[a-zA-Z][a-zA-Z0-9-]{2,23}$/;
/** A secret value is at most 25 KB, counted in UTF-8 bytes. */
export const MAX_SECRET_VALUE_BYTES = 25 * 1024;
/** At most 15 tags per object. */
export const MAX_TAGS = 15;
/** Tag names and values are at most 256 characters. */
export const MAX_TAG_LENGTH = 256;
/** `contentType` is at most 255 characters. */
export const MAX_CONTENT_TYPE_LENGTH = 255;
/** Versions are 32 lowercase hex characters. */
export const VERSION_PATTERN = /^[0-9a-f]{32}$/;

/** Tags as the service stores them. */
export type Tags = Record<string, string>;

/** One version of a secret. Dates are Unix seconds. */
export interface SecretVersionRecord {
  version: string;
  value: string;
  contentType?: string;
  tags?: Tags;
  enabled: boolean;
  nbf?: number;
  exp?: number;
  created: number;
  updated: number;
}

/** A secret: its name as first written (lookups are case-insensitive) and its versions, oldest first. */
export interface SecretRecord {
  name: string;
  versions: SecretVersionRecord[];
}

/** A soft-deleted secret. */
export interface DeletedSecretRecord extends SecretRecord {
  /** Unix seconds. */
  deletedDate: number;
  /** Unix seconds; the emulator purges lazily once its clock passes this. */
  scheduledPurgeDate: number;
  /** Emulator ms at deletion, for the optional "being deleted" window. */
  deletedAtMs: number;
}

/** What SET writes. */
export interface SetSecretInput {
  value: string;
  contentType?: string;
  tags?: Tags;
  enabled?: boolean;
  nbf?: number;
  exp?: number;
}

/** What PATCH changes; absent fields stay as they are. */
export interface SecretPropertiesPatch {
  contentType?: string;
  tags?: Tags;
  enabled?: boolean;
  nbf?: number;
  exp?: number;
}

/**
 * Type guard for plain JSON objects.
 * @param v - anything
 */
export function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

/** Creates a fresh version id: 32 lowercase hex characters, like the service. */
export function newVersionId(): string {
  return randomBytes(16).toString("hex");
}

/**
 * Throws 400 BadParameter unless `name` is a valid object name.
 * @param name - the secret name from the URL or a backup
 * @throws KeyVaultError 400
 */
export function validateSecretName(name: string): void {
  if (!SECRET_NAME_PATTERN.test(name)) throw kvErrors.invalidName(name);
}

/**
 * Whether `name` is a valid vault name.
 * @param name - candidate vault name
 */
export function isValidVaultName(name: string): boolean {
  return VAULT_NAME_PATTERN.test(name);
}

function parseOptionalString(v: unknown, field: string, maxLength: number): string | undefined {
  if (v === undefined || v === null) return undefined;
  if (typeof v !== "string") throw kvErrors.badParameter(`Property '${field}' must be a string.`);
  if (v.length > maxLength) throw kvErrors.badParameter(`Property '${field}' must be at most ${maxLength} characters.`);
  return v;
}

function parseUnixSeconds(v: unknown, field: string): number | undefined {
  if (v === undefined || v === null) return undefined;
  if (typeof v !== "number" || !Number.isFinite(v)) {
    throw kvErrors.badParameter(`Property 'attributes.${field}' must be a Unix time in seconds.`);
  }
  return Math.floor(v);
}

/**
 * Validates a tag map: at most 15 tags, names and values strings of at most 256 characters.
 * @param v - the `tags` property of a request body
 * @throws KeyVaultError 400
 */
export function parseTags(v: unknown): Tags | undefined {
  if (v === undefined || v === null) return undefined;
  if (!isRecord(v)) throw kvErrors.badParameter("Property 'tags' must be an object of string values.");
  const entries = Object.entries(v);
  if (entries.length > MAX_TAGS) throw kvErrors.badParameter(`A maximum of ${MAX_TAGS} tags is allowed.`);
  const tags: Tags = {};
  for (const [k, val] of entries) {
    if (typeof val !== "string") throw kvErrors.badParameter(`Tag '${k}' must have a string value.`);
    if (k.length === 0 || k.length > MAX_TAG_LENGTH || val.length > MAX_TAG_LENGTH) {
      throw kvErrors.badParameter(`Tag names and values must be 1-${MAX_TAG_LENGTH} and 0-${MAX_TAG_LENGTH} characters.`);
    }
    tags[k] = val;
  }
  return tags;
}

interface ParsedAttributes {
  enabled?: boolean;
  nbf?: number;
  exp?: number;
}

function parseAttributes(v: unknown): ParsedAttributes {
  if (v === undefined || v === null) return {};
  if (!isRecord(v)) throw kvErrors.badParameter("Property 'attributes' must be an object.");
  const out: ParsedAttributes = {};
  if (v.enabled !== undefined && v.enabled !== null) {
    if (typeof v.enabled !== "boolean") throw kvErrors.badParameter("Property 'attributes.enabled' must be a boolean.");
    out.enabled = v.enabled;
  }
  const nbf = parseUnixSeconds(v.nbf, "nbf");
  const exp = parseUnixSeconds(v.exp, "exp");
  if (nbf !== undefined) out.nbf = nbf;
  if (exp !== undefined) out.exp = exp;
  return out;
}

/**
 * Validates a secret value against the 25 KB limit.
 * @param value - the secret value
 * @throws KeyVaultError 400
 */
export function validateSecretValue(value: string): void {
  if (Buffer.byteLength(value, "utf8") > MAX_SECRET_VALUE_BYTES) {
    throw kvErrors.badParameter(`The secret value exceeds the maximum allowed size of ${MAX_SECRET_VALUE_BYTES} bytes.`);
  }
}

/**
 * Parses the body of `PUT /secrets/{name}` (`SecretSetParameters`).
 * @param body - parsed JSON
 * @throws KeyVaultError 400 for a missing or oversized value, bad tags, content type or attributes
 */
export function parseSetSecretBody(body: unknown): SetSecretInput {
  if (!isRecord(body)) throw kvErrors.badParameter("The request body must be a JSON object.");
  if (typeof body.value !== "string") throw kvErrors.badParameter("Property 'value' is required and must be a string.");
  validateSecretValue(body.value);
  const contentType = parseOptionalString(body.contentType, "contentType", MAX_CONTENT_TYPE_LENGTH);
  const tags = parseTags(body.tags);
  const attributes = parseAttributes(body.attributes);
  return {
    value: body.value,
    ...(contentType === undefined ? {} : { contentType }),
    ...(tags === undefined ? {} : { tags }),
    ...attributes,
  };
}

/**
 * Parses the body of `PATCH /secrets/{name}/{version}` (`SecretUpdateParameters`).
 * @param body - parsed JSON
 * @throws KeyVaultError 400
 */
export function parseUpdateSecretBody(body: unknown): SecretPropertiesPatch {
  if (!isRecord(body)) throw kvErrors.badParameter("The request body must be a JSON object.");
  const contentType = parseOptionalString(body.contentType, "contentType", MAX_CONTENT_TYPE_LENGTH);
  const tags = parseTags(body.tags);
  return {
    ...(contentType === undefined ? {} : { contentType }),
    ...(tags === undefined ? {} : { tags }),
    ...parseAttributes(body.attributes),
  };
}

/**
 * Parses the body of `POST /secrets/restore`.
 * @param body - parsed JSON
 * @throws KeyVaultError 400
 */
export function parseRestoreBody(body: unknown): string {
  if (!isRecord(body) || typeof body.value !== "string" || body.value.length === 0) {
    throw kvErrors.badParameter("Property 'value' (the backup blob) is required.");
  }
  return body.value;
}

/** The latest (current) version: the one created last. */
export function latestVersion(record: SecretRecord): SecretVersionRecord {
  const last = record.versions[record.versions.length - 1];
  if (!last) throw new Error(`secret ${record.name} has no versions`);
  return last;
}

/** Deep-copies a version so callers never alias the store's objects. */
export function cloneVersion(v: SecretVersionRecord): SecretVersionRecord {
  return { ...v, ...(v.tags ? { tags: { ...v.tags } } : {}) };
}
