/**
 * @module The generator contract: how a rotation policy's `rotation-generator` makes, and then checks,
 * the next value of a secret (AWS Secrets Manager's createSecret and testSecret steps).
 */
import type { KeyPairSource } from "../keyPairSources";
import type { NormalizedTags } from "../tags";
import type { RotationTarget } from "../types";

/** Builds a Blob service client signed with one account key (the storage check's only I/O). */
export type SharedKeyBlobClientFactory = (
  accountName: string,
  accountKey: string,
  blobServiceUrl: string,
) => { getProperties(options?: { abortSignal?: AbortSignal }): Promise<unknown> };

/** What generators may use besides their options. */
export interface GeneratorContext {
  target: RotationTarget;
  /** Configured key-pair sources by the name policies use in `rotation-key-source`. */
  keyPairSources: Readonly<Record<string, KeyPairSource>>;
  createBlobClient: SharedKeyBlobClientFactory;
  abortSignal?: AbortSignal;
}

/** The secret's current version, as the generator sees it. */
export interface CurrentSecret {
  version: string;
  /** Held in memory only; generators compare it, never log or return it in text. */
  value: string;
  tags: NormalizedTags;
}

/** A candidate value. */
export interface GeneratedSecret {
  /** The new value; never logged. */
  value: string;
  /** Bookkeeping tags for the promoted version (e.g. `rotation-active-key`). */
  tags?: Readonly<Record<string, string>>;
  /** What was generated, for logs and errors, e.g. `key2 of storage account rotacct`; never the value. */
  description: string;
}

/** A check's verdict. `reason` is for the audit row: it names what failed, never the value. */
export type CheckResult = { ok: true } | { ok: false; reason: string };

/**
 * A secret generator. Methods (not function properties) so a `SecretGenerator<RandomOptions>` fits a
 * registry of `SecretGenerator<unknown>`: the registry only ever passes options its own `parseOptions`
 * produced.
 */
export interface SecretGenerator<O> {
  /** Tags (besides interval, generator and validity) this generator reads; others are rejected. */
  readonly optionTags: readonly string[];
  /**
   * Reads and validates the generator's options from the secret's tags (pure).
   * @throws {@link RotationPolicyError} naming the tag
   */
  parseOptions(tags: NormalizedTags): O;
  /**
   * Makes the next value.
   * @throws {@link RotationPolicyError} when the options name something not configured, or any I/O error
   */
  generate(options: O, current: CurrentSecret, context: GeneratorContext): Promise<GeneratedSecret>;
  /** Checks a candidate (as read back from the pending secret); resolves to a verdict, never throws for a bad candidate. */
  check(candidate: GeneratedSecret, options: O, context: GeneratorContext): Promise<CheckResult>;
}

/** Generators by the name policies use in `rotation-generator`. */
export type GeneratorRegistry = Readonly<Record<string, SecretGenerator<unknown>>>;
