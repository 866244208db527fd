/**
 * @module The API's request model, independent of Azure Functions, and how the raw URL is read.
 */
import { isIP } from "node:net";
import { apiError, type ApiError, PlainTextError } from "./errors";
import { EscapeError, pathUnescape } from "./wire";

/** An incoming HTTP request as the API sees it. */
export interface ApiRequest {
  method: string;
  /** The URL as the client sent it: absolute or origin-form, still percent-encoded. */
  url: string;
  headers: { get(name: string): string | null; forEach?(callback: (value: string, key: string) => void): void };
  /**
   * Reads the body; called at most once. An adapter that streams should stop reading past `limit`
   * bytes and reject with {@link bodyTooLarge}, so no more than the limit is ever held in memory.
   */
  body(limit: number): Promise<Uint8Array>;
  /**
   * `false` when the adapter knows there is no body (the Functions library gives a GET or HEAD none):
   * the API then reads nothing. Absent: the body is read.
   */
  hasBody?: boolean;
  /**
   * The caller's network address as the platform vouches for it (in Azure the front end's `client-ip`,
   * see {@link clientIpFromHeader}); undefined when the adapter cannot know it. Never from
   * `X-Forwarded-For`, whose entries any client can set.
   */
  clientAddress?: string;
}

/**
 * The address in an App Service front end's `client-ip` header (`ip:port`, `[v6]:port` or a bare
 * address), without the port; undefined for anything that is not an IP address.
 */
export function clientIpFromHeader(value: string | null): string | undefined {
  const raw = value?.trim() ?? "";
  if (raw === "") return undefined;
  const bracketed = /^\[([^\]]+)\](?::\d+)?$/.exec(raw);
  const candidate = bracketed !== null ? (bracketed[1] ?? "") : raw.split(":").length === 2 ? (raw.split(":")[0] ?? "") : raw;
  return isIP(candidate) === 0 ? undefined : candidate.toLowerCase();
}

/** 413 `ERR_BODY_TOO_LARGE`: the request body is longer than the limit (`MAX_REQUEST_BODY_BYTES`). */
export function bodyTooLarge(limit: number): ApiError {
  return apiError("bodyTooLarge", { max: limit });
}

/** The raw path and query of a request URL, without decoding anything. */
export function splitUrl(url: string): { path: string; query: string } {
  // Indexes into the one string rather than a replaced copy and a split: it runs on every request.
  const start = originLength(url);
  const fragment = url.indexOf("#", start);
  const end = fragment === -1 ? url.length : fragment;
  const q = url.indexOf("?", start);
  const hasQuery = q !== -1 && q < end;
  const path = url.slice(start, hasQuery ? q : end);
  return { path: path === "" ? "/" : path, query: hasQuery ? url.slice(q + 1, end) : "" };
}

/** The length of `scheme://authority` at the start of an absolute URL (`/^[a-zA-Z][a-zA-Z0-9+.-]*:\/\/[^/?#]*\/`), else 0. */
function originLength(url: string): number {
  const separator = url.indexOf("://");
  if (separator <= 0) return 0;
  for (let i = 0; i < separator; i++) {
    const c = url.charCodeAt(i);
    const letter = (c >= 65 && c <= 90) || (c >= 97 && c <= 122);
    if (i === 0 ? !letter : !(letter || (c >= 48 && c <= 57) || c === 43 || c === 45 || c === 46)) return 0;
  }
  let end = separator + 3;
  for (; end < url.length; end++) {
    const c = url.charCodeAt(end);
    if (c === 47 || c === 63 || c === 35) break;
  }
  return end;
}

/**
 * Decodes a path parameter with Go `url.PathUnescape` semantics (`%XX` decoded once, `+` kept), then
 * reads a remaining `%2F` as `/`. daprd reads `+` as a space (QueryUnescape), but behind
 * azure-functions-host a `%2B` reaches the worker as a literal `+` (Kestrel decodes the path, YARP
 * re-escapes it without touching `+`), so only this reading gives the same key through every host and
 * keeps keys with `+` reachable. Kestrel never decodes `%2F` but does decode `%25`, so `a%2Fb` and
 * `a%252Fb` reach the worker identically; reading both as `a/b` keeps keys with `/` reachable as in daprd,
 * at the price of keys that contain the text `%2F`, which only bulk and transaction routes can address
 * (README, "HTTP API").
 * @throws {@link PlainTextError} 400 with Go's error text for a malformed escape (unreachable through
 *   the Functions host, which re-escapes every `%`)
 */
export function decodeParam(raw: string): string {
  let decoded: string;
  try {
    decoded = pathUnescape(raw);
  } catch (e) {
    if (e instanceof EscapeError) throw new PlainTextError(400, e.message);
    throw e;
  }
  return decoded.includes("%") ? decoded.replace(ENCODED_SLASH, "/") : decoded;
}

const ENCODED_SLASH = /%2F/gi;

/**
 * Parses an optional JSON object body the way daprd's universal handler does for GET routes: an empty
 * body is fine, anything else must be a JSON object.
 * @throws {@link ApiError} 400 `ERR_MALFORMED_REQUEST`
 */
export function checkOptionalObjectBody(body: Uint8Array): void {
  if (body.length === 0) return;
  let parsed: unknown;
  try {
    parsed = JSON.parse(Buffer.from(body).toString("utf8"));
  } catch {
    throw apiError("malformedRequest", { detail: "invalid JSON" });
  }
  if (typeof parsed !== "object" || parsed === null || Array.isArray(parsed)) {
    throw apiError("malformedRequest", { detail: "expected a JSON object" });
  }
}
