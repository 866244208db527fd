/** @module functions-host/invocation: run one invocation through the programming model like the worker's InvocationHandler. */

import {
  defineReadOnly,
  isInvocationModel,
  type CoreInvocationContext,
  type FunctionCallback,
  type FunctionsCoreRuntime,
  type RegisteredFunction,
  type RpcInvocationRequest,
  type RpcInvocationResponse,
} from "./functionsCore";
import { isLogCategory, isLogLevel } from "./logging";

interface PreInvocationState {
  inputs: unknown[];
  functionCallback: FunctionCallback;
}

interface PostInvocationState {
  inputs: unknown[];
  result: unknown;
  error: unknown;
}

function isUnknownArray(value: unknown): value is unknown[] {
  return Array.isArray(value);
}

function isArgumentsResult(value: unknown): value is { context: unknown; inputs: unknown[] } {
  return typeof value === "object" && value !== null && "context" in value && "inputs" in value && isUnknownArray(value.inputs);
}

/**
 * Invokes a registered function: build the invocation model, get the arguments, run preInvocation hooks
 * (which may replace inputs and handler), call the handler, run postInvocation hooks (which may replace
 * result and error), rethrow the error if one remains, else convert the result to an RPC response.
 */
export async function runInvocation(
  runtime: FunctionsCoreRuntime,
  fn: RegisteredFunction,
  request: RpcInvocationRequest,
): Promise<RpcInvocationResponse> {
  const model = runtime.programmingModel;
  if (!model) throw new Error(`No programming model is registered; cannot invoke "${fn.metadata.name}".`);
  const functionName = fn.metadata.name;
  const hookData: Record<string, unknown> = {};
  // Filled in once the model has built the context; logs emitted before that carry none.
  const logScope: { hookData: Record<string, unknown>; invocationContext: unknown } = { hookData, invocationContext: undefined };

  const coreCtx: CoreInvocationContext = {
    invocationId: request.invocationId,
    request,
    metadata: {
      ...fn.metadata,
      functionId: fn.id,
      scriptFile: fn.scriptFile,
      directory: fn.directory,
      rawBindings: Object.entries(fn.metadata.bindings).map(([name, binding]) => JSON.stringify({ ...binding, name })),
    },
    state: undefined,
    log(level: unknown, category: unknown, message: unknown): void {
      runtime.log(
        {
          level: isLogLevel(level) ? level : "information",
          category: isLogCategory(category) ? category : "user",
          message: String(message),
          functionName,
          invocationId: request.invocationId,
        },
        logScope,
      );
    },
  };

  const invocationModel: unknown = await model.getInvocationModel(coreCtx);
  if (!isInvocationModel(invocationModel)) throw new Error("The programming model returned an invalid invocation model.");
  const args: unknown = await invocationModel.getArguments();
  if (!isArgumentsResult(args)) throw new Error("The invocation model returned invalid arguments.");
  const invocationContext = args.context;
  logScope.invocationContext = invocationContext;

  const pre: PreInvocationState = { inputs: args.inputs, functionCallback: fn.callback };
  defineInvocationHookFields(pre, hookData, runtime.appHookData, invocationContext);
  coreCtx.state = "preInvocationHooks";
  try {
    await runtime.executeHooks("preInvocation", pre, functionName, request.invocationId);
  } finally {
    coreCtx.state = undefined;
  }

  const post: PostInvocationState = { inputs: pre.inputs, result: null, error: null };
  defineInvocationHookFields(post, hookData, runtime.appHookData, invocationContext);
  coreCtx.state = "invocation";
  try {
    post.result = await invocationModel.invokeFunction(invocationContext, pre.inputs, pre.functionCallback);
  } catch (err) {
    post.error = err;
  } finally {
    coreCtx.state = undefined;
  }

  coreCtx.state = "postInvocationHooks";
  try {
    await runtime.executeHooks("postInvocation", post, functionName, request.invocationId);
  } finally {
    coreCtx.state = undefined;
  }
  // Like the worker, anything other than null/undefined left in `error` counts as a failure.
  if (post.error !== null && post.error !== undefined) throw post.error;
  return invocationModel.getResponse(invocationContext, post.result);
}

function defineInvocationHookFields(
  target: object,
  hookData: Record<string, unknown>,
  appHookData: Record<string, unknown>,
  invocationContext: unknown,
): void {
  defineReadOnly(target, "hookData", hookData);
  defineReadOnly(target, "appHookData", appHookData);
  defineReadOnly(target, "invocationContext", invocationContext);
}

/** A readable one-line description of a thrown value, with its stack when there is one. */
export function describeError(err: unknown): string {
  if (err instanceof Error) return err.stack ?? `${err.name}: ${err.message}`;
  if (typeof err === "string") return err;
  try {
    return JSON.stringify(err);
  } catch {
    return String(err);
  }
}
