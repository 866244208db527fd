/**
 * @module Rotation policy: read from the secret's own Key Vault tags (operators manage it where the
 * secret lives) and the due computation. Pure.
 */
import { DEFAULT_GENERATORS } from "./generators";
import type { GeneratorRegistry } from "./generators/generator";
import { BOOKKEEPING_TAGS, normalizeTags, POLICY_TAG_PREFIX, POLICY_TAGS, quoteTagValue, RotationPolicyError } from "./tags";

/** A valid policy. */
export interface RotationPolicy {
  /** `rotation-interval` in milliseconds. */
  intervalInMs: number;
  /** `rotation-generator`: a registry name. */
  generator: string;
  /** The generator's parsed options (its own `parseOptions` result). */
  options: unknown;
  /** `rotation-validity`: promoted versions expire this long after rotation. */
  validityInMs?: number;
}

const SECOND = 1000;
const MINUTE = 60 * SECOND;
const HOUR = 60 * MINUTE;
const DAY = 24 * HOUR;
const WEEK = 7 * DAY;

/** Shorter intervals would rotate on every timer tick and hit Key Vault's write limits. */
export const MIN_INTERVAL_IN_MS = MINUTE;
/** Ten years: anything longer is a typo (and beyond what a timestamp tag should promise). */
export const MAX_DURATION_IN_MS = 3650 * DAY;

const SHORT_UNITS: Readonly<Record<string, number>> = { s: SECOND, m: MINUTE, h: HOUR, d: DAY, w: WEEK };

/**
 * Parses a duration (pure): ISO 8601 `PnW`, `PnDTnHnMnS` (any subset, seconds may be fractional) or the
 * short form `<n>s|m|h|d|w`. Years and months are refused: their length varies, and a policy must mean
 * one thing.
 * @returns milliseconds, or an explanation when the text is not a duration
 */
export function parseDuration(text: string): { ms: number } | { problem: string } {
  const value = text.trim();
  const short = /^(\d{1,7})\s*([smhdw])$/i.exec(value);
  if (short !== null) return { ms: Number(short[1]) * (SHORT_UNITS[(short[2] ?? "").toLowerCase()] ?? 0) };
  if (/^P[^T]*[YM]/i.test(value)) return { problem: "in years or months, which vary in length; use days (P90D) or weeks" };
  const iso = /^P(?:(\d+)W)?(?:(\d+)D)?(?:T(?:(\d+)H)?(?:(\d+)M)?(?:(\d+(?:\.\d+)?)S)?)?$/i.exec(value);
  if (iso === null || value.toUpperCase() === "P" || value.toUpperCase().endsWith("T")) {
    return { problem: "not an ISO 8601 duration (P30D, PT12H, P1DT6H, P2W) or a short one (30d, 12h, 45m, 2w)" };
  }
  const [, w, d, h, m, s] = iso;
  const ms = Number(w ?? 0) * WEEK + Number(d ?? 0) * DAY + Number(h ?? 0) * HOUR + Number(m ?? 0) * MINUTE + Math.round(Number(s ?? 0) * SECOND);
  return { ms };
}

function durationTag(tag: string, raw: string, min: number): number {
  const parsed = parseDuration(raw);
  if ("problem" in parsed) throw new RotationPolicyError(tag, `${tag}: ${quoteTagValue(raw)} is ${parsed.problem}`);
  if (parsed.ms < min) throw new RotationPolicyError(tag, `${tag}: ${quoteTagValue(raw)} is shorter than the minimum of ${min / MINUTE} minute(s)`);
  if (parsed.ms > MAX_DURATION_IN_MS) throw new RotationPolicyError(tag, `${tag}: ${quoteTagValue(raw)} is longer than 3650 days`);
  return parsed.ms;
}

const BASE_TAGS: ReadonlySet<string> = new Set([POLICY_TAGS.interval, POLICY_TAGS.generator, POLICY_TAGS.validity]);
const WRITTEN_BY_ROTATION: ReadonlySet<string> = new Set(Object.values(BOOKKEEPING_TAGS));
const ALL_POLICY_TAGS: ReadonlySet<string> = new Set(Object.values(POLICY_TAGS));

/**
 * Reads the rotation policy from a secret's tags (pure). Tag names are matched case-insensitively.
 * @param tags - the current version's tags
 * @param generators - the registry `rotation-generator` must name; default {@link DEFAULT_GENERATORS}
 * @returns the policy, or `undefined` when the secret has no policy tags at all
 * @throws {@link RotationPolicyError} naming the tag when the policy is incomplete or invalid; a secret
 * with an invalid policy is never rotated
 * @example
 * parseRotationPolicy({ "rotation-interval": "P30D", "rotation-generator": "random-token" });
 * // { intervalInMs: 2592000000, generator: "random-token", options: { length: 43, charset: "base64url" } }
 */
export function parseRotationPolicy(tags: Readonly<Record<string, string>> | undefined, generators: GeneratorRegistry = DEFAULT_GENERATORS): RotationPolicy | undefined {
  const normalized = normalizeTags(tags);
  const policyTags = Object.keys(normalized).filter((name) => name.startsWith(POLICY_TAG_PREFIX) && !WRITTEN_BY_ROTATION.has(name));
  if (policyTags.length === 0) return undefined;
  // A typo such as rotation-lenght must not silently fall back to a default.
  const unknown = policyTags.find((name) => !ALL_POLICY_TAGS.has(name));
  if (unknown !== undefined) throw new RotationPolicyError(unknown, `${unknown}: unknown rotation tag; known tags are ${[...ALL_POLICY_TAGS].join(", ")}`);

  const rawGenerator = normalized[POLICY_TAGS.generator];
  if (rawGenerator === undefined || rawGenerator === "") throw new RotationPolicyError(POLICY_TAGS.generator, `${POLICY_TAGS.generator}: required when any rotation tag is set`);
  const generatorName = rawGenerator.toLowerCase();
  const generator = Object.prototype.hasOwnProperty.call(generators, generatorName) ? generators[generatorName] : undefined;
  if (generator === undefined) {
    throw new RotationPolicyError(POLICY_TAGS.generator, `${POLICY_TAGS.generator}: unknown generator ${quoteTagValue(rawGenerator)}; use one of ${Object.keys(generators).join(", ")}`);
  }
  const rawInterval = normalized[POLICY_TAGS.interval];
  if (rawInterval === undefined || rawInterval === "") throw new RotationPolicyError(POLICY_TAGS.interval, `${POLICY_TAGS.interval}: required when any rotation tag is set`);
  const intervalInMs = durationTag(POLICY_TAGS.interval, rawInterval, MIN_INTERVAL_IN_MS);

  const foreign = policyTags.find((name) => !BASE_TAGS.has(name) && !generator.optionTags.includes(name));
  if (foreign !== undefined) throw new RotationPolicyError(foreign, `${foreign}: does not apply to the ${generatorName} generator`);

  let validityInMs: number | undefined;
  const rawValidity = normalized[POLICY_TAGS.validity];
  if (rawValidity !== undefined) {
    validityInMs = durationTag(POLICY_TAGS.validity, rawValidity, MIN_INTERVAL_IN_MS);
    // A version that expires before the next rotation would leave consumers with an expired credential.
    if (validityInMs <= intervalInMs) {
      throw new RotationPolicyError(POLICY_TAGS.validity, `${POLICY_TAGS.validity}: must be longer than ${POLICY_TAGS.interval}, or versions expire before they are rotated`);
    }
  }
  const options = generator.parseOptions(normalized);
  return { intervalInMs, generator: generatorName, options, ...(validityInMs === undefined ? {} : { validityInMs }) };
}

/**
 * When the next rotation is due (pure).
 * @param basis - when the current version was created (or last rotated)
 */
export function nextRotationAt(policy: Pick<RotationPolicy, "intervalInMs">, basis: Date): Date {
  return new Date(basis.getTime() + policy.intervalInMs);
}

/**
 * Whether a secret is due for rotation (pure): `interval` has passed since `basis`.
 * @param basis - the current version's creation time (a promoted version is created at rotation)
 * @param now - the clock's now
 */
export function isRotationDue(policy: Pick<RotationPolicy, "intervalInMs">, basis: Date, now: Date): boolean {
  return now.getTime() >= nextRotationAt(policy, basis).getTime();
}
