/**
 * @module Success responses shaped like daprd's (`pkg/api/http/responses.go`).
 */
import type { ApiResponse } from "./errors";
import { goMarshal, goMarshalMap } from "./wire";

/** `respondWithEmpty`: 204, no body, no content type. */
export function empty(headers: Record<string, string> = {}): ApiResponse {
  return { status: 204, headers: { ...headers } };
}

/**
 * `respondWithJSON`: Go's `json.Encoder` output (trailing newline). Maps have their keys sorted as
 * Go sorts map keys; structs keep field order.
 */
export function json(status: number, value: unknown, options: { shape: "map" | "struct"; headers?: Record<string, string> }): ApiResponse {
  const text = options.shape === "map" ? goMarshalMap(value) : goMarshal(value);
  return { status, headers: { "content-type": "application/json", ...options.headers }, body: `${text}\n` };
}
