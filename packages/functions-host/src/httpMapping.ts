/** @module functions-host/httpMapping: HTTP request to RPC input and RPC `returnValue.http` to the wire (pure). */

import type { RpcHttpData, RpcTypedData } from "./functionsCore";

/**
 * Builds a header map from Node's `rawHeaders` (name, value, name, value...), lowercasing names and joining
 * repeated headers with "," (no space), as ASP.NET Core's header collection does. Node's own `req.headers` would drop duplicates of some headers and join
 * cookies with "; ", which is not what the client sent.
 */
export function collectRequestHeaders(rawHeaders: readonly string[]): Record<string, string> {
  const headers: Record<string, string> = {};
  for (let i = 0; i + 1 < rawHeaders.length; i += 2) {
    const name = rawHeaders[i].toLowerCase();
    const value = rawHeaders[i + 1];
    headers[name] = name in headers ? `${headers[name]},${value}` : value;
  }
  return headers;
}

/** The first value of a header as sent (not joined), or undefined. */
export function firstRawHeader(rawHeaders: readonly string[], name: string): string | undefined {
  const lower = name.toLowerCase();
  for (let i = 0; i + 1 < rawHeaders.length; i += 2) {
    if (rawHeaders[i].toLowerCase() === lower) return rawHeaders[i + 1];
  }
  return undefined;
}

/**
 * The absolute URL handed to the function: `http://` + the Host header the client sent (falling back to the
 * listening address) + the request target exactly as received, without decoding or normalising.
 */
export function absoluteRequestUrl(hostHeader: string | undefined, fallbackAuthority: string, rawTarget: string): string {
  return `http://${requestAuthority(hostHeader, fallbackAuthority)}${rawTarget}`;
}

/** The `host[:port]` the client addressed: its Host header when usable, else the listening address. */
export function requestAuthority(hostHeader: string | undefined, fallbackAuthority: string): string {
  return hostHeader !== undefined && isValidAuthority(hostHeader) ? hostHeader : fallbackAuthority;
}

function isValidAuthority(value: string): boolean {
  if (value === "" || /[\s/?#@\\]/.test(value)) return false;
  try {
    return new URL(`http://${value}`).host !== "";
  } catch {
    return false;
  }
}

/** `host:port` for a listening address, bracketing IPv6 literals. */
export function formatAuthority(hostname: string, port: number): string {
  return hostname.includes(":") ? `[${hostname}]:${port}` : `${hostname}:${port}`;
}

/** The RPC `http` input for a buffered (non-streaming) invocation. */
export function toRpcHttpRequest(
  method: string,
  url: string,
  headers: Record<string, string>,
  params: Record<string, string>,
  body: Uint8Array | undefined,
): RpcHttpData {
  // No `query`: the library then derives it from the URL, which keeps repeated keys; an empty object would
  // replace the URL's query with nothing.
  return body === undefined ? { method, url, headers, params } : { method, url, headers, params, body: { bytes: body } };
}

/** Trigger metadata for a streaming invocation: what the library reads headers and route params from. */
export function streamingTriggerMetadata(
  headers: Record<string, string>,
  params: Record<string, string>,
  query: Record<string, string>,
): Record<string, RpcTypedData> {
  const metadata: Record<string, RpcTypedData> = {};
  for (const [name, value] of Object.entries(params)) metadata[name] = { string: value };
  metadata.Headers = { json: JSON.stringify(headers) };
  metadata.Query = { json: JSON.stringify(query) };
  return metadata;
}

/** A response ready to write: status, headers in the order and casing given, body bytes. */
export interface WireResponse {
  readonly status: number;
  readonly headers: readonly (readonly [string, string])[];
  readonly body: Uint8Array;
}

/** Statuses that never carry a body. */
export function isNullBodyStatus(status: number): boolean {
  return status === 204 || status === 205 || status === 304 || (status >= 100 && status < 200);
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

function typedDataBytes(data: unknown): Uint8Array {
  if (!isRecord(data)) return new Uint8Array(0);
  if (data.bytes instanceof Uint8Array) return data.bytes;
  if (typeof data.string === "string") return Buffer.from(data.string, "utf8");
  if (typeof data.json === "string") return Buffer.from(data.json, "utf8");
  if (typeof data.int === "number" || typeof data.double === "number") return Buffer.from(String(data.int ?? data.double), "utf8");
  return new Uint8Array(0);
}

function nullableValue(value: unknown): unknown {
  return isRecord(value) ? value.value : undefined;
}

function timestampToDate(value: unknown): Date | undefined {
  const ts = nullableValue(value);
  if (!isRecord(ts)) return undefined;
  const seconds = Number(ts.seconds ?? 0);
  return Number.isFinite(seconds) ? new Date(seconds * 1000) : undefined;
}

/**
 * Serialises an RPC cookie (`RpcHttpCookie`) as a Set-Cookie value in ASP.NET Core's format. SameSite
 * "none" means "not set"; "explicitNone" is `samesite=none`.
 */
export function serializeRpcCookie(cookie: unknown): string | undefined {
  if (!isRecord(cookie) || typeof cookie.name !== "string" || cookie.name === "") return undefined;
  const parts = [`${cookie.name}=${typeof cookie.value === "string" ? cookie.value : ""}`];
  const expires = timestampToDate(cookie.expires);
  if (expires) parts.push(`expires=${expires.toUTCString()}`);
  const maxAge = nullableValue(cookie.maxAge);
  if (typeof maxAge === "number" && Number.isFinite(maxAge)) parts.push(`max-age=${Math.trunc(maxAge)}`);
  const domain = nullableValue(cookie.domain);
  if (typeof domain === "string" && domain !== "") parts.push(`domain=${domain}`);
  const cookiePath = nullableValue(cookie.path);
  if (typeof cookiePath === "string" && cookiePath !== "") parts.push(`path=${cookiePath}`);
  if (nullableValue(cookie.secure) === true) parts.push("secure");
  const sameSite = cookie.sameSite;
  if (sameSite === "lax" || sameSite === "strict") parts.push(`samesite=${sameSite}`);
  else if (sameSite === "explicitNone") parts.push("samesite=none");
  if (nullableValue(cookie.httpOnly) === true) parts.push("httponly");
  return parts.join("; ");
}

// The host computes framing itself; a handler-provided length could disagree with the bytes it returned.
const FRAMING_HEADERS = new Set(["content-length", "transfer-encoding", "connection", "keep-alive"]);

/**
 * Maps an invocation's `returnValue` to the response the host writes. No return value means 200 with an
 * empty body (the host's OkResult). Header names keep the casing given; cookies become Set-Cookie headers.
 */
export function rpcHttpToWireResponse(returnValue: unknown): WireResponse {
  const http = isRecord(returnValue) && isRecord(returnValue.http) ? returnValue.http : undefined;
  if (!http) return { status: 200, headers: [], body: new Uint8Array(0) };

  const parsedStatus = http.statusCode === undefined || http.statusCode === null ? 200 : Number(http.statusCode);
  if (!Number.isInteger(parsedStatus) || parsedStatus < 100 || parsedStatus > 999) {
    throw new Error(`Invalid HTTP status code ${JSON.stringify(http.statusCode)}`);
  }
  const headers: [string, string][] = [];
  if (isRecord(http.headers)) {
    for (const [name, value] of Object.entries(http.headers)) {
      if (typeof value === "string" && !FRAMING_HEADERS.has(name.toLowerCase())) headers.push([name, value]);
    }
  }
  if (Array.isArray(http.cookies)) {
    for (const cookie of http.cookies) {
      const serialized = serializeRpcCookie(cookie);
      if (serialized !== undefined) headers.push(["Set-Cookie", serialized]);
    }
  }
  const body = isNullBodyStatus(parsedStatus) ? new Uint8Array(0) : typedDataBytes(http.body);
  return { status: parsedStatus, headers, body };
}

/** Request headers that must not be forwarded to the streaming proxy (hop-by-hop, or set by the host). */
export const HOP_BY_HOP_HEADERS: ReadonlySet<string> = new Set([
  "connection",
  "keep-alive",
  "proxy-authenticate",
  "proxy-authorization",
  "proxy-connection",
  "te",
  "trailer",
  "trailers",
  "transfer-encoding",
  "upgrade",
  "host",
]);

/** Filters `rawHeaders` to a flat [name, value, ...] list without hop-by-hop and extra excluded headers. */
export function forwardableRawHeaders(rawHeaders: readonly string[], exclude: ReadonlySet<string> = new Set()): string[] {
  const out: string[] = [];
  for (let i = 0; i + 1 < rawHeaders.length; i += 2) {
    const lower = rawHeaders[i].toLowerCase();
    if (!HOP_BY_HOP_HEADERS.has(lower) && !exclude.has(lower)) out.push(rawHeaders[i], rawHeaders[i + 1]);
  }
  return out;
}

/**
 * The request URL the real host hands the worker in buffered mode: Kestrel decodes the path once (except
 * `%2F`, and leaving malformed escapes as sent), then `PathString.ToUriComponent` re-encodes what is not
 * valid in a path but keeps a `%` followed by two hex digits as already encoded. So a literal `%2520`
 * reaches the function as `%20`, one decoding more than the raw path suggests. The query goes as sent.
 */
export function workerRequestUrl(authority: string, rawTarget: string): string {
  const { path, query } = splitTarget(rawTarget);
  return `http://${authority}${toUriComponent(kestrelDecode(path))}${query}`;
}

/**
 * The request target the real host proxies to the worker's HttpUri in streaming mode: YARP's
 * `RequestUtilities.MakeDestinationAddress` escapes every character of Kestrel's decoded path that is not
 * valid in a path, `%` included, so escapes round-trip (`%2520` stays `%2520`, `%zz` becomes `%25zz`, a
 * kept `%2F` becomes `%252F`) and `%2B` arrives as a literal `+`. The query goes as sent.
 */
export function proxiedRequestTarget(rawTarget: string): string {
  const { path, query } = splitTarget(rawTarget);
  let out = "";
  for (const c of kestrelDecode(path)) out += PATH_CHAR.test(c) ? c : escapeChar(c);
  return `${out}${query}`;
}

function splitTarget(rawTarget: string): { path: string; query: string } {
  const queryIndex = rawTarget.indexOf("?");
  return queryIndex >= 0 ? { path: rawTarget.slice(0, queryIndex), query: rawTarget.slice(queryIndex) } : { path: rawTarget, query: "" };
}

function escapeChar(c: string): string {
  try {
    return encodeURIComponent(c);
  } catch {
    // A lone surrogate: Uri.EscapeDataString writes the replacement character.
    return "%EF%BF%BD";
  }
}

function kestrelDecode(rawPath: string): string {
  return rawPath
    .split(/(%2F)/i)
    .map((piece) => (/^%2F$/i.test(piece) ? piece : piece.replace(/(?:%[0-9A-Fa-f]{2})+/g, decodeRun)))
    .join("");
}

// Decodes a run of escapes as UTF-8; a run that is not valid UTF-8 stays as sent.
function decodeRun(run: string): string {
  try {
    return decodeURIComponent(run);
  } catch {
    return run;
  }
}

const PATH_CHAR = /[A-Za-z0-9\-._~!$&'()*+,;=:@/]/;

function toUriComponent(path: string): string {
  let out = "";
  const chars = [...path];
  for (let i = 0; i < chars.length; i++) {
    const c = chars[i] ?? "";
    if (PATH_CHAR.test(c) || (c === "%" && /^[0-9A-Fa-f]{2}$/.test(`${chars[i + 1] ?? ""}${chars[i + 2] ?? ""}`))) out += c;
    else out += escapeChar(c);
  }
  return out;
}
