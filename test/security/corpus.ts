/**
 * @module The hostile-request corpus sent over real HTTP by corpus.e2e.test.ts: malformed and adversarial
 * requests, each with the outcome the Dapr wire contract (/work/shared/reference/dapr-http-api.md §1, §2, §4,
 * §5, §8.8) and vaultstate's own rules (README; bad input is a 4xx where daprd says 500, see the top comment
 * of src/api/stateApi.ts) call for. `ref` says where each expectation comes from.
 *
 * Every request is sent byte for byte: `path` is the raw request target (nothing normalises it), headers go
 * out in order (duplicates allowed). `transport: "socket"` writes the request line and headers by hand for
 * what `node:http` refuses to send (control characters, duplicate Content-Length, other HTTP versions).
 */
import { gzipSync } from "node:zlib";

/** The sample writer (app-id `demo`) and a second writer (app-id `other`), set through `API_TOKEN`. */
export const TOKEN = "dev-token";
export const OTHER_TOKEN = "other-token";
export const API_TOKEN_SETTING = `demo=${TOKEN},other=${OTHER_TOKEN}`;
/** The sample read-only caller `reader-app` of components/callers.yaml (token from Key Vault). */
export const READER_TOKEN = "reader-token";

/** A state key seeded before the corpus and compared (value and etag) after it, in every state store. */
export interface Seed {
  key: string;
  value: unknown;
}
export const STATE_STORES = ["memstore", "statestore", "tablestore"] as const;
export const SEEDS: readonly Seed[] = [
  { key: "seed-a", value: { n: 1, owner: "demo" } },
  { key: "bulk", value: "reserved-word-bulk" },
  { key: "plus+key", value: "plus" },
  { key: "space key", value: "space" },
  { key: "é", value: "nfc" },
];
/** Seeded as app-id `other` in memstore: nothing `demo` sends may reach it. */
export const OTHER_SEED: Seed = { key: "seed-a", value: "other-value" };

/** Blobs outside any app's key prefix, seeded straight into Azurite: no API call may read or change them. */
export const VICTIM_CONTAINER = "vaultstate-victim";
export const VICTIM_BLOBS: Readonly<Record<string, string>> = { "secret.txt": "original-victim-content", "delete-me.txt": "must-survive" };
/** An unprefixed blob in the state container (as a v1-named component or another tool would leave it). */
export const UNPREFIXED_BLOB = { name: "v1-style-blob", content: "v1-content" } as const;

/** Secret values that must never appear in a response of the corpus. */
export const STORAGE_KEY_FRAGMENT = "Eby8vdM02xNOcqFl";
export const INTERNAL_ONLY_VALUE = "not-for-callers";

/** What a response must look like. */
export interface Expectation {
  /** The status, or the acceptable statuses; 0 means "connection closed without a response". */
  status: number | readonly number[];
  /** The JSON `errorCode` of the body. */
  errorCode?: string;
  /** The `content-type` header: a value, `null` for none, `"*"` for not checked (set errorCode or this). */
  contentType?: string | null;
  bodyIncludes?: readonly string[];
  bodyExcludes?: readonly string[];
  /** Response headers that must be absent. */
  headersAbsent?: readonly string[];
}

/** One corpus entry. */
export interface CorpusCase {
  name: string;
  method: string;
  /** The raw request target, sent exactly. */
  path: string;
  /** Extra headers, in order; duplicates allowed. */
  headers?: readonly (readonly [string, string])[];
  /** The `dapr-api-token` sent first; `null` sends none. Default {@link TOKEN}. */
  token?: string | null;
  body?: string | Buffer;
  transport?: "http" | "socket";
  /** Socket only: the version in the request line (default `HTTP/1.1`). */
  httpVersion?: string;
  /** Socket only: do not add a Host header. */
  noHost?: boolean;
  expect: Expectation & ({ errorCode: string } | { contentType: string | null });
  /** Where the expectation comes from. */
  ref: string;
}

// ---- expectation shorthands ----

const JSON_CT = "application/json";
const TEXT_CT = "text/plain; charset=utf-8";
const noContent = { status: 204, contentType: null } as const;
const okJson = { status: 200, contentType: JSON_CT } as const;
const badToken = { status: 401, contentType: TEXT_CT, bodyIncludes: ["invalid api token"] } as const;
const notFound = { status: 404, errorCode: "ERR_DIRECT_INVOKE" } as const;
/** A wrong method on a known route: daprd's fallback body with 405 (daprd: 404) and an Allow header. */
const wrongMethod = { status: 405, errorCode: "ERR_DIRECT_INVOKE" } as const;
/**
 * Paths outside `/v1.0/` and `/v1.0-alpha1/` never reach the app: the Dapr fallback functions are scoped
 * to those prefixes (src/functions/fallback.ts), so the Functions host answers its own empty 404.
 */
const hostNotFound = { status: 404, contentType: null } as const;
const REF_HOST_404 = "src/functions/fallback.ts: the fallback covers the Dapr prefixes only";
const malformed = { status: 400, errorCode: "ERR_MALFORMED_REQUEST" } as const;
const saveError400 = { status: 400, errorCode: "ERR_STATE_SAVE" } as const;
/** A 400 (or other status) written by Node's HTTP parser itself: no body, no content type. */
const parserReject = { status: 400, contentType: null } as const;

const REF_ROUTING = "§1.1 routing: path.Clean, QueryUnescape of params, ERR_DIRECT_INVOKE fallback";
const REF_AUTH = "§5.3 API token: missing/wrong → 401 text/plain, only GET healthz exempt";
const REF_SAVE = "§4.2 save body validation (Go decoding into []state.SetRequest)";
const REF_BULK = "§4.4 bulk get body";
const REF_TX = "§4.6 transaction processing order";
const REF_KEYS = "§4.1 `||` is illegal in keys";
const REF_SECRETS = "§2.1/§2.3 secrets check order";
const REF_REESCAPE = "the Functions host decodes the path (Kestrel) and re-escapes it for the worker (YARP): `%`, `\\` and `#` arrive escaped, `+` as a plus (README, API)";
const REF_WWW = "@azure/functions builds the request URL with WHATWG URL (as in Azure): `\\` is `/`, `%2e` segments are dots";
const REF_HTTP = "RFC 9112 message syntax, enforced by Node's parser (and Kestrel in Azure)";
const REF_HARDENING = "test/security finding, fixed in src/api (see the report)";
const REF_OPEN = "test/security finding, open (see the report)";

const json = (value: unknown): string => JSON.stringify(value);
const nestedArrays = (depth: number): string => `${"[".repeat(depth)}${"]".repeat(depth)}`;
const nestedObjects = (depth: number): string => `${'{"a":'.repeat(depth)}1${"}".repeat(depth)}`;
const MIB = 1024 * 1024;

/** Builds the corpus. */
export function buildCorpus(): CorpusCase[] {
  const cases: CorpusCase[] = [];
  const add = (c: CorpusCase): void => {
    cases.push(c);
  };

  // ---- 1. authentication ----
  const seedPath = "/v1.0/state/memstore/seed-a";
  const tokenVariants: [string, string | null, readonly (readonly [string, string])[]][] = [
    ["no token", null, []],
    ["empty token", "", []],
    ["whitespace-only token (trimmed to empty)", "   ", []],
    ["token in upper case", "DEV-TOKEN", []],
    ["token prefix", "dev-toke", []],
    ["token with a suffix", "dev-token1", []],
    ["token with a latin-1 suffix", "dev-token\u00e9", []],
    ["two tokens comma-joined", "dev-token, dev-token", []],
    ["the token twice as two headers (joined by the host)", TOKEN, [["dapr-api-token", TOKEN]]],
    ["a wrong token first, the right one second", "wrong", [["dapr-api-token", TOKEN]]],
    ["underscore header name", null, [["dapr_api_token", TOKEN]]],
    ["token as a cookie", null, [["cookie", `dapr-api-token=${TOKEN}`]]],
    ["Basic authorization", null, [["authorization", `Basic ${Buffer.from(`demo:${TOKEN}`).toString("base64")}`]]],
    ["Bearer with a wrong token", null, [["authorization", "Bearer not-the-token"]]],
    ["wrong dapr-api-token wins over a right bearer token", "wrong", [["authorization", `Bearer ${TOKEN}`]]],
    ["X-Original-URL pointing at healthz", null, [["x-original-url", "/v1.0/healthz"]]],
    ["X-Rewrite-URL pointing at healthz", null, [["x-rewrite-url", "/v1.0/healthz"]]],
    ["X-Forwarded-For loopback", null, [["x-forwarded-for", "127.0.0.1"]]],
  ];
  for (const [name, token, headers] of tokenVariants) add({ name: `auth: ${name}`, method: "GET", path: seedPath, token, headers, expect: badToken, ref: REF_AUTH });
  add({ name: "auth: token in the query string", method: "GET", path: `${seedPath}?dapr-api-token=${TOKEN}`, token: null, expect: badToken, ref: REF_AUTH });
  add({ name: "auth: token with surrounding whitespace (trimmed as HTTP OWS)", method: "GET", path: seedPath, token: `  ${TOKEN}\t`, expect: okJson, ref: REF_AUTH });
  add({ name: "auth: header name in mixed case", method: "GET", path: seedPath, token: null, headers: [["Dapr-Api-Token", TOKEN]], expect: okJson, ref: REF_AUTH });
  add({ name: "auth: NUL in the token (parser)", method: "GET", path: seedPath, token: null, headers: [["dapr-api-token", "dev-\u0000token"]], transport: "socket", expect: parserReject, ref: REF_HTTP });
  add({ name: "auth: CR in the token (parser)", method: "GET", path: seedPath, token: null, headers: [["dapr-api-token", "dev-token\rx: y"]], transport: "socket", expect: parserReject, ref: REF_HTTP });
  add({ name: "auth: space before the colon (parser)", method: "GET", path: seedPath, token: null, headers: [["dapr-api-token ", TOKEN]], transport: "socket", expect: parserReject, ref: REF_HTTP });
  add({ name: "auth: obs-fold continuation line (parser)", method: "GET", path: seedPath, token: null, headers: [["dapr-api-token", `${TOKEN}\r\n extra`]], transport: "socket", expect: parserReject, ref: REF_HTTP });
  const protectedRoutes: [string, string, string?][] = [
    ["GET", "/v1.0/secrets/localsecretstore/demo-secret"],
    ["GET", "/v1.0/secrets/localsecretstore/bulk"],
    ["GET", "/v1.0/metadata"],
    ["POST", "/v1.0/state/memstore", json([{ key: "unauth", value: 1 }])],
    ["PUT", "/v1.0/state/memstore", json([{ key: "unauth", value: 1 }])],
    ["DELETE", "/v1.0/state/memstore/seed-a"],
    ["POST", "/v1.0/state/memstore/bulk", json({ keys: ["seed-a"] })],
    ["POST", "/v1.0/state/memstore/transaction", json({ operations: [{ operation: "delete", request: { key: "seed-a" } }] })],
    ["POST", "/v1.0-alpha1/state/memstore/query", "{}"],
    ["GET", "/v1.0/nonexistent"],
    ["POST", "/v1.0/healthz"],
    ["GET", "/v1.0/healthz/other"],
    ["GET", "/v1.0/healthz/../metadata"],
    ["GET", "/v1.0/healthz%2F..%2Fmetadata"],
    ["GET", "/V1.0/healthz"],
  ];
  for (const [method, path, body] of protectedRoutes) {
    // HEAD responses carry the headers without the body.
    add({ name: `auth: no token on ${method} ${path}`, method, path, token: null, body, expect: method === "HEAD" ? { status: 401, contentType: TEXT_CT } : badToken, ref: REF_AUTH });
  }
  for (const path of ["/v1.0/healthz", "/v1.0/healthz/outbound", "/v1.0/healthz/", "/v1.0//healthz", "/v1.0/./healthz", "/v1.0/healthz?appid=demo", "/v1.0/healthz?"]) {
    add({ name: `health without a token: GET ${path}`, method: "GET", path, token: null, expect: noContent, ref: "§5.1/§5.3 health is exempt from auth" });
  }
  add({ name: "health with a wrong token is still served", method: "GET", path: "/v1.0/healthz", token: "wrong", expect: noContent, ref: "§5.3" });
  // Issue 9: HEAD on the probes answers like GET, without a token (load balancers probe with HEAD).
  for (const path of ["/v1.0/healthz", "/v1.0/healthz/outbound"]) {
    add({ name: `health without a token: HEAD ${path}`, method: "HEAD", path, token: null, expect: noContent, ref: "§5.1 health; HEAD like GET" });
  }
  add({ name: "health with another app-id", method: "GET", path: "/v1.0/healthz?appid=someone-else", token: null, expect: { status: 500, errorCode: "ERR_HEALTH_APPID_NOT_MATCH" }, ref: "§5.1 documented 500" });
  add({ name: "health with a backslash path is no Dapr route", method: "GET", path: "/v1.0\\healthz", token: null, expect: hostNotFound, ref: REF_HOST_404 });

  // ---- 2. caller isolation ----
  add({ name: "isolation: other reads its own seed-a in memstore, never demo's", method: "GET", path: "/v1.0/state/memstore/seed-a", token: OTHER_TOKEN, expect: { ...okJson, bodyIncludes: ["other-value"], bodyExcludes: ["demo"] }, ref: "§4.1 appid key prefix" });
  for (const store of ["statestore", "tablestore"]) {
    add({ name: `isolation: other cannot see demo's seed in ${store}`, method: "GET", path: `/v1.0/state/${store}/seed-a`, token: OTHER_TOKEN, expect: noContent, ref: "§4.1 appid key prefix" });
  }
  add({ name: "isolation: other addresses demo's prefixed key", method: "GET", path: "/v1.0/state/memstore/demo%7C%7Cseed-a", token: OTHER_TOKEN, expect: malformed, ref: REF_KEYS });
  add({ name: "isolation: other deletes demo's prefixed key", method: "DELETE", path: "/v1.0/state/memstore/demo||seed-a", token: OTHER_TOKEN, expect: malformed, ref: REF_KEYS });
  add({ name: "isolation: other saves demo's prefixed key", method: "POST", path: "/v1.0/state/memstore", token: OTHER_TOKEN, body: json([{ key: "demo||seed-a", value: "stolen" }]), expect: malformed, ref: REF_KEYS });
  add({ name: "isolation: other transaction on demo's prefixed key", method: "POST", path: "/v1.0/state/tablestore/transaction", token: OTHER_TOKEN, body: json({ operations: [{ operation: "delete", request: { key: "demo||seed-a" } }] }), expect: malformed, ref: REF_KEYS });
  add({ name: "isolation: other bulk-reads demo's prefixed key", method: "POST", path: "/v1.0/state/statestore/bulk", token: OTHER_TOKEN, body: json({ keys: ["demo||seed-a"] }), expect: malformed, ref: REF_KEYS });
  add({ name: "isolation: other's bulk read of demo's key names finds its own (empty) keys", method: "POST", path: "/v1.0/state/tablestore/bulk", token: OTHER_TOKEN, body: json({ keys: ["seed-a", "bulk"] }), expect: { ...okJson, bodyExcludes: ["owner", "reserved-word-bulk"] }, ref: "§4.1" });

  // ---- 2b. roles (components/callers.yaml: reader-app may only read) ----
  const REF_ROLES = "callers.yaml roles: reader may only read (403 ERR_PERMISSION_DENIED)";
  const denied = { status: 403, errorCode: "ERR_PERMISSION_DENIED" } as const;
  add({ name: "role: reader saves", method: "POST", path: "/v1.0/state/memstore", token: READER_TOKEN, body: json([{ key: "seed-a", value: "x" }]), expect: denied, ref: REF_ROLES });
  add({ name: "role: reader saves with PUT", method: "PUT", path: "/v1.0/state/tablestore", token: READER_TOKEN, body: "garbage", expect: denied, ref: REF_ROLES });
  add({ name: "role: reader deletes", method: "DELETE", path: "/v1.0/state/memstore/seed-a", token: READER_TOKEN, expect: denied, ref: REF_ROLES });
  add({ name: "role: reader runs a transaction", method: "POST", path: "/v1.0/state/memstore/transaction", token: READER_TOKEN, body: json({ operations: [{ operation: "delete", request: { key: "seed-a" } }] }), expect: denied, ref: REF_ROLES });
  add({ name: "role: reader reads (its own prefix)", method: "GET", path: "/v1.0/state/memstore/seed-a", token: READER_TOKEN, expect: noContent, ref: REF_ROLES });
  add({ name: "role: reader bulk-reads", method: "POST", path: "/v1.0/state/memstore/bulk", token: READER_TOKEN, body: json({ keys: ["seed-a"] }), expect: { ...okJson, bodyExcludes: ["owner"] }, ref: REF_ROLES });
  add({ name: "role: a writer cannot rotate secrets", method: "POST", path: "/v1.0-alpha1/secrets/secretstore/demo-secret/rotate", expect: denied, ref: "rotation needs role admin" });
  add({ name: "role: a reader cannot rotate secrets", method: "POST", path: "/v1.0-alpha1/secrets/secretstore/storage-account-key/rotate", token: READER_TOKEN, expect: denied, ref: "rotation needs role admin" });
  add({ name: "role: rotation traversal as a writer is still a 403", method: "POST", path: "/v1.0-alpha1/secrets/secretstore/..%2F..%2Fstorage-account-key/rotate", expect: denied, ref: "rotation needs role admin" });
  add({ name: "role: GET on the rotation route", method: "GET", path: "/v1.0-alpha1/secrets/secretstore/demo-secret/rotate", expect: wrongMethod, ref: REF_ROUTING });
  add({ name: "auth: Bearer token (vaultstate accepts it like dapr-api-token)", method: "GET", path: "/v1.0/state/memstore/seed-a", token: null, headers: [["authorization", `Bearer ${TOKEN}`]], expect: okJson, ref: "callers.yaml: tokens as dapr-api-token or Authorization: Bearer" });

  // ---- 3. wrong methods on every route ----
  const wrongMethods: [string, string][] = [
    ["POST", "/v1.0/secrets/localsecretstore/demo-secret"],
    ["PUT", "/v1.0/secrets/localsecretstore/demo-secret"],
    ["DELETE", "/v1.0/secrets/localsecretstore/demo-secret"],
    ["PATCH", "/v1.0/secrets/localsecretstore/demo-secret"],
    ["OPTIONS", "/v1.0/secrets/localsecretstore/demo-secret"],
    ["POST", "/v1.0/secrets/localsecretstore/bulk"],
    ["DELETE", "/v1.0/secrets/localsecretstore/bulk"],
    ["POST", "/v1.0/metadata"],
    ["PUT", "/v1.0/metadata"],
    ["DELETE", "/v1.0/metadata"],
    ["GET", "/v1.0/state/memstore"],
    ["DELETE", "/v1.0/state/memstore"],
    ["PATCH", "/v1.0/state/memstore"],
    ["OPTIONS", "/v1.0/state/memstore"],
    ["POST", "/v1.0/state/memstore/seed-a"],
    ["PUT", "/v1.0/state/memstore/seed-a"],
    ["PATCH", "/v1.0/state/memstore/seed-a"],
    ["PATCH", "/v1.0/state/memstore/bulk"],
    ["PATCH", "/v1.0/state/memstore/transaction"],
    ["GET", "/v1.0-alpha1/state/memstore/query"],
    ["DELETE", "/v1.0-alpha1/state/memstore/query"],
    ["POST", "/v1.0/healthz"],
    ["PUT", "/v1.0/healthz/outbound"],
    ["DELETE", "/v1.0/healthz"],
  ];
  for (const [method, path] of wrongMethods) add({ name: `method: ${method} ${path}`, method, path, body: method === "GET" || method === "DELETE" || method === "OPTIONS" ? undefined : "[]", expect: wrongMethod, ref: REF_ROUTING });
  for (const path of ["/v1.0/secrets/localsecretstore/demo-secret", "/v1.0/state/memstore/seed-a", "/v1.0/metadata"]) {
    add({ name: `method: HEAD ${path} (not a route; no body)`, method: "HEAD", path, expect: { status: 405, contentType: JSON_CT }, ref: REF_ROUTING });
  }
  for (const method of ["TRACE", "PROPFIND", "PURGE", "SEARCH", "LINK", "MKCOL"]) {
    add({ name: `method: ${method} (no function accepts it: the host's 404)`, method, path: seedPath, expect: { status: 404, contentType: null }, ref: "Functions host: no function registered for the method" });
  }
  add({ name: "method: CONNECT (Node closes the connection)", method: "CONNECT", path: "127.0.0.1:443", transport: "socket", expect: { status: 0, contentType: null }, ref: REF_HTTP });
  add({ name: "method: lower-case get (parser)", method: "get", path: seedPath, transport: "socket", expect: parserReject, ref: REF_HTTP });
  add({ name: "reserved word: GET /bulk reads the key 'bulk'", method: "GET", path: "/v1.0/state/memstore/bulk", expect: { ...okJson, bodyIncludes: ["reserved-word-bulk"] }, ref: "§1.1 reserved path words" });
  add({ name: "reserved word: DELETE /bulk with a bad If-Match is a 409 on the key 'bulk'", method: "DELETE", path: "/v1.0/state/memstore/bulk", headers: [["if-match", "not-the-etag"]], expect: { status: 409, errorCode: "ERR_STATE_DELETE" }, ref: "§1.1/§4.5" });
  add({ name: "reserved word: GET /transaction reads the key 'transaction'", method: "GET", path: "/v1.0/state/memstore/transaction", expect: noContent, ref: "§1.1 reserved path words" });
  add({ name: "query API on memstore lists the caller's keys", method: "POST", path: "/v1.0-alpha1/state/memstore/query", body: "{}", expect: { ...okJson, bodyIncludes: ['"results":['] }, ref: "§4.10 (QUERY_API on every vaultstate store)" });
  add({ name: "query API: a malformed query is a 400", method: "POST", path: "/v1.0-alpha1/state/tablestore/query", body: '{"filter":{"LIKE":{"a":1}}}', expect: { status: 400, errorCode: "ERR_STATE_QUERY" }, ref: "§4.10 (deliberate: 400 instead of 500)" });
  for (const [method, path] of [
    ["GET", "/"],
    ["GET", "/v1.0"],
    ["GET", "/v1.0/"],
    ["GET", "/v1.0/secrets"],
    ["GET", "/v1.0/state"],
    ["POST", "/v1.0/invoke/app/method/x"],
    ["GET", "/v1.0/actors/a/b/state/c"],
    ["POST", "/v1.0/publish/pubsub/topic"],
    ["GET", "/.env"],
    ["GET", "/admin"],
    ["GET", "/v1.0-alpha1/state/memstore"],
    ["GET", "/v1.0/secrets/localsecretstore"],
    ["GET", "/v1.0/secrets/localsecretstore/demo-secret/extra"],
    ["GET", "/v1.0/secrets//demo-secret"],
    ["GET", "/v1.0/state/memstore/seed-a/extra"],
    ["OPTIONS", "/"],
  ] as const) {
    const outsideDapr = !/^\/v1\.0(-alpha1)?(\/|$)/.test(path);
    add({
      name: `unknown route: ${method} ${path}`,
      method,
      path,
      headers: method === "POST" ? [["dapr-app-id", "other"]] : [],
      body: method === "POST" ? "{}" : undefined,
      expect: outsideDapr ? hostNotFound : notFound,
      ref: outsideDapr ? REF_HOST_404 : REF_ROUTING,
    });
  }
  add({ name: "event grid webhook: unknown function", method: "POST", path: "/runtime/webhooks/eventgrid?functionName=nope", token: null, body: "[]", expect: { status: 404, contentType: TEXT_CT }, ref: "Functions host Event Grid webhook" });
  add({ name: "event grid webhook: invalid JSON", method: "POST", path: "/runtime/webhooks/eventgrid?functionName=onKeyVaultEvent", token: null, headers: [["aeg-event-type", "Notification"]], body: "{not json", expect: { status: 400, contentType: TEXT_CT }, ref: "Functions host Event Grid webhook" });
  add({ name: "event grid webhook: validation without a code", method: "POST", path: "/runtime/webhooks/eventgrid?functionName=onKeyVaultEvent", token: null, headers: [["aeg-event-type", "SubscriptionValidation"]], body: json([{ data: {} }]), expect: { status: 400, contentType: TEXT_CT }, ref: "Functions host Event Grid webhook" });

  // ---- 4. paths: traversal, cleaning, percent-encoding ----
  const pathCases: [string, string, CorpusCase["expect"], string][] = [
    ["traversal resolved inside the API", "/v1.0/../v1.0/secrets/localsecretstore/demo-secret", { ...okJson, bodyIncludes: ["s3cr3t-from-file"] }, REF_ROUTING],
    ["traversal out of /v1.0", "/v1.0/../secrets/localsecretstore/demo-secret", notFound, REF_ROUTING],
    ["deep traversal above the root", "/../../../../etc/passwd", hostNotFound, REF_HOST_404],
    ["encoded dot-dot segment is a dot segment", "/v1.0/secrets/localsecretstore/%2e%2e", notFound, REF_WWW],
    ["upper-case encoded dot-dot", "/v1.0/state/memstore/%2E%2E/seed-a", wrongMethod, REF_WWW],
    ["mixed encoded dot-dot", "/v1.0/state/memstore/.%2e/seed-a", wrongMethod, REF_WWW],
    ["..%2f stays in the key", "/v1.0/secrets/localsecretstore/..%2fsecrets.json", { status: 500, errorCode: "ERR_SECRET_GET", bodyExcludes: [INTERNAL_ONLY_VALUE] }, REF_SECRETS],
    ["encoded traversal to package.json stays a key", "/v1.0/secrets/localsecretstore/%2e%2e%2f%2e%2e%2fpackage.json", { status: 500, errorCode: "ERR_SECRET_GET" }, REF_SECRETS],
    ["encoded traversal in a state key", "/v1.0/state/memstore/..%2F..%2Fseed-a", noContent, REF_ROUTING],
    ["dot segment before the key", "/v1.0/state/memstore/./seed-a", okJson, REF_ROUTING],
    ["double slashes", "/v1.0//state///memstore/seed-a/", okJson, REF_ROUTING],
    ["trailing dot segment", "/v1.0/state/memstore/seed-a/.", okJson, REF_ROUTING],
    ["trailing dot-dot removes the key", "/v1.0/state/memstore/seed-a/..", wrongMethod, REF_ROUTING],
    ["backslash is part of the key (re-escaped by the host)", "/v1.0/state/memstore/..\\seed-a", noContent, REF_REESCAPE],
    ["backslashes are not separators for the host's routes", "/v1.0\\state\\memstore\\seed-a", hostNotFound, REF_HOST_404],
    ["encoded backslashes stay in the key", "/v1.0/state/memstore/%5C..%5Cseed-a", noContent, REF_ROUTING],
    ["encoded slash stays in one segment", "/v1.0/state/memstore%2Fseed-a", wrongMethod, REF_ROUTING],
    ["key with an encoded trailing slash", "/v1.0/state/memstore/seed-a%2F", noContent, REF_ROUTING],
    ["encoded unreserved characters decode to the seed", "/v1.0/state/memstore/%73eed%2Da", okJson, REF_ROUTING],
    ["encoded store name decodes", "/v1.0/state/%6d%65%6d%73%74%6f%72%65/seed-a", okJson, REF_ROUTING],
    ["bad escape %zz is part of the key", "/v1.0/state/memstore/%zz", noContent, REF_REESCAPE],
    ["lone % is part of the key", "/v1.0/state/memstore/%", noContent, REF_REESCAPE],
    ["truncated escape is part of the key", "/v1.0/state/memstore/abc%4", noContent, REF_REESCAPE],
    ["bad escape in the store name names no store", "/v1.0/state/mem%gstore/seed-a", { status: 400, errorCode: "ERR_STATE_STORE_NOT_FOUND" }, REF_REESCAPE],
    ["bad escape in a secret name is part of the name", "/v1.0/secrets/localsecretstore/%%30%30", { status: 500, errorCode: "ERR_SECRET_GET" }, REF_REESCAPE],
    ["overlong UTF-8 dots", "/v1.0/state/memstore/%c0%ae%c0%ae", noContent, REF_ROUTING],
    ["overlong UTF-8 traversal", "/v1.0/state/memstore/%c0%ae%c0%ae%c0%afseed-a", noContent, REF_ROUTING],
    ["fullwidth dots", "/v1.0/state/memstore/%ef%bc%8e%ef%bc%8e", noContent, REF_ROUTING],
    ["encoded NUL in a key", "/v1.0/state/memstore/seed-a%00", noContent, REF_ROUTING],
    ["encoded CRLF header injection in a key", "/v1.0/state/memstore/x%0d%0aSet-Cookie:%20pwned=1", { ...noContent, headersAbsent: ["set-cookie"] }, REF_ROUTING],
    ["raw + is a plus: 'space+key' does not read 'space key'", "/v1.0/state/memstore/space+key", noContent, REF_REESCAPE],
    ["raw + is a plus: 'plus+key' reads 'plus+key'", "/v1.0/state/memstore/plus+key", { ...okJson, bodyIncludes: ["plus"] }, REF_REESCAPE],
    ["%2B reads 'plus+key'", "/v1.0/state/memstore/plus%2Bkey", { ...okJson, bodyIncludes: ["plus"] }, "§1.1"],
    ["%20 reads 'space key'", "/v1.0/state/memstore/space%20key", okJson, "§1.1"],
    ["NFC é reads the seed", "/v1.0/state/memstore/%C3%A9", { ...okJson, bodyIncludes: ["nfc"] }, "keys are bytes: no Unicode normalisation"],
    ["NFD é is another key", "/v1.0/state/memstore/e%CC%81", noContent, "keys are bytes: no Unicode normalisation"],
    ["NFD é is another key in tablestore", "/v1.0/state/tablestore/e%CC%81", noContent, "keys are bytes: no Unicode normalisation"],
    ["NFD é is another key in statestore", "/v1.0/state/statestore/e%CC%81", noContent, "keys are bytes: no Unicode normalisation"],
    ["upper-case É is another key", "/v1.0/state/memstore/%C3%89", noContent, "keys are case-sensitive"],
    ["latin-1 %E9 is invalid UTF-8 (U+FFFD), not é", "/v1.0/state/memstore/%E9", noContent, REF_ROUTING],
    ["zero-width space in a key", "/v1.0/state/memstore/seed%E2%80%8B-a", noContent, "keys are bytes"],
    ["fullwidth letters in a key", "/v1.0/state/memstore/%EF%BD%93eed-a", noContent, "keys are bytes"],
    ["case of the version segment", "/V1.0/state/memstore/seed-a", notFound, REF_ROUTING],
    ["case of the state segment", "/v1.0/STATE/memstore/seed-a", notFound, REF_ROUTING],
    ["case of the store name", "/v1.0/state/MEMSTORE/seed-a", { status: 400, errorCode: "ERR_STATE_STORE_NOT_FOUND" }, "§4.0"],
    ["unknown store", "/v1.0/state/nosuchstore/seed-a", { status: 400, errorCode: "ERR_STATE_STORE_NOT_FOUND" }, "§4.0"],
    ["NUL store name", "/v1.0/state/%00/seed-a", { status: 400, errorCode: "ERR_STATE_STORE_NOT_FOUND" }, "§4.0"],
    ["traversal as a store name", "/v1.0/state/..%2fsecrets/seed-a", { status: 400, errorCode: "ERR_STATE_STORE_NOT_FOUND" }, "§4.0"],
    ["|| in a key, encoded", "/v1.0/state/memstore/a%7C%7Cb", malformed, REF_KEYS],
    ["|| in a key, raw", "/v1.0/state/memstore/a||b", malformed, REF_KEYS],
    ["a key that is only ||", "/v1.0/state/memstore/%7C%7C", malformed, REF_KEYS],
    ["|| in a key on tablestore", "/v1.0/state/tablestore/x%7c%7cseed-a", malformed, REF_KEYS],
    ["semicolon in a key", "/v1.0/state/memstore/seed-a;x=1", noContent, "keys are opaque"],
    ["encoded ? in a key", "/v1.0/state/memstore/%3Fseed-a", noContent, "keys are opaque"],
    ["encoded # in a key", "/v1.0/state/memstore/%23seed-a", noContent, "keys are opaque"],
    ["a raw # and what follows are part of the key", "/v1.0/state/memstore/seed-a#fragment", noContent, REF_REESCAPE],
    ["empty query string", "/v1.0/state/memstore/seed-a?", okJson, REF_ROUTING],
    ["quotes and brackets in a key (percent-encoded by WHATWG, decoded back)", '/v1.0/state/memstore/a"<>{}`^b', noContent, REF_WWW],
    ["a 2000-character key", `/v1.0/state/memstore/${"k".repeat(2000)}`, noContent, "keys are opaque"],
    ["a key of 500 encoded slashes", `/v1.0/state/memstore/${"%2F".repeat(500)}`, noContent, "keys are opaque"],
    ["table key with an encoded slash (stored encoded, so any key works)", "/v1.0/state/tablestore/a%2Fb", noContent, "tablestore encodes / \\ # ? and control characters in keys"],
    ["table key with a control character", "/v1.0/state/tablestore/a%01b", noContent, "tablestore encodes / \\ # ? and control characters in keys"],
    ["an OData quote in a table key", "/v1.0/state/tablestore/seed-a%27", noContent, "keys are opaque (no OData injection)"],
    ["an OData filter injection in a table key", "/v1.0/state/tablestore/x%27%20or%20PartitionKey%20ne%20%27", noContent, "keys are opaque (no OData injection)"],
    ["an OData key injection in a table key", "/v1.0/state/tablestore/seed-a%27)%2C(PartitionKey%3D%27other%27%2CRowKey%3D%27seed-a", noContent, "keys are opaque (no OData injection)"],
  ];
  for (const [name, path, expect, ref] of pathCases) add({ name: `path: ${name}`, method: "GET", path, expect, ref });
  add({ name: "path: absolute-form target to a secret", method: "GET", path: "http://127.0.0.1/v1.0/secrets/localsecretstore/demo-secret", transport: "socket", expect: { ...okJson, bodyIncludes: ["s3cr3t-from-file"] }, ref: "RFC 9112 §3.2.2 servers MUST accept absolute-form (fixed in packages/functions-host)" });
  add({ name: "path: absolute-form target to health", method: "GET", path: "http://localhost:1/v1.0/healthz", token: null, transport: "socket", expect: noContent, ref: "RFC 9112 §3.2.2 (fixed in packages/functions-host)" });
  add({ name: "path: absolute-form target of another scheme", method: "GET", path: "ftp://127.0.0.1/v1.0/healthz", token: null, transport: "socket", expect: { status: 400, contentType: null }, ref: "RFC 9112 §3.2.2 (fixed in packages/functions-host)" });
  add({ name: "path: asterisk-form OPTIONS", method: "OPTIONS", path: "*", transport: "socket", expect: hostNotFound, ref: "RFC 9112 §3.2.4 (fixed in packages/functions-host)" });
  add({ name: "path: asterisk-form GET", method: "GET", path: "*", transport: "socket", expect: { status: 400, contentType: null }, ref: "RFC 9112 §3.2.4 (fixed in packages/functions-host)" });
  add({ name: "path: relative target (parser)", method: "GET", path: "v1.0/healthz", token: null, transport: "socket", expect: parserReject, ref: REF_HTTP });
  add({ name: "path: authority-looking path stays a path", method: "GET", path: "//evil.example/v1.0/secrets/localsecretstore/demo-secret", expect: hostNotFound, ref: REF_HOST_404 });
  for (const [name, raw] of [
    ["raw NUL", "/v1.0/state/memstore/a\u0000b"],
    ["raw CR", "/v1.0/state/memstore/a\rb"],
    ["raw tab", "/v1.0/state/memstore/a\tb"],
    ["raw DEL", "/v1.0/state/memstore/a\u007fb"],
    ["raw vertical tab", "/v1.0/state/memstore/a\u000bb"],
    ["raw UTF-8 bytes", "/v1.0/state/memstore/\u00c3\u00a9"],
  ]) {
    add({ name: `path: ${name} in the request target (parser)`, method: "GET", path: raw ?? "", transport: "socket", expect: parserReject, ref: REF_HTTP });
  }

  // ---- 5. save bodies ----
  const save = (name: string, body: string | Buffer, expect: CorpusCase["expect"], ref = REF_SAVE, store = "memstore", method = "POST", headers: readonly (readonly [string, string])[] = []): void =>
    add({ name: `save: ${name}`, method, path: `/v1.0/state/${store}`, body, headers, expect, ref });
  for (const [name, body] of [
    ["empty body", ""],
    ["whitespace body", " \n\t "],
    ["null", "null"],
    ["an object", "{}"],
    ["a number", "1"],
    ["a string", '"[]"'],
    ["true", "true"],
    ["not JSON", "foobar"],
    ["a trailing comma", '[{"key":"corpus-a","value":1},]'],
    ["a second JSON value after the array", "[] []"],
    ["trailing garbage", "[]x"],
    ["an unterminated array", '[{"key":"corpus-a"'],
    ["single quotes", "[{'key':'corpus-a'}]"],
    ["a UTF-8 BOM", "\ufeff[]"],
    ["a form body", "key=corpus-a&value=1"],
    ["NaN", '[{"key":"corpus-a","value":NaN}]'],
    ["a comment", '[/* c */{"key":"corpus-a"}]'],
    ["an array of numbers", "[1]"],
    ["an array of null", "[null]"],
    ["an array of arrays", "[[]]"],
    ["an array of strings", '["corpus-a"]'],
    ["an empty item", "[{}]"],
    ["a misspelt key field", '[{"ey":"corpus-a","value":1}]'],
  ] as const) {
    save(name, body, malformed);
  }
  for (const [name, key] of [
    ["number", 1],
    ["boolean", true],
    ["array", ["corpus-a"]],
    ["object", { k: "corpus-a" }],
    ["null", null],
    ["empty string", ""],
  ] as const) {
    save(`key of type ${name}`, json([{ key, value: 1 }]), malformed);
  }
  for (const [name, etag] of [
    ["number", 123],
    ["boolean", true],
    ["array", ["e"]],
    ["object", {}],
  ] as const) {
    save(`etag of type ${name}`, json([{ key: "corpus-etag", value: 1, etag }]), malformed);
  }
  for (const [name, metadata] of [
    ["array", ["ttlInSeconds"]],
    ["string", "ttlInSeconds=1"],
    ["number", 1],
    ["object with a number", { ttlInSeconds: 3 }],
    ["object with null", { contentType: null }],
    ["object with an object", { a: {} }],
  ] as const) {
    save(`metadata of type ${name}`, json([{ key: "corpus-md", value: 1, metadata }]), malformed);
  }
  for (const [name, options] of [
    ["string", "first-write"],
    ["number", 1],
    ["array", []],
    ["concurrency number", { concurrency: 1 }],
    ["consistency object", { consistency: {} }],
  ] as const) {
    save(`options of type ${name}`, json([{ key: "corpus-opt", value: 1, options }]), malformed);
  }
  for (const [name, item] of [
    ["unknown concurrency", { options: { concurrency: "bogus" } }],
    ["concurrency in upper case", { options: { concurrency: "FIRST-WRITE" } }],
    ["unknown consistency", { options: { consistency: "linearizable" } }],
    ["ttlInSeconds not a number", { metadata: { ttlInSeconds: "abc" } }],
    ["ttlInSeconds decimal", { metadata: { ttlInSeconds: "1.5" } }],
    ["ttlInSeconds below -1", { metadata: { ttlInSeconds: "-2" } }],
    ["ttlInSeconds above MaxInt32", { metadata: { ttlInSeconds: "2147483648" } }],
    ["ttlInSeconds with a space", { metadata: { ttlInSeconds: " 1" } }],
    ["ttlInSeconds in hex", { metadata: { ttlInSeconds: "0x10" } }],
  ] as const) {
    save(name, json([{ key: "corpus-invalid", value: 1, ...item }]), saveError400, "§4.2/§4.9; bad input is a 400 here (stateApi.ts)");
  }
  save("a valid item next to an invalid one writes nothing", json([{ key: "corpus-partial", value: 1 }, { key: "corpus-partial-2", value: 1, options: { concurrency: "bogus" } }]), saveError400, "validation precedes every write");
  save("|| in the second item", json([{ key: "corpus-ok", value: 1 }, { key: "ke||y1", value: 2 }]), malformed, REF_KEYS);
  save("|| in a key on tablestore", json([{ key: "x||seed-a", value: 1 }]), malformed, REF_KEYS, "tablestore");
  save("|| in a key on statestore", json([{ key: "||", value: 1 }]), malformed, REF_KEYS, "statestore");
  save("value 1e400 (out of float64) is refused, not stored as null", '[{"key":"corpus-inf","value":1e400}]', malformed, REF_HARDENING);
  save("value -1e999", '[{"key":"corpus-inf","value":-1e999}]', malformed, REF_HARDENING);
  save("value nested 10k arrays deep", `[{"key":"corpus-deep","value":${nestedArrays(10_000)}}]`, malformed, REF_HARDENING);
  save("value nested 100k arrays deep", `[{"key":"corpus-deep","value":${nestedArrays(100_000)}}]`, malformed, REF_HARDENING);
  save("value nested 10k objects deep", `[{"key":"corpus-deep","value":${nestedObjects(10_000)}}]`, malformed, REF_HARDENING);
  save("body nested 1M arrays deep", nestedArrays(1_000_000), malformed, REF_HARDENING);
  save("value nested 900 deep is fine", `[{"key":"corpus-deep-ok","value":${nestedArrays(900)}}]`, noContent, REF_HARDENING);
  save("lone surrogate in a key (stored as U+FFFD)", '[{"key":"corpus-\\ud800","value":1}]', noContent, REF_HARDENING);
  save("lone surrogate in a key on statestore (was a 500 'URI malformed')", '[{"key":"corpus-\\udc00","value":1}]', noContent, REF_HARDENING, "statestore");
  save("invalid UTF-8 bytes in the body (U+FFFD, as Go)", Buffer.concat([Buffer.from('[{"key":"corpus-'), Buffer.from([0xff, 0xfe]), Buffer.from('","value":1}]')]), noContent);
  save("a UTF-16 body", Buffer.from('\ufeff[{"key":"corpus-utf16"}]', "utf16le"), malformed);
  save("gzip body with Content-Encoding (never inflated: no zip bombs)", gzipSync(Buffer.from(json([{ key: "corpus-gzip", value: "x".repeat(100_000) }]))), malformed, "request bodies are not decompressed", "memstore", "POST", [["content-encoding", "gzip"]]);
  save("NUL in a key on tablestore (stored encoded)", json([{ key: "corpus-\u0000", value: 1 }]), noContent, "tablestore encodes / \\ # ? and control characters in keys", "tablestore");
  save("slash in a key on tablestore (stored encoded)", json([{ key: "a/b", value: 1 }]), noContent, "tablestore encodes / \\ # ? and control characters in keys", "tablestore");
  save("a value over the table's limit is a 400 naming it", json([{ key: "corpus-big", value: "x".repeat(1_100_000) }]), { ...saveError400, bodyIncludes: ["1040000 bytes"] }, "tablestore: values up to 1,040,000 bytes", "tablestore");
  save("a 100 KB key on tablestore (over Azure's 1 KiB key limit) is a 400", json([{ key: "k".repeat(100_000), value: 1 }]), saveError400, REF_OPEN, "tablestore");
  save("an invalid contentMD5 on statestore is a 400", json([{ key: "corpus-md5", value: 1, metadata: { contentMD5: "not-base64-md5" } }]), saveError400, REF_HARDENING, "statestore");
  for (const store of STATE_STORES) {
    save(`etag * on the seed (no wildcard writes) in ${store}`, json([{ key: "seed-a", value: "overwritten", etag: "*" }]), { status: 409, errorCode: "ERR_STATE_SAVE" }, "§4.7/§4.8", store);
    save(`wrong etag on the seed in ${store}`, json([{ key: "seed-a", value: "overwritten", etag: "bad-etag" }]), { status: 409, errorCode: "ERR_STATE_SAVE" }, "§4.7", store);
    save(`first-write on the existing seed in ${store}`, json([{ key: "seed-a", value: "overwritten", options: { concurrency: "first-write" } }]), { status: 409, errorCode: "ERR_STATE_SAVE" }, "§4.8 recommendation: 409", store);
  }
  save("duplicate keys in one item (last wins, as Go)", '[{"key":"seed-a","key":"corpus-dup","value":1}]', noContent);
  save("field names match case-insensitively (Go)", json([{ KEY: "corpus-case", VALUE: 1 }]), noContent);
  save("unknown fields are ignored", json([{ key: "corpus-unknown", value: 1, contentType: "x", extra: { deep: [1] } }]), noContent);
  save("an empty array", "[]", noContent);
  save("etag null and empty are no etag", json([{ key: "corpus-etag-null", value: 1, etag: null }, { key: "corpus-etag-empty", value: 1, etag: "" }]), noContent);
  save("Content-Type is not checked", json([{ key: "corpus-ct", value: 1 }]), noContent, "§1.1 content type not checked", "memstore", "POST", [["content-type", "text/plain"]]);
  save("X-HTTP-Method-Override is ignored", json([{ key: "corpus-override", value: 1 }]), noContent, REF_ROUTING, "memstore", "POST", [["x-http-method-override", "DELETE"]]);
  save("PUT works like POST", json([{ key: "corpus-put", value: 1 }]), noContent, "§4.2", "memstore", "PUT");
  save("a 100k-item array (bounded concurrency)", json(Array.from({ length: 100_000 }, (_, i) => ({ key: `corpus-many-${i}` }))), noContent, REF_HARDENING);
  save("a 1M-number array fails on the first item", `[${new Array(1_000_000).fill("0").join(",")}]`, malformed);
  save("2000 items on tablestore (bounded concurrency, no EMFILE)", json(Array.from({ length: 2000 }, (_, i) => ({ key: `corpus-table-${i}`, value: i }))), noContent, REF_HARDENING, "tablestore");
  save("unknown store", "[]", { status: 400, errorCode: "ERR_STATE_STORE_NOT_FOUND" }, "§4.0", "nosuchstore");
  save("store lookup precedes body parsing", "garbage", { status: 400, errorCode: "ERR_STATE_STORE_NOT_FOUND" }, "§4.0", "nosuchstore");

  // ---- 6. query-string metadata tricks (on save) ----
  const q = (name: string, query: string, expect: CorpusCase["expect"], ref = "§1.2 metadata.* query parameters", store = "memstore"): void =>
    add({ name: `query: ${name}`, method: "POST", path: `/v1.0/state/${store}?${query}`, body: json([{ key: "corpus-query", value: 1 }]), expect, ref });
  q("invalid ttlInSeconds", "metadata.ttlInSeconds=abc", saveError400);
  q("the first of repeated values wins (valid first)", "metadata.ttlInSeconds=1&metadata.ttlInSeconds=abc", noContent);
  q("the first of repeated values wins (invalid first)", "metadata.ttlInSeconds=abc&metadata.ttlInSeconds=1", saveError400);
  q("a bad escape drops the pair", "metadata.ttlInSeconds=%zz", noContent);
  q("a semicolon drops the pair", "metadata.ttlInSeconds=abc;x=1", noContent);
  q("the prefix is case-sensitive", "Metadata.ttlInSeconds=abc", noContent);
  q("an encoded dot in the name still counts", "metadata%2EttlInSeconds=abc", saveError400);
  q("+ is a space in values", "metadata.ttlInSeconds=+1", saveError400);
  q("%2B is a plus", "metadata.ttlInSeconds=%2B1", noContent);
  q("no value means empty (absent)", "metadata.ttlInSeconds", noContent);
  q("__proto__ and constructor names", "metadata.__proto__=x&metadata.constructor=y&metadata.toString=z", noContent);
  q("an empty metadata name", "metadata.=x", noContent);
  q("empty pairs", "&&&=&=x&", noContent);
  q("an invalid contentMD5 on statestore is a 400", "metadata.contentMD5=bad", saveError400, REF_HARDENING, "statestore");
  add({ name: "query: 500 parameters on a GET", method: "GET", path: `${seedPath}?${Array.from({ length: 500 }, (_, i) => `p${i}=v`).join("&")}`, expect: okJson, ref: REF_ROUTING });
  add({ name: "query: unknown consistency on GET is passed through (ignored)", method: "GET", path: `${seedPath}?consistency=bogus`, expect: okJson, ref: "§4.3" });
  for (const [name, query] of [
    ["unknown concurrency", "concurrency=bogus"],
    ["unknown consistency", "consistency=bogus"],
  ]) {
    add({ name: `delete: ${name} on the seed is a 400 and deletes nothing`, method: "DELETE", path: `${seedPath}?${query}`, expect: { status: 400, errorCode: "ERR_STATE_DELETE" }, ref: "§4.5; bad input is a 400 here" });
  }
  for (const store of STATE_STORES) {
    add({ name: `delete: If-Match * on the seed in ${store}`, method: "DELETE", path: `/v1.0/state/${store}/seed-a`, headers: [["if-match", "*"]], expect: { status: 409, errorCode: "ERR_STATE_DELETE" }, ref: "§4.5/§4.8 no wildcard deletes" });
    add({ name: `delete: wrong If-Match on the seed in ${store}`, method: "DELETE", path: `/v1.0/state/${store}/seed-a`, headers: [["if-match", "W/\"datetime'2020-01-01T00%3A00%3A00Z'\""]], expect: { status: 409, errorCode: "ERR_STATE_DELETE" }, ref: "§4.5" });
  }
  add({ name: "delete: two If-Match headers (joined) on the seed", method: "DELETE", path: seedPath, headers: [["if-match", "a"], ["if-match", "b"]], expect: { status: 409, errorCode: "ERR_STATE_DELETE" }, ref: "§4.5" });
  add({ name: "delete: latin-1 If-Match on the blob seed", method: "DELETE", path: "/v1.0/state/statestore/seed-a", headers: [["if-match", "\u00e9tag"]], expect: { status: 409, errorCode: "ERR_STATE_DELETE" }, ref: "§4.5" });
  add({ name: "delete: || in the key", method: "DELETE", path: "/v1.0/state/memstore/a%7C%7Cb", expect: malformed, ref: REF_KEYS });
  add({ name: "delete: bad escape is part of the key", method: "DELETE", path: "/v1.0/state/memstore/%zz", expect: noContent, ref: REF_REESCAPE });
  add({ name: "delete: a key with # on the table (stored encoded)", method: "DELETE", path: "/v1.0/state/tablestore/a%23b", expect: noContent, ref: "tablestore encodes / \\ # ? and control characters in keys" });
  add({ name: "delete: traversal in a table key is just a key", method: "DELETE", path: "/v1.0/state/tablestore/..%2Fseed-a", expect: noContent, ref: "tablestore encodes / \\ # ? and control characters in keys" });

  // ---- 7. bulk bodies ----
  const bulk = (name: string, body: string, expect: CorpusCase["expect"], store = "memstore", ref = REF_BULK): void =>
    add({ name: `bulk: ${name}`, method: "POST", path: `/v1.0/state/${store}/bulk`, body, expect, ref });
  for (const [name, body] of [
    ["empty body", ""],
    ["an array", "[]"],
    ["a string", '"keys"'],
    ["not JSON", "{keys:[]}"],
    ["keys as a string", '{"keys":"seed-a"}'],
    ["keys as an object", '{"keys":{"0":"seed-a"}}'],
    ["a number key", '{"keys":[1]}'],
    ["a null key", '{"keys":[null]}'],
    ["a nested key array", '{"keys":[["seed-a"]]}'],
    ["parallelism as a string", '{"keys":[],"parallelism":"2"}'],
    ["parallelism decimal", '{"keys":[],"parallelism":1.5}'],
    ["parallelism 1e400", '{"keys":[],"parallelism":1e400}'],
    ["metadata as an array", '{"keys":[],"metadata":[]}'],
    ["metadata with a number", '{"keys":[],"metadata":{"a":1}}'],
    ["keys nested 10k deep", `{"keys":${nestedArrays(10_000)}}`],
  ] as const) {
    bulk(name, body, malformed);
  }
  bulk("|| in a key", '{"keys":["seed-a","a||b"]}', malformed, "memstore", REF_KEYS);
  bulk("an empty object", "{}", { ...okJson, bodyIncludes: ["[]"] });
  bulk("keys null", '{"keys":null}', okJson);
  bulk("negative parallelism", '{"keys":["seed-a"],"parallelism":-1}', { ...okJson, bodyIncludes: ['"n":1'] });
  bulk("huge parallelism is bounded", '{"keys":["seed-a"],"parallelism":1000000000}', okJson);
  bulk("100k keys", json({ keys: Array.from({ length: 100_000 }, (_, i) => `corpus-missing-${i}`) }), okJson);
  bulk("keys Azure Table cannot hold as row keys are encoded, so bulk reads them like any other", '{"keys":["a/b","a#b","seed-a"]}', { ...okJson, bodyIncludes: ['{"key":"a#b"}', '"owner":"demo"'], bodyExcludes: ['"error"'] }, "tablestore", "§4.4; keys encoded reversibly (issue 12)");
  add({ name: "bulk: PUT works like POST", method: "PUT", path: "/v1.0/state/memstore/bulk", body: '{"keys":["seed-a"]}', expect: okJson, ref: REF_BULK });

  // ---- 8. transaction bodies ----
  const tx = (name: string, body: string, expect: CorpusCase["expect"], store = "memstore", ref = REF_TX): void =>
    add({ name: `transaction: ${name}`, method: "POST", path: `/v1.0/state/${store}/transaction`, body, expect, ref });
  const op = (operation: unknown, request: unknown): unknown => ({ operation, request });
  for (const [name, body] of [
    ["empty body", ""],
    ["an array", "[]"],
    ["not JSON", "{operations:[]}"],
    ["operations as an object", '{"operations":{}}'],
    ["operations as a string", '{"operations":"upsert"}'],
    ["an operation that is a number", '{"operations":[1]}'],
    ["an operation that is null", '{"operations":[null]}'],
    ["request as a string", json({ operations: [op("upsert", "corpus-tx")] })],
    ["request as an array", json({ operations: [op("upsert", [])] })],
    ["key as a number", json({ operations: [op("upsert", { key: 1 })] })],
    ["key as an array", json({ operations: [op("upsert", { key: ["x"] })] })],
    ["etag as a number", json({ operations: [op("upsert", { key: "corpus-tx", etag: 1 })] })],
    ["metadata as an array", json({ operations: [op("upsert", { key: "corpus-tx", metadata: [] })] })],
    ["metadata with a number", json({ operations: [op("upsert", { key: "corpus-tx", metadata: { ttlInSeconds: 1 } })] })],
    ["options as a string", json({ operations: [op("upsert", { key: "corpus-tx", options: "first-write" })] })],
    ["top-level metadata as an array", json({ operations: [], metadata: [] })],
    ["value nested 10k deep", `{"operations":[{"operation":"upsert","request":{"key":"corpus-tx","value":${nestedArrays(10_000)}}}]}`],
    ["value 1e400", '{"operations":[{"operation":"upsert","request":{"key":"corpus-tx","value":1e400}}]}'],
  ] as const) {
    tx(name, body, malformed);
  }
  for (const [name, operation] of [
    ["UPSERT in upper case", "UPSERT"],
    ["get", "get"],
    ["a number", 1],
    ["missing", undefined],
  ] as const) {
    tx(`operation ${name}`, json({ operations: [op(operation, { key: "corpus-tx" })] }), { status: 400, errorCode: "ERR_NOT_SUPPORTED_STATE_OPERATION" });
  }
  tx("unknown concurrency", json({ operations: [op("upsert", { key: "corpus-tx", options: { concurrency: "bogus" } })] }), saveError400, "memstore", "§4.6; bad input is a 400 here");
  tx("invalid ttlInSeconds", json({ operations: [op("upsert", { key: "corpus-tx", metadata: { ttlInSeconds: "abc" } })] }), saveError400, "memstore", "§4.6; bad input is a 400 here");
  tx("|| in a key", json({ operations: [op("delete", { key: "a||b" })] }), malformed, "memstore", REF_KEYS);
  for (const store of ["memstore", "tablestore"]) {
    tx(`a delete of the seed followed by an invalid op changes nothing in ${store}`, json({ operations: [op("delete", { key: "seed-a" }), op("bogus", { key: "x" })] }), { status: 400, errorCode: "ERR_NOT_SUPPORTED_STATE_OPERATION" }, store, "validation precedes the transaction");
    tx(`a delete of the seed followed by an illegal key changes nothing in ${store}`, json({ operations: [op("delete", { key: "seed-a" }), op("upsert", { key: "x||y" })] }), malformed, store, REF_KEYS);
    tx(`an etag conflict rolls back the whole transaction in ${store}`, json({ operations: [op("delete", { key: "seed-a" }), op("upsert", { key: "bulk", value: "overwritten", etag: "bad-etag" })] }), { status: 500, errorCode: "ERR_STATE_TRANSACTION" }, store, "§4.6 step 9: every Multi failure is a 500; atomic");
  }
  tx("a key the table cannot hold is a 400 and changes nothing", json({ operations: [op("delete", { key: "seed-a" }), op("upsert", { key: "k".repeat(600), value: 1 })] }), { status: 400, errorCode: "ERR_STATE_TRANSACTION" }, "tablestore", REF_HARDENING);
  tx("101 operations on tablestore", json({ operations: Array.from({ length: 101 }, (_, i) => op("upsert", { key: `corpus-tx-${i}` })) }), { status: 400, errorCode: "ERR_STATE_STORE_TOO_MANY_TRANSACTIONS" }, "tablestore", "§4.6 step 8");
  tx("100k invalid operations", json({ operations: new Array(100_000).fill(op("nope", {})) }), { status: 400, errorCode: "ERR_NOT_SUPPORTED_STATE_OPERATION" });
  tx("statestore has no transactions", json({ operations: [op("delete", { key: "seed-a" })] }), { status: 500, errorCode: "ERR_STATE_STORE_NOT_SUPPORTED" }, "statestore", "§4.6 step 2 documented 500");
  tx("statestore refuses before parsing the body", "garbage", { status: 500, errorCode: "ERR_STATE_STORE_NOT_SUPPORTED" }, "statestore", "§4.6 step 2");
  tx("empty operations", '{"operations":[]}', noContent);
  tx("operations null", '{"operations":null}', noContent);
  // Deliberate difference (issue 9): daprd stores an empty transaction key as "<appid>||"; here it is refused like in a save.
  tx("an empty key is refused in transactions, as in saves", json({ operations: [op("delete", { key: "seed-a" }), op("upsert", { key: "", value: 1 })] }), malformed, "memstore", "§4.1 empty key; README deliberate differences");

  // ---- 9. secrets ----
  const secret = (name: string, path: string, expect: CorpusCase["expect"], ref = REF_SECRETS, headers: readonly (readonly [string, string])[] = [], body?: string): void =>
    add({ name: `secrets: ${name}`, method: "GET", path, expect, ref, headers, body });
  secret("unknown store", "/v1.0/secrets/nosuchstore/demo-secret", { status: 401, errorCode: "ERR_SECRET_STORE_NOT_FOUND" });
  secret("NUL store name", "/v1.0/secrets/%00/demo-secret", { status: 401, errorCode: "ERR_SECRET_STORE_NOT_FOUND" });
  secret("store name case", "/v1.0/secrets/LocalSecretStore/demo-secret", { status: 401, errorCode: "ERR_SECRET_STORE_NOT_FOUND" });
  secret("denied secret", "/v1.0/secrets/localsecretstore/internal-only", { status: 403, errorCode: "ERR_PERMISSION_DENIED", bodyExcludes: [INTERNAL_ONLY_VALUE] }, "§3.1 deniedSecrets");
  secret("denied secret in upper case", "/v1.0/secrets/localsecretstore/INTERNAL-ONLY", { status: 403, errorCode: "ERR_PERMISSION_DENIED" }, REF_HARDENING);
  secret("denied secret with metadata", "/v1.0/secrets/localsecretstore/internal-only?metadata.version_id=1", { status: 403, errorCode: "ERR_PERMISSION_DENIED" }, "§3.1");
  secret("denied secret, encoded", "/v1.0/secrets/localsecretstore/%69nternal-only", { status: 403, errorCode: "ERR_PERMISSION_DENIED" }, "§3.1 (after QueryUnescape)");
  secret("denied secret with a trailing space", "/v1.0/secrets/localsecretstore/internal-only+", { status: 500, errorCode: "ERR_SECRET_GET", bodyExcludes: [INTERNAL_ONLY_VALUE] });
  secret("denied secret with a trailing slash is the secret itself", "/v1.0/secrets/localsecretstore/internal-only/", { status: 403, errorCode: "ERR_PERMISSION_DENIED" }, REF_ROUTING);
  secret("bulk leaves the denied secret out", "/v1.0/secrets/localsecretstore/bulk", { ...okJson, bodyIncludes: ["demo-secret"], bodyExcludes: [INTERNAL_ONLY_VALUE] }, "§2.2 scopes filter bulk");
  secret("bulk with a trailing slash", "/v1.0/secrets/localsecretstore/bulk/", { ...okJson, bodyExcludes: [INTERNAL_ONLY_VALUE] }, "§2.2");
  secret("Key Vault: denied secret", "/v1.0/secrets/secretstore/storage-account-key", { status: 403, errorCode: "ERR_PERMISSION_DENIED", bodyExcludes: [STORAGE_KEY_FRAGMENT] }, "§3.1");
  secret("Key Vault: denied secret in upper case (names are case-insensitive)", "/v1.0/secrets/secretstore/STORAGE-ACCOUNT-KEY", { status: 403, errorCode: "ERR_PERMISSION_DENIED", bodyExcludes: [STORAGE_KEY_FRAGMENT] }, REF_HARDENING);
  secret("Key Vault: denied secret in mixed case", "/v1.0/secrets/secretstore/Storage-Account-Key", { status: 403, errorCode: "ERR_PERMISSION_DENIED", bodyExcludes: [STORAGE_KEY_FRAGMENT] }, REF_HARDENING);
  secret("Key Vault: denied secret with a Kelvin sign", "/v1.0/secrets/secretstore/storage-account-%E2%84%AAey", { status: 403, errorCode: "ERR_PERMISSION_DENIED", bodyExcludes: [STORAGE_KEY_FRAGMENT] }, REF_HARDENING);
  secret("Key Vault: denied secret with a version", "/v1.0/secrets/secretstore/storage-account-key?metadata.version_id=00000000000000000000000000000000", { status: 403, errorCode: "ERR_PERMISSION_DENIED" }, "§3.1");
  secret("Key Vault: denied secret via an encoded slash is not a Key Vault name", "/v1.0/secrets/secretstore/storage-account-key%2F", { status: 400, errorCode: "ERR_SECRET_GET", bodyExcludes: [STORAGE_KEY_FRAGMENT] }, "README: names Key Vault can never hold are a 400 without a call");
  secret("Key Vault: bulk leaves the denied secrets out", "/v1.0/secrets/secretstore/bulk", { ...okJson, bodyIncludes: ["demo-secret"], bodyExcludes: [STORAGE_KEY_FRAGMENT, READER_TOKEN, "ops-token"] }, "§2.2");
  secret("Key Vault: a caller token is denied", "/v1.0/secrets/secretstore/caller-reader-token", { status: 403, errorCode: "ERR_PERMISSION_DENIED" }, "§3.1");
  secret("Key Vault: the admin token in upper case is denied", "/v1.0/secrets/secretstore/CALLER-OPS-TOKEN", { status: 403, errorCode: "ERR_PERMISSION_DENIED", bodyExcludes: ["ops-token"] }, REF_HARDENING);
  secret("Key Vault: version_id '..' must not reach another endpoint", "/v1.0/secrets/secretstore/demo-secret?metadata.version_id=..", { status: [400, 500], errorCode: "ERR_SECRET_GET", bodyExcludes: ["Cannot read properties", "undefined"] }, REF_OPEN);
  secret("Key Vault: version_id traversal to the denied secret", "/v1.0/secrets/secretstore/demo-secret?metadata.version_id=..%2F..%2Fstorage-account-key", { status: [400, 500], errorCode: "ERR_SECRET_GET", bodyExcludes: [STORAGE_KEY_FRAGMENT] });
  secret("Key Vault: maxresults not a number is a 400", "/v1.0/secrets/secretstore/bulk?metadata.maxresults=abc", { status: 400, errorCode: "ERR_SECRET_GET" }, REF_HARDENING);
  secret("Key Vault: maxresults 0 is a 400", "/v1.0/secrets/secretstore/bulk?metadata.maxresults=0", { status: 400, errorCode: "ERR_SECRET_GET" }, REF_HARDENING);
  secret("Key Vault: maxresults huge is a 400", "/v1.0/secrets/secretstore/bulk?metadata.maxresults=99999999999999999999", { status: 400, errorCode: "ERR_SECRET_GET" }, REF_HARDENING);
  secret("Key Vault: an invalid secret name", "/v1.0/secrets/secretstore/not%20a%20name", { status: 400, errorCode: "ERR_SECRET_GET" }, "README: names Key Vault can never hold are a 400 without a call");
  secret("Key Vault: a name longer than 127 characters", `/v1.0/secrets/secretstore/${"a".repeat(128)}`, { status: 400, errorCode: "ERR_SECRET_GET" }, "README: names Key Vault can never hold are a 400 without a call");
  secret("Key Vault: unknown metadata is ignored, as daprd's provider does", "/v1.0/secrets/secretstore/demo-secret?metadata.version_stage=AWSPREVIOUS&metadata.bust=1", okJson, "§3.1 AKV reads only version_id");
  secret("env store: the app's own API_TOKEN is not reachable", "/v1.0/secrets/envsecretstore/API_TOKEN", { status: 500, errorCode: "ERR_SECRET_GET", bodyExcludes: [TOKEN] }, "README local.env: prefix; app credentials never exposed");
  secret("env store: traversal out of the prefix", "/v1.0/secrets/envsecretstore/..%2F..%2FAPI_TOKEN", { status: 500, errorCode: "ERR_SECRET_GET", bodyExcludes: [TOKEN] });
  secret("env store: bulk exposes only the prefixed variables", "/v1.0/secrets/envsecretstore/bulk", { ...okJson, bodyIncludes: ["greeting"], bodyExcludes: [TOKEN, OTHER_TOKEN, "IDENTITY"] }, "README local.env");
  secret("env store: + is a space", "/v1.0/secrets/envsecretstore/gree+ting", { status: 500, errorCode: "ERR_SECRET_GET" }, "§1.1");
  secret("file store: nested separator reaches nested values", "/v1.0/secrets/localsecretstore/connectionStrings:orders", okJson, "README local.file");
  secret("file store: a secret called __proto__", "/v1.0/secrets/localsecretstore/__proto__", { status: 500, errorCode: "ERR_SECRET_GET" });
  secret("file store: a secret called constructor", "/v1.0/secrets/localsecretstore/constructor", { status: 500, errorCode: "ERR_SECRET_GET" });
  secret("a body on GET is dropped by the Functions library (daprd would 400)", "/v1.0/secrets/localsecretstore/demo-secret", okJson, "@azure/functions discards GET bodies before the app", [], "{not json");
  secret("a declared body over 4 MiB on GET is refused early", "/v1.0/secrets/localsecretstore/demo-secret", { status: 413, errorCode: "ERR_BODY_TOO_LARGE" }, "§1.1 body limit", [], " ".repeat(4 * MIB + 1));

  // ---- 10. sizes and limits ----
  add({ name: "size: a body of exactly 4 MiB is accepted", method: "POST", path: "/v1.0/state/memstore", body: `[${" ".repeat(4 * MIB - 2)}]`, expect: noContent, ref: "§1.1 --max-body-size 4 MiB" });
  add({ name: "size: 4 MiB + 1 is refused", method: "POST", path: "/v1.0/state/memstore", body: `[${" ".repeat(4 * MIB - 1)}]`, expect: { status: 413, errorCode: "ERR_BODY_TOO_LARGE" }, ref: "§1.1" });
  add({ name: "size: 5 MiB chunked (no Content-Length) is refused", method: "POST", path: "/v1.0/state/memstore/transaction", headers: [["transfer-encoding", "chunked"]], body: `{"operations":[],"pad":"${"x".repeat(5 * MIB)}"}`, expect: { status: 413, errorCode: "ERR_BODY_TOO_LARGE" }, ref: "§1.1" });
  add({ name: "size: 5 MiB on bulk is refused", method: "PUT", path: "/v1.0/state/memstore/bulk", body: json({ keys: ["x".repeat(5 * MIB)] }), expect: { status: 413, errorCode: "ERR_BODY_TOO_LARGE" }, ref: "§1.1" });
  add({ name: "size: an 8 MiB value is refused", method: "POST", path: "/v1.0/state/tablestore", body: json([{ key: "corpus-huge", value: "x".repeat(8 * MIB) }]), expect: { status: 413, errorCode: "ERR_BODY_TOO_LARGE" }, ref: "§1.1" });
  add({ name: "size: a 12 KiB URL is a 414", method: "GET", path: `/v1.0/state/memstore/${"u".repeat(12 * 1024)}`, expect: { status: 414, contentType: "*" }, ref: "well-behaved server: 414 URI Too Long (limit being added in router.ts)" });
  // Sent over a raw socket: the server may answer and close before the client has written everything.
  add({ name: "size: a 64 KiB URL is refused (414, or 431 from the parser)", method: "GET", path: `/v1.0/state/memstore/${"u".repeat(64 * 1024)}`, transport: "socket", expect: { status: [414, 431], contentType: "*" }, ref: "well-behaved server: 414/431" });
  add({ name: "size: a 12 KiB query string is a 414", method: "GET", path: `${seedPath}?metadata.x=${"q".repeat(12 * 1024)}`, expect: { status: 414, contentType: "*" }, ref: "well-behaved server: 414 URI Too Long" });
  add({ name: "size: a 20 KiB header value is a 431", method: "GET", path: seedPath, headers: [["x-padding", "h".repeat(20 * 1024)]], expect: { status: 431, contentType: "*" }, ref: "well-behaved server: 431 Request Header Fields Too Large" });
  add({ name: "size: 1000 headers are a 431", method: "GET", path: seedPath, headers: Array.from({ length: 1000 }, (_, i) => [`x-h-${i}`, "vvvvvvvvvv"] as const), expect: { status: 431, contentType: "*" }, ref: "well-behaved server: 431" });
  add({ name: "size: a 20 KiB token is a 431", method: "GET", path: seedPath, token: "t".repeat(20 * 1024), expect: { status: 431, contentType: "*" }, ref: "well-behaved server: 431" });

  // ---- 11. HTTP message framing (raw socket) ----
  const raw = (name: string, c: Omit<CorpusCase, "name" | "transport" | "ref"> & { ref?: string }): void => add({ ...c, name: `http: ${name}`, transport: "socket", ref: c.ref ?? REF_HTTP });
  raw("duplicate Content-Length", { method: "POST", path: "/v1.0/state/memstore", headers: [["content-length", "2"], ["content-length", "2"]], body: "[]", expect: parserReject });
  raw("conflicting Content-Length", { method: "POST", path: "/v1.0/state/memstore", headers: [["content-length", "2"], ["content-length", "3"]], body: "[] ", expect: parserReject });
  raw("Content-Length with Transfer-Encoding (smuggling)", { method: "POST", path: "/v1.0/state/memstore", headers: [["content-length", "5"], ["transfer-encoding", "chunked"]], body: "0\r\n\r\n", expect: parserReject });
  raw("Transfer-Encoding chunked then gzip", { method: "POST", path: "/v1.0/state/memstore", headers: [["transfer-encoding", "chunked, gzip"]], body: "2\r\n[]\r\n0\r\n\r\n", expect: parserReject });
  raw("an invalid chunk size", { method: "POST", path: "/v1.0/state/memstore", headers: [["transfer-encoding", "chunked"]], body: "zz\r\n[]\r\n0\r\n\r\n", expect: parserReject });
  raw("a negative Content-Length", { method: "POST", path: "/v1.0/state/memstore", headers: [["content-length", "-1"]], body: "", expect: parserReject });
  const chunk = '[{"key":"corpus-chunk"}]';
  raw("a valid chunked save", { method: "POST", path: "/v1.0/state/memstore", headers: [["transfer-encoding", "chunked"]], body: `${chunk.length.toString(16)}\r\n${chunk}\r\n0\r\n\r\n`, expect: noContent, ref: "RFC 9112 §7.1" });
  raw("two Host headers", { method: "GET", path: seedPath, headers: [["host", "evil.example"]], expect: { status: 400, contentType: null }, ref: "RFC 9112 §3.2 MUST 400 (fixed in packages/functions-host)" });
  raw("HTTP/1.1 without Host", { method: "GET", path: seedPath, noHost: true, expect: parserReject });
  raw("HTTP/1.0 without Host is fine", { method: "GET", path: seedPath, noHost: true, httpVersion: "HTTP/1.0", expect: okJson, ref: "RFC 9112 (Host is optional in 1.0)" });
  raw("HTTP/2.0 over an HTTP/1 connection", { method: "GET", path: seedPath, httpVersion: "HTTP/2.0", expect: { status: 505, contentType: null }, ref: "RFC 9110 §15.6.6 505 (fixed in packages/functions-host)" });
  raw("HTTP/0.9-style request line", { method: "GET", path: "/v1.0/metadata", httpVersion: "", noHost: true, expect: { status: [400, 505], contentType: null }, ref: "no HTTP/0.9 (fixed in packages/functions-host)" });
  raw("a control character in a header value", { method: "GET", path: seedPath, headers: [["x-odd", "a\u0001b"]], expect: parserReject });
  raw("bare LF line endings", { method: "GET", path: seedPath, headers: [["x-bare-lf", "a\nx-injected: b"]], expect: parserReject });
  raw("Expect: 100-continue save", { method: "POST", path: "/v1.0/state/memstore", headers: [["expect", "100-continue"]], body: json([{ key: "corpus-expect" }]), expect: noContent, ref: "RFC 9110 §10.1.1" });

  // ---- 12. Azure Blob key traversal (keys become blob paths) ----
  const traversal = "x/../../vaultstate-victim/secret.txt";
  add({ name: "blob traversal: read a blob of another container", method: "GET", path: `/v1.0/state/statestore/${encodeURIComponent(traversal)}`, expect: { status: [204, 400], contentType: "*", bodyExcludes: [VICTIM_BLOBS["secret.txt"] ?? ""] }, ref: REF_OPEN });
  add({ name: "blob traversal: overwrite a blob of another container", method: "POST", path: "/v1.0/state/statestore", body: json([{ key: traversal, value: "overwritten" }]), expect: { status: [204, 400], contentType: "*" }, ref: REF_OPEN });
  add({ name: "blob traversal: delete a blob of another container", method: "DELETE", path: `/v1.0/state/statestore/${encodeURIComponent("x/../../vaultstate-victim/delete-me.txt")}`, expect: { status: [204, 400], contentType: "*" }, ref: REF_OPEN });
  add({ name: "blob traversal: bulk-read a blob of another container", method: "POST", path: "/v1.0/state/statestore/bulk", body: json({ keys: [traversal] }), expect: { ...okJson, bodyExcludes: [VICTIM_BLOBS["secret.txt"] ?? ""] }, ref: REF_OPEN });
  add({ name: "blob traversal: overwrite an unprefixed blob of the state container", method: "PUT", path: "/v1.0/state/statestore", body: json([{ key: `x/../${UNPREFIXED_BLOB.name}`, value: "overwritten" }]), expect: { status: [204, 400], contentType: "*" }, ref: REF_OPEN });
  // Dot segments are encoded in blob names, so this key reads back its own value (the save above), never the unprefixed blob.
  add({ name: "blob traversal: read an unprefixed blob of the state container", method: "GET", path: `/v1.0/state/statestore/x%2F..%2F${UNPREFIXED_BLOB.name}`, expect: { status: [200, 204, 400], contentType: "*", bodyExcludes: [UNPREFIXED_BLOB.content] }, ref: REF_OPEN });
  add({ name: "blob traversal: a key that is only '..' stays a blob name", method: "POST", path: "/v1.0/state/statestore", body: json([{ key: "..", value: 1 }]), expect: { status: [204, 400], contentType: "*" }, ref: "blob names" });

  return cases;
}
