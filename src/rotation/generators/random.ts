/**
 * @module `random-token` and `random-password`: crypto-random values of a given length over a named
 * character set; passwords also contain every character class the set has.
 */
import { randomInt } from "node:crypto";
import { type NormalizedTags, POLICY_TAGS, quoteTagValue, RotationPolicyError } from "../tags";
import type { CheckResult, GeneratedSecret, SecretGenerator } from "./generator";

const LOWER = "abcdefghijklmnopqrstuvwxyz";
const UPPER = "ABCDEFGHIJKLMNOPQRSTUVWXYZ";
const DIGITS = "0123456789";
/** No quotes, backslash, slash, space, `;` or `=`: values must survive shells, URLs and connection strings. */
const SAFE_SYMBOLS = "!#$%&*+-.?@^_~";

/** Named character sets for `rotation-charset`. */
export const CHARSETS = {
  /** URL- and file-safe base64 alphabet: 6 bits per character. */
  base64url: `${UPPER}${LOWER}${DIGITS}-_`,
  alphanumeric: `${UPPER}${LOWER}${DIGITS}`,
  /** Lower-case hexadecimal. */
  hex: `${DIGITS}abcdef`,
  /** Letters, digits and {@link SAFE_SYMBOLS}. */
  "ascii-safe": `${UPPER}${LOWER}${DIGITS}${SAFE_SYMBOLS}`,
} as const;

/** A `rotation-charset` name. */
export type CharsetName = keyof typeof CHARSETS;

/** Options of the random generators. */
export interface RandomOptions {
  length: number;
  charset: CharsetName;
}

interface RandomLimits {
  defaults: RandomOptions;
  minLength: number;
  maxLength: number;
}

/** 43 base64url characters carry 258 bits, more than a 256-bit key. */
const TOKEN_LIMITS: RandomLimits = { defaults: { length: 43, charset: "base64url" }, minLength: 16, maxLength: 4096 };
/** Every class needs a place, and passwords shorter than 12 fail most policies. */
const PASSWORD_LIMITS: RandomLimits = { defaults: { length: 32, charset: "ascii-safe" }, minLength: 12, maxLength: 1024 };

const CLASSES: readonly { name: string; chars: string }[] = [
  { name: "lower-case letter", chars: LOWER },
  { name: "upper-case letter", chars: UPPER },
  { name: "digit", chars: DIGITS },
  { name: "symbol", chars: `${SAFE_SYMBOLS}-_` },
];

/** The character classes a set contains; a password over it must use each (pure). */
export function requiredClasses(charset: CharsetName): readonly { name: string; chars: string }[] {
  const set = CHARSETS[charset];
  return CLASSES.map((c) => ({ name: c.name, chars: [...c.chars].filter((ch) => set.includes(ch)).join("") })).filter((c) => c.chars !== "");
}

function isCharsetName(name: string): name is CharsetName {
  return Object.prototype.hasOwnProperty.call(CHARSETS, name);
}

/**
 * Reads `rotation-length` and `rotation-charset` (pure).
 * @throws {@link RotationPolicyError} naming the tag
 */
export function parseRandomOptions(tags: NormalizedTags, limits: RandomLimits): RandomOptions {
  let charset = limits.defaults.charset;
  const rawCharset = tags[POLICY_TAGS.charset];
  if (rawCharset !== undefined) {
    const name = rawCharset.toLowerCase();
    if (!isCharsetName(name)) {
      throw new RotationPolicyError(POLICY_TAGS.charset, `${POLICY_TAGS.charset}: unknown character set ${quoteTagValue(rawCharset)}; use one of ${Object.keys(CHARSETS).join(", ")}`);
    }
    charset = name;
  }
  let length = limits.defaults.length;
  const rawLength = tags[POLICY_TAGS.length];
  if (rawLength !== undefined) {
    if (!/^\d{1,6}$/.test(rawLength)) throw new RotationPolicyError(POLICY_TAGS.length, `${POLICY_TAGS.length}: ${quoteTagValue(rawLength)} is not a whole number`);
    length = Number(rawLength);
    if (length < limits.minLength || length > limits.maxLength) {
      throw new RotationPolicyError(POLICY_TAGS.length, `${POLICY_TAGS.length}: ${length} is outside ${limits.minLength}–${limits.maxLength}`);
    }
  }
  return { length, charset };
}

/** A uniform crypto-random string (`randomInt` rejects biased draws internally). */
function randomString(length: number, alphabet: string): string {
  let out = "";
  for (let i = 0; i < length; i++) out += alphabet.charAt(randomInt(alphabet.length));
  return out;
}

/** Describes what is wrong with a value's shape, or `undefined` when it fits (pure; never echoes the value). */
function shapeProblem(value: string, options: RandomOptions, classes: readonly { name: string; chars: string }[]): string | undefined {
  if (value.length !== options.length) return `expected ${options.length} characters, got ${value.length}`;
  const set = CHARSETS[options.charset];
  const outside = [...value].filter((ch) => !set.includes(ch)).length;
  if (outside > 0) return `${outside} character(s) outside the ${options.charset} set`;
  const missing = classes.filter((c) => ![...value].some((ch) => c.chars.includes(ch))).map((c) => c.name);
  return missing.length > 0 ? `no ${missing.join(", no ")}` : undefined;
}

function verdict(problem: string | undefined, what: string): CheckResult {
  return problem === undefined ? { ok: true } : { ok: false, reason: `${what}: ${problem}` };
}

/** Generates a password of the given options: uniform among the strings that contain every class. */
export function generatePassword(options: RandomOptions): string {
  const classes = requiredClasses(options.charset);
  // Rejection keeps the distribution uniform over valid passwords. At the minimum length about a quarter
  // of ascii-safe draws miss a class, so 200 failed tries (p ≈ 0.27^200) never happen in practice.
  for (let attempt = 0; attempt < 200; attempt++) {
    const candidate = randomString(options.length, CHARSETS[options.charset]);
    if (shapeProblem(candidate, options, classes) === undefined) return candidate;
  }
  throw new Error("could not generate a password containing every character class");
}

/** `random-token`: an opaque token, by default 43 base64url characters. */
export const randomTokenGenerator: SecretGenerator<RandomOptions> = {
  optionTags: [POLICY_TAGS.length, POLICY_TAGS.charset],
  parseOptions: (tags) => parseRandomOptions(tags, TOKEN_LIMITS),
  async generate(options): Promise<GeneratedSecret> {
    return { value: randomString(options.length, CHARSETS[options.charset]), description: `${options.length}-character ${options.charset} token` };
  },
  async check(candidate, options) {
    return verdict(shapeProblem(candidate.value, options, []), "token check failed");
  },
};

/** `random-password`: by default 32 characters with lower, upper, digit and symbol. */
export const randomPasswordGenerator: SecretGenerator<RandomOptions> = {
  optionTags: [POLICY_TAGS.length, POLICY_TAGS.charset],
  parseOptions: (tags) => parseRandomOptions(tags, PASSWORD_LIMITS),
  async generate(options): Promise<GeneratedSecret> {
    return { value: generatePassword(options), description: `${options.length}-character ${options.charset} password` };
  },
  async check(candidate, options) {
    return verdict(shapeProblem(candidate.value, options, requiredClasses(options.charset)), "password check failed");
  },
};
