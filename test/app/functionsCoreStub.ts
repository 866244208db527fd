/**
 * A minimal `@azure/functions-core` for unit tests: records what the app registers (functions, hooks,
 * setup) so tests can run the app start hook and handlers without a host. Install it before anything
 * imports `@azure/functions` (the library caches the core module on first use).
 */
import Module from "node:module";

/** What the app registered. */
export interface Registrations {
  functions: { name: string; bindings: Record<string, Record<string, unknown>>; handler: (...args: unknown[]) => unknown }[];
  hooks: Record<string, ((context: unknown) => unknown)[]>;
  logs: string[];
}

type Loader = (request: string, parent: unknown, isMain: boolean) => unknown;

/** Installs the stub; returns the registrations it collects. */
export function installFunctionsCoreStub(): Registrations {
  const registrations: Registrations = { functions: [], hooks: {}, logs: [] };
  class Disposable {
    constructor(private readonly dispose_: () => void) {}
    dispose(): void {
      this.dispose_();
    }
  }
  let programmingModel: unknown;
  const core = {
    version: "3.10.1",
    hostVersion: "4.1037.0",
    Disposable,
    registerFunction(metadata: { name: string; bindings: Record<string, Record<string, unknown>> }, handler: (...args: unknown[]) => unknown) {
      registrations.functions.push({ name: metadata.name, bindings: metadata.bindings, handler });
      return new Disposable(() => undefined);
    },
    registerHook(name: string, callback: (context: unknown) => unknown) {
      (registrations.hooks[name] ??= []).push(callback);
      return new Disposable(() => undefined);
    },
    setProgrammingModel(model: unknown) {
      programmingModel = model;
    },
    getProgrammingModel: () => programmingModel,
    log(_level: string, _category: string, message: string) {
      registrations.logs.push(message);
    },
  };
  const moduleWithLoad = Module as unknown as { _load: Loader };
  const original = moduleWithLoad._load;
  moduleWithLoad._load = function load(request, parent, isMain) {
    if (request === "@azure/functions-core") return core;
    return original.call(this, request, parent, isMain);
  };
  return registrations;
}
