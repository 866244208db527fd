/**
 * @module keyvault-emulator/backup: the opaque backup blob of `POST /secrets/{name}/backup`.
 *
 * The service's blobs are encrypted and bound to the subscription and geography, so a blob restores only
 * there. The emulator encrypts with AES-256-GCM under a key derived from its subscription id: blobs round-trip
 * across emulator restarts and vaults, carry no readable secret values, and tampering is detected.
 */
import { createCipheriv, createDecipheriv, createHash, randomBytes } from "node:crypto";
import { kvErrors } from "./errors";
import { isRecord, type SecretVersionRecord, SECRET_NAME_PATTERN, VERSION_PATTERN } from "./model";

/** What a backup holds: the secret's name and every version with its attributes. */
export interface SecretBackupPayload {
  name: string;
  versions: SecretVersionRecord[];
}

const MAGIC = Buffer.from("KVEMU1", "ascii");
const IV_LENGTH = 12;
const TAG_LENGTH = 16;

/**
 * Derives the blob key; blobs from an emulator with another subscription id fail to restore, like the service.
 * @param subscriptionId - the emulator's subscription id
 */
export function backupKeyFor(subscriptionId: string): Buffer {
  return createHash("sha256").update(`vaultstate-kv-emulator/backup/v1/${subscriptionId.toLowerCase()}`).digest();
}

/**
 * Seals a payload into a base64url blob.
 * @param payload - the secret and its versions
 * @param key - from {@link backupKeyFor}
 */
export function encodeBackup(payload: SecretBackupPayload, key: Buffer): string {
  const iv = randomBytes(IV_LENGTH);
  const cipher = createCipheriv("aes-256-gcm", key, iv);
  const ciphertext = Buffer.concat([cipher.update(JSON.stringify(payload), "utf8"), cipher.final()]);
  return Buffer.concat([MAGIC, iv, cipher.getAuthTag(), ciphertext]).toString("base64url");
}

function isVersionRecord(v: unknown): v is SecretVersionRecord {
  if (!isRecord(v)) return false;
  const optNum = (x: unknown): boolean => x === undefined || typeof x === "number";
  const optStr = (x: unknown): boolean => x === undefined || typeof x === "string";
  return (
    typeof v.version === "string" &&
    VERSION_PATTERN.test(v.version) &&
    typeof v.value === "string" &&
    typeof v.enabled === "boolean" &&
    typeof v.created === "number" &&
    typeof v.updated === "number" &&
    optNum(v.nbf) &&
    optNum(v.exp) &&
    optStr(v.contentType) &&
    (v.tags === undefined || (isRecord(v.tags) && Object.values(v.tags).every((t) => typeof t === "string")))
  );
}

/**
 * Opens a blob.
 * @param blob - base64url text from a backup
 * @param key - from {@link backupKeyFor}
 * @throws KeyVaultError 400 for a blob that is malformed, tampered with or from another subscription
 */
export function decodeBackup(blob: string, key: Buffer): SecretBackupPayload {
  const invalid = kvErrors.badParameter("Backup blob contains invalid or corrupt version.");
  const raw = Buffer.from(blob, "base64url");
  if (raw.length < MAGIC.length + IV_LENGTH + TAG_LENGTH || !raw.subarray(0, MAGIC.length).equals(MAGIC)) throw invalid;
  const iv = raw.subarray(MAGIC.length, MAGIC.length + IV_LENGTH);
  const tag = raw.subarray(MAGIC.length + IV_LENGTH, MAGIC.length + IV_LENGTH + TAG_LENGTH);
  const ciphertext = raw.subarray(MAGIC.length + IV_LENGTH + TAG_LENGTH);
  let parsed: unknown;
  try {
    const decipher = createDecipheriv("aes-256-gcm", key, iv);
    decipher.setAuthTag(tag);
    parsed = JSON.parse(Buffer.concat([decipher.update(ciphertext), decipher.final()]).toString("utf8"));
  } catch {
    throw invalid;
  }
  if (
    !isRecord(parsed) ||
    typeof parsed.name !== "string" ||
    !SECRET_NAME_PATTERN.test(parsed.name) ||
    !Array.isArray(parsed.versions) ||
    parsed.versions.length === 0 ||
    !parsed.versions.every(isVersionRecord)
  ) {
    throw invalid;
  }
  return { name: parsed.name, versions: parsed.versions };
}
