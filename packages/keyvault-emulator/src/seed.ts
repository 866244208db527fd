/**
 * @module keyvault-emulator/seed: the seed file (JSON or YAML) that creates vaults, secrets and principals.
 *
 * @example
 * ```yaml
 * tenantId: 8f2a4c1e-0b6d-4e7a-9c3f-5d1b2a6e7f80   # optional
 * vaults:
 *   vaultstate-dev:
 *     permissionModel: rbac          # or accessPolicy
 *     softDelete: { retentionDays: 7 }
 *     secrets:
 *       simple: "a value"            # shorthand for { value: ... }
 *       db-password:
 *         value: s3cret
 *         contentType: text/plain
 *         tags: { owner: team-a }
 *         enabled: true
 *         exp: now+30d               # Unix seconds, ISO 8601, or now±N[s|m|h|d] (emulator clock)
 *       rotated:
 *         versions: [{ value: old }, { value: new }]   # oldest first; the last is current
 * principals:
 *   - name: app                      # the Functions app's system-assigned identity
 *     type: systemAssigned
 *     roles: { vaultstate-dev: Key Vault Secrets User }
 *   - name: rotator                  # user-assigned, selected with client_id
 *     clientId: 11111111-2222-3333-4444-555555555555
 *     roles: { "*": [Key Vault Secrets Officer] }
 * webhooks:                          # Event Grid targets (loopback only), added to the configured ones
 *   - url: http://127.0.0.1:7071/runtime/webhooks/eventgrid?functionName=onKeyVaultEvent
 *     schema: EventGridSchema        # or CloudEventSchemaV1_0
 *     eventTypes: [SecretNewVersionCreated, SecretNearExpiry]
 * ```
 */
import { promises as fs } from "node:fs";
import { parse as parseYaml } from "yaml";
import { type EventWebhookConfig, parseWebhooks } from "./eventGrid";
import { isRecord, isValidVaultName, type SetSecretInput, SECRET_NAME_PATTERN, parseTags } from "./model";
import { type PrincipalInput, parsePrincipalInput } from "./principals";
import type { PermissionModel } from "./rbac";
import type { SoftDeleteOptions } from "./store";

/** A vault in the seed file. */
export interface SeedVault {
  permissionModel?: PermissionModel;
  softDelete?: SoftDeleteOptions;
  /** Listener port (0/absent = the port from options, else ephemeral). */
  port?: number;
  /** Secret name → versions to write, oldest first. */
  secrets: Record<string, SetSecretInput[]>;
}

/** A parsed seed document. */
export interface SeedDocument {
  tenantId?: string;
  vaults: Record<string, SeedVault>;
  principals: PrincipalInput[];
  /** Event Grid webhooks to add. */
  webhooks?: EventWebhookConfig[];
}

/**
 * Parses a date: Unix seconds, ISO 8601 text, or `now±N[s|m|h|d]` relative to `nowMs`.
 * @param v - the value
 * @param field - for messages
 * @param nowMs - the emulator's now
 * @throws TypeError for anything else
 */
export function parseSeedDate(v: unknown, field: string, nowMs: number): number | undefined {
  if (v === undefined || v === null) return undefined;
  if (typeof v === "number" && Number.isFinite(v)) return Math.floor(v);
  if (v instanceof Date && !Number.isNaN(v.getTime())) return Math.floor(v.getTime() / 1000);
  if (typeof v === "string") {
    const rel = /^now\s*(?:([+-])\s*(\d+)\s*([smhd]))?$/i.exec(v.trim());
    if (rel) {
      const unit = { s: 1, m: 60, h: 3600, d: 86_400 }[(rel[3] ?? "s").toLowerCase() as "s" | "m" | "h" | "d"];
      const amount = Number(rel[2] ?? "0") * unit * (rel[1] === "-" ? -1 : 1);
      return Math.floor(nowMs / 1000) + amount;
    }
    const t = Date.parse(v);
    if (!Number.isNaN(t)) return Math.floor(t / 1000);
  }
  throw new TypeError(`${field} must be Unix seconds, an ISO 8601 date or now±N[s|m|h|d]`);
}

function parseVersion(v: unknown, where: string, nowMs: number): SetSecretInput {
  if (typeof v === "string") return { value: v };
  if (!isRecord(v) || typeof v.value !== "string") throw new TypeError(`${where}: value must be a string`);
  if (v.contentType !== undefined && typeof v.contentType !== "string") throw new TypeError(`${where}: contentType must be a string`);
  if (v.enabled !== undefined && typeof v.enabled !== "boolean") throw new TypeError(`${where}: enabled must be a boolean`);
  let tags: Record<string, string> | undefined;
  try {
    tags = parseTags(v.tags);
  } catch (e) {
    throw new TypeError(`${where}: ${e instanceof Error ? e.message : String(e)}`);
  }
  const nbf = parseSeedDate(v.nbf, `${where}.nbf`, nowMs);
  const exp = parseSeedDate(v.exp, `${where}.exp`, nowMs);
  return {
    value: v.value,
    ...(typeof v.contentType === "string" ? { contentType: v.contentType } : {}),
    ...(tags === undefined ? {} : { tags }),
    ...(typeof v.enabled === "boolean" ? { enabled: v.enabled } : {}),
    ...(nbf === undefined ? {} : { nbf }),
    ...(exp === undefined ? {} : { exp }),
  };
}

function parseSoftDelete(v: unknown, where: string): SoftDeleteOptions | undefined {
  if (v === undefined) return undefined;
  if (!isRecord(v)) throw new TypeError(`${where}.softDelete must be an object`);
  const out: SoftDeleteOptions = {};
  if (v.enabled !== undefined) {
    if (typeof v.enabled !== "boolean") throw new TypeError(`${where}.softDelete.enabled must be a boolean`);
    out.enabled = v.enabled;
  }
  for (const field of ["retentionDays", "deletionLatencyMs"] as const) {
    const x = v[field];
    if (x === undefined) continue;
    if (typeof x !== "number" || !Number.isInteger(x) || x < 0) throw new TypeError(`${where}.softDelete.${field} must be a non-negative integer`);
    out[field] = x;
  }
  return out;
}

/**
 * Validates a seed document.
 * @param input - parsed JSON/YAML
 * @param nowMs - the emulator's now, for relative dates
 * @throws TypeError naming the first bad field
 */
export function parseSeedDocument(input: unknown, nowMs: number): SeedDocument {
  if (input === undefined || input === null) return { vaults: {}, principals: [] };
  if (!isRecord(input)) throw new TypeError("the seed document must be an object");
  const doc: SeedDocument = { vaults: {}, principals: [] };
  if (input.tenantId !== undefined) {
    if (typeof input.tenantId !== "string" || !/^[0-9a-f-]{36}$/i.test(input.tenantId)) throw new TypeError("tenantId must be a GUID");
    doc.tenantId = input.tenantId.toLowerCase();
  }
  if (input.vaults !== undefined) {
    if (!isRecord(input.vaults)) throw new TypeError("vaults must map vault names to vault definitions");
    for (const [vaultName, rawVault] of Object.entries(input.vaults)) {
      const where = `vaults.${vaultName}`;
      if (!isValidVaultName(vaultName)) throw new TypeError(`${where}: invalid vault name (3-24 letters, digits, hyphens; starts with a letter)`);
      const v = rawVault ?? {};
      if (!isRecord(v)) throw new TypeError(`${where} must be an object`);
      if (v.permissionModel !== undefined && v.permissionModel !== "rbac" && v.permissionModel !== "accessPolicy") {
        throw new TypeError(`${where}.permissionModel must be "rbac" or "accessPolicy"`);
      }
      if (v.port !== undefined && (typeof v.port !== "number" || !Number.isInteger(v.port) || v.port < 0 || v.port > 65535)) {
        throw new TypeError(`${where}.port must be a port number`);
      }
      const secrets: Record<string, SetSecretInput[]> = {};
      const rawSecrets = v.secrets ?? {};
      if (!isRecord(rawSecrets)) throw new TypeError(`${where}.secrets must map secret names to secrets`);
      for (const [secretName, s] of Object.entries(rawSecrets)) {
        const sw = `${where}.secrets.${secretName}`;
        if (!SECRET_NAME_PATTERN.test(secretName)) throw new TypeError(`${sw}: invalid secret name`);
        if (isRecord(s) && s.versions !== undefined) {
          if (!Array.isArray(s.versions) || s.versions.length === 0) throw new TypeError(`${sw}.versions must be a non-empty list`);
          secrets[secretName] = s.versions.map((x, i) => parseVersion(x, `${sw}.versions[${i}]`, nowMs));
        } else secrets[secretName] = [parseVersion(s, sw, nowMs)];
      }
      const softDelete = parseSoftDelete(v.softDelete, where);
      doc.vaults[vaultName] = {
        secrets,
        ...(v.permissionModel === undefined ? {} : { permissionModel: v.permissionModel }),
        ...(softDelete === undefined ? {} : { softDelete }),
        ...(typeof v.port === "number" ? { port: v.port } : {}),
      };
    }
  }
  if (input.principals !== undefined) {
    if (!Array.isArray(input.principals)) throw new TypeError("principals must be a list");
    doc.principals = input.principals.map((p) => parsePrincipalInput(p));
  }
  if (input.webhooks !== undefined) doc.webhooks = parseWebhooks(input.webhooks);
  return doc;
}

/**
 * Parses seed text: JSON when the file name ends in .json, YAML otherwise (YAML also reads JSON).
 * @param text - file content
 * @param fileName - decides the parser
 * @param nowMs - the emulator's now
 * @throws SyntaxError / TypeError
 */
export function parseSeedText(text: string, fileName: string, nowMs: number): SeedDocument {
  const raw: unknown = fileName.toLowerCase().endsWith(".json") ? JSON.parse(text) : parseYaml(text);
  return parseSeedDocument(raw, nowMs);
}

/**
 * Reads and validates a seed file.
 * @param path - .json, .yaml or .yml
 * @param nowMs - the emulator's now
 * @throws Error naming the file when it cannot be read or is invalid
 */
export async function loadSeedFile(path: string, nowMs: number): Promise<SeedDocument> {
  const text = await fs.readFile(path, "utf8");
  try {
    return parseSeedText(text, path, nowMs);
  } catch (e) {
    throw new Error(`invalid seed file ${path}: ${e instanceof Error ? e.message : String(e)}`, { cause: e });
  }
}
