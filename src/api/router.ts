/**
 * @module The Dapr HTTP router: daprd's path handling (clean path, strip slash, per-method routes,
 * `QueryUnescape`d params), token auth, and the fallback every unmatched request gets.
 */
import type { Runtime, RuntimeLease, RuntimeSource } from "../runtime/runtime";
import { describeError, type Logger } from "../observability/logger";
import { noTelemetry, type RequestRecord, type Telemetry } from "../observability/telemetry";
import { authenticateEntraId, authenticateNow, authorize, type AuthPolicy, type Caller, type CallerRole } from "./auth";
import { createRateLimiter, type RateLimitOptions } from "./rateLimit";
import { apiError, type ApiError, type ApiResponse, toHttpResponse } from "./errors";
import { healthz, healthzOutbound, metadata, type ExtendedProvider } from "./healthApi";
import type { AppMetadataStore } from "../azure/appMetadataTable";
import { createInMemoryAppMetadataStore, putMetadata } from "./metadataApi";
import { type ApiRequest, bodyTooLarge, checkOptionalObjectBody, decodeParam, splitUrl } from "./request";
import { bulkGetSecret, getSecret, NO_STORE } from "./secretsApi";
import { queryState } from "./queryApi";
import { bulkGetState, deleteState, getState, saveState, transactState, type StateContext } from "./stateApi";
import { cleanPath, metadataFromQuery, parseQuery } from "./wire";
import { clearableTimeout } from "../shared/timeouts";

/** What a route handler receives. */
export interface RouteContext {
  request: ApiRequest;
  params: Record<string, string>;
  query: ReadonlyMap<string, readonly string[]>;
  metadata: Record<string, string>;
  runtime: Runtime;
  caller: Caller;
  /**
   * The request's deadline ({@link ApiOptions.requestTimeoutInMs}); pass it to every upstream call.
   * Created when first read: hand it on as `() => ctx.abortSignal` where the work may not need it.
   */
  readonly abortSignal: AbortSignal;
  /**
   * Reads the body once (later calls return the same bytes).
   * @throws {@link ApiError} 413 `ERR_BODY_TOO_LARGE` over the limit
   */
  body(): Promise<Uint8Array>;
}

/** A route: method, path pattern (`:name` segments are params), handler. */
export interface Route {
  method: string;
  pattern: string;
  /** The least role that may call it (default `reader`), and what it does, for the 403 message. */
  role?: CallerRole;
  action?: string;
  /** Headers every response of this route carries, errors included. */
  headers?: Record<string, string>;
  handle(ctx: RouteContext): Promise<ApiResponse> | ApiResponse;
}

/** The fallback daprd answers for any unmatched path or method (its service-invocation route). */
export function directInvokeNotFound(): ApiError {
  return apiError("directInvokeNoAppId", {});
}

/**
 * A wrong method on a known route. daprd sends its fallback body here too, but with 404; we send
 * the same body with 405 and an `Allow` header listing the route's methods, so clients matching on
 * the body keep working and the status says what is wrong.
 */
function methodNotAllowed(): ApiError {
  return apiError("directInvokeNoAppId", {}, { status: 405 });
}

/** What the API needs. */
export interface ApiOptions {
  runtime: RuntimeSource;
  /** Where each finished request is reported (route template, store, app-id, status, duration). */
  telemetry?: Telemetry;
  /** Auth policy derived from the runtime's callers and settings. */
  authPolicy(runtime: Runtime): AuthPolicy;
  logger: Logger;
  extended?: ExtendedProvider;
  /** Extra routes, matched after the built-in ones. */
  routes?: readonly Route[];
  /**
   * Where callers' `PUT /v1.0/metadata/{key}` values live; the app's Table storage in production.
   * Without it values are kept in this process only.
   */
  appMetadata?: AppMetadataStore;
  /** The OpenAPI document (YAML), served without a token at `GET /v1.0-alpha1/openapi.yaml`. */
  openApiDocument?: () => Promise<string>;
  /** Request body limit in bytes (daprd's `--max-body-size`, 4 MiB by default). */
  maxBodyBytes?: number;
  /** Longest accepted request URL (path and query), in characters. */
  maxUrlLength?: number;
  /** Largest accepted total of header names and values, in bytes. */
  maxHeaderBytes?: number;
  /** Per-caller rate limit; off when absent or 0. */
  rateLimit?: RateLimitOptions;
  /** How long one reading request may wait for upstream calls in total (default {@link DEFAULT_REQUEST_TIMEOUT_IN_MS}). */
  requestTimeoutInMs?: number;
  /** The same for writer routes (saves, deletes, transactions; default {@link DEFAULT_WRITE_REQUEST_TIMEOUT_IN_MS}). */
  writeRequestTimeoutInMs?: number;
}

/** Default request deadline: every read a request makes ends within it, answered or failed with a 5xx. */
export const DEFAULT_REQUEST_TIMEOUT_IN_MS = 10_000;
/** Default deadline of a writing request: a save may carry thousands of items, written 16 at a time. */
export const DEFAULT_WRITE_REQUEST_TIMEOUT_IN_MS = 30_000;

/** Default URL limit: generous for Dapr routes, small enough to refuse abuse early. */
export const DEFAULT_MAX_URL_LENGTH = 8 * 1024;
/** Default header limit, Node's own default `maxHeaderSize`. */
export const DEFAULT_MAX_HEADER_BYTES = 16 * 1024;

/** daprd's default `--max-body-size`. */
export const DEFAULT_MAX_BODY_BYTES = 4 * 1024 * 1024;

const HEALTH_PATHS = new Set(["/v1.0/healthz", "/v1.0/healthz/outbound"]);
/** The health routes as far as `Allow` is concerned (they are served before authentication). */
/** Where the API describes itself. */
export const OPENAPI_PATH = "/v1.0-alpha1/openapi.yaml";
const HEALTH_ROUTES: readonly Pick<Route, "method" | "pattern">[] = [
  ...[...HEALTH_PATHS].flatMap((pattern) => [
    { method: "GET", pattern },
    { method: "HEAD", pattern },
  ]),
  { method: "GET", pattern: OPENAPI_PATH },
];

function stateContext(c: RouteContext): StateContext {
  return { stores: c.runtime.stateStores(c.caller.appId), caller: c.caller, namespace: c.runtime.namespace, abortSignal: c.abortSignal };
}

/** The state routes; daprd registers save, bulk and transaction for both POST and PUT. */
function stateRoutes(): Route[] {
  const store = (c: RouteContext): string => c.params.store ?? "";
  const routes: Route[] = [
    {
      method: "GET",
      pattern: "/v1.0/state/:store/:key",
      handle: (c) => getState(stateContext(c), store(c), c.params.key ?? "", { consistency: c.query.get("consistency")?.[0], metadata: c.metadata }),
    },
    {
      method: "DELETE",
      pattern: "/v1.0/state/:store/:key",
      role: "writer",
      action: "delete state",
      handle: (c) =>
        deleteState(stateContext(c), store(c), c.params.key ?? "", {
          ifMatch: c.request.headers.get("if-match"),
          concurrency: c.query.get("concurrency")?.[0],
          consistency: c.query.get("consistency")?.[0],
          metadata: c.metadata,
        }),
    },
  ];
  for (const method of ["POST", "PUT"]) {
    routes.push(
      { method, pattern: "/v1.0/state/:store", role: "writer", action: "save state", handle: async (c) => saveState(stateContext(c), store(c), await c.body(), c.metadata) },
      { method, pattern: "/v1.0/state/:store/bulk", handle: async (c) => bulkGetState(stateContext(c), store(c), await c.body(), c.metadata) },
      {
        method,
        pattern: "/v1.0/state/:store/transaction",
        role: "writer",
        action: "run state transactions",
        handle: async (c) => transactState(stateContext(c), store(c), await c.body(), c.metadata),
      },
      { method, pattern: "/v1.0-alpha1/state/:store/query", handle: async (c) => queryState(stateContext(c), store(c), await c.body()) },
    );
  }
  return routes;
}

/** The built-in secrets, metadata and state routes. */
function builtInRoutes(extended: ExtendedProvider, appMetadata: AppMetadataStore, logger: Logger): Route[] {
  return [
    ...stateRoutes(),
    {
      method: "GET",
      pattern: "/v1.0/metadata",
      handle: async (c) => {
        let own: Record<string, string> = {};
        try {
          own = await appMetadata.list(c.caller.appId);
        } catch (e) {
          // The SDKs use this route as their readiness probe: serve it without the caller's values.
          logger.warn(`app metadata of ${c.caller.appId} is unavailable: ${describeError(e)}`);
        }
        // Built-in names win; `PUT` refuses them, so only a row written some other way could clash.
        return metadata(c.runtime, c.caller, () => ({ ...own, ...extended() }));
      },
    },
    {
      method: "PUT",
      pattern: "/v1.0/metadata/:key",
      role: "writer",
      action: "set app metadata",
      handle: async (c) => putMetadata(appMetadata, c.caller, c.params.key ?? "", await c.body(), reservedExtendedNames(extended)),
    },
    {
      method: "GET",
      pattern: "/v1.0/secrets/:store/bulk",
      headers: NO_STORE,
      handle: (c) => afterOptionalObjectBody(c, readSecrets),
    },
    {
      method: "GET",
      pattern: "/v1.0/secrets/:store/:key",
      headers: NO_STORE,
      handle: (c) => afterOptionalObjectBody(c, readSecret),
    },
  ];
}

/** The secret routes' work, as functions of the route context: a request allocates no closure for them. */
function readSecret(c: RouteContext): ApiResponse | Promise<ApiResponse> {
  return getSecret(c.runtime, c.caller, { storeName: c.params.store ?? "", key: c.params.key ?? "", metadata: c.metadata }, c);
}

function readSecrets(c: RouteContext): Promise<ApiResponse> {
  return bulkGetSecret(c.runtime, c.caller, { storeName: c.params.store ?? "", metadata: c.metadata }, c);
}

/**
 * Runs a GET route after daprd's optional-object body check; a request the adapter knows has no body
 * (every GET under the Functions library) skips the read and its promise.
 * @throws {@link ApiError} 400 `ERR_MALFORMED_REQUEST` (as a rejection) for a body that is not a JSON object
 */
function afterOptionalObjectBody(c: RouteContext, run: (c: RouteContext) => ApiResponse | Promise<ApiResponse>): ApiResponse | Promise<ApiResponse> {
  if (c.request.hasBody === false) return run(c);
  return c.body().then((body) => {
    checkOptionalObjectBody(body);
    return run(c);
  });
}

/** The names the API itself reports in `extended`, which callers cannot set. */
function reservedExtendedNames(extended: ExtendedProvider): ReadonlySet<string> {
  return new Set(["daprRuntimeVersion", ...Object.keys(extended())]);
}

/** The methods of every route whose pattern matches the path, sorted, for a 405's `Allow`. */
export function allowedMethods(routes: readonly Pick<Route, "method" | "pattern">[], path: string): string[] {
  const methods = new Set<string>();
  for (const route of routes) if (matchPattern(route.pattern, path) !== undefined) methods.add(route.method);
  return [...methods].sort();
}

/** Matches a cleaned, still-encoded path against a pattern; returns the raw (encoded) params. */
export function matchPattern(pattern: string, path: string): Record<string, string> | undefined {
  return matchSegments(pattern.split("/"), path.split("/"));
}

/** {@link matchPattern} on segments split once (routes are split when the API is created). */
function matchSegments(want: readonly string[], got: readonly string[]): Record<string, string> | undefined {
  if (want.length !== got.length) return undefined;
  // Every segment is checked before the params object is made: most routes tried do not match.
  for (let i = 0; i < want.length; i++) {
    const w = want[i] ?? "";
    const g = got[i] ?? "";
    if (w.startsWith(":") ? g === "" : w !== g) return undefined;
  }
  const params: Record<string, string> = {};
  for (let i = 0; i < want.length; i++) {
    const w = want[i] ?? "";
    if (w.startsWith(":")) params[w.slice(1)] = got[i] ?? "";
  }
  return params;
}

/** daprd's routing path: `path.Clean` of the escaped path, then the trailing slash stripped. */
export function routingPath(rawPath: string): string {
  const cleaned = cleanPath(rawPath.startsWith("/") ? rawPath : `/${rawPath}`);
  return cleaned.length > 1 && cleaned.endsWith("/") ? cleaned.slice(0, -1) : cleaned;
}

/**
 * The API as one function: request in, response out. Never throws, and a promise it returns never
 * rejects. A request answered without waiting (a cached secret, a health probe) is answered at once,
 * not through a promise; `await` takes either.
 */
export type ApiHandler = (request: ApiRequest) => ApiResponse | Promise<ApiResponse>;

/**
 * Creates the API handler.
 * @example
 * const handle = createApi({ runtime, authPolicy, logger });
 * const response = await handle({ method: "GET", url: "/v1.0/healthz", headers, body });
 */
export function createApi(options: ApiOptions): ApiHandler {
  const appMetadata = options.appMetadata ?? createInMemoryAppMetadataStore();
  const routes = [...builtInRoutes(options.extended ?? (() => ({})), appMetadata, options.logger), ...(options.routes ?? [])];
  // Indexed by method, then by segment count (a pattern matches only paths with as many segments),
  // each list in table order: the first match still wins, and a request tries only routes it can match.
  const routeTable = new Map<string, CompiledRoute[][]>();
  for (const route of routes) {
    const segments = route.pattern.split("/");
    let bySize = routeTable.get(route.method);
    if (bySize === undefined) routeTable.set(route.method, (bySize = []));
    (bySize[segments.length] ??= []).push({ route, segments });
  }
  const maxBodyBytes = options.maxBodyBytes ?? DEFAULT_MAX_BODY_BYTES;
  const maxUrlLength = options.maxUrlLength ?? DEFAULT_MAX_URL_LENGTH;
  const maxHeaderBytes = options.maxHeaderBytes ?? DEFAULT_MAX_HEADER_BYTES;
  const requestTimeoutInMs = options.requestTimeoutInMs ?? DEFAULT_REQUEST_TIMEOUT_IN_MS;
  const writeRequestTimeoutInMs = options.writeRequestTimeoutInMs ?? DEFAULT_WRITE_REQUEST_TIMEOUT_IN_MS;
  const limiter = options.rateLimit === undefined ? undefined : createRateLimiter(options.rateLimit);
  const logUnexpected = (e: unknown): void => options.logger.error(`unexpected error while serving a request: ${describeError(e)}`);
  const telemetry = options.telemetry ?? noTelemetry;

  const failed = (e: unknown): ApiResponse => toHttpResponse(e, logUnexpected);

  /** Throttles failed sign-ins per client address, so guessing tokens is slow; returns what to throw. */
  const signInFailed = (x: Exchange, e: unknown): unknown => {
    // Callers that authenticate are never affected by someone else's failures.
    const failure = limiter?.take(`unauthenticated:${clientAddress(x.request)}`);
    if (failure === undefined || failure.allowed) return e;
    x.routeHeaders = { "retry-after": String(failure.retryAfterSeconds) };
    return apiError("tooManyFailedSignIns", { seconds: failure.retryAfterSeconds });
  };

  // Request targets seen before, parsed: a function of the URL string alone, so a client that asks for
  // the same URL again (a service reading its secrets) is not parsed again. Only targets that passed
  // the URL limit are kept, and the headers of every request are still checked in the same order.
  const targets = new TargetMemo();

  /**
   * Serves one request up to its route's answer. Synchronous as far as nothing has to be waited for:
   * a cached secret read is answered without a promise. Steps that wait continue with `then`.
   */
  const dispatch = (x: Exchange): ApiResponse | Promise<ApiResponse> => {
    const request = x.request;
    let target = targets.get(request.url);
    if (target === undefined) {
      const { path: rawPath, query: rawQuery } = splitUrl(request.url);
      checkUrlLength(rawPath.length + rawQuery.length + 1, maxUrlLength);
      // Cleaning the path and parsing the query never fail, so the header check after them still
      // comes right after the URL limit.
      target = targets.add(request.url, routingPath(rawPath), parseQuery(rawQuery));
    }
    checkHeaderSize(request, maxHeaderBytes);
    const { path, query } = target;

    // The API's description is public, like the OpenAPI documents of most services.
    if (x.method === "GET" && path === OPENAPI_PATH && options.openApiDocument !== undefined) {
      return options.openApiDocument().then((body) => ({ status: 200, headers: { "content-type": "application/yaml; charset=utf-8", "cache-control": "public, max-age=300" }, body }));
    }
    // Health probes are the only routes daprd serves without a token; HEAD answers like GET.
    if ((x.method === "GET" || x.method === "HEAD") && HEALTH_PATHS.has(path)) {
      x.route = path;
      const status = options.runtime.status();
      return path === "/v1.0/healthz" ? healthz(status, query.get("appid")?.[0]) : healthzOutbound(status);
    }

    // A running instance leases its runtime and checks an API token without waiting on a promise.
    const lease = options.runtime.acquireNow?.();
    if (lease !== undefined) return authenticate(x, lease, target);
    return acquireRuntime(options.runtime).then((leased) => authenticate(x, leased, target));
  };

  const authenticate = (x: Exchange, lease: RuntimeLease, target: Target): ApiResponse | Promise<ApiResponse> => {
    x.lease = lease;
    const runtime = lease.runtime;
    let outcome: ReturnType<typeof authenticateNow>;
    let policy: AuthPolicy;
    try {
      policy = options.authPolicy(runtime);
      outcome = authenticateNow(policy, x.request);
    } catch (e) {
      throw signInFailed(x, e);
    }
    if (!("entraToken" in outcome)) return route(x, runtime, outcome, target);
    return authenticateEntraId(policy, outcome.entraToken).then(
      (caller) => route(x, runtime, caller, target),
      (e: unknown) => {
        throw signInFailed(x, e);
      },
    );
  };

  /**
   * The first route for this method whose pattern matches the target; undefined for none. Remembered
   * per target for the methods that have routes, so a client inventing methods adds nothing.
   */
  const matchRoute = (method: string, target: Target): RouteMatch | undefined => {
    if (!routeTable.has(method)) return undefined;
    const known = target.matches.get(method);
    if (known !== undefined) return known ?? undefined;
    const pathSegments = target.path.split("/");
    let found: RouteMatch | null = null;
    for (const compiled of routeTable.get(method)?.[pathSegments.length] ?? NO_ROUTES) {
      const raw = matchSegments(compiled.segments, pathSegments);
      if (raw === undefined) continue;
      found = { compiled, raw: Object.freeze(raw), params: decodedOrUndefined(raw) };
      break;
    }
    target.matches.set(method, found);
    return found ?? undefined;
  };

  const route = (x: Exchange, runtime: Runtime, caller: Caller, target: Target): ApiResponse | Promise<ApiResponse> => {
    x.appId = caller.appId;
    const decision = limiter?.take(caller.appId);
    if (decision !== undefined && !decision.allowed) {
      x.routeHeaders = { "retry-after": String(decision.retryAfterSeconds) };
      throw apiError("rateLimited", { caller: caller.appId, seconds: decision.retryAfterSeconds });
    }

    const match = matchRoute(x.method, target);
    if (match !== undefined) {
      const { compiled, raw } = match;
      const route = compiled.route;
      x.routeHeaders = route.headers ?? NO_HEADERS;
      x.route = route.pattern;
      // Only a configured component's name: the raw segment is caller input and could hold anything.
      const named = match.params?.store ?? (raw.store === undefined ? undefined : decodeParam(raw.store));
      if (named !== undefined) x.store = hasComponent(runtime, named) ? named : "(unknown)";
      authorize(caller, route.role ?? "reader", route.action ?? "call this route");
      if (named !== undefined) checkComponentReady(runtime, caller, compiled.segments, named);
      // A malformed escape fails here, after the checks above, on every request that carries it.
      const params = match.params ?? decodeParams(raw);
      const deadlineAt = x.arrivedAt + (route.role === "writer" ? writeRequestTimeoutInMs : requestTimeoutInMs);
      x.context = new RequestContext(x.request, params, target.query, target.metadata, runtime, caller, deadlineAt, maxBodyBytes);
      return route.handle(x.context);
    }
    const allow = allowedMethods([...routes, ...HEALTH_ROUTES], target.path);
    if (allow.length > 0) {
      x.routeHeaders = { allow: allow.join(", ") };
      throw methodNotAllowed();
    }
    throw directInvokeNotFound();
  };

  /**
   * The request is answered: its deadline and lease go, the route's headers are added (errors
   * included), a HEAD answer loses its body (RFC 9110 §9.3.2, whichever host serves it), and the
   * request is reported.
   */
  const finish = (x: Exchange, served: ApiResponse): ApiResponse => {
    x.context?.finish();
    x.lease?.release();
    const withRouteHeaders = withHeaders(served, x.routeHeaders);
    const response = x.method !== "HEAD" || withRouteHeaders.body === undefined ? withRouteHeaders : { status: withRouteHeaders.status, headers: withRouteHeaders.headers };
    x.status = response.status;
    x.durationInMs = performance.now() - x.arrivedAt;
    telemetry.request(x);
    return response;
  };

  return (request) => {
    const x = new Exchange(request);
    let answer: ApiResponse | Promise<ApiResponse>;
    try {
      answer = dispatch(x);
    } catch (e) {
      return finish(x, failed(e));
    }
    if (!isPromise(answer)) return finish(x, answer);
    return answer.then(
      (served) => finish(x, served),
      (e: unknown) => finish(x, failed(e)),
    );
  };
}

function isPromise<T>(value: T | Promise<T>): value is Promise<T> {
  return typeof (value as { then?: unknown }).then === "function";
}

/**
 * One request being served: what the router has learned about it, which is also its telemetry record
 * (only names our configuration chose), and what it must undo when the request is answered. One object
 * per request; the steps of `createApi` take it rather than closing over locals.
 */
class Exchange implements RequestRecord {
  /** Counted from arrival, so time spent waiting for the runtime counts too. */
  readonly arrivedAt = performance.now();
  readonly method: string;
  route = "unmatched";
  store: string | undefined = undefined;
  appId: string | undefined = undefined;
  status = 0;
  durationInMs = 0;
  routeHeaders: Readonly<Record<string, string>> = NO_HEADERS;
  lease: RuntimeLease | undefined = undefined;
  context: RequestContext | undefined = undefined;

  constructor(readonly request: ApiRequest) {
    this.method = request.method.toUpperCase();
  }
}

const NO_HEADERS: Readonly<Record<string, string>> = Object.freeze({});

/** A route with its pattern split into segments once, when the API is created. */
interface CompiledRoute {
  route: Route;
  segments: string[];
}

const NO_ROUTES: readonly CompiledRoute[] = [];

/** A route a request target matched: its raw (still encoded) params and, unless one is malformed, the decoded ones. */
interface RouteMatch {
  readonly compiled: CompiledRoute;
  readonly raw: Readonly<Record<string, string>>;
  readonly params: Readonly<Record<string, string>> | undefined;
}

/**
 * A request target (path and query) as the router reads it. Shared by every request with the same URL,
 * so nothing in it is changed once made: the query's values and the metadata are frozen.
 */
interface Target {
  /** daprd's routing path: cleaned, no trailing slash, still encoded. */
  readonly path: string;
  readonly query: ReadonlyMap<string, readonly string[]>;
  readonly metadata: Readonly<Record<string, string>>;
  /** The route matched per method (`null`: none), filled in as methods are seen. */
  readonly matches: Map<string, RouteMatch | null>;
}

/** How many parsed targets the router keeps; past it, it starts again (a client cycling through URLs only loses the saving). */
const TARGETS_KEPT = 256;
/** Longer URLs are parsed on every request rather than kept. */
const TARGET_URL_KEPT_MAX = 2048;

/** Parsed request targets by URL, bounded by count and by URL length. */
class TargetMemo {
  readonly #targets = new Map<string, Target>();

  get(url: string): Target | undefined {
    return this.#targets.get(url);
  }

  /** Makes the target of a URL that passed the URL limit, and keeps it if the URL is short enough. */
  add(url: string, path: string, query: ReadonlyMap<string, string[]>): Target {
    for (const values of query.values()) Object.freeze(values);
    const target: Target = { path, query, metadata: Object.freeze(metadataFromQuery(query)), matches: new Map() };
    if (url.length <= TARGET_URL_KEPT_MAX) {
      if (this.#targets.size >= TARGETS_KEPT) this.#targets.clear();
      this.#targets.set(url, target);
    }
    return target;
  }
}

/** Each param decoded, as a new frozen object. @throws {@link PlainTextError} 400 for a malformed escape */
function decodeParams(raw: Readonly<Record<string, string>>): Readonly<Record<string, string>> {
  const params: Record<string, string> = {};
  for (const k in raw) params[k] = decodeParam(raw[k] ?? "");
  return Object.freeze(params);
}

/** {@link decodeParams}, or undefined when a param is malformed (the route then decodes, and fails, per request). */
function decodedOrUndefined(raw: Readonly<Record<string, string>>): Readonly<Record<string, string>> | undefined {
  try {
    return decodeParams(raw);
  } catch {
    return undefined;
  }
}

/** The body of a request the adapter knows has none, shared: nothing is read and nothing allocated. */
const EMPTY_BODY: Promise<Uint8Array> = Promise.resolve(new Uint8Array(0));

/**
 * A route's view of one request. A class, so a request costs one object: the deadline signal and the
 * body reader are methods, not closures over the router's locals.
 */
class RequestContext implements RouteContext {
  private deadline: { signal: AbortSignal; clear(): void } | undefined;
  private bodyRead: Promise<Uint8Array> | undefined;

  constructor(
    public readonly request: ApiRequest,
    public readonly params: Record<string, string>,
    public readonly query: ReadonlyMap<string, readonly string[]>,
    public readonly metadata: Record<string, string>,
    public readonly runtime: Runtime,
    public readonly caller: Caller,
    private readonly deadlineAt: number,
    private readonly maxBodyBytes: number,
  ) {}

  /**
   * Made on first use: a timer signal per request is a timer, a weak reference and garbage on every
   * request, and a cached secret read never needs one. Its deadline is still arrival + timeout.
   */
  get abortSignal(): AbortSignal {
    this.deadline ??= clearableTimeout(Math.max(1, Math.floor(this.deadlineAt - performance.now())));
    return this.deadline.signal;
  }

  /**
   * The request is answered: its deadline's timer goes (an `AbortSignal.timeout` would stay pending,
   * held in the heap, until the deadline passed, one per request that read it).
   */
  finish(): void {
    this.deadline?.clear();
  }

  body(): Promise<Uint8Array> {
    this.bodyRead ??= this.request.hasBody === false ? EMPTY_BODY : readLimitedBody(this.request, this.maxBodyBytes);
    return this.bodyRead;
  }
}

function hasComponent(runtime: Runtime, name: string): boolean {
  for (const c of runtime.components) if (c.definition.name === name) return true;
  return false;
}

/** The client's address as the platform vouches for it, or "unknown" (one shared bucket). */
function clientAddress(request: ApiRequest): string {
  return request.clientAddress ?? "unknown";
}

/** The UTF-16 units of the headers counted so far by {@link countUnits} (one module-level total, not a closure per request). */
let headerUnits = 0;

function countUnits(value: string, key: string): void {
  headerUnits += key.length + value.length + 4;
}

/**
 * Refuses an oversized URL (414) before any other work.
 * @throws {@link ApiError}
 */
function checkUrlLength(urlLength: number, maxUrlLength: number): void {
  if (urlLength > maxUrlLength) throw apiError("urlTooLong", { max: maxUrlLength });
}

/**
 * Refuses oversized headers (431), right after the URL limit and before any other work.
 * @throws {@link ApiError}
 */
function checkHeaderSize(request: ApiRequest, maxHeaderBytes: number): void {
  if (request.headers.forEach === undefined) return;
  // UTF-8 takes at most 3 bytes per UTF-16 unit, so headers within a third of the limit in
  // characters are within it in bytes; only longer ones are counted exactly.
  headerUnits = 0;
  request.headers.forEach(countUnits);
  const units = headerUnits;
  if (units * 3 <= maxHeaderBytes) return;
  let bytes = 0;
  request.headers.forEach((value, key) => {
    bytes += Buffer.byteLength(key) + Buffer.byteLength(value) + 4;
  });
  if (bytes > maxHeaderBytes) throw apiError("headersTooLarge", { max: maxHeaderBytes });
}

async function readLimitedBody(request: ApiRequest, limit: number): Promise<Uint8Array> {
  const declared = Number(request.headers.get("content-length") ?? "0");
  if (Number.isFinite(declared) && declared > limit) throw bodyTooLarge(limit);
  const body = await request.body(limit);
  if (body.length > limit) throw bodyTooLarge(limit);
  return body;
}

/**
 * A route naming a component that failed to initialise answers its own 503, not "not found": the
 * component exists and is being retried; the other components keep serving meanwhile.
 * @throws {@link ApiError} 503 `ERR_COMPONENT_NOT_READY`
 */
function checkComponentReady(runtime: Runtime, caller: Caller, segments: readonly string[], name: string): void {
  const kind = segments[2] === "state" ? "state" : segments[2] === "secrets" ? "secretstores" : undefined;
  const failed = kind === undefined ? undefined : runtime.failedComponent(caller.appId, name);
  if (failed === undefined || failed.kind !== kind) return;
  throw apiError("componentNotReady", { kind: kind === "state" ? "state store" : "secret store", name });
}

async function acquireRuntime(source: RuntimeSource): Promise<RuntimeLease> {
  try {
    if (source.acquire !== undefined) return await source.acquire();
    return { runtime: await source.ready(), release: () => {} };
  } catch {
    // The reason (file and field names) goes to the logs, not to callers who are not authenticated yet.
    throw apiError("healthNotReady", { targets: "components" });
  }
}

function withHeaders(response: ApiResponse, headers: Readonly<Record<string, string>>): ApiResponse {
  // A response that already carries the route's headers (a secret read's no-store) is passed on as it is.
  let missing = false;
  for (const name in headers) {
    if (response.headers[name] !== headers[name]) {
      missing = true;
      break;
    }
  }
  return missing ? { ...response, headers: { ...response.headers, ...headers } } : response;
}
