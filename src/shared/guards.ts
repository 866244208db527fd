/**
 * @module Narrowing of values of unknown shape (parsed JSON, YAML, SDK errors, events). Base layer:
 * every layer may use it; it imports nothing of the app.
 */

/** A JSON-like object: not `null`, not an array. */
export function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}
