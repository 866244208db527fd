/**
 * @module UUID version 7 (RFC 9562): time-ordered ids for audit rows, so a table's RowKey order is the
 * order in which the attempts started.
 */
import { randomBytes } from "node:crypto";

/** Generates UUID v7 strings. */
export type UuidV7Generator = () => string;

/** The 12-bit `rand_a` field doubles as a sub-millisecond counter (RFC 9562 §6.2, method 1). */
const COUNTER_MAX = 0xfff;

/**
 * Creates a generator whose ids sort (as strings and as bytes) in creation order within this process,
 * even for several ids in the same millisecond or when the clock steps back: a 48-bit big-endian Unix
 * millisecond timestamp, then a counter seeded randomly each millisecond, then 62 random bits.
 * @param nowInMs - the clock; tests pass a fixed one to check the timestamp field
 * @example
 * const next = createUuidV7Generator();
 * next(); // "0193a9f2-6c1e-7a3b-9f2d-4c8e1a0b7d35"
 */
export function createUuidV7Generator(nowInMs: () => number = Date.now): UuidV7Generator {
  let lastMs = -1;
  let counter = 0;
  return () => {
    let ms = Math.max(0, Math.floor(nowInMs()));
    const random = randomBytes(10);
    if (ms > lastMs) {
      // Seed below the midpoint so many ids fit in one millisecond before the counter overflows.
      counter = random.readUInt16BE(0) & 0x7ff;
    } else {
      // Same millisecond, or the clock went back: keep the last timestamp so order holds.
      ms = lastMs;
      counter += 1;
      if (counter > COUNTER_MAX) {
        ms += 1;
        counter = random.readUInt16BE(0) & 0x7ff;
      }
    }
    lastMs = ms;
    return formatUuidV7(ms, counter, random.subarray(2));
  };
}

/**
 * Lays out the fields of a UUID v7 (pure).
 * @param ms - Unix milliseconds, 0 to 2^48 − 1
 * @param counter - the 12-bit `rand_a` value
 * @param randomB - at least 8 bytes; the top 2 bits of the first are replaced by the variant
 * @throws {@link RangeError} when a field is out of range
 */
export function formatUuidV7(ms: number, counter: number, randomB: Uint8Array): string {
  if (!Number.isInteger(ms) || ms < 0 || ms > 0xffff_ffff_ffff) throw new RangeError("UUID v7 timestamp out of range");
  if (!Number.isInteger(counter) || counter < 0 || counter > COUNTER_MAX) throw new RangeError("UUID v7 counter out of range");
  if (randomB.length < 8) throw new RangeError("UUID v7 needs 8 random bytes");
  const bytes = Buffer.alloc(16);
  bytes.writeUIntBE(ms, 0, 6);
  bytes.writeUInt16BE(0x7000 | counter, 6);
  Buffer.from(randomB.subarray(0, 8)).copy(bytes, 8);
  bytes[8] = ((bytes[8] ?? 0) & 0x3f) | 0x80;
  const hex = bytes.toString("hex");
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}

/**
 * Reads the timestamp of a UUID v7 (pure).
 * @returns Unix milliseconds, or `undefined` when the text is not a UUID v7
 */
export function uuidV7Timestamp(uuid: string): number | undefined {
  if (!/^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/i.test(uuid)) return undefined;
  return parseInt(uuid.slice(0, 8) + uuid.slice(9, 13), 16);
}
