/** @module functions-host/test/functionsCore: the core API rules and the invocation sequence, with a fake programming model. */

import { describe, expect, it } from "vitest";
import {
  Disposable,
  FunctionsCoreRuntime,
  type CoreInvocationContext,
  type FunctionCallback,
  type InvocationModel,
  type ProgrammingModel,
  type RpcInvocationRequest,
} from "../src/functionsCore";
import { runInvocation } from "../src/invocation";
import type { LogRecord } from "../src/logging";

const httpMetadata = (name: string, functionId?: string): unknown => ({
  name,
  functionId,
  bindings: { trigger1: { type: "httpTrigger", direction: "in", methods: ["GET"] }, $return: { type: "http", direction: "out" } },
});

function objectProp(target: object, key: string): object {
  const value: unknown = Reflect.get(target, key);
  if (typeof value !== "object" || value === null) throw new Error(`${key} is not an object`);
  return value;
}

function captureLogs(runtime: FunctionsCoreRuntime): LogRecord[] {
  const logs: LogRecord[] = [];
  runtime.logSink = (record) => logs.push(record);
  return logs;
}

describe("FunctionsCoreRuntime.registerFunction", () => {
  it("registers by functionId or name and records the entry point", () => {
    const runtime = new FunctionsCoreRuntime();
    runtime.currentEntryPoint = "/app/dist/src/functions/items.js";
    runtime.api.registerFunction(httpMetadata("getItem"), () => undefined);
    runtime.api.registerFunction(httpMetadata("other", "custom-id"), () => undefined);
    expect([...runtime.functions.keys()]).toEqual(["getItem", "custom-id"]);
    expect(runtime.functions.get("getItem")).toMatchObject({ id: "getItem", scriptFile: "items.js", directory: "/app/dist/src/functions" });
  });

  it("rejects duplicates and registrations after indexing, like the worker", () => {
    const runtime = new FunctionsCoreRuntime();
    const disposable = runtime.api.registerFunction(httpMetadata("a"), () => undefined);
    expect(() => runtime.api.registerFunction(httpMetadata("a"), () => undefined)).toThrow('A function with id "a" has already been registered.');
    runtime.indexingLocked = true;
    expect(() => runtime.api.registerFunction(httpMetadata("b"), () => undefined)).toThrow("A function can only be registered during app startup.");
    expect(() => disposable.dispose()).toThrow("A function can only be disposed during app startup.");
  });

  it("lets a registration be disposed during startup", () => {
    const runtime = new FunctionsCoreRuntime();
    runtime.api.registerFunction(httpMetadata("a"), () => undefined).dispose();
    expect(runtime.functions.size).toBe(0);
  });

  it("validates metadata and callback", () => {
    const runtime = new FunctionsCoreRuntime();
    expect(() => runtime.api.registerFunction({ bindings: {} }, () => undefined)).toThrow(/Invalid function metadata/);
    expect(() => runtime.api.registerFunction(httpMetadata("x"), "not a function")).toThrow(/must be a function/);
  });
});

describe("hooks, programming model and logs", () => {
  it("registers known hooks, disposes them, and rejects unknown names with a RangeError", () => {
    const runtime = new FunctionsCoreRuntime();
    const d = runtime.api.registerHook("appStart", () => undefined);
    expect(runtime.hooks.appStart.length).toBe(1);
    d.dispose();
    expect(runtime.hooks.appStart.length).toBe(0);
    expect(() => runtime.api.registerHook("bogus", () => undefined)).toThrow(RangeError);
  });

  it("stores the programming model and logs a replacement", () => {
    const runtime = new FunctionsCoreRuntime();
    const logs = captureLogs(runtime);
    const model = { name: "@azure/functions", version: "4.16.5", getInvocationModel: () => ({}) };
    runtime.api.setProgrammingModel(model);
    runtime.api.setProgrammingModel({ ...model, version: "4.16.6" });
    expect(runtime.api.getProgrammingModel()?.version).toBe("4.16.6");
    expect(logs.map((l) => l.message)).toEqual(['Setting Node.js programming model to "@azure/functions" version "4.16.6"']);
    expect(() => runtime.api.setProgrammingModel({})).toThrow(/Invalid programming model/);
  });

  it("lets log hooks rewrite user logs but not system logs, and survives a throwing hook", () => {
    const runtime = new FunctionsCoreRuntime();
    const logs = captureLogs(runtime);
    runtime.api.registerHook("log", (context: object) => {
      Reflect.set(context, "message", `[hooked] ${String(Reflect.get(context, "message"))}`);
      Reflect.set(context, "level", "warning");
      expect(() => Reflect.set(context, "category", "system")).toThrow(/read only/);
    });
    runtime.log({ level: "information", category: "user", message: "u" });
    runtime.api.log("information", "system", "s");
    runtime.api.registerHook("log", () => {
      throw new Error("bad hook");
    });
    runtime.log({ level: "error", category: "user", message: "still logged" });
    expect(logs).toEqual([
      { level: "warning", category: "user", message: "[hooked] u" },
      { level: "information", category: "system", message: "s" },
      { level: "error", category: "user", message: "still logged" },
    ]);
  });

  it("exposes the version fields and Disposable.from", () => {
    const runtime = new FunctionsCoreRuntime();
    expect(typeof runtime.api.version).toBe("string");
    expect(typeof runtime.api.hostVersion).toBe("string");
    const calls: string[] = [];
    const combined = Disposable.from(new Disposable(() => calls.push("a")), new runtime.api.Disposable(() => calls.push("b")));
    combined.dispose();
    combined.dispose();
    expect(calls).toEqual(["a", "b"]);
  });
});

/** A stand-in for the library's ProgrammingModel that records what the host asks of it. */
function fakeModel(seen: string[]): ProgrammingModel {
  return {
    name: "fake",
    version: "1.0.0",
    getInvocationModel(coreCtx: CoreInvocationContext): InvocationModel {
      seen.push(`model:${coreCtx.metadata.name}:${coreCtx.metadata.scriptFile}`);
      return {
        async getArguments() {
          coreCtx.log("information", "system", `args state=${String(coreCtx.state)}`);
          return { context: { id: coreCtx.invocationId }, inputs: [coreCtx.request.inputData[0].data.json] };
        },
        async invokeFunction(context: unknown, inputs: unknown[], callback: FunctionCallback) {
          seen.push(`state=${String(coreCtx.state)}`);
          return callback(...inputs, context);
        },
        async getResponse(_context: unknown, result: unknown) {
          return { invocationId: coreCtx.invocationId, returnValue: { json: JSON.stringify(result) } };
        },
      };
    },
  };
}

const request: RpcInvocationRequest = { invocationId: "inv-1", functionId: "f", inputData: [{ name: "trigger1", data: { json: '"input"' } }], triggerMetadata: {} };

describe("runInvocation", () => {
  it("runs getArguments, preInvocation (may replace inputs and handler), the handler, postInvocation, getResponse", async () => {
    const runtime = new FunctionsCoreRuntime();
    const logs = captureLogs(runtime);
    const seen: string[] = [];
    runtime.api.setProgrammingModel(fakeModel(seen));
    runtime.api.registerFunction(httpMetadata("f"), (input: unknown) => `original:${String(input)}`);
    runtime.api.registerHook("preInvocation", (context: object) => {
      expect(Reflect.get(context, "invocationContext")).toEqual({ id: "inv-1" });
      Reflect.set(context, "inputs", ["replaced"]);
      const original: unknown = Reflect.get(context, "functionCallback");
      if (typeof original !== "function") throw new Error("no functionCallback");
      Reflect.set(context, "functionCallback", (...args: unknown[]) => `wrapped(${String(Reflect.apply(original, undefined, args))})`);
      Reflect.set(objectProp(context, "hookData"), "mark", 1);
    });
    runtime.api.registerHook("postInvocation", (context: object) => {
      seen.push(`post:${String(Reflect.get(context, "result"))}:${String(Reflect.get(objectProp(context, "hookData"), "mark"))}`);
    });
    const fn = runtime.functions.get("f");
    if (!fn) throw new Error("not registered");
    const response = await runInvocation(runtime, fn, request);
    expect(response).toEqual({ invocationId: "inv-1", returnValue: { json: '"wrapped(original:replaced)"' } });
    expect(seen).toEqual(["model:f:unknown", "state=invocation", "post:wrapped(original:replaced):1"]);
    expect(logs).toContainEqual({ level: "information", category: "system", message: "args state=undefined", functionName: "f", invocationId: "inv-1" });
  });

  it("rethrows the handler error unless a postInvocation hook clears it", async () => {
    const runtime = new FunctionsCoreRuntime();
    captureLogs(runtime);
    runtime.api.setProgrammingModel(fakeModel([]));
    runtime.api.registerFunction(httpMetadata("f"), () => {
      throw new Error("handler failed");
    });
    const fn = runtime.functions.get("f");
    if (!fn) throw new Error("not registered");
    await expect(runInvocation(runtime, fn, request)).rejects.toThrow("handler failed");

    runtime.api.registerHook("postInvocation", (context: object) => {
      expect(Reflect.get(context, "error")).toBeInstanceOf(Error);
      Reflect.set(context, "error", null);
      Reflect.set(context, "result", "recovered");
    });
    await expect(runInvocation(runtime, fn, request)).resolves.toEqual({ invocationId: "inv-1", returnValue: { json: '"recovered"' } });
  });
});
