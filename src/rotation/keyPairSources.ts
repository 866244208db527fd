/**
 * @module Key-pair sources: where the `storage-account-key` generator gets an account's two keys.
 *
 * Azure's dual-credential pattern: a storage account always has two valid keys; the secret holds the
 * active one and rotation switches to the other. In Azure, a source would call ARM
 * (`Microsoft.Storage/storageAccounts/listKeys` and `regenerateKey`) so the key about to become active
 * is fresh while the old one stays valid for a whole cycle. Offline we cannot regenerate, so the Azurite
 * source only reads the two keys Azurite was started with (`AZURITE_ACCOUNTS="name:key1:key2"`).
 */

/** The two keys of a storage account, named as ARM names them. */
export type StorageKeyName = "key1" | "key2";

/** Both keys of one account (base64). */
export interface StorageAccountKeyPair {
  readonly key1: string;
  readonly key2: string;
}

/** Options of key-pair source calls. */
export interface KeyPairSourceOptions {
  abortSignal?: AbortSignal;
}

/**
 * Supplies an account's two keys. An ARM source would implement `getKeys` with `listKeys`, add
 * `regenerateKey` with `regenerateKey` (the generator calls it for the key that is about to become
 * active, which no consumer uses at that moment), and derive `blobServiceUrl` from the account's
 * primary endpoints; its identity would need "Storage Account Key Operator Service Role".
 */
export interface KeyPairSource {
  /** Short description for logs, e.g. `azurite` or `arm`. */
  readonly kind: string;
  /**
   * The Blob service URL the check authenticates against (path-style URLs include the account).
   * @throws {@link KeyPairSourceError} for an account the source does not know
   */
  blobServiceUrl(accountName: string): string;
  /**
   * Reads both keys.
   * @throws {@link KeyPairSourceError} for an account the source does not know or that has only one key
   */
  getKeys(accountName: string, options?: KeyPairSourceOptions): Promise<StorageAccountKeyPair>;
  /**
   * Replaces one key with a fresh one and returns it. Optional: sources that cannot regenerate (Azurite)
   * leave it out and the generator switches to the other existing key.
   */
  regenerateKey?(accountName: string, keyName: StorageKeyName, options?: KeyPairSourceOptions): Promise<string>;
}

/** A source that cannot serve an account (unknown, or only one key). Never carries a key. */
export class KeyPairSourceError extends Error {
  override readonly name = "KeyPairSourceError";
}

/** One account of an `AZURITE_ACCOUNTS` value, with both keys. */
export interface DualKeyAccount {
  name: string;
  key1: string;
  /** Absent when the entry lists one key. */
  key2: string | undefined;
}

/**
 * Parses the `AZURITE_ACCOUNTS` format `name:key1[:key2];name2:key1:key2` keeping both keys (pure).
 * Keys are base64, so they never contain `:` or `;`.
 * @throws {@link RangeError} naming the entry (by account name only) when it has no name or no key
 */
export function parseDualKeyAccounts(accounts: string): DualKeyAccount[] {
  return accounts
    .split(";")
    .map((entry) => entry.trim())
    .filter((entry) => entry !== "")
    .map((entry) => {
      const [name = "", key1 = "", key2 = "", ...rest] = entry.split(":").map((part) => part.trim());
      if (name === "" || key1 === "") throw new RangeError(`invalid accounts entry "${name}:…": expected name:key1[:key2]`);
      if (rest.length > 0) throw new RangeError(`invalid accounts entry for "${name}": at most two keys`);
      return { name, key1, key2: key2 === "" ? undefined : key2 };
    });
}

/** Configuration of {@link createAzuriteKeyPairSource}. */
export interface AzuriteKeyPairSourceOptions {
  /** The `AZURITE_ACCOUNTS` value Azurite was started with (`name:key1:key2;…`). */
  accounts: string;
  /**
   * Azurite's Blob origin without an account, e.g. `http://127.0.0.1:10000`; the account is appended
   * (path-style), as Azurite serves every account on one port.
   */
  blobEndpoint: string;
}

/**
 * A source for Azurite-style accounts: both keys come from configuration, nothing is regenerated.
 * @throws {@link RangeError} for a malformed `accounts` value or endpoint
 * @example
 * const source = createAzuriteKeyPairSource({ accounts: "rotacct:<key1>:<key2>", blobEndpoint: "http://127.0.0.1:10000" });
 * const service = createRotationService({ ..., keyPairSources: { azurite: source } });
 */
export function createAzuriteKeyPairSource(options: AzuriteKeyPairSourceOptions): KeyPairSource {
  const accounts = new Map(parseDualKeyAccounts(options.accounts).map((a) => [a.name, a]));
  let origin: URL;
  try {
    origin = new URL(options.blobEndpoint);
  } catch {
    throw new RangeError("blobEndpoint is not an absolute URL");
  }
  const base = `${origin.origin}${origin.pathname.replace(/\/+$/, "")}`;
  const find = (accountName: string): DualKeyAccount => {
    const account = accounts.get(accountName);
    if (account === undefined) throw new KeyPairSourceError(`the azurite key-pair source has no account "${accountName}"`);
    return account;
  };
  return {
    kind: "azurite",
    blobServiceUrl(accountName) {
      return `${base}/${find(accountName).name}`;
    },
    async getKeys(accountName) {
      const account = find(accountName);
      if (account.key2 === undefined) {
        throw new KeyPairSourceError(`account "${accountName}" has one key; dual-credential rotation needs name:key1:key2`);
      }
      return { key1: account.key1, key2: account.key2 };
    },
  };
}
