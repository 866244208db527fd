/** @module functions-host/functionsCore: the `@azure/functions-core` module that the Node worker normally provides. */

import Module from "node:module";
import * as path from "node:path";
import { isLogCategory, isLogLevel, type LogCategory, type LogLevel, type LogRecord } from "./logging";

/** Binding info as registered by the library (`type`, `direction` plus trigger-specific properties). */
export interface BindingInfo {
  readonly type?: string;
  readonly direction?: string;
  readonly [property: string]: unknown;
}

/** Function metadata passed to `registerFunction`. */
export interface FunctionMetadata {
  readonly name: string;
  readonly functionId?: string;
  readonly bindings: Readonly<Record<string, BindingInfo>>;
  readonly retryOptions?: unknown;
}

/** The user's handler, as registered. */
export type FunctionCallback = (...args: unknown[]) => unknown;

/** A hook callback; its context object is built by the host and wrapped by the library. */
export type HookCallback = (context: object) => unknown;

/** Hook names the worker supports. */
export type HookName = "appStart" | "appTerminate" | "preInvocation" | "postInvocation" | "log";

const HOOK_NAMES: readonly HookName[] = ["appStart", "appTerminate", "preInvocation", "postInvocation", "log"];

/** RPC typed data: the value of one binding on the wire between host and worker. */
export interface RpcTypedData {
  string?: string | null;
  json?: string | null;
  bytes?: Uint8Array | null;
  http?: RpcHttpData | null;
  int?: number | null;
  double?: number | null;
}

/** RPC HTTP data (request and response share the shape). */
export interface RpcHttpData {
  method?: string | null;
  url?: string | null;
  headers?: Record<string, string> | null;
  body?: RpcTypedData | null;
  params?: Record<string, string> | null;
  statusCode?: string | null;
  query?: Record<string, string> | null;
  cookies?: unknown[] | null;
  enableContentNegotiation?: boolean | null;
}

/** What the host sends to invoke a function. */
export interface RpcInvocationRequest {
  invocationId: string;
  functionId: string;
  inputData: { name: string; data: RpcTypedData }[];
  triggerMetadata: Record<string, RpcTypedData>;
}

/** What the library returns for an invocation. */
export interface RpcInvocationResponse {
  invocationId?: string;
  outputData?: { name?: string | null; data?: RpcTypedData | null }[] | null;
  returnValue?: RpcTypedData | null;
}

/** The context a programming model receives for one invocation (mirrors the worker's CoreInvocationContext). */
export interface CoreInvocationContext {
  invocationId: string;
  request: RpcInvocationRequest;
  metadata: FunctionMetadata & { functionId: string; scriptFile: string; directory?: string; rawBindings: string[] };
  state?: "preInvocationHooks" | "invocation" | "postInvocationHooks";
  log(level: unknown, category: unknown, message: unknown): void;
}

/** A programming model's per-invocation object (`InvocationModel` in the library). */
export interface InvocationModel {
  getArguments(): Promise<{ context: unknown; inputs: unknown[] }>;
  invokeFunction(context: unknown, inputs: unknown[], callback: FunctionCallback): Promise<unknown>;
  getResponse(context: unknown, result: unknown): Promise<RpcInvocationResponse>;
}

/** A programming model (`ProgrammingModel` in the library). */
export interface ProgrammingModel {
  readonly name: string;
  readonly version: string;
  getInvocationModel(coreCtx: CoreInvocationContext): InvocationModel | Promise<InvocationModel>;
  getCapabilities?(capabilities: Record<string, string>): Record<string, string> | Promise<Record<string, string>>;
}

/** A registered function with the worker-added fields. */
export interface RegisteredFunction {
  readonly id: string;
  readonly metadata: FunctionMetadata;
  readonly callback: FunctionCallback;
  readonly scriptFile: string;
  readonly directory?: string;
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

function hasMethod(value: object, name: string): boolean {
  return typeof Reflect.get(value, name) === "function";
}

/** Type guard for a library ProgrammingModel. */
export function isProgrammingModel(value: unknown): value is ProgrammingModel {
  return isRecord(value) && typeof value.name === "string" && typeof value.version === "string" && hasMethod(value, "getInvocationModel");
}

/** Type guard for a library InvocationModel. */
export function isInvocationModel(value: unknown): value is InvocationModel {
  return isRecord(value) && ["getArguments", "invokeFunction", "getResponse"].every((m) => hasMethod(value, m));
}

function isFunctionMetadata(value: unknown): value is FunctionMetadata {
  return (
    isRecord(value) &&
    typeof value.name === "string" &&
    (value.functionId === undefined || typeof value.functionId === "string") &&
    isRecord(value.bindings) &&
    Object.values(value.bindings).every(isRecord)
  );
}

function isFunctionCallback(value: unknown): value is FunctionCallback {
  return typeof value === "function";
}

/** `Disposable` as exported by the core module (same semantics as the worker's and VS Code's). */
export class Disposable {
  #callOnDispose: (() => unknown) | undefined;

  /** Combines several disposables into one. */
  static from(...disposables: { dispose(): unknown }[]): Disposable {
    let pending: { dispose(): unknown }[] | undefined = disposables;
    return new Disposable(() => {
      for (const d of pending ?? []) {
        if (typeof d?.dispose === "function") d.dispose();
      }
      pending = undefined;
    });
  }

  constructor(callOnDispose: () => unknown) {
    this.#callOnDispose = callOnDispose;
  }

  /** Runs the dispose action once. */
  dispose(): unknown {
    const fn = this.#callOnDispose;
    this.#callOnDispose = undefined;
    return fn?.();
  }
}

/** Mirrors the worker's AzFuncSystemError so the library's error checks behave the same. */
class SystemError extends Error {
  readonly isAzureFunctionsSystemError = true;
}

class SystemRangeError extends RangeError {
  readonly isAzureFunctionsSystemError = true;
}

/** Invocation-scoped data attached to a log so log hooks see the right hookData/invocationContext. */
export interface InvocationLogContext {
  readonly hookData: Record<string, unknown>;
  readonly invocationContext: unknown;
}

/** Fake versions above every feature gate of the library (streaming needs host 4.28, log hooks 4.34). */
export const LOCAL_WORKER_VERSION = "3.1000.0-local";
/** @see LOCAL_WORKER_VERSION */
export const LOCAL_HOST_VERSION = "4.1000.0-local";

/**
 * Process-wide state of the worker side: registered functions, hooks, the programming model and the core
 * API object. There is one per process because the library caches the core module on first use.
 */
export class FunctionsCoreRuntime {
  readonly functions = new Map<string, RegisteredFunction>();
  readonly hooks: Record<HookName, HookCallback[]> = {
    appStart: [],
    appTerminate: [],
    preInvocation: [],
    postInvocation: [],
    log: [],
  };
  /** Shared by every hook (`context.appHookData`). */
  readonly appHookData: Record<string, unknown> = {};
  /** `context.hookData` of appStart/appTerminate hooks. */
  readonly appLevelOnlyHookData: Record<string, unknown> = {};
  programmingModel: ProgrammingModel | undefined;
  /** Set once the host has indexed the functions; registration is refused afterwards. */
  indexingLocked = false;
  /** The entry file being loaded, recorded as the function's scriptFile like the worker does. */
  currentEntryPoint: string | undefined;
  /** Where log records go after log hooks ran; the host replaces it. */
  logSink: (record: LogRecord) => void = (record) => {
    process.stderr.write(`[${record.level}] ${record.message}\n`);
  };

  /** The object returned by `require('@azure/functions-core')`. */
  readonly api = {
    version: LOCAL_WORKER_VERSION,
    hostVersion: LOCAL_HOST_VERSION,
    registerFunction: (metadata: unknown, callback: unknown): Disposable => this.registerFunction(metadata, callback),
    setProgrammingModel: (model: unknown): void => this.setProgrammingModel(model),
    getProgrammingModel: (): ProgrammingModel | undefined => this.programmingModel,
    registerHook: (hookName: unknown, callback: unknown): Disposable => this.registerHook(hookName, callback),
    log: (level: unknown, category: unknown, message: unknown): void => {
      this.log({ level: toLevel(level), category: toCategory(category), message: String(message) });
    },
    Disposable,
  };

  /** Worker rules: only before indexing, unique id (`functionId || name`), scriptFile from the entry point. */
  registerFunction(metadata: unknown, callback: unknown): Disposable {
    if (this.indexingLocked) throw new SystemError("A function can only be registered during app startup.");
    if (!isFunctionMetadata(metadata)) throw new SystemError("Invalid function metadata: expected { name, bindings }.");
    if (!isFunctionCallback(callback)) throw new SystemError(`The callback of function "${metadata.name}" must be a function.`);
    const id = metadata.functionId || metadata.name;
    if (this.functions.has(id)) throw new SystemError(`A function with id "${id}" has already been registered.`);
    const entry = this.currentEntryPoint;
    this.functions.set(id, {
      id,
      metadata,
      callback,
      scriptFile: entry ? path.basename(entry) : "unknown",
      directory: entry ? path.dirname(entry) : undefined,
    });
    return new Disposable(() => {
      if (this.indexingLocked) throw new SystemError("A function can only be disposed during app startup.");
      this.functions.delete(id);
    });
  }

  /** Stores the model; like the worker, replacing an existing one is logged. */
  setProgrammingModel(model: unknown): void {
    if (!isProgrammingModel(model)) throw new SystemError("Invalid programming model.");
    if (this.programmingModel) {
      this.log({
        level: "information",
        category: "system",
        message: `Setting Node.js programming model to "${model.name}" version "${model.version}"`,
      });
    }
    this.programmingModel = model;
  }

  /** Adds a hook; unknown names throw a RangeError (the library maps that to a version message). */
  registerHook(hookName: unknown, callback: unknown): Disposable {
    const name = HOOK_NAMES.find((h) => h === hookName);
    if (!name) throw new SystemRangeError(`Unrecognized hook "${String(hookName)}"`);
    if (typeof callback !== "function") throw new SystemError(`The "${name}" hook callback must be a function.`);
    const hook: HookCallback = (context) => Reflect.apply(callback, undefined, [context]);
    const list = this.hooks[name];
    list.push(hook);
    return new Disposable(() => {
      const index = list.indexOf(hook);
      if (index >= 0) list.splice(index, 1);
    });
  }

  /** Runs the hooks of one kind in registration order, awaiting each; the first error propagates. */
  async executeHooks(name: Exclude<HookName, "log">, context: object, functionName?: string, invocationId?: string): Promise<void> {
    const callbacks = [...this.hooks[name]];
    if (callbacks.length === 0) return;
    this.log({ level: "debug", category: "system", message: `Executing ${callbacks.length} "${name}" hooks`, functionName, invocationId });
    for (const callback of callbacks) await callback(context);
    this.log({ level: "debug", category: "system", message: `Executed "${name}" hooks`, functionName, invocationId });
  }

  /**
   * Passes a record through the log hooks, then to {@link FunctionsCoreRuntime.logSink}. Like the worker, hooks
   * may change the level and message of user logs only, and a throwing hook never blocks the log.
   */
  log(record: LogRecord, invocation?: InvocationLogContext): void {
    let final = record;
    if (this.hooks.log.length > 0) {
      const hookContext = createLogHookContext(record, invocation, this.appHookData);
      try {
        for (const hook of this.hooks.log) hook(hookContext);
        if (record.category === "user") {
          final = { ...record, level: toLevel(hookContext.level), message: String(hookContext.message) };
        }
      } catch {
        // Ignored so that user hooks cannot suppress system logs (worker behaviour).
      }
    }
    this.logSink(final);
  }
}

function toLevel(value: unknown): LogLevel {
  return isLogLevel(value) ? value : "information";
}

function toCategory(value: unknown): LogCategory {
  return isLogCategory(value) ? value : "system";
}

/** Defines a read-only property whose setter throws like the worker's ReadOnlyError. */
export function defineReadOnly<T extends object>(target: T, key: string, value: unknown): T {
  Object.defineProperty(target, key, {
    enumerable: true,
    get: () => value,
    set: () => {
      throw new TypeError(`Cannot assign to read only property '${key}'`);
    },
  });
  return target;
}

interface MutableLogHookContext {
  level: unknown;
  message: unknown;
}

function createLogHookContext(
  record: LogRecord,
  invocation: InvocationLogContext | undefined,
  appHookData: Record<string, unknown>,
): MutableLogHookContext {
  const context: MutableLogHookContext = { level: record.level, message: record.message };
  defineReadOnly(context, "category", record.category);
  defineReadOnly(context, "hookData", invocation?.hookData ?? {});
  defineReadOnly(context, "appHookData", appHookData);
  defineReadOnly(context, "invocationContext", invocation?.invocationContext);
  return context;
}

let installedRuntime: FunctionsCoreRuntime | undefined;

/**
 * Makes `require('@azure/functions-core')` return the runtime's API, process-wide, by proxying
 * `Module.prototype.require` exactly like the worker's setupCoreModule. Must run before anything calls into
 * `@azure/functions` (the library caches a failed lookup as "test mode" forever). Idempotent.
 */
export function installFunctionsCore(): FunctionsCoreRuntime {
  if (installedRuntime) return installedRuntime;
  const runtime = new FunctionsCoreRuntime();
  const originalRequire = Module.prototype.require;
  Module.prototype.require = new Proxy(originalRequire, {
    apply(target, thisArg: unknown, args: unknown[]): unknown {
      if (args[0] === "@azure/functions-core") return runtime.api;
      return Reflect.apply(target, thisArg, args);
    },
  });
  installedRuntime = runtime;
  return runtime;
}
