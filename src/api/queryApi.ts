/**
 * @module The alpha state query API, `POST|PUT /v1.0-alpha1/state/{store}/query`, on every store
 * that can scan its keys (`QUERY_API`).
 *
 * Dapr's query language (components-contrib `state/query`): `filter` with `EQ`, `NEQ`, `GT`, `GTE`,
 * `LT`, `LTE`, `IN`, `AND`, `OR` over dotted paths into the JSON value; `sort` by such paths, `ASC`
 * or `DESC`; `page` with `limit` and `token`. Results render exactly as daprd's `QueryResponse`
 * (`{"results":[{"key","data","etag"}],"token"}`, 204 when empty).
 *
 * Unlike daprd (whose query ignores `keyPrefix`, dapr/dapr#8675), a query sees only the caller's own
 * keys: the store scans the caller's prefix and keys come back without it. The scan is bounded:
 * without `sort`, one request reads at most {@link MAX_SCAN_ITEMS} items and continues through the
 * token (a page may hold fewer than `limit` results while a token follows); with `sort`, every item
 * in scope must be read to order them, so a scope over {@link MAX_SCAN_ITEMS} items is refused.
 * Deliberate difference: a malformed query is a 400 `ERR_STATE_QUERY` (daprd: 500).
 */
import { isQueryableStateStore, type QueryableStateStore, type ScannedItem } from "../components/state/stateStore";
import { apiError, ApiError, type ApiResponse, type ErrorDetail } from "./errors";
import { empty } from "./responses";
import { prefixKey } from "../components/state/stateKeys";
import { lookupStateStore, type StateContext } from "./stateApi";
import { decodeJson, goEscapeJson, goMarshal, JsonDecodeError } from "./wire";
import { isRecord } from "../shared/guards";

/** The most items one query request reads from a store. */
export const MAX_SCAN_ITEMS = 10_000;
/** Items requested from the store per scan call. */
const SCAN_BATCH = 200;

type Json = null | boolean | number | string | Json[] | { [key: string]: Json };

/** A parsed filter. */
export type Filter =
  | { op: "EQ" | "NEQ" | "GT" | "GTE" | "LT" | "LTE"; path: string[]; value: Json }
  | { op: "IN"; path: string[]; values: Json[] }
  | { op: "AND" | "OR"; filters: Filter[] };

/** A parsed query. */
export interface Query {
  filter?: Filter;
  sort: { path: string[]; descending: boolean }[];
  limit?: number;
  token?: string;
}

function errorInfo(reason: string): ErrorDetail {
  return { "@type": "type.googleapis.com/google.rpc.ErrorInfo", reason, domain: "dapr.io", metadata: null };
}

function queryFailed(storeName: string, detail: string, status?: number): ApiError {
  return apiError("stateQuery", { store: storeName, detail }, { status, details: [errorInfo("DAPR_STATE_QUERY_FAILED")] });
}

class QuerySyntaxError extends Error {
  override readonly name = "QuerySyntaxError";
}


function parsePath(key: string): string[] {
  if (key === "" || key.split(".").some((p) => p === "")) throw new QuerySyntaxError(`invalid key path '${key}'`);
  return key.split(".");
}

const COMPARISONS = new Set(["EQ", "NEQ", "GT", "GTE", "LT", "LTE"]);

/** Parses Dapr's filter object (one operator per object). */
export function parseFilter(raw: unknown): Filter {
  if (!isRecord(raw)) throw new QuerySyntaxError("a filter must be an object");
  const ops = Object.keys(raw);
  if (ops.length !== 1) throw new QuerySyntaxError(`a filter must have exactly one operator, got ${ops.length}`);
  const op = ops[0] as string;
  const arg = raw[op];
  if (op === "AND" || op === "OR") {
    if (!Array.isArray(arg) || arg.length < 2) throw new QuerySyntaxError(`${op} needs an array of at least two filters`);
    return { op, filters: arg.map(parseFilter) };
  }
  if (!isRecord(arg) || Object.keys(arg).length !== 1) throw new QuerySyntaxError(`${op} needs an object with exactly one key`);
  const [key, value] = Object.entries(arg)[0] as [string, unknown];
  if (op === "IN") {
    if (!Array.isArray(value) || value.length === 0) throw new QuerySyntaxError("IN needs a non-empty array of values");
    return { op, path: parsePath(key), values: value as Json[] };
  }
  if (!COMPARISONS.has(op)) throw new QuerySyntaxError(`unsupported filter operator '${op}'`);
  return { op: op as "EQ", path: parsePath(key), value: value as Json };
}

/** Parses a query document. */
export function parseQuery(raw: unknown): Query {
  if (!isRecord(raw)) throw new QuerySyntaxError("the query must be a JSON object");
  const query: Query = { sort: [] };
  const filter = raw.filter;
  if (filter !== undefined && filter !== null && !(isRecord(filter) && Object.keys(filter).length === 0)) query.filter = parseFilter(filter);
  if (raw.sort !== undefined && raw.sort !== null) {
    if (!Array.isArray(raw.sort)) throw new QuerySyntaxError("sort must be an array");
    for (const s of raw.sort) {
      if (!isRecord(s) || typeof s.key !== "string") throw new QuerySyntaxError("each sort entry needs a string key");
      const order = s.order === undefined || s.order === null ? "ASC" : s.order;
      if (order !== "ASC" && order !== "DESC") throw new QuerySyntaxError(`sort order must be ASC or DESC, got ${JSON.stringify(order)}`);
      query.sort.push({ path: parsePath(s.key), descending: order === "DESC" });
    }
  }
  if (raw.page !== undefined && raw.page !== null) {
    if (!isRecord(raw.page)) throw new QuerySyntaxError("page must be an object");
    const { limit, token } = raw.page;
    if (limit !== undefined && limit !== null) {
      if (typeof limit !== "number" || !Number.isInteger(limit) || limit < 0) throw new QuerySyntaxError("page.limit must be a non-negative integer");
      if (limit > 0) query.limit = limit;
    }
    if (token !== undefined && token !== null && token !== "") {
      if (typeof token !== "string") throw new QuerySyntaxError("page.token must be a string");
      query.token = token;
    }
  }
  return query;
}

function lookup(value: Json | undefined, path: readonly string[]): Json | undefined {
  let current: Json | undefined = value;
  for (const part of path) {
    if (current === null || typeof current !== "object" || Array.isArray(current)) return undefined;
    current = Object.prototype.hasOwnProperty.call(current, part) ? current[part] : undefined;
  }
  return current;
}

function deepEqual(a: Json | undefined, b: Json | undefined): boolean {
  if (a === b) return true;
  if (a === null || b === null || a === undefined || b === undefined || typeof a !== "object" || typeof b !== "object") return false;
  if (Array.isArray(a) !== Array.isArray(b)) return false;
  if (Array.isArray(a) && Array.isArray(b)) return a.length === b.length && a.every((x, i) => deepEqual(x, b[i]));
  const ao = a as Record<string, Json>;
  const bo = b as Record<string, Json>;
  const keys = Object.keys(ao);
  return keys.length === Object.keys(bo).length && keys.every((k) => Object.prototype.hasOwnProperty.call(bo, k) && deepEqual(ao[k], bo[k]));
}

/** Orders two values of the same primitive type; `undefined` when they cannot be ordered. */
function compareSameType(a: Json | undefined, b: Json | undefined): number | undefined {
  if (typeof a === "number" && typeof b === "number") return a - b;
  if (typeof a === "string" && typeof b === "string") return a < b ? -1 : a > b ? 1 : 0;
  if (typeof a === "boolean" && typeof b === "boolean") return Number(a) - Number(b);
  return undefined;
}

/** Whether a stored value (parsed JSON) matches a filter. */
export function matches(value: Json | undefined, filter: Filter): boolean {
  switch (filter.op) {
    case "AND":
      return filter.filters.every((f) => matches(value, f));
    case "OR":
      return filter.filters.some((f) => matches(value, f));
    case "IN": {
      const v = lookup(value, filter.path);
      return filter.values.some((x) => deepEqual(v, x));
    }
    case "EQ":
      return deepEqual(lookup(value, filter.path), filter.value);
    case "NEQ":
      return !deepEqual(lookup(value, filter.path), filter.value);
    default: {
      const c = compareSameType(lookup(value, filter.path), filter.value);
      if (c === undefined) return false;
      return filter.op === "GT" ? c > 0 : filter.op === "GTE" ? c >= 0 : filter.op === "LT" ? c < 0 : c <= 0;
    }
  }
}

const TYPE_RANK: Record<string, number> = { undefined: 0, null: 1, boolean: 2, number: 3, string: 4, object: 5 };

function rank(v: Json | undefined): number {
  return TYPE_RANK[v === null ? "null" : typeof v] ?? 5;
}

/** Total order for sorting: missing < null < booleans < numbers < strings < objects/arrays. */
function compareForSort(a: Json | undefined, b: Json | undefined): number {
  const r = rank(a) - rank(b);
  if (r !== 0) return r;
  return compareSameType(a, b) ?? 0;
}

interface Candidate {
  item: ScannedItem;
  value: Json | undefined;
}

function parseStored(data: string): Json | undefined {
  try {
    return JSON.parse(data) as Json;
  } catch {
    return undefined;
  }
}

/** Tokens are opaque to clients: base64url JSON of a store cursor (unsorted) or an offset (sorted). */
type Token = { c: string } | { o: number };

function encodeToken(token: Token): string {
  return Buffer.from(JSON.stringify(token), "utf8").toString("base64url");
}

function decodeToken(text: string, sorted: boolean): Token {
  let parsed: unknown;
  try {
    parsed = JSON.parse(Buffer.from(text, "base64url").toString("utf8"));
  } catch {
    parsed = undefined;
  }
  if (sorted && isRecord(parsed) && typeof parsed.o === "number" && Number.isInteger(parsed.o) && parsed.o >= 0) return { o: parsed.o };
  if (!sorted && isRecord(parsed) && typeof parsed.c === "string") return { c: parsed.c };
  throw new QuerySyntaxError("invalid page.token (tokens belong to the query that issued them)");
}

/** The raw JSON to embed as `data`: stored text when it is JSON, else the text as a JSON string. */
function embeddable(data: string): string {
  return parseStored(data) === undefined ? JSON.stringify(data) : data;
}

/** daprd's `QueryResponse` through Go's encoder: `results`, then `token` when there is one. */
function render(results: readonly { key: string; item: ScannedItem }[], token: string | undefined): ApiResponse {
  const items = results.map(({ key, item }) => {
    const parts = [`"key":${goMarshal(key)}`, `"data":${goEscapeJson(embeddable(item.data))}`];
    if (item.etag !== "") parts.push(`"etag":${goMarshal(item.etag)}`);
    return `{${parts.join(",")}}`;
  });
  const body = `{"results":[${items.join(",")}]${token === undefined ? "" : `,"token":${goMarshal(token)}`}}\n`;
  return { status: 200, headers: { "content-type": "application/json" }, body };
}

/**
 * Handles `POST|PUT /v1.0-alpha1/state/{store}/query`.
 * @throws {@link ApiError} store lookup errors (ErrorInfo metadata `null`, as daprd's universal path),
 *   500 `ERR_STATE_STORE_NOT_SUPPORTED`, 400/500 `ERR_STATE_QUERY`
 */
export async function queryState(ctx: StateContext, storeName: string, body: Uint8Array): Promise<ApiResponse> {
  const component = lookupStateStore(ctx, storeName, false);
  const store = component.store;
  if (!isQueryableStateStore(store)) {
    throw apiError("queryNotSupported", {}, { details: [errorInfo("DAPR_STATE_QUERYING_NOT_SUPPORTED")] });
  }
  let query: Query;
  try {
    const text = Buffer.from(body).toString("utf8");
    query = parseQuery(text.trim() === "" ? {} : decodeJson(text));
  } catch (e) {
    if (e instanceof QuerySyntaxError || e instanceof JsonDecodeError) throw queryFailed(storeName, e.message, 400);
    throw e;
  }
  // The caller's own prefix: `prefixKey` of an empty key is exactly what every key of theirs starts with.
  const prefix = prefixKey(component.keyPrefix, { appId: ctx.caller.appId, storeName, namespace: ctx.namespace }, "");
  try {
    return query.sort.length > 0 ? await sortedQuery(store, prefix, query) : await streamingQuery(store, prefix, query);
  } catch (e) {
    if (e instanceof QuerySyntaxError) throw queryFailed(storeName, e.message, 400);
    if (e instanceof ApiError) throw e;
    throw queryFailed(storeName, e instanceof Error ? e.message : "unknown error");
  }
}

function candidate(item: ScannedItem, prefix: string): Candidate | undefined {
  if (!item.key.startsWith(prefix)) return undefined;
  return { item, value: parseStored(item.data) };
}

/** No sort: results in the store's order, resuming behind the last item returned. */
async function streamingQuery(store: QueryableStateStore, prefix: string, query: Query): Promise<ApiResponse> {
  let after: string | undefined;
  if (query.token !== undefined) {
    const token = decodeToken(query.token, false);
    if ("c" in token) after = token.c;
  }
  const results: { key: string; item: ScannedItem }[] = [];
  let scanned = 0;
  for (;;) {
    const page = await store.scan({ prefix, after, limit: Math.min(SCAN_BATCH, MAX_SCAN_ITEMS - scanned) });
    for (const item of page.items) {
      scanned++;
      after = item.cursor;
      const c = candidate(item, prefix);
      if (c !== undefined && (query.filter === undefined || matches(c.value, query.filter))) results.push({ key: item.key.slice(prefix.length), item });
      if (query.limit !== undefined && results.length >= query.limit) {
        const more = !page.done || item !== page.items[page.items.length - 1];
        return finish(results, more && after !== undefined ? encodeToken({ c: after }) : undefined);
      }
    }
    if (page.done) return finish(results, undefined);
    if (scanned >= MAX_SCAN_ITEMS) return finish(results, after === undefined ? undefined : encodeToken({ c: after }));
  }
}

/** With sort: read the whole scope (bounded), order it, page by offset. */
async function sortedQuery(store: QueryableStateStore, prefix: string, query: Query): Promise<ApiResponse> {
  const offset = query.token === undefined ? 0 : (decodeToken(query.token, true) as { o: number }).o;
  const all: Candidate[] = [];
  let after: string | undefined;
  let scanned = 0;
  for (;;) {
    const page = await store.scan({ prefix, after, limit: SCAN_BATCH });
    for (const item of page.items) {
      scanned++;
      after = item.cursor;
      const c = candidate(item, prefix);
      if (c !== undefined && (query.filter === undefined || matches(c.value, query.filter))) all.push(c);
    }
    if (page.done) break;
    if (scanned >= MAX_SCAN_ITEMS) throw new QuerySyntaxError(`sorting reads every key in scope, and this scope holds more than ${MAX_SCAN_ITEMS}; narrow it with a filter-only query or drop sort`);
  }
  all.sort((a, b) => {
    for (const s of query.sort) {
      const c = compareForSort(lookup(a.value, s.path), lookup(b.value, s.path));
      if (c !== 0) return s.descending ? -c : c;
    }
    return a.item.key < b.item.key ? -1 : a.item.key > b.item.key ? 1 : 0;
  });
  const end = query.limit === undefined ? all.length : offset + query.limit;
  const slice = all.slice(offset, end).map((c) => ({ key: c.item.key.slice(prefix.length), item: c.item }));
  return finish(slice, end < all.length ? encodeToken({ o: end }) : undefined);
}

function finish(results: { key: string; item: ScannedItem }[], token: string | undefined): ApiResponse {
  // daprd answers 204 for no results; a token (more to scan) still needs a body to carry it.
  if (results.length === 0 && token === undefined) return empty();
  return render(results, token);
}
