/**
 * @module Rotation tag names and the policy error: what operators write on a Key Vault secret, what
 * rotation writes back, and how the pending companion secret is marked.
 *
 * Kept apart from the policy parser so generators can name their tags without importing the registry.
 */

/** Tags that make up a rotation policy (operators manage them on the secret). */
export const POLICY_TAGS = {
  /** How often to rotate: ISO 8601 duration (`P30D`, `PT12H`, `P1DT6H`, `P2W`) or `30d`/`12h`/`45m`/`2w`. */
  interval: "rotation-interval",
  /** Which generator makes the next value: a name in the generator registry. */
  generator: "rotation-generator",
  /** Optional: the promoted version expires this long after rotation (ISO 8601 or short form). */
  validity: "rotation-validity",
  /** Random generators: the value's length in characters. */
  length: "rotation-length",
  /** Random generators: a named character set. */
  charset: "rotation-charset",
  /** `storage-account-key`: the storage account whose two keys alternate. */
  storageAccount: "rotation-storage-account",
  /** `storage-account-key`: which configured key-pair source provides the two keys. */
  keySource: "rotation-key-source",
} as const;

/** Tags rotation writes on the versions it promotes (never part of the policy). */
export const BOOKKEEPING_TAGS = {
  /** When this version was promoted, ISO 8601 UTC. */
  lastRotation: "rotation-last",
  /** The version this one replaced. */
  rotatedFrom: "rotated-from",
  /** `storage-account-key`: which of the two keys (`key1`/`key2`) this version holds; operators may seed it. */
  activeKey: "rotation-active-key",
} as const;

/** Tags on the pending companion secret `<name>--pending`. */
export const PENDING_TAGS = {
  /** The secret this value is staged for. */
  pendingFor: "rotation-pending-for",
  /** The version of that secret that was current when staging began. */
  pendingFrom: "rotation-pending-from",
  /** `pending` → `promoted` | `check-failed` | `abandoned`. */
  state: "rotation-pending-state",
  /** The audit row (attempt id) of the rotation that staged it. */
  attempt: "rotation-attempt",
  /** Set on promotion: the version of the secret the value became. */
  promotedAs: "rotation-promoted-as",
} as const;

/** States of a staged value. */
export type PendingState = "pending" | "promoted" | "check-failed" | "abandoned";

/** Suffix of the companion secret that holds a staged value. */
export const PENDING_SUFFIX = "--pending";

/** The prefix every policy tag shares; an unknown tag with it is a typo, not something to ignore. */
export const POLICY_TAG_PREFIX = "rotation-";

/** Key Vault's limit on tags per secret version. */
export const MAX_TAGS_PER_SECRET = 15;

/**
 * A rotation policy that cannot be used. The message names the tag so operators can fix it where the
 * secret lives; it never contains a secret value (tag values are quoted only when short, see {@link quoteTagValue}).
 */
export class RotationPolicyError extends Error {
  override readonly name = "RotationPolicyError";
  /**
   * @param tag - the offending tag name
   * @param message - what is wrong, starting with the tag name
   */
  constructor(
    readonly tag: string,
    message: string,
  ) {
    super(message);
  }
}

/** Type guard for {@link RotationPolicyError}. */
export function isRotationPolicyError(e: unknown): e is RotationPolicyError {
  return e instanceof Error && e.name === "RotationPolicyError" && typeof (e as { tag?: unknown }).tag === "string";
}

/** Tags with lower-cased names, as the policy parser and generators read them. */
export type NormalizedTags = Readonly<Record<string, string>>;

/**
 * Lower-cases tag names (operators type `Rotation-Interval` too) and trims values (pure).
 * @throws {@link RotationPolicyError} when two rotation tags differ only in case
 */
export function normalizeTags(tags: Readonly<Record<string, string>> | undefined): NormalizedTags {
  const out: Record<string, string> = {};
  for (const [name, value] of Object.entries(tags ?? {})) {
    const key = name.trim().toLowerCase();
    if (key.startsWith(POLICY_TAG_PREFIX) && key in out) throw new RotationPolicyError(key, `${key}: the tag is set twice (names differ only in case)`);
    out[key] = value.trim();
  }
  return out;
}

/**
 * Quotes a tag value for an error message. Tag values are metadata anyone with list rights sees, but a
 * long one may be a mistaken paste of a credential, so only short values are echoed.
 */
export function quoteTagValue(value: string): string {
  return value.length <= 32 ? `"${value}"` : `a ${value.length}-character value`;
}
