/**
 * @module functions-host/keys: the host's key gate (authLevel `function`/`admin` and the system-level
 * webhooks), checked from the request line and headers alone, so a request without a valid key is
 * answered before a single byte of its body is read.
 *
 * The real host takes keys from its secret repository and Core Tools enforces none; this host enforces
 * them only when it is given a master key (which the real host accepts at every level).
 */
import { createHash, timingSafeEqual } from "node:crypto";
import { firstRawHeader } from "./httpMapping";

/** What a function or endpoint requires, as in a binding's `authLevel` (`system` for extension webhooks). */
export type AuthLevel = "anonymous" | "function" | "admin" | "system";

/**
 * A binding's `authLevel`, read like the host does: case-insensitive, and `function` when absent (the
 * `function.json` default; the v4 library itself writes `anonymous` unless told otherwise).
 */
export function parseAuthLevel(value: unknown): AuthLevel {
  const level = typeof value === "string" ? value.toLowerCase() : "function";
  return level === "anonymous" || level === "admin" || level === "system" ? level : "function";
}

/** The key a request presents: the `x-functions-key` header, else the `code` query parameter. */
export function presentedKey(rawTarget: string, rawHeaders: readonly string[]): string | undefined {
  const header = firstRawHeader(rawHeaders, "x-functions-key");
  if (header !== undefined && header !== "") return header;
  const query = rawTarget.indexOf("?");
  if (query < 0) return undefined;
  try {
    return new URLSearchParams(rawTarget.slice(query + 1)).get("code") ?? undefined;
  } catch {
    return undefined;
  }
}

const digest = (value: string): Buffer => createHash("sha256").update(value, "utf8").digest();

/**
 * Whether a request may proceed: always for `anonymous` or when the host has no key; otherwise only
 * with the master key (compared in constant time).
 */
export function keyGateAllows(level: AuthLevel, masterKey: string | undefined, rawTarget: string, rawHeaders: readonly string[]): boolean {
  if (level === "anonymous" || masterKey === undefined) return true;
  const presented = presentedKey(rawTarget, rawHeaders);
  return presented !== undefined && timingSafeEqual(digest(presented), digest(masterKey));
}
