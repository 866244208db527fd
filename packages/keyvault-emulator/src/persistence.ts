/**
 * @module keyvault-emulator/persistence: atomic JSON files (the persistence file and the state file).
 *
 * The persistence file holds secret values in clear text: it is a local development aid and belongs in the
 * git-ignored `.vaultstate/` folder.
 */
import { randomBytes } from "node:crypto";
import { promises as fs } from "node:fs";
import * as path from "node:path";
import { isRecord, type SecretVersionRecord } from "./model";
import type { VaultSnapshot } from "./store";

/** Format marker of the persistence file. */
export const PERSISTENCE_FORMAT = "vaultstate-kv-emulator/1";

/** The persistence file. */
export interface PersistedState {
  format: typeof PERSISTENCE_FORMAT;
  savedAt: string;
  vaults: Record<string, VaultSnapshot>;
  /** Event Grid state: the (vault, version, event type) keys already published, so restarts never publish them again. */
  eventGrid?: { published: string[] };
}

/**
 * Writes JSON to `file` atomically: a temp file in the same folder, then rename, so a reader (or a crash)
 * never sees half a file.
 * @param file - destination
 * @param data - serialised with JSON.stringify
 * @param mode - file mode (0o600 for files with secrets)
 */
export async function writeJsonAtomic(file: string, data: unknown, mode = 0o600): Promise<void> {
  await fs.mkdir(path.dirname(file), { recursive: true });
  const tmp = `${file}.${process.pid}.${randomBytes(6).toString("hex")}.tmp`;
  try {
    await fs.writeFile(tmp, `${JSON.stringify(data, null, 2)}\n`, { mode });
    await fs.rename(tmp, file);
  } catch (e) {
    await fs.rm(tmp, { force: true });
    throw e;
  }
}

function isVersion(v: unknown): v is SecretVersionRecord {
  return (
    isRecord(v) &&
    typeof v.version === "string" &&
    typeof v.value === "string" &&
    typeof v.enabled === "boolean" &&
    typeof v.created === "number" &&
    typeof v.updated === "number"
  );
}

function isSecretList(v: unknown): boolean {
  return Array.isArray(v) && v.every((s) => isRecord(s) && typeof s.name === "string" && Array.isArray(s.versions) && s.versions.every(isVersion));
}

/**
 * Validates a persistence file's content.
 * @param raw - parsed JSON
 * @throws TypeError when it is not a persistence file of this format
 */
export function parsePersistedState(raw: unknown): PersistedState {
  if (!isRecord(raw) || raw.format !== PERSISTENCE_FORMAT || !isRecord(raw.vaults)) {
    throw new TypeError(`not a ${PERSISTENCE_FORMAT} file`);
  }
  for (const [name, v] of Object.entries(raw.vaults)) {
    if (!isRecord(v) || !isSecretList(v.secrets) || !isSecretList(v.deleted)) throw new TypeError(`vault ${name}: malformed snapshot`);
    const deleted = v.deleted as unknown[];
    if (!deleted.every((d) => isRecord(d) && typeof d.deletedDate === "number" && typeof d.scheduledPurgeDate === "number")) {
      throw new TypeError(`vault ${name}: deleted secrets need deletedDate and scheduledPurgeDate`);
    }
  }
  if (raw.eventGrid !== undefined) {
    const published = isRecord(raw.eventGrid) ? raw.eventGrid.published : undefined;
    if (!Array.isArray(published) || !published.every((k) => typeof k === "string")) throw new TypeError("eventGrid.published must be a list of strings");
  }
  return raw as unknown as PersistedState;
}

/**
 * Reads the persistence file, or undefined when it does not exist.
 * @param file - path
 * @throws Error when it exists but is not valid
 */
export async function readPersistedState(file: string): Promise<PersistedState | undefined> {
  let text: string;
  try {
    text = await fs.readFile(file, "utf8");
  } catch (e) {
    if (isRecord(e) && e.code === "ENOENT") return undefined;
    throw e;
  }
  try {
    return parsePersistedState(JSON.parse(text));
  } catch (e) {
    throw new Error(`invalid persistence file ${file}: ${e instanceof Error ? e.message : String(e)}`, { cause: e });
  }
}

/**
 * Serialises writes: at most one in flight, and the latest snapshot always wins.
 */
export class CoalescingWriter {
  private pending: (() => unknown) | undefined;
  private running: Promise<void> | undefined;
  private lastError: unknown;

  /** @param write - performs one write of the given data */
  constructor(private readonly write: (data: unknown) => Promise<void>) {}

  /**
   * Schedules a write of whatever `produce` returns when the write starts.
   * @param produce - builds the data (called lazily, so bursts of changes cost one write)
   */
  schedule(produce: () => unknown): void {
    this.pending = produce;
    if (!this.running) this.running = this.drain();
  }

  /** Waits until every scheduled write is done; rethrows the last write error. */
  async flush(): Promise<void> {
    while (this.running) await this.running;
    if (this.lastError !== undefined) {
      const e = this.lastError;
      this.lastError = undefined;
      throw e;
    }
  }

  private async drain(): Promise<void> {
    try {
      while (this.pending) {
        const produce = this.pending;
        this.pending = undefined;
        try {
          await this.write(produce());
        } catch (e) {
          this.lastError = e;
        }
      }
    } finally {
      this.running = undefined;
    }
  }
}
