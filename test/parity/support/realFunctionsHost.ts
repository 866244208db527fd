/**
 * @module A small stand-in for azure-functions-host that drives the REAL Node.js worker over gRPC:
 * `workerInitRequest` → `functionsMetadataRequest` → `functionLoadRequest` per function →
 * `invocationRequest`, with HTTP, Event Grid and timer input shaped as the real host shapes them (see
 * hostRules.ts and the README of ../shared/functions-worker). gRPC comes from the worker's own
 * installed copies of @grpc/grpc-js and @grpc/proto-loader, so the wire format is the worker's.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { randomUUID } from "node:crypto";
import { readFileSync } from "node:fs";
import * as http from "node:http";
import { createRequire } from "node:module";
import * as path from "node:path";
import { fullTemplate, firstMatch, foldHeaders, foldQuery, kestrelDecodePath, orderRoutes, pathToUriComponent, yarpEncodePath } from "./hostRules";

// ---- The slice of the worker's RPC messages this host uses (proto-loader objects, camelCase). ----

interface NullableString {
  value?: string;
}
/** `TypedData`: exactly one field set. */
export interface TypedData {
  string?: string;
  json?: string;
  bytes?: Uint8Array;
  http?: RpcHttp;
  int?: unknown;
  double?: number;
}
interface RpcHttp {
  method?: string;
  url?: string;
  headers?: Record<string, string>;
  body?: TypedData;
  statusCode?: string;
  cookies?: RpcCookie[];
  nullableHeaders?: Record<string, NullableString>;
  nullableParams?: Record<string, NullableString>;
  nullableQuery?: Record<string, NullableString>;
}
interface RpcCookie {
  name?: string;
  value?: string;
}
interface StatusResult {
  status?: number;
  exception?: { message?: string; stackTrace?: string };
}
interface RpcFunctionMetadata {
  name?: string;
  functionId?: string;
  rawBindings?: string[];
  bindings?: Record<string, unknown>;
  [key: string]: unknown;
}
interface StreamingMessage {
  requestId?: string;
  content?: string;
  startStream?: { workerId?: string };
  workerInitResponse?: { result?: StatusResult; capabilities?: Record<string, string> };
  functionMetadataResponse?: { result?: StatusResult; functionMetadataResults?: RpcFunctionMetadata[]; useDefaultMetadataIndexing?: boolean };
  functionLoadResponse?: { result?: StatusResult; functionId?: string };
  invocationResponse?: { result?: StatusResult; invocationId?: string; returnValue?: TypedData };
  rpcLog?: { level?: number; message?: string; logCategory?: number; invocationId?: string; exception?: { message?: string } };
  [key: string]: unknown;
}
interface DuplexCall {
  on(event: "data", listener: (message: StreamingMessage) => void): void;
  on(event: "end" | "error", listener: (arg?: unknown) => void): void;
  write(message: Record<string, unknown>): boolean;
  end(): void;
}
interface GrpcServer {
  addService(service: unknown, implementation: Record<string, (call: DuplexCall) => void>): void;
  bindAsync(address: string, credentials: unknown, callback: (error: Error | null, port: number) => void): void;
  tryShutdown(callback: (error?: Error) => void): void;
  forceShutdown(): void;
}
interface GrpcModule {
  Server: new (options?: Record<string, unknown>) => GrpcServer;
  ServerCredentials: { createInsecure(): unknown };
}
interface ProtoLoaderModule {
  fromJSON(json: unknown, options: Record<string, unknown>): Record<string, unknown>;
}

const SUCCESS = 1;
/** `RpcLog.Level` names by value. */
const LEVELS = ["Trace", "Debug", "Information", "Warning", "Error", "Critical", "None"];
/** Kestrel / host default body limit (`DefaultMaxRequestBodySize`). */
const MAX_BODY_BYTES = 100 * 1024 * 1024;
const HOP_BY_HOP = new Set(["connection", "keep-alive", "proxy-authenticate", "proxy-authorization", "te", "trailer", "transfer-encoding", "upgrade", "host"]);

/** A function the worker indexed, with its trigger. */
export interface WorkerFunction {
  id: string;
  name: string;
  triggerType: string;
  triggerBinding: string;
  route?: string;
  methods?: string[];
  schedule?: string;
  runOnStartup?: boolean;
}

/** The outcome of one invocation. */
export interface InvocationOutcome {
  ok: boolean;
  error?: string;
  returnValue?: TypedData;
}

/** How start-up went; a failed stage leaves the host without functions, as in Azure. */
export interface StartupReport {
  /** "worker" when the app registered functions itself; "host" when the worker fell back to function.json indexing. */
  indexing: "worker" | "host" | "none";
  /** The first failed stage and the worker's error message. */
  failure?: { stage: "workerInit" | "functionsMetadata" | "functionLoad"; message: string };
  capabilities: Record<string, string>;
}

/** One served HTTP request. */
export interface ServedRequest {
  method: string;
  target: string;
  functionName: string | undefined;
}

/** A running host + worker. */
export interface RealFunctionsHost {
  /** `http://127.0.0.1:<port>` of the host's HTTP front end. */
  url: string;
  startup: StartupReport;
  /** Indexed functions, ordered by name as the host orders them. */
  functions: WorkerFunction[];
  /** Requests served so far, in order, with the function that took each one. */
  served: ServedRequest[];
  /** Outcomes of timers run at start-up (`runOnStartup`). */
  startupTimers: Array<{ functionName: string; outcome: InvocationOutcome }>;
  /** Sends an invocation of a timer function with the host's TimerInfo JSON. */
  runTimer(functionName: string): Promise<InvocationOutcome>;
  /** Everything the worker printed and logged over RPC. */
  output(): string;
  stop(): Promise<void>;
}

/** What to run. */
export interface RealFunctionsHostOptions {
  /** Installed worker folder (see workerInstall.ts). */
  workerDir: string;
  /** The function app folder (package.json `main`, host.json). */
  appDir: string;
  /** App settings (the worker's environment, on top of this process's). */
  env: Record<string, string>;
  /** How long each start-up stage may take; default 60 s (a loaded 2-core machine). */
  stageTimeoutInMs?: number;
}

interface HttpTarget {
  fn: WorkerFunction;
}

/**
 * Starts the gRPC server and the worker, runs the start-up handshake, and serves HTTP requests and
 * Event Grid deliveries on a free loopback port. Start-up failures are reported, not thrown.
 * @throws Error when the worker never connects or a stage times out (with the worker's output)
 */
export async function startRealFunctionsHost(options: RealFunctionsHostOptions): Promise<RealFunctionsHost> {
  const workerRequire = createRequire(path.join(options.workerDir, "package.json"));
  const grpc = workerRequire("@grpc/grpc-js") as GrpcModule;
  const loader = workerRequire("@grpc/proto-loader") as ProtoLoaderModule;
  const rpcJson: unknown = workerRequire(path.join(options.workerDir, "azure-functions-language-worker-protobuf", "src", "rpc.js"));
  const definition = loader.fromJSON(rpcJson, { objects: true, defaults: true, oneofs: true });
  const service = definition["AzureFunctionsRpcMessages.FunctionRpc"];
  const timeout = options.stageTimeoutInMs ?? 60_000;

  let output = "";
  const append = (line: string): void => {
    output += line.endsWith("\n") ? line : `${line}\n`;
  };
  const waiters = new Map<string, (message: StreamingMessage) => void>();
  let call: DuplexCall | undefined;
  let connected: (c: DuplexCall) => void = () => {};
  const connection = new Promise<DuplexCall>((resolve) => (connected = resolve));

  const onMessage = (message: StreamingMessage): void => {
    if (message.rpcLog !== undefined) {
      const log = message.rpcLog;
      append(`[worker ${LEVELS[log.level ?? 2] ?? "?"}] ${log.message ?? ""}${log.exception?.message ? ` (${log.exception.message})` : ""}`);
      return;
    }
    const key =
      message.invocationResponse !== undefined
        ? `invocation:${message.invocationResponse.invocationId ?? ""}`
        : message.functionLoadResponse !== undefined
          ? `load:${message.functionLoadResponse.functionId ?? ""}`
          : (message.content ?? "");
    const waiter = waiters.get(key);
    if (waiter !== undefined) {
      waiters.delete(key);
      waiter(message);
    }
  };

  const server = new grpc.Server({ "grpc.max_receive_message_length": 2147483647, "grpc.max_send_message_length": 2147483647 });
  server.addService(service, {
    EventStream: (c: DuplexCall) => {
      call = c;
      c.on("data", onMessage);
      c.on("error", () => {});
      connected(c);
    },
  });
  const grpcPort = await new Promise<number>((resolve, reject) => server.bindAsync("127.0.0.1:0", grpc.ServerCredentials.createInsecure(), (e, port) => (e ? reject(e) : resolve(port))));

  const worker: ChildProcess = spawn(
    process.execPath,
    [path.join(options.workerDir, "src", "nodejsWorker.js"), "--functions-uri", `http://127.0.0.1:${grpcPort}`, "--functions-worker-id", "w1", "--functions-request-id", "r1", "--functions-grpc-max-message-length", "2147483647"],
    { cwd: options.appDir, env: { ...process.env, FUNCTIONS_WORKER_RUNTIME: "node", AzureWebJobsScriptRoot: options.appDir, ...options.env }, stdio: ["ignore", "pipe", "pipe"] },
  );
  worker.stdout?.on("data", (d: Buffer) => append(d.toString("utf8")));
  worker.stderr?.on("data", (d: Buffer) => append(d.toString("utf8")));
  const exited = new Promise<void>((resolve) => worker.once("exit", (code) => (append(`[worker exited with code ${code ?? "signal"}]`), resolve())));

  const expect = (key: string, stage: string): Promise<StreamingMessage> =>
    new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        waiters.delete(key);
        reject(new Error(`the worker did not answer ${stage} within ${timeout} ms:\n${output}`));
      }, timeout);
      waiters.set(key, (m) => {
        clearTimeout(timer);
        resolve(m);
      });
      void exited.then(() => {
        if (!waiters.has(key)) return;
        waiters.delete(key);
        clearTimeout(timer);
        reject(new Error(`the worker exited while waiting for ${stage}:\n${output}`));
      });
    });
  const send = (message: Record<string, unknown>): void => {
    if (call === undefined) throw new Error("the worker is not connected");
    call.write({ requestId: randomUUID(), ...message });
  };

  let httpServer: http.Server | undefined;
  // SocketsHttpHandler keeps its connections to the worker open (HTTP/1.1 persistent, no Connection: close).
  const proxyAgent = new http.Agent({ keepAlive: true });
  const stop = async (): Promise<void> => {
    if (httpServer !== undefined) {
      const s = httpServer;
      await new Promise<void>((resolve) => {
        s.close(() => resolve());
        s.closeAllConnections();
      });
    }
    proxyAgent.destroy();
    if (worker.exitCode === null && worker.signalCode === null) {
      try {
        send({ workerTerminate: { gracePeriod: { seconds: 1 } } });
      } catch {
        // Not connected: killing is all that is left.
      }
      const kill = setTimeout(() => worker.kill("SIGKILL"), 3_000);
      const term = setTimeout(() => worker.kill("SIGTERM"), 1_500);
      await exited;
      clearTimeout(kill);
      clearTimeout(term);
    }
    call?.end();
    await new Promise<void>((resolve) => {
      const force = setTimeout(() => {
        server.forceShutdown();
        resolve();
      }, 2_000);
      server.tryShutdown(() => {
        clearTimeout(force);
        resolve();
      });
    });
  };

  try {
    await Promise.race([
      connection,
      new Promise((_, reject) => setTimeout(() => reject(new Error(`the worker did not connect within ${timeout} ms:\n${output}`)), timeout)),
      exited.then(() => Promise.reject(new Error(`the worker exited before connecting:\n${output}`))),
    ]);
    const startup: StartupReport = { indexing: "none", capabilities: {} };
    const functions: WorkerFunction[] = [];

    const init = expect("workerInitResponse", "workerInitRequest");
    send({ workerInitRequest: { hostVersion: "4.1040.100", functionAppDirectory: options.appDir, workerDirectory: options.workerDir, capabilities: {}, logCategories: {} } });
    const initResponse = (await init).workerInitResponse;
    startup.capabilities = { ...(initResponse?.capabilities ?? {}) };
    if (initResponse?.result?.status !== SUCCESS) {
      startup.failure = { stage: "workerInit", message: initResponse?.result?.exception?.message ?? "unknown failure" };
    } else {
      const metadata = expect("functionMetadataResponse", "functionsMetadataRequest");
      send({ functionsMetadataRequest: { functionAppDirectory: options.appDir } });
      const metadataResponse = (await metadata).functionMetadataResponse;
      if (metadataResponse?.result?.status !== SUCCESS) {
        startup.failure = { stage: "functionsMetadata", message: metadataResponse?.result?.exception?.message ?? "unknown failure" };
      } else if (metadataResponse.useDefaultMetadataIndexing === true) {
        // The host would look for function.json folders; a v4 app has none, so it runs with 0 functions.
        startup.indexing = "host";
      } else {
        startup.indexing = "worker";
        for (const meta of metadataResponse.functionMetadataResults ?? []) {
          const fn = describeFunction(meta);
          const loaded = expect(`load:${fn.id}`, `functionLoadRequest(${fn.name})`);
          send({ functionLoadRequest: { functionId: fn.id, metadata: meta } });
          const loadResponse = (await loaded).functionLoadResponse;
          if (loadResponse?.result?.status !== SUCCESS) {
            startup.failure ??= { stage: "functionLoad", message: loadResponse?.result?.exception?.message ?? "unknown failure" };
            continue;
          }
          functions.push(fn);
        }
      }
    }
    functions.sort((a, b) => (a.name.toUpperCase() < b.name.toUpperCase() ? -1 : a.name.toUpperCase() > b.name.toUpperCase() ? 1 : 0));

    const invoke = async (fn: WorkerFunction, data: TypedData, triggerMetadata: Record<string, TypedData> = {}, invocationId: string = randomUUID()): Promise<InvocationOutcome> => {
      const answer = expect(`invocation:${invocationId}`, `invocationRequest(${fn.name})`);
      send({ invocationRequest: { invocationId, functionId: fn.id, inputData: [{ name: fn.triggerBinding, data }], triggerMetadata } });
      const response = (await answer).invocationResponse;
      if (response?.result?.status === SUCCESS) return { ok: true, returnValue: response.returnValue };
      return { ok: false, error: response?.result?.exception?.message ?? "unknown failure" };
    };

    const routePrefix = readRoutePrefix(options.appDir);
    const routes = orderRoutes<HttpTarget>(
      functions
        .filter((f) => f.triggerType === "httptrigger")
        .map((fn) => ({ functionName: fn.name, template: fullTemplate(routePrefix, fn.route, fn.name), methods: (fn.methods ?? []).map((m) => m.toUpperCase()), value: { fn } })),
    );
    const served: ServedRequest[] = [];
    const streaming = typeof startup.capabilities.HttpUri === "string" && startup.capabilities.HttpUri !== "";
    const front = http.createServer((req, res) => {
      void serve(req, res).catch((e: unknown) => {
        append(`[host] error serving ${req.method} ${req.url}: ${e instanceof Error ? e.stack : String(e)}`);
        if (!res.headersSent) res.writeHead(500).end();
        else res.destroy();
      });
    });
    httpServer = front;

    const serve = async (req: http.IncomingMessage, res: http.ServerResponse): Promise<void> => {
      const method = (req.method ?? "GET").toUpperCase();
      const target = req.url ?? "/";
      const q = target.indexOf("?");
      const rawPath = q >= 0 ? target.slice(0, q) : target;
      const rawQuery = q >= 0 ? target.slice(q) : "";
      if (rawPath.toLowerCase().replace(/\/$/, "") === "/runtime/webhooks/eventgrid") {
        await serveEventGrid(req, res, new URLSearchParams(rawQuery).get("functionName") ?? "");
        return;
      }
      const decodedPath = kestrelDecodePath(rawPath);
      const match = firstMatch(routes, method, decodedPath);
      served.push({ method, target, functionName: match?.route.functionName });
      if (match === undefined) {
        req.resume();
        res.writeHead(404, { "content-length": "0" }).end();
        return;
      }
      const headers = foldHeaders(req.rawHeaders);
      const hostHeader = headers.host ?? `127.0.0.1:${(front.address() as { port: number }).port}`;
      // Buffered: the RpcHttp url is built with PathString.ToUriComponent; streaming: YARP's EncodePath.
      const url = `http://${hostHeader}${streaming ? yarpEncodePath(decodedPath) : pathToUriComponent(decodedPath)}${rawQuery}`;
      const declaredLength = Number(headers["content-length"] ?? "0");
      if (declaredLength > MAX_BODY_BYTES) {
        req.resume();
        res.writeHead(413, { "content-length": "0", connection: "close" }).end();
        return;
      }
      if (streaming) await serveStreaming(req, res, match.route.value.fn, { url, rawQuery, headers, params: match.params });
      else await serveBuffered(req, res, match.route.value.fn, { method, url, rawQuery, headers, params: match.params, declaredLength });
    };

    const serveBuffered = async (
      req: http.IncomingMessage,
      res: http.ServerResponse,
      fn: WorkerFunction,
      r: { method: string; url: string; rawQuery: string; headers: Record<string, string>; params: Record<string, string>; declaredLength: number },
    ): Promise<void> => {
      const body = await readAll(req);
      const rpc: RpcHttp = {
        method: r.method,
        url: r.url,
        nullableHeaders: nullable(r.headers),
        nullableQuery: nullable(foldQuery(r.rawQuery)),
        nullableParams: nullable(r.params),
      };
      // ToRpcHttp: only a request that declares Content-Length > 0 has a body (a chunked one arrives empty).
      if (r.declaredLength > 0) rpc.body = { bytes: body };
      const outcome = await invoke(fn, { http: rpc });
      if (!outcome.ok) {
        append(`[host] Executed 'Functions.${fn.name}' (Failed): ${outcome.error ?? ""}`);
        res.writeHead(500, { "content-length": "0" }).end();
        return;
      }
      const out = outcome.returnValue?.http;
      const status = out?.statusCode ? Number(out.statusCode) : 200;
      const responseBody = typedBytes(out?.body);
      const flat: string[] = [];
      for (const [name, value] of Object.entries(out?.headers ?? {})) if (!["content-length", "transfer-encoding"].includes(name.toLowerCase())) flat.push(name, value);
      for (const cookie of out?.cookies ?? []) if (cookie.name) flat.push("set-cookie", `${cookie.name}=${cookie.value ?? ""}`);
      const nullBody = status === 204 || status === 304 || (status >= 100 && status < 200);
      if (!nullBody) flat.push("content-length", String(responseBody.length));
      res.writeHead(status, flat);
      res.end(nullBody || r.method === "HEAD" ? undefined : responseBody);
    };

    const serveStreaming = async (
      req: http.IncomingMessage,
      res: http.ServerResponse,
      fn: WorkerFunction,
      r: { url: string; rawQuery: string; headers: Record<string, string>; params: Record<string, string> },
    ): Promise<void> => {
      const invocationId = randomUUID();
      // The host keeps the gRPC message minimal and sends headers, query and route values as binding data.
      const triggerMetadata: Record<string, TypedData> = { Headers: { json: JSON.stringify(r.headers) }, Query: { json: JSON.stringify(foldQuery(r.rawQuery)) } };
      for (const [name, value] of Object.entries(r.params)) triggerMetadata[name] = { string: value };
      const invocation = invoke(fn, { http: {} }, triggerMetadata, invocationId);
      const base = new URL(startup.capabilities.HttpUri ?? "");
      // The proxy addresses the worker's server (Host is the destination, as YARP does by default).
      const forwarded: string[] = ["host", base.host];
      for (let i = 0; i + 1 < req.rawHeaders.length; i += 2) {
        const name = req.rawHeaders[i] ?? "";
        if (!HOP_BY_HOP.has(name.toLowerCase())) forwarded.push(name, req.rawHeaders[i + 1] ?? "");
      }
      const urlInfo = new URL(r.url);
      forwarded.push("x-ms-invocation-id", invocationId, "x-forwarded-host", urlInfo.host, "x-forwarded-proto", "http");
      const chunked = req.headers["content-length"] === undefined && req.headers["transfer-encoding"] !== undefined;
      if (chunked) forwarded.push("transfer-encoding", "chunked");
      // YARP's HttpClient (SocketsHttpHandler) reads the worker's answer only once the whole request body is
      // sent, and fails the forwarding when the upload fails, even if an answer had arrived (dotnet/runtime
      // #119350); the host then fails the invocation ("Failed to proxy request with ForwarderError:
      // RequestBodyDestination") and the client gets a 500. Its pooled connections are persistent.
      const proxied = new Promise<boolean>((resolve) => {
        let uploaded = false;
        let answer: http.IncomingMessage | undefined;
        const relay = (): void => {
          if (answer === undefined || !uploaded || res.headersSent) return;
          const proxyRes = answer;
          const flat: string[] = [];
          for (let i = 0; i + 1 < proxyRes.rawHeaders.length; i += 2) {
            const name = proxyRes.rawHeaders[i] ?? "";
            if (!["connection", "keep-alive", "transfer-encoding", "x-ms-invocation-id"].includes(name.toLowerCase())) flat.push(name, proxyRes.rawHeaders[i + 1] ?? "");
          }
          res.writeHead(proxyRes.statusCode ?? 502, flat);
          proxyRes.pipe(res);
          proxyRes.once("end", () => resolve(true));
          proxyRes.once("error", () => (res.destroy(), resolve(true)));
        };
        const upstream = http.request(
          { host: base.hostname === "localhost" ? "127.0.0.1" : base.hostname, port: base.port, method: req.method, path: `${urlInfo.pathname}${urlInfo.search}`, headers: forwarded, agent: proxyAgent },
          (proxyRes) => {
            answer = proxyRes;
            relay();
          },
        );
        upstream.once("finish", () => {
          uploaded = true;
          relay();
        });
        upstream.once("error", (e) => {
          if (res.headersSent) return;
          req.removeAllListeners("data");
          req.resume();
          append(`[host] Failed to proxy request with ForwarderError: ${uploaded ? "Request" : "RequestBodyDestination"} (${e.message})`);
          resolve(false);
        });
        pump(req, upstream);
      });
      const outcome = await Promise.race([invocation, proxied.then(() => undefined)]);
      if (outcome !== undefined && !outcome.ok) {
        append(`[host] Executed 'Functions.${fn.name}' (Failed): ${outcome.error ?? ""}`);
        if (!res.headersSent) res.writeHead(500, { "content-length": "0" }).end();
        return;
      }
      if (!(await proxied)) {
        // EnsureSuccessfulForwardingAsync turns a forwarding error into a failed invocation: 500.
        append(`[host] Executed 'Functions.${fn.name}' (Failed): the forwarding to the worker failed`);
        if (!res.headersSent) res.writeHead(500, { "content-length": "0" }).end();
        return;
      }
      const finished = await invocation;
      if (!finished.ok) append(`[host] Executed 'Functions.${fn.name}' (Failed): ${finished.error ?? ""}`);
    };

    const serveEventGrid = async (req: http.IncomingMessage, res: http.ServerResponse, functionName: string): Promise<void> => {
      const fn = functions.find((f) => f.name.toLowerCase() === functionName.toLowerCase() && f.triggerType === "eventgridtrigger");
      const kind = String(req.headers["aeg-event-type"] ?? "").toLowerCase();
      // Only a notification invokes the function; the handshake and bad requests are the extension's own answers.
      served.push({ method: req.method ?? "POST", target: req.url ?? "", functionName: kind === "notification" ? fn?.name : undefined });
      const body = await readAll(req);
      if (fn === undefined) {
        res.writeHead(404, { "content-type": "text/plain" }).end(`cannot find function: '${functionName}'`);
        return;
      }
      let parsed: unknown;
      try {
        parsed = JSON.parse(body.toString("utf8"));
      } catch {
        res.writeHead(400).end();
        return;
      }
      const events = Array.isArray(parsed) ? parsed : [parsed];
      if (kind === "subscriptionvalidation") {
        const first = events[0] as { data?: { validationCode?: string } } | undefined;
        // HttpRequestProcessor answers with a StringContent: text/plain; charset=utf-8.
        res.writeHead(200, { "content-type": "text/plain; charset=utf-8" }).end(JSON.stringify({ validationResponse: first?.data?.validationCode }));
        return;
      }
      if (kind !== "notification") {
        res.writeHead(kind === "unsubscribe" ? 202 : 400).end();
        return;
      }
      // One invocation per event; the event arrives as a JSON string.
      const outcomes = await Promise.all(
        events.map((event: unknown) => {
          const data = typeof event === "object" && event !== null && "data" in event ? (event as { data: unknown }).data : null;
          return invoke(fn, { string: JSON.stringify(event) }, {
            data: { json: JSON.stringify(data ?? null) },
            sys: { json: JSON.stringify({ MethodName: fn.name, UtcNow: new Date().toISOString(), RandGuid: randomUUID() }) },
          });
        }),
      );
      for (const o of outcomes) if (!o.ok) append(`[host] Executed 'Functions.${fn.name}' (Failed): ${o.error ?? ""}`);
      res.writeHead(outcomes.every((o) => o.ok) ? 202 : 500).end();
    };

    await new Promise<void>((resolve) => front.listen(0, "127.0.0.1", () => resolve()));
    const port = (front.address() as { port: number }).port;

    const runTimer = (name: string): Promise<InvocationOutcome> => {
      const fn = functions.find((f) => f.name === name && f.triggerType === "timertrigger");
      if (fn === undefined) return Promise.resolve({ ok: false, error: `no timer function "${name}" is indexed` });
      return invoke(fn, { json: JSON.stringify({ Schedule: { AdjustForDST: true }, ScheduleStatus: null, IsPastDue: false }) });
    };
    const startupTimers: RealFunctionsHost["startupTimers"] = [];
    for (const fn of functions) if (fn.triggerType === "timertrigger" && fn.runOnStartup === true) startupTimers.push({ functionName: fn.name, outcome: await runTimer(fn.name) });

    return { url: `http://127.0.0.1:${port}`, startup, functions, served, startupTimers, runTimer, output: () => output, stop };
  } catch (e) {
    await stop();
    throw e;
  }
}

/** The trigger of a worker-indexed function, from its `rawBindings` (what the real host reads). */
function describeFunction(meta: RpcFunctionMetadata): WorkerFunction {
  const name = meta.name ?? "";
  const bindings = (meta.rawBindings ?? []).map((raw) => JSON.parse(raw) as Record<string, unknown>);
  const trigger = bindings.find((b) => typeof b.type === "string" && /trigger$/i.test(b.type));
  if (trigger === undefined) throw new Error(`function "${name}" has no trigger binding`);
  return {
    id: meta.functionId ?? name,
    name,
    triggerType: String(trigger.type).toLowerCase(),
    triggerBinding: String(trigger.name),
    route: typeof trigger.route === "string" ? trigger.route : undefined,
    methods: Array.isArray(trigger.methods) ? trigger.methods.map(String) : undefined,
    schedule: typeof trigger.schedule === "string" ? trigger.schedule : undefined,
    runOnStartup: trigger.runOnStartup === true,
  };
}

function readRoutePrefix(appDir: string): string {
  try {
    const hostJson = JSON.parse(readFileSync(path.join(appDir, "host.json"), "utf8")) as { extensions?: { http?: { routePrefix?: unknown } } };
    const prefix = hostJson.extensions?.http?.routePrefix;
    return typeof prefix === "string" ? prefix : "api";
  } catch {
    return "api";
  }
}

function nullable(values: Record<string, string>): Record<string, NullableString> {
  return Object.fromEntries(Object.entries(values).map(([k, v]) => [k, { value: v }]));
}

function typedBytes(data: TypedData | undefined): Buffer {
  if (data === undefined) return Buffer.alloc(0);
  if (data.bytes !== undefined && data.bytes.length > 0) return Buffer.from(data.bytes);
  if (typeof data.string === "string" && data.string !== "") return Buffer.from(data.string, "utf8");
  if (typeof data.json === "string" && data.json !== "") return Buffer.from(data.json, "utf8");
  return Buffer.alloc(0);
}

/**
 * Copies the client's body to the worker with backpressure taken from the socket: Node's ClientRequest
 * stops emitting 'drain' once a response has arrived, so `pipe` would stall an upload the worker answered
 * early, where HttpClient keeps sending until the body is complete.
 */
function pump(from: http.IncomingMessage, to: http.ClientRequest): void {
  from.on("data", (chunk: Buffer) => {
    if (to.write(chunk)) return;
    from.pause();
    let resumed = false;
    const go = (): void => {
      if (resumed) return;
      resumed = true;
      to.off("drain", go);
      to.socket?.off("drain", go);
      from.resume();
    };
    to.once("drain", go);
    const socket = to.socket;
    if (socket === null) return;
    if (!socket.writableNeedDrain) go();
    else socket.once("drain", go);
  });
  from.once("end", () => to.end());
}

function readAll(req: http.IncomingMessage): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c));
    req.once("end", () => resolve(Buffer.concat(chunks)));
    req.once("error", reject);
  });
}
