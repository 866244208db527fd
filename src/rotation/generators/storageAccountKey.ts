/**
 * @module `storage-account-key`: the dual-credential generator. The secret holds one of a storage
 * account's two keys; each rotation switches to the other (regenerated first when the source can),
 * and the check proves the candidate authenticates with a real Blob call.
 */
import { timingSafeEqual } from "node:crypto";
import type { StorageKeyName } from "../keyPairSources";
import { BOOKKEEPING_TAGS, type NormalizedTags, POLICY_TAGS, quoteTagValue, RotationPolicyError } from "../tags";
import type { CheckResult, CurrentSecret, GeneratedSecret, GeneratorContext, SecretGenerator } from "./generator";
import { describeAzureFailure } from "../../azure/errors";

/** Options of the storage-account-key generator. */
export interface StorageAccountKeyOptions {
  /** `rotation-storage-account`. */
  accountName: string;
  /** `rotation-key-source`: the name of a configured key-pair source. */
  keySource: string;
}

/** Azure's rule (Azurite accepts the same names). */
const ACCOUNT_NAME = /^[a-z0-9]{3,24}$/;
const SOURCE_NAME = /^[a-z0-9][a-z0-9-]{0,62}$/i;
const BASE64 = /^[A-Za-z0-9+/]+={0,2}$/;

/**
 * Reads `rotation-storage-account` and `rotation-key-source` (pure).
 * @throws {@link RotationPolicyError} naming the tag
 */
export function parseStorageAccountKeyOptions(tags: NormalizedTags): StorageAccountKeyOptions {
  const accountName = tags[POLICY_TAGS.storageAccount];
  if (accountName === undefined || accountName === "") {
    throw new RotationPolicyError(POLICY_TAGS.storageAccount, `${POLICY_TAGS.storageAccount}: required by the storage-account-key generator`);
  }
  if (!ACCOUNT_NAME.test(accountName)) {
    throw new RotationPolicyError(POLICY_TAGS.storageAccount, `${POLICY_TAGS.storageAccount}: ${quoteTagValue(accountName)} is not a storage account name (3–24 lower-case letters and digits)`);
  }
  const keySource = tags[POLICY_TAGS.keySource];
  if (keySource === undefined || keySource === "") {
    throw new RotationPolicyError(POLICY_TAGS.keySource, `${POLICY_TAGS.keySource}: required by the storage-account-key generator (the name of a configured key-pair source)`);
  }
  if (!SOURCE_NAME.test(keySource)) throw new RotationPolicyError(POLICY_TAGS.keySource, `${POLICY_TAGS.keySource}: ${quoteTagValue(keySource)} is not a source name`);
  return { accountName, keySource };
}

/** Constant-time string equality, so comparing the current value with a key leaks no timing. */
function sameSecret(a: string, b: string): boolean {
  const x = Buffer.from(a, "utf8");
  const y = Buffer.from(b, "utf8");
  return x.length === y.length && timingSafeEqual(x, y);
}

/**
 * Which key the secret holds now: the `rotation-active-key` tag when valid, else by comparing the value
 * with both keys; `undefined` when it holds neither (the first rotation then starts with key1).
 */
export function activeKeyName(current: CurrentSecret, keys: { key1: string; key2: string }): StorageKeyName | undefined {
  const tagged = current.tags[BOOKKEEPING_TAGS.activeKey]?.toLowerCase();
  if (tagged === "key1" || tagged === "key2") return tagged;
  if (sameSecret(current.value, keys.key1)) return "key1";
  if (sameSecret(current.value, keys.key2)) return "key2";
  return undefined;
}

function sourceFor(options: StorageAccountKeyOptions, context: GeneratorContext) {
  const source = Object.prototype.hasOwnProperty.call(context.keyPairSources, options.keySource) ? context.keyPairSources[options.keySource] : undefined;
  if (source === undefined) {
    const known = Object.keys(context.keyPairSources);
    throw new RotationPolicyError(
      POLICY_TAGS.keySource,
      `${POLICY_TAGS.keySource}: no key-pair source named ${quoteTagValue(options.keySource)} is configured (${known.length === 0 ? "none are" : `configured: ${known.join(", ")}`})`,
    );
  }
  return source;
}

/** `storage-account-key`: alternates between an account's key1 and key2. */
export const storageAccountKeyGenerator: SecretGenerator<StorageAccountKeyOptions> = {
  optionTags: [POLICY_TAGS.storageAccount, POLICY_TAGS.keySource],
  parseOptions: parseStorageAccountKeyOptions,
  async generate(options, current, context): Promise<GeneratedSecret> {
    const source = sourceFor(options, context);
    const keys = await source.getKeys(options.accountName, { abortSignal: context.abortSignal });
    const active = activeKeyName(current, keys);
    const next: StorageKeyName = active === "key1" ? "key2" : "key1";
    // Regenerating the key about to become active is safe: nobody uses it now, and the active one stays
    // valid for a whole cycle so consumers can move over (Azure's dual-credential tutorial).
    const value = source.regenerateKey !== undefined ? await source.regenerateKey(options.accountName, next, { abortSignal: context.abortSignal }) : keys[next];
    return { value, tags: { [BOOKKEEPING_TAGS.activeKey]: next }, description: `${next} of storage account ${options.accountName}` };
  },
  async check(candidate, options, context): Promise<CheckResult> {
    const what = candidate.description;
    if (!BASE64.test(candidate.value)) return { ok: false, reason: `${what} is not base64` };
    const source = sourceFor(options, context);
    const url = source.blobServiceUrl(options.accountName);
    try {
      await context.createBlobClient(options.accountName, candidate.value, url).getProperties({ abortSignal: context.abortSignal });
      return { ok: true };
    } catch (e) {
      // A key we cannot prove (refused, or the service unreachable) is never promoted.
      return { ok: false, reason: `${what} did not authenticate at ${url}: ${describeAzureFailure(e)}` };
    }
  },
};
