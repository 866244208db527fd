/** @module functions-host/host: a local Functions host that loads a Node v4-model app the way the Node worker does. */

import { randomUUID } from "node:crypto";
import { readFile } from "node:fs/promises";
import * as http from "node:http";
import { createRequire } from "node:module";
import * as path from "node:path";
import { performance } from "node:perf_hooks";
import { pathToFileURL } from "node:url";
import fg from "fast-glob";
import {
  allowedWebhookOrigin,
  classifyEventGridRequest,
  extractValidationCode,
  isEventGridWebhookPath,
  jsonNestsDeeperThan,
  MAX_EVENT_JSON_DEPTH,
  notificationStatus,
  toEventList,
} from "./eventGrid";
import {
  defineReadOnly,
  installFunctionsCore,
  type BindingInfo,
  type FunctionsCoreRuntime,
  type RegisteredFunction,
  type RpcInvocationRequest,
  type RpcInvocationResponse,
  type RpcTypedData,
} from "./functionsCore";
import { DEFAULT_HOST_CONFIG, parseHostJson, type HostConfig } from "./hostConfig";
import {
  collectRequestHeaders,
  firstRawHeader,
  formatAuthority,
  isNullBodyStatus,
  requestAuthority,
  rpcHttpToWireResponse,
  streamingTriggerMetadata,
  proxiedRequestTarget,
  toRpcHttpRequest,
  workerRequestUrl,
} from "./httpMapping";
import { BodyTooLargeError, closeAfterAnswer, readRequestBody, sendSimple, settleWithin } from "./httpServer";
import { describeError, runInvocation } from "./invocation";
import { keyGateAllows, parseAuthLevel, type AuthLevel } from "./keys";
import { createBufferedLineWriter, formatLogRecord, shouldEmit, type LogRecord } from "./logging";
import { parseNCrontab, resolveAppSettingReferences, type NCrontabSchedule } from "./ncrontab";
import { checkRequestLine, isClientAbortError } from "./requestChecks";
import { buildRouteTemplate, orderRoutes, parseRouteTemplate, selectRoute, type RouteEntry, type RouteTemplate } from "./routes";
import { createResponseRecorder } from "./responseRecorder";
import { proxyToLibrary } from "./streamProxy";
import { TimerRunner } from "./timers";

/** Options of {@link startHost}. */
export interface StartHostOptions {
  /** The function app directory (the one with package.json and host.json). */
  appDir: string;
  /** Port to listen on; default 7071, 0 picks a free port. */
  port?: number;
  /** Address to listen on; default 127.0.0.1. */
  hostname?: string;
  /** Receives every formatted log line (host and function logs); default writes to stdout. */
  log?: (line: string) => void;
  /** Test aid: append every response (status, headers, body) to this JSON Lines file ({@link createResponseRecorder}). */
  recordResponsesTo?: string;
  /**
   * Timer runs at startup: undefined honours each function's `runOnStartup`, true runs every timer function
   * once at startup, false runs none at startup (schedules still apply).
   */
  runTimersOnStartup?: boolean;
  /**
   * When set, HTTP functions of `authLevel` `function` or `admin` and the Event Grid webhook (system level)
   * need this key in `x-functions-key` or `?code=`; requests without it get 401 before their body is read.
   * Unset, no key is checked, as under Core Tools.
   */
  masterKey?: string;
}

/**
 * Where the host publishes, for code running in its process, the peer address of the connection behind an
 * HTTP invocation: `globalThis[CLIENT_ADDRESS_LOOKUP](invocationId)` answers the socket's remote address
 * while that invocation runs. No request content reaches it, so a client cannot claim another address.
 */
export const CLIENT_ADDRESS_LOOKUP = Symbol.for("@vaultstate/functions-host/clientAddress");

/** A function as the host indexed it. */
export interface FunctionInfo {
  readonly name: string;
  /** "http", "timer", "eventGrid", or the binding type of a trigger this host does not run. */
  readonly trigger: "http" | "timer" | "eventGrid" | string;
  /** HTTP: the full route template, route prefix included, without a leading slash. */
  readonly route?: string;
  /** HTTP: allowed methods, upper case; undefined means every method. */
  readonly methods?: string[];
  /** Timer: the schedule after `%SETTING%` substitution. */
  readonly schedule?: string;
}

/** A running host. */
export interface LocalHost {
  /** Base URL, e.g. `http://127.0.0.1:7071` (no trailing slash). */
  readonly url: string;
  readonly port: number;
  readonly functions: ReadonlyArray<FunctionInfo>;
  /** Stops timers and the server, waits for running invocations, then runs appTerminate hooks. */
  close(): Promise<void>;
}

const DEFAULT_PORT = 7071;
const DEFAULT_HOSTNAME = "127.0.0.1";
/** Core Tools' request body limit (Kestrel MaxRequestBodySize = Constants.DefaultMaxRequestBodySize). */
const MAX_REQUEST_BODY_BYTES = 100 * 1024 * 1024;
/** How long close() waits for in-flight requests before cutting connections. */
const DRAIN_TIMEOUT_MS = 10_000;
/**
 * How long the host waits for the library to start answering a proxied request, as the real host's forwarder
 * (YARP `ActivityTimeout` in azure-functions-host `DefaultHttpProxyService`). The real host awaits the forwarding
 * even after the invocation finished, so no shorter "grace" may decide that a handler answered nothing: on a
 * busy machine the response can reach the host long after the invocation result (seen: > 2 s), and a made-up
 * answer in its place is a lost write for clients that trust it.
 */
const PROXY_ACTIVITY_TIMEOUT_MS = 240_000;
/** The Functions host's function name rule (Utility.IsValidFunctionName). */
const FUNCTION_NAME = /^[a-z][a-z0-9_-]{0,127}$/i;

/** Capabilities the Node worker announces before asking the programming model (getWorkerCapabilities). */
const WORKER_CAPABILITIES: Readonly<Record<string, string>> = {
  RawHttpBodyBytes: "true",
  RpcHttpTriggerMetadataRemoved: "true",
  RpcHttpBodyOnly: "true",
  IgnoreEmptyValuedRpcHttpHeaders: "true",
  UseNullableValueDictionaryForHttp: "true",
  WorkerStatus: "true",
  TypedDataCollection: "true",
  HandlesWorkerTerminateMessage: "true",
};

/** A registered function and the name of its trigger binding (the RPC input name). */
interface TriggerTarget {
  readonly fn: RegisteredFunction;
  readonly triggerName: string;
  /** HTTP triggers: the binding's authLevel; the Event Grid webhook is always system level. */
  readonly authLevel: AuthLevel;
}

interface TimerTarget {
  readonly fn: RegisteredFunction;
  readonly triggerName: string;
  readonly schedule: NCrontabSchedule;
  readonly runOnStartup: boolean;
}

interface IndexedApp {
  readonly routes: RouteEntry<TriggerTarget>[];
  readonly timers: TimerTarget[];
  readonly eventGrid: ReadonlyMap<string, TriggerTarget>;
  readonly infos: FunctionInfo[];
  readonly warnings: string[];
}

interface PackageJson {
  readonly main?: string;
  readonly type?: string;
}

type Logger = (record: LogRecord) => void;

let hostStarted = false;

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

function errorMessage(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

async function readTextIfExists(file: string): Promise<string | undefined> {
  try {
    return await readFile(file, "utf8");
  } catch (err) {
    if (isRecord(err) && err.code === "ENOENT") return undefined;
    throw err;
  }
}

async function readHostConfig(appDir: string): Promise<HostConfig> {
  const text = await readTextIfExists(path.join(appDir, "host.json"));
  return text === undefined ? DEFAULT_HOST_CONFIG : parseHostJson(text);
}

async function readPackageJson(appDir: string): Promise<PackageJson> {
  const file = path.join(appDir, "package.json");
  const text = await readTextIfExists(file);
  if (text === undefined) throw new Error(`No package.json in ${appDir}: the worker finds the app's entry point through its "main" field.`);
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (err) {
    throw new Error(`${file} is not valid JSON: ${errorMessage(err)}`);
  }
  if (!isRecord(json)) throw new Error(`${file} must contain a JSON object`);
  return {
    main: typeof json.main === "string" ? json.main : undefined,
    type: typeof json.type === "string" ? json.type : undefined,
  };
}

/** Same rule as the worker's loadScriptFile: .mjs, or "type": "module" except for .cjs, is ESM. */
function isESModule(file: string, pkg: PackageJson): boolean {
  if (file.endsWith(".mjs")) return true;
  if (file.endsWith(".cjs")) return false;
  return pkg.type === "module";
}

/** Expands `main` with fast-glob (the worker uses globby, which wraps it) and loads each file in order. */
async function loadEntryPoints(runtime: FunctionsCoreRuntime, appDir: string, pkg: PackageJson, logger: Logger): Promise<void> {
  const pattern = pkg.main;
  if (!pattern) throw new Error(`package.json in ${appDir} has no "main" field naming the entry point files.`);
  const files = await fg(pattern, { cwd: appDir });
  if (files.length === 0) {
    const reason = fg.isDynamicPattern(pattern) ? "Found zero files matching the supplied pattern" : "File does not exist";
    throw new Error(`Worker was unable to load entry point "${pattern}": ${reason}`);
  }
  const requireFromApp = createRequire(path.join(appDir, "package.json"));
  for (const file of files) {
    const absolute = path.join(appDir, file);
    logger({ level: "debug", category: "system", message: `Loading entry point file "${file}"` });
    runtime.currentEntryPoint = absolute;
    try {
      if (isESModule(absolute, pkg)) await import(pathToFileURL(absolute).href);
      else requireFromApp(absolute);
    } catch (err) {
      throw new Error(`Worker was unable to load entry point "${file}": ${errorMessage(err)}`, { cause: err });
    } finally {
      runtime.currentEntryPoint = undefined;
    }
  }
}

function findTrigger(fn: RegisteredFunction): [string, BindingInfo] {
  const triggers = Object.entries(fn.metadata.bindings).filter(([, b]) => typeof b.type === "string" && /trigger$/i.test(b.type));
  if (triggers.length !== 1) {
    throw new Error(`Function "${fn.metadata.name}" must have exactly one trigger binding, found ${triggers.length}.`);
  }
  return triggers[0];
}

function stringArray(value: unknown): string[] | undefined {
  return Array.isArray(value) && value.every((v): v is string => typeof v === "string") ? value : undefined;
}

/**
 * The app setting that disables a function, as the Functions host honours it: `AzureWebJobs.<name>.Disabled`
 * (or `AzureWebJobs__<name>__Disabled`, the form Linux environments allow) set to "true" or "1".
 */
export function disablingSetting(functionName: string, env: NodeJS.ProcessEnv): string | undefined {
  for (const setting of [`AzureWebJobs.${functionName}.Disabled`, `AzureWebJobs__${functionName}__Disabled`]) {
    const value = Object.entries(env).find(([key]) => key.toLowerCase() === setting.toLowerCase())?.[1];
    if (value !== undefined && /^(true|1)$/i.test(value.trim())) return setting;
  }
  return undefined;
}

/** Builds routes, timers and Event Grid targets from the registrations; invalid ones fail startup. */
function indexFunctions(functions: Iterable<RegisteredFunction>, routePrefix: string, env: NodeJS.ProcessEnv): IndexedApp {
  const routes: RouteEntry<TriggerTarget>[] = [];
  const timers: TimerTarget[] = [];
  const eventGrid = new Map<string, TriggerTarget>();
  const infos: FunctionInfo[] = [];
  const warnings: string[] = [];
  for (const fn of functions) {
    const name = fn.metadata.name;
    if (!FUNCTION_NAME.test(name)) {
      throw new Error(`"${name}" is not a valid function name: use letters, digits, "_" and "-", starting with a letter (max 128).`);
    }
    const disabledBy = disablingSetting(name, env);
    if (disabledBy !== undefined) {
      warnings.push(`Function "${name}" is disabled (${disabledBy}): not routed, scheduled or invoked.`);
      continue;
    }
    const [triggerName, trigger] = findTrigger(fn);
    const type = String(trigger.type).toLowerCase();
    const ignored = Object.entries(fn.metadata.bindings)
      .filter(([bindingName, b]) => bindingName !== triggerName && !(bindingName === "$return" && type === "httptrigger" && b.type === "http"))
      .map(([bindingName, b]) => `${bindingName} (${String(b.type)})`);
    if (ignored.length > 0) warnings.push(`Function "${name}": bindings ${ignored.join(", ")} are not provided by the local host and are ignored.`);

    if (type === "httptrigger") {
      const route = typeof trigger.route === "string" ? trigger.route : undefined;
      const declared = stringArray(trigger.methods)?.map((m) => m.toUpperCase());
      const methods = declared && declared.length > 0 ? declared : undefined;
      const templateText = buildRouteTemplate(routePrefix, route, name);
      let template: RouteTemplate;
      try {
        template = parseRouteTemplate(templateText);
      } catch (err) {
        throw new Error(`Function "${name}": ${errorMessage(err)}`, { cause: err });
      }
      routes.push({ functionName: name, route: template, methods, value: { fn, triggerName, authLevel: parseAuthLevel(trigger.authLevel) } });
      infos.push({ name, trigger: "http", route: templateText, methods });
    } else if (type === "timertrigger") {
      if (typeof trigger.schedule !== "string") throw new Error(`Function "${name}": the timer trigger has no schedule.`);
      let schedule: NCrontabSchedule;
      try {
        schedule = parseNCrontab(resolveAppSettingReferences(trigger.schedule, env));
      } catch (err) {
        throw new Error(`Function "${name}": ${errorMessage(err)}`, { cause: err });
      }
      timers.push({ fn, triggerName, schedule, runOnStartup: trigger.runOnStartup === true });
      infos.push({ name, trigger: "timer", schedule: schedule.expression });
    } else if (type === "eventgridtrigger") {
      eventGrid.set(name, { fn, triggerName, authLevel: "system" });
      infos.push({ name, trigger: "eventGrid" });
    } else {
      warnings.push(`Function "${name}": trigger type "${String(trigger.type)}" is not run by the local host.`);
      infos.push({ name, trigger: String(trigger.type) });
    }
  }
  return { routes: orderRoutes(routes), timers, eventGrid, infos, warnings };
}

/** Outcome of one invocation after logging. */
type ExecutionResult = { ok: true; response: RpcInvocationResponse } | { ok: false; error: unknown };

/**
 * Starts a local host for the app in `options.appDir`: provides `@azure/functions-core`, loads the app like the
 * Node worker (package.json `main` glob, appStart hooks, capabilities, registration lock), then serves HTTP
 * triggers, the Event Grid webhook and timer schedules. Rejects if startup fails. Only one host can run per
 * process, because the library keeps its registrations and setup in module-level state.
 */
export async function startHost(options: StartHostOptions): Promise<LocalHost> {
  if (hostStarted) {
    throw new Error("startHost can only be called once per process: @azure/functions keeps per-process state. Use a child process per app.");
  }
  const port = options.port ?? DEFAULT_PORT;
  if (!Number.isInteger(port) || port < 0 || port > 65535) throw new Error(`Invalid port ${String(options.port)}: use 0-65535.`);
  hostStarted = true;

  const appDir = path.resolve(options.appDir);
  const hostname = options.hostname ?? DEFAULT_HOSTNAME;
  const stdoutLines = options.log === undefined ? createBufferedLineWriter((text) => process.stdout.write(text)) : undefined;
  const sink = options.log ?? ((line: string) => stdoutLines?.line(line));
  const hostConfig = await readHostConfig(appDir);
  const logger: Logger = (record) => {
    if (shouldEmit(record, hostConfig.logThresholds)) sink(formatLogRecord(record, new Date()));
  };

  const runtime = installFunctionsCore();
  runtime.logSink = logger;
  const pkg = await readPackageJson(appDir);
  await loadEntryPoints(runtime, appDir, pkg, logger);

  const appStartContext = { functionAppDirectory: appDir };
  defineReadOnly(appStartContext, "hookData", runtime.appLevelOnlyHookData);
  defineReadOnly(appStartContext, "appHookData", runtime.appHookData);
  await runtime.executeHooks("appStart", appStartContext);

  const httpUri = await getHttpProxyUri(runtime);
  runtime.indexingLocked = true;

  const app = indexFunctions(runtime.functions.values(), hostConfig.routePrefix, process.env);
  for (const warning of app.warnings) logger({ level: "warning", category: "system", message: warning });
  if (runtime.functions.size === 0) {
    logger({ level: "warning", category: "system", message: "No functions were registered by the app." });
  }

  const server = new LocalServer(
    runtime,
    app,
    logger,
    hostname,
    httpUri,
    options.recordResponsesTo === undefined ? undefined : createResponseRecorder(options.recordResponsesTo),
    options.masterKey === "" ? undefined : options.masterKey,
  );
  const boundPort = await server.listen(port);
  server.startTimers(options.runTimersOnStartup);

  const url = `http://${formatAuthority(hostname, boundPort)}`;
  logger({ level: "information", category: "system", message: `Host started on ${url}${httpUri ? " (HTTP streaming enabled)" : ""}` });
  // Start-up lines come out before whatever the caller prints next (e.g. the CLI's "Host listening").
  stdoutLines?.flush();
  return {
    url,
    port: boundPort,
    functions: app.infos,
    close: () => server.close().finally(() => stdoutLines?.flush()),
  };
}

/**
 * Answers and closes the connection without reading (more of) the request body: whatever the client is
 * still sending is dropped with the socket instead of being read, so a refused upload costs nothing.
 */
function answerAndClose(req: http.IncomingMessage, res: http.ServerResponse, status: number, body = "", contentType?: string): void {
  closeAfterAnswer(req, res);
  sendSimple(res, status, body, contentType);
}

/**
 * The real host forwards a buffered request body only when `Content-Length > 0` (azure-functions-host
 * `ToRpcHttp`): a chunked body never reaches the function unless the app streams (HttpUri).
 */
function hasContentLengthBody(req: http.IncomingMessage): boolean {
  const declared = req.headers["content-length"];
  return declared !== undefined && Number(declared) > 0;
}

async function getHttpProxyUri(runtime: FunctionsCoreRuntime): Promise<string | undefined> {
  const model = runtime.programmingModel;
  if (!model?.getCapabilities) return undefined;
  const capabilities: unknown = await model.getCapabilities({ ...WORKER_CAPABILITIES });
  if (!isRecord(capabilities)) return undefined;
  return typeof capabilities.HttpUri === "string" ? capabilities.HttpUri : undefined;
}

/** The HTTP server, timers and invocation plumbing of one running host. */
class LocalServer {
  readonly #server: http.Server;
  readonly #inFlight = new Set<Promise<void>>();
  readonly #timers: TimerRunner[] = [];
  /**
   * Pooled connections to the library's proxy server, dropped after 1 s idle. The library's Node server closes a
   * connection idle for 5 s (keepAliveTimeout), and Node's agent expires pooled sockets on that same hint, so a
   * request could be written to a socket the server had just closed: ECONNRESET / "socket hang up", a 502 (seen
   * under load, ~1 in 500 requests). Both timers run on this process's one event loop, so a shorter idle limit
   * always wins whatever the load. (The real host's pool checks a connection is still open before reusing it.)
   */
  readonly #proxyAgent = new http.Agent({ keepAlive: true, timeout: 1_000 });
  /** Peer addresses of the connections behind running HTTP invocations, by invocation id. */
  readonly #clientAddresses = new Map<string, string>();
  #port = 0;
  #closing: Promise<void> | undefined;

  constructor(
    private readonly runtime: FunctionsCoreRuntime,
    private readonly app: IndexedApp,
    private readonly logger: Logger,
    private readonly hostname: string,
    private readonly httpUri: string | undefined,
    record?: (req: http.IncomingMessage, res: http.ServerResponse) => void,
    private readonly masterKey?: string,
  ) {
    const addresses = this.#clientAddresses;
    Object.defineProperty(globalThis, CLIENT_ADDRESS_LOOKUP, { value: (invocationId: string) => addresses.get(invocationId), configurable: true });
    this.#server = http.createServer((req, res) => {
      record?.(req, res);
      const work = this.#handle(req, res).catch((err: unknown) => {
        this.logger({ level: "error", category: "system", message: `Unhandled error while serving ${req.method} ${req.url}: ${describeError(err)}` });
        sendSimple(res, 500);
      });
      this.#inFlight.add(work);
      void work.finally(() => this.#inFlight.delete(work));
    });
    // Kestrel answers a client that half-closes after sending its request; Node's default would end the socket
    // at the client's FIN, before an asynchronously produced (invoked or proxied) response is written.
    Object.assign(this.#server, { httpAllowHalfOpen: true });
  }

  listen(port: number): Promise<number> {
    return new Promise((resolve, reject) => {
      const onError = (err: Error): void => {
        reject(new Error(`Cannot listen on ${formatAuthority(this.hostname, port)}: ${err.message}`, { cause: err }));
      };
      this.#server.once("error", onError);
      this.#server.listen(port, this.hostname, () => {
        this.#server.off("error", onError);
        const address = this.#server.address();
        this.#port = isRecord(address) && typeof address.port === "number" ? address.port : port;
        resolve(this.#port);
      });
    });
  }

  startTimers(runTimersOnStartup: boolean | undefined): void {
    for (const timer of this.app.timers) {
      const runner = new TimerRunner(
        timer.schedule,
        async (inputJson) => {
          await this.#execute(timer.fn, this.#request(timer.fn, timer.triggerName, { json: inputJson }), `Timer fired at ${new Date().toISOString()}`);
        },
        (err) => this.logger({ level: "error", category: "system", message: `Timer "${timer.fn.metadata.name}" failed: ${describeError(err)}` }),
      );
      this.#timers.push(runner);
      runner.start(runTimersOnStartup ?? timer.runOnStartup);
    }
  }

  close(): Promise<void> {
    this.#closing ??= this.#shutdown();
    return this.#closing;
  }

  async #shutdown(): Promise<void> {
    this.logger({ level: "information", category: "system", message: "Stopping host" });
    const serverClosed = new Promise<void>((resolve) => this.#server.close(() => resolve()));
    this.#server.closeIdleConnections();
    await Promise.all(this.#timers.map((t) => t.stop()));
    await settleWithin([...this.#inFlight], DRAIN_TIMEOUT_MS);
    let terminateError: unknown;
    try {
      const context = {};
      defineReadOnly(context, "hookData", this.runtime.appLevelOnlyHookData);
      defineReadOnly(context, "appHookData", this.runtime.appHookData);
      await this.runtime.executeHooks("appTerminate", context);
    } catch (err) {
      terminateError = err;
      this.logger({ level: "error", category: "system", message: `appTerminate hook failed: ${describeError(err)}` });
    }
    this.#server.closeAllConnections();
    await serverClosed;
    this.#proxyAgent.destroy();
    this.logger({ level: "information", category: "system", message: "Host stopped" });
    if (terminateError !== undefined) throw terminateError;
  }

  #request(fn: RegisteredFunction, triggerName: string, data: RpcTypedData, triggerMetadata: Record<string, RpcTypedData> = {}): RpcInvocationRequest {
    return { invocationId: randomUUID(), functionId: fn.id, inputData: [{ name: triggerName, data }], triggerMetadata };
  }

  /** Runs an invocation with Core Tools-style "Executing"/"Executed" lines; never throws. */
  async #execute(fn: RegisteredFunction, request: RpcInvocationRequest, reason: string): Promise<ExecutionResult> {
    const name = fn.metadata.name;
    const id = request.invocationId;
    this.logger({ level: "information", category: "system", functionName: name, invocationId: id, message: `Executing 'Functions.${name}' (Reason='${reason}', Id=${id})` });
    const started = performance.now();
    const took = (): string => `${Math.round(performance.now() - started)}ms`;
    try {
      const response = await runInvocation(this.runtime, fn, request);
      this.logger({ level: "information", category: "system", functionName: name, invocationId: id, message: `Executed 'Functions.${name}' (Succeeded, Id=${id}, Duration=${took()})` });
      return { ok: true, response };
    } catch (error) {
      this.logger({ level: "error", category: "system", functionName: name, invocationId: id, message: `Executed 'Functions.${name}' (Failed, Id=${id}, Duration=${took()})` });
      this.logger({ level: "error", category: "system", functionName: name, invocationId: id, message: `Exception while executing function: Functions.${name}: ${describeError(error)}` });
      return { ok: false, error };
    }
  }

  async #handle(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    const method = req.method ?? "GET";
    // Request-line checks Kestrel makes before routing (absolute-form targets, duplicate Host, HTTP version).
    const line = checkRequestLine(method, req.url ?? "/", req.httpVersion, req.rawHeaders);
    if (!line.ok) {
      req.resume();
      res.shouldKeepAlive = false;
      sendSimple(res, line.status);
      return;
    }
    const rawTarget = line.target;
    const queryIndex = rawTarget.indexOf("?");
    const rawPath = queryIndex >= 0 ? rawTarget.slice(0, queryIndex) : rawTarget;

    if (isEventGridWebhookPath(rawPath)) {
      await this.#handleEventGrid(req, res, method, rawTarget);
      return;
    }
    const match = selectRoute(this.app.routes, method, rawPath);
    if (!match) {
      req.resume();
      sendSimple(res, 404);
      return;
    }
    const { fn, triggerName, authLevel } = match.entry.value;
    if (!keyGateAllows(authLevel, this.masterKey, rawTarget, req.rawHeaders)) {
      answerAndClose(req, res, 401);
      return;
    }
    const headers = collectRequestHeaders(req.rawHeaders);
    const authority = requestAuthority(firstRawHeader(req.rawHeaders, "host"), formatAuthority(this.hostname, this.#port));
    if (this.httpUri) {
      const target = proxiedRequestTarget(rawTarget);
      await this.#handleStreaming(req, res, { fn, triggerName, method, url: `http://${authority}${target}`, authority, rawTarget: target, headers, params: match.params });
      return;
    }

    await this.#handleBuffered(req, res, { fn, triggerName, method, url: workerRequestUrl(authority, rawTarget), headers, params: match.params });
  }

  /** Non-streaming mode: the whole body goes in the RPC input and `returnValue.http` becomes the response. */
  async #handleBuffered(
    req: http.IncomingMessage,
    res: http.ServerResponse,
    call: { fn: RegisteredFunction; triggerName: string; method: string; url: string; headers: Record<string, string>; params: Record<string, string> },
  ): Promise<void> {
    const { fn, triggerName, method, url, headers, params } = call;
    let body: Buffer | undefined;
    try {
      // A body the real host would not forward (chunked) is not read at all: if it is still arriving when the
      // answer is written, the connection closes instead.
      if (hasContentLengthBody(req)) body = await readRequestBody(req, MAX_REQUEST_BODY_BYTES);
      else if (!req.complete) closeAfterAnswer(req, res);
    } catch (err) {
      if (isClientAbortError(err)) {
        // The body never arrived (client gone, or a framing error Node already answered with 400).
        res.destroy();
        return;
      }
      if (!(err instanceof BodyTooLargeError)) throw err;
      answerAndClose(req, res, 413);
      return;
    }
    const data: RpcTypedData = { http: toRpcHttpRequest(method, url, headers, params, body) };
    const request = this.#request(fn, triggerName, data);
    const outcome = await this.#withClientAddress(req, request.invocationId, () => this.#execute(fn, request, "This function was programmatically called via the host APIs."));
    if (!outcome.ok) {
      sendSimple(res, 500);
      return;
    }
    try {
      const wire = rpcHttpToWireResponse(outcome.response.returnValue);
      const flat: string[] = [];
      for (const [name, value] of wire.headers) flat.push(name, value);
      if (!isNullBodyStatus(wire.status)) flat.push("Content-Length", String(wire.body.length));
      // writeHead with a flat list keeps the header names' casing and repeated Set-Cookie lines.
      res.writeHead(wire.status, flat);
      res.end(method.toUpperCase() === "HEAD" ? undefined : wire.body);
    } catch (err) {
      this.logger({ level: "error", category: "system", functionName: fn.metadata.name, message: `Invalid HTTP response: ${describeError(err)}` });
      sendSimple(res, 500);
    }
  }

  /**
   * Streaming mode: the invocation gets its request from the library's own HTTP server (HttpUri), so the
   * original request is proxied there with x-ms-invocation-id and the X-Forwarded headers, and the library's
   * response is relayed back to the client.
   */
  async #handleStreaming(
    req: http.IncomingMessage,
    res: http.ServerResponse,
    call: {
      fn: RegisteredFunction;
      triggerName: string;
      method: string;
      url: string;
      authority: string;
      rawTarget: string;
      headers: Record<string, string>;
      params: Record<string, string>;
    },
  ): Promise<void> {
    const { fn, triggerName, method, url, authority, rawTarget, headers, params } = call;
    const invocationId = randomUUID();
    let query: Record<string, string> = {};
    try {
      query = Object.fromEntries(new URL(url).searchParams);
    } catch {
      // An unparsable URL fails inside the library too; the metadata query is informational only.
    }
    const request: RpcInvocationRequest = {
      invocationId,
      functionId: fn.id,
      inputData: [{ name: triggerName, data: { http: { method, url, headers, params } } }],
      triggerMetadata: streamingTriggerMetadata(headers, params, query),
    };
    const proxy = proxyToLibrary(req, res, {
      httpUri: this.httpUri ?? "",
      agent: this.#proxyAgent,
      invocationId,
      authority,
      rawTarget,
      onError: (message) => this.logger({ level: "error", category: "system", functionName: fn.metadata.name, invocationId, message }),
    });
    const execution = this.#withClientAddress(req, invocationId, () => this.#execute(fn, request, "This function was programmatically called via the host APIs."));
    // If the proxied request never reaches the library, the invocation waits for it forever: answer the client
    // (the proxy error handler already did) and leave the orphaned invocation behind.
    const first = await Promise.race([execution, proxy.failed.then(() => undefined)]);
    if (first === undefined) return;
    const outcome = first;
    if (!outcome.ok) {
      proxy.abort();
      sendSimple(res, 500);
      return;
    }
    // Settled by the first of: the library's answer, the end of the exchange (client gone or a 502 already
    // sent), or the activity timeout. A plain timer, cleared when it loses: a cancelled timers/promises
    // sleep cost every request an AbortController, a listener and an AbortError (a DOMException with a
    // stack trace), a measurable share of the host's CPU under load.
    let idle: NodeJS.Timeout | undefined;
    const timedOut = new Promise<boolean>((resolve) => {
      idle = setTimeout(resolve, PROXY_ACTIVITY_TIMEOUT_MS, false).unref();
    });
    const answered = await Promise.race([proxy.responseStarted.then(() => true), proxy.done.then(() => true), timedOut]);
    clearTimeout(idle);
    if (!answered) {
      // The library never answered (a handler that returned nothing): YARP's RequestTimedOut.
      proxy.abort();
      sendSimple(res, 504);
      return;
    }
    await proxy.done;
  }

  async #handleEventGrid(req: http.IncomingMessage, res: http.ServerResponse, method: string, rawTarget: string): Promise<void> {
    const functionName = new URL(rawTarget, "http://localhost").searchParams.get("functionName") ?? "";
    const target = this.app.eventGrid.get(functionName);
    if (!target) {
      req.resume();
      sendSimple(res, 404, `cannot find function: '${functionName}'`, "text/plain; charset=utf-8");
      return;
    }
    if (!keyGateAllows(target.authLevel, this.masterKey, rawTarget, req.rawHeaders)) {
      answerAndClose(req, res, 401);
      return;
    }
    const action = classifyEventGridRequest(method, firstRawHeader(req.rawHeaders, "aeg-event-type"));
    if (action === "abuseProtection") {
      req.resume();
      const origin = allowedWebhookOrigin(firstRawHeader(req.rawHeaders, "webhook-request-origin"));
      sendSimple(res, 200, "", undefined, [["WebHook-Allowed-Origin", origin]]);
      return;
    }
    if (action === "badRequest" || action === "unsubscribe") {
      req.resume();
      sendSimple(res, action === "badRequest" ? 400 : 202);
      return;
    }

    let body: unknown;
    try {
      const text = (await readRequestBody(req, MAX_REQUEST_BODY_BYTES)).toString("utf8");
      if (jsonNestsDeeperThan(text, MAX_EVENT_JSON_DEPTH)) {
        sendSimple(res, 400, "The request content should be parseable into a JSON object or array.", "text/plain; charset=utf-8");
        return;
      }
      body = JSON.parse(text);
    } catch (err) {
      if (err instanceof BodyTooLargeError) {
        answerAndClose(req, res, 413, "The request content should be parseable into a JSON object or array.", "text/plain; charset=utf-8");
        return;
      }
      if (isClientAbortError(err)) {
        res.destroy();
        return;
      }
      req.resume();
      sendSimple(res, 400, "The request content should be parseable into a JSON object or array.", "text/plain; charset=utf-8");
      return;
    }

    if (action === "validation") {
      const code = extractValidationCode(body);
      if (code === undefined) {
        sendSimple(res, 400, "The subscription validation event has no data.validationCode.", "text/plain; charset=utf-8");
        return;
      }
      this.logger({ level: "information", category: "system", message: `perform handshake with eventGrid for function: ${functionName}` });
      // The Event Grid extension writes the JSON as a plain string result: text/plain, as parity with the real host shows.
      sendSimple(res, 200, JSON.stringify({ validationResponse: code }), "text/plain; charset=utf-8");
      return;
    }

    const events = toEventList(body);
    if (!events) {
      sendSimple(res, 400, "The request content should be parseable into a JSON object or array.", "text/plain; charset=utf-8");
      return;
    }
    // The extension runs one invocation per event, all in parallel, and fails the batch if any failed.
    const outcomes = await Promise.all(
      events.map((event) =>
        this.#execute(target.fn, this.#eventGridRequest(target, event), `EventGrid trigger fired at ${new Date().toISOString()}`),
      ),
    );
    const status = notificationStatus(outcomes.map((o) => o.ok));
    if (status === 202) sendSimple(res, 202);
    else sendSimple(res, 500, `Exception while executing function: Functions.${functionName}`, "text/plain; charset=utf-8");
  }

  /** Publishes the connection's peer address (see {@link CLIENT_ADDRESS_LOOKUP}) while `run` runs. */
  async #withClientAddress<T>(req: http.IncomingMessage, invocationId: string, run: () => Promise<T>): Promise<T> {
    const address = req.socket.remoteAddress;
    if (address !== undefined) this.#clientAddresses.set(invocationId, address);
    try {
      return await run();
    } finally {
      this.#clientAddresses.delete(invocationId);
    }
  }

  #eventGridRequest(target: TriggerTarget, event: unknown): RpcInvocationRequest {
    const data = isRecord(event) ? event.data : undefined;
    return this.#request(target.fn, target.triggerName, { json: JSON.stringify(event) }, {
      data: { json: JSON.stringify(data ?? null) },
      sys: { json: JSON.stringify({ MethodName: target.fn.metadata.name, UtcNow: new Date().toISOString(), RandGuid: randomUUID() }) },
    });
  }
}
