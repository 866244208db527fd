/**
 * @module Go wire semantics daprd applies, reproduced so clients see byte-compatible behaviour:
 * `path.Clean`, `url.QueryUnescape` / `url.PathUnescape`, `url.ParseQuery` and `encoding/json` output.
 */

/** Thrown by {@link queryUnescape} for a malformed escape; the message is Go's, which daprd returns. */
export class EscapeError extends Error {
  override readonly name = "EscapeError";
}

/**
 * Go `path.Clean`: collapses `//`, resolves `.` and `..` lexically, never escapes the root.
 * @param p - an absolute, still percent-encoded path
 */
export function cleanPath(p: string): string {
  if (p === "") return ".";
  const rooted = p.startsWith("/");
  // Already clean (every request's path, in practice): no empty, "." or ".." segment to drop.
  if (rooted && !p.endsWith("/") && !p.includes("//") && !p.includes("/.")) return p;
  const out: string[] = [];
  for (const segment of p.split("/")) {
    if (segment === "" || segment === ".") continue;
    if (segment === "..") {
      if (out.length > 0 && out[out.length - 1] !== "..") out.pop();
      else if (!rooted) out.push("..");
      continue;
    }
    out.push(segment);
  }
  const joined = out.join("/");
  if (rooted) return `/${joined}`;
  return joined === "" ? "." : joined;
}

function isHex(c: string): boolean {
  return /^[0-9a-fA-F]$/.test(c);
}

const NEEDS_DECODING = /[%+\uD800-\uDFFF]/;

/**
 * Go `url.QueryUnescape`: `%XX` decoded, `+` becomes a space.
 * @throws {@link EscapeError} with Go's text, e.g. `invalid URL escape "%zz"`
 */
export function queryUnescape(s: string): string {
  return unescape(s, true);
}

/**
 * Go `url.PathUnescape`: `%XX` decoded, `+` stays a plus.
 * @throws {@link EscapeError} with Go's text, e.g. `invalid URL escape "%zz"`
 */
export function pathUnescape(s: string): string {
  return unescape(s, false);
}

function unescape(s: string, plusIsSpace: boolean): string {
  // Nothing to decode (the usual path segment): the byte round trip below would return `s` itself.
  // Surrogates take the slow path, where a lone one becomes U+FFFD as Go's decoder makes it.
  if (!NEEDS_DECODING.test(s)) return s;
  const bytes: number[] = [];
  for (let i = 0; i < s.length; ) {
    const c = s[i];
    if (c === "%") {
      const hex = s.slice(i + 1, i + 3);
      if (hex.length < 2 || !isHex(hex[0] ?? "") || !isHex(hex[1] ?? "")) {
        throw new EscapeError(`invalid URL escape ${JSON.stringify(s.slice(i, i + 3))}`);
      }
      bytes.push(parseInt(hex, 16));
      i += 3;
    } else if (c === "+" && plusIsSpace) {
      bytes.push(0x20);
      i += 1;
    } else {
      const cp = s.codePointAt(i) ?? 0;
      const ch = String.fromCodePoint(cp);
      for (const b of Buffer.from(ch, "utf8")) bytes.push(b);
      i += ch.length;
    }
  }
  return Buffer.from(bytes).toString("utf8");
}

/** The query of a URL without one: shared, as most requests have none (a `Map` is a hash table to allocate). */
const NO_QUERY: ReadonlyMap<string, string[]> = new Map();

/**
 * Go `url.ParseQuery` as `r.URL.Query()` uses it: pairs with a bad escape or a `;` are dropped,
 * repeated names keep every value in order.
 */
export function parseQuery(rawQuery: string): ReadonlyMap<string, string[]> {
  if (rawQuery === "") return NO_QUERY;
  const result = new Map<string, string[]>();
  for (const pair of rawQuery.split("&")) {
    if (pair === "" || pair.includes(";")) continue;
    const eq = pair.indexOf("=");
    const rawKey = eq === -1 ? pair : pair.slice(0, eq);
    const rawValue = eq === -1 ? "" : pair.slice(eq + 1);
    let key: string;
    let value: string;
    try {
      key = queryUnescape(rawKey);
      value = queryUnescape(rawValue);
    } catch {
      continue;
    }
    const values = result.get(key);
    if (values === undefined) result.set(key, [value]);
    else values.push(value);
  }
  return result;
}

/** The metadata of a request without a query (nearly every request): one shared, frozen object. */
const NO_REQUEST_METADATA: Record<string, string> = Object.freeze({});

/**
 * Dapr's `getMetadataFromRequest`: every `metadata.<k>` query parameter (case-sensitive prefix),
 * prefix removed, first value only.
 */
export function metadataFromQuery(query: ReadonlyMap<string, string[]>): Record<string, string> {
  if (query.size === 0) return NO_REQUEST_METADATA;
  const metadata: Record<string, string> = {};
  for (const [name, values] of query) {
    if (name.startsWith("metadata.") && values[0] !== undefined) metadata[name.slice("metadata.".length)] = values[0];
  }
  return metadata;
}

/** Escapes what Go's JSON encoder escapes beyond `JSON.stringify`: `<`, `>`, `&`, U+2028, U+2029. */
export function goEscapeJson(json: string): string {
  return goEscape(json);
}

/** The characters Go's encoder escapes for HTML safety; tested first, as almost no text has any. */
const HTML_UNSAFE = /[<>&\u2028\u2029]/;

function goEscape(json: string): string {
  if (!HTML_UNSAFE.test(json)) return json;
  return json.replace(/[<>&\u2028\u2029]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, "0")}`);
}

/**
 * Go `json.Marshal` of a map-shaped value: object keys sorted (Go sorts map keys), HTML-safe escapes.
 * Arrays keep their order.
 */
export function goMarshalMap(value: unknown): string {
  return goEscape(JSON.stringify(sortKeys(value)));
}

/**
 * {@link goMarshalMap} of a map of strings, the shape of every secret answer. The usual one-entry map
 * is written out directly, without the sorted copy.
 */
export function goMarshalStringMap(map: Readonly<Record<string, string>>): string {
  let only: string | undefined;
  let count = 0;
  for (const key in map) {
    only = key;
    if (++count > 1) break;
  }
  if (count !== 1 || only === undefined || !Object.hasOwn(map, only)) return goMarshalMap(map);
  return goEscape(`{${JSON.stringify(only)}:${JSON.stringify(map[only])}}`);
}

/** Go `json.Marshal` of a struct-shaped value: field order as given, HTML-safe escapes. */
export function goMarshal(value: unknown): string {
  return goEscape(JSON.stringify(value));
}

function sortKeys(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(sortKeys);
  if (typeof value === "object" && value !== null) {
    const sorted: Record<string, unknown> = {};
    for (const key of Object.keys(value).sort()) sorted[key] = sortKeys((value as Record<string, unknown>)[key]);
    return sorted;
  }
  return value;
}

/**
 * Thrown by {@link decodeJson} for text Go's `encoding/json` would refuse; the message is Go's wording
 * where there is one. Never echoes the input.
 */
export class JsonDecodeError extends Error {
  override readonly name = "JsonDecodeError";
}

/**
 * The deepest nesting {@link decodeJson} accepts. Go's decoder stops at 10000 levels, but V8's
 * recursive `JSON.stringify` (used to re-encode stored values) overflows the stack at a few thousand,
 * which used to turn one crafted body into a 500; 1000 is far beyond any real state value.
 */
export const MAX_JSON_DEPTH = 1000;

const LONE_SURROGATE = /[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/g;

/** Replaces unpaired UTF-16 surrogates by U+FFFD, as Go does when it decodes `"\ud800"`. */
function wellFormed(s: string): string {
  return s.replace(LONE_SURROGATE, "\ufffd");
}

/** Whether JSON text nests deeper than `maxDepth` (one pass, no recursion, strings skipped). */
function nestsDeeperThan(text: string, maxDepth: number): boolean {
  let depth = 0;
  let inString = false;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (inString) {
      if (c === 0x5c) i++; // backslash: skip the escaped character
      else if (c === 0x22) inString = false;
    } else if (c === 0x22) {
      inString = true;
    } else if (c === 0x5b || c === 0x7b) {
      if (++depth > maxDepth) return true;
    } else if (c === 0x5d || c === 0x7d) {
      depth--;
    }
  }
  return false;
}

/**
 * Decodes JSON text with the outcomes Go's `encoding/json` gives daprd, safely for a public endpoint:
 * nesting deeper than `maxDepth` is refused (`exceeded max depth`, checked before parsing and without
 * recursion), numbers outside float64 (`1e400`) are refused instead of becoming `Infinity` (which would
 * be stored as `null`), and unpaired surrogate escapes become U+FFFD in strings and object keys (a lone
 * surrogate cannot be URL-encoded, so providers would otherwise fail with a 500).
 * @throws {@link JsonDecodeError} for invalid syntax, excessive depth or an out-of-range number
 */
export function decodeJson(text: string, maxDepth: number = MAX_JSON_DEPTH): unknown {
  if (nestsDeeperThan(text, maxDepth)) throw new JsonDecodeError("exceeded max depth");
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    // JSON.parse's message quotes the input; say what is wrong without echoing it.
    throw new JsonDecodeError("invalid character in JSON body");
  }
  return sanitize(value);
}

/** Walks a parsed value without recursion: refuses non-finite numbers, repairs lone surrogates. */
function sanitize(root: unknown): unknown {
  const fix = (v: unknown): unknown => {
    if (typeof v === "number" && !Number.isFinite(v)) throw new JsonDecodeError("json: cannot unmarshal number into Go value of type float64");
    return typeof v === "string" ? wellFormed(v) : v;
  };
  const top = fix(root);
  const pending: unknown[] = [top];
  while (pending.length > 0) {
    const node = pending.pop();
    if (Array.isArray(node)) {
      for (let i = 0; i < node.length; i++) {
        node[i] = fix(node[i]);
        if (typeof node[i] === "object" && node[i] !== null) pending.push(node[i]);
      }
    } else if (typeof node === "object" && node !== null) {
      const obj = node as Record<string, unknown>;
      for (const key of Object.keys(obj)) {
        const value = fix(obj[key]);
        const fixedKey = wellFormed(key);
        if (fixedKey !== key) delete obj[key];
        // defineProperty, not assignment: an own "__proto__" key from JSON.parse must stay a plain key.
        if (fixedKey !== key || value !== obj[key]) Object.defineProperty(obj, fixedKey, { value, enumerable: true, writable: true, configurable: true });
        if (typeof value === "object" && value !== null) pending.push(value);
      }
    }
  }
  return top;
}
