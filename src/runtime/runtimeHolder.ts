/**
 * @module The runtime holder: owns the current runtime and its lifecycle, with no knowledge of
 * secrets or versions. It starts the runtime (a failed start is retried by the next request and by
 * a background timer), lends it to requests as leases, swaps successors in atomically, closes the
 * components a successor replaced once the leases on the old runtime are released (or the drain
 * deadline passes), and keeps the current runtime when a rebuild fails.
 */
import { describeError, type Logger } from "../observability/logger";
import { closeAll, type LoadedComponent, type RebuildResult, type Runtime, type RuntimeLease, type RuntimeSource, type RuntimeStatus } from "./runtime";

/** Whether a start-up failure is a configuration mistake (file/field or setting) rather than an outage. */
export function isStartupConfigurationError(e: unknown): boolean {
  return e instanceof Error && (e.name === "ResourceFileError" || e.name === "SettingError" || e.name === "MetadataError");
}

/** Tuning of the background retry of a failed start and of components that failed to initialise. */
export interface StartRetryOptions {
  /** The first retry's delay (default 1 s); each next one is twice as late. */
  initialDelayInMs?: number;
  /** The longest delay (default 30 s). */
  maxDelayInMs?: number;
  /** Jitter source in [0, 1) (default `Math.random`). */
  random?: () => number;
}

/** The delay before background retry number `attempt` (0-based): exponential, capped, jittered to [d/2, d]. */
export function retryDelay(attempt: number, options: StartRetryOptions = {}): number {
  const max = options.maxDelayInMs ?? 30_000;
  const delay = Math.min(max, (options.initialDelayInMs ?? 1_000) * 2 ** Math.min(attempt, 30));
  return Math.round(delay / 2 + (options.random ?? Math.random)() * (delay / 2));
}

/** What the holder needs. */
export interface RuntimeHolderOptions {
  build: () => Promise<Runtime>;
  logger: Logger;
  /** How long a replaced caller token stays valid. */
  tokenGraceInMs: number;
  /** Upper bound for waiting on in-flight requests before closing replaced components (default 60 s). */
  drainTimeoutInMs?: number;
  /** After a failed start, how long until a request may try again (default 10 s). */
  startRetryIntervalInMs?: number;
  /**
   * The background retry of a failed start and of components or caller tokens that failed to
   * initialise: exponential and capped ({@link retryDelay}), jittered so instances that failed
   * together do not retry together, on an unref'd timer. No request is needed for an instance to recover.
   */
  startRetry?: StartRetryOptions;
  now?: () => number;
}

/** The current runtime and its lifecycle. */
export interface RuntimeHolder extends RuntimeSource {
  start(): Promise<Runtime>;
  acquire(): Promise<RuntimeLease>;
  acquireNow(): RuntimeLease | undefined;
  /** The current runtime, if one was built. */
  current(): Runtime | undefined;
  /** Runs changes to the runtime one at a time, so two rebuilds never race. */
  serialize<T>(work: () => Promise<T>): Promise<T>;
  /**
   * Rebuilds the named components and every caller token of the current runtime and swaps the
   * successor in. A component that fails to rebuild keeps its old instance (the successor shares
   * it); a rebuild that throws altogether leaves the current runtime in place and returns undefined.
   * Call it inside {@link RuntimeHolder.serialize}.
   */
  rebuild(names: readonly string[]): Promise<RebuildResult | undefined>;
  /** Closes the replaced components whose runtime no request holds any more (or past the deadline). */
  drain(): Promise<void>;
  close(): Promise<void>;
}

/** Creates the holder; nothing starts until {@link RuntimeHolder.start}. */
export function createRuntimeHolder(options: RuntimeHolderOptions): RuntimeHolder {
  const { logger } = options;
  const now = options.now ?? Date.now;
  let status: RuntimeStatus = { state: "starting" };
  let starting: Promise<Runtime> | undefined;
  let current: Runtime | undefined;
  const inFlight = new Map<Runtime, number>();
  const retiring: { runtime: Runtime; components: LoadedComponent[]; deadline: number }[] = [];
  let queue: Promise<unknown> = Promise.resolve();
  let closed = false;

  const serialize = <T>(work: () => Promise<T>): Promise<T> => {
    const next = queue.then(work, work);
    queue = next.catch(() => undefined);
    return next;
  };

  const closeRetired = async (force: boolean): Promise<void> => {
    for (const item of [...retiring]) {
      if (!force && (inFlight.get(item.runtime) ?? 0) > 0 && now() < item.deadline) continue;
      retiring.splice(retiring.indexOf(item), 1);
      await closeAll(item.components, logger);
    }
  };

  const swap = (next: Runtime, replaced: LoadedComponent[]): void => {
    const previous = current;
    current = next;
    if (previous !== undefined && (inFlight.get(previous) ?? 0) === 0) inFlight.delete(previous);
    status = { state: "ready", runtime: next };
    if (previous !== undefined && replaced.length > 0) {
      retiring.push({ runtime: previous, components: replaced, deadline: now() + (options.drainTimeoutInMs ?? 60_000) });
      void closeRetired(false);
    }
  };

  // ---- background retry ----
  let retryTimer: NodeJS.Timeout | undefined;
  let retryAttempt = 0;
  /** Components and caller tokens of a runtime that failed to initialise. */
  const incomplete = (runtime: Runtime): boolean => runtime.failed.length > 0 || runtime.failedCallers.length > 0;

  /**
   * Schedules the next background retry, if one is needed and none is pending. A configuration
   * mistake is not retried: it needs a redeploy, and start-up already failed loudly.
   */
  const scheduleRetry = (): void => {
    if (closed || retryTimer !== undefined) return;
    if (current !== undefined ? !incomplete(current) : status.state !== "failed" || isStartupConfigurationError(lastStartError)) return;
    retryTimer = setTimeout(() => {
      retryTimer = undefined;
      void retryNow();
    }, retryDelay(retryAttempt++, options.startRetry));
    // A retry never keeps the process alive on its own.
    retryTimer.unref();
  };

  /** After every start or swap: a complete runtime resets the backoff, an incomplete one schedules a retry. */
  const settled = (): void => {
    if (current !== undefined && !incomplete(current)) retryAttempt = 0;
    scheduleRetry();
  };

  /** One background retry: a new start, or the failed components rebuilt into a successor runtime. */
  const retryNow = async (): Promise<void> => {
    if (closed) return;
    if (current === undefined) {
      // A start already under way (a request's retry) reports its own outcome.
      if (startPending) return;
      starting = undefined;
      failedAt = undefined;
      await start().catch(() => undefined);
      return;
    }
    await serialize(async () => {
      const runtime = current;
      if (runtime === undefined || !incomplete(runtime) || closed) return;
      const result = await rebuild(runtime.failed.map((f) => f.definition.name));
      if (result === undefined) return;
      if (result.recovered.length > 0) logger.info(`recovered after a failed start: ${result.recovered.join(", ")}`);
      const still = [...result.runtime.failed.map((f) => f.definition.name), ...result.runtime.failedCallers.map(() => "a caller token")];
      if (still.length > 0) logger.warn(`background retry ${retryAttempt}: still not initialised: ${still.join(", ")}`);
    });
    settled();
  };

  // ---- start ----
  let failedAt: number | undefined;
  let lastStartError: unknown;
  let startPending = false;
  const start = (): Promise<Runtime> => {
    // A failed start is also tried again (at most every retry interval) by the next request.
    if (failedAt !== undefined && now() - failedAt >= (options.startRetryIntervalInMs ?? 10_000)) {
      starting = undefined;
      failedAt = undefined;
    }
    if (starting === undefined) startPending = true;
    starting ??= options.build().then(
      (runtime) => {
        startPending = false;
        if (closed) {
          void runtime.close();
          return runtime;
        }
        current = runtime;
        status = { state: "ready", runtime };
        settled();
        return runtime;
      },
      (e: unknown) => {
        startPending = false;
        status = { state: "failed", reason: describeError(e) };
        failedAt = now();
        lastStartError = e;
        logger.error(`start-up failed: ${describeError(e)}`);
        scheduleRetry();
        throw e;
      },
    );
    return starting;
  };

  const rebuild = async (names: readonly string[]): Promise<RebuildResult | undefined> => {
    const runtime = current;
    if (runtime === undefined) return undefined;
    let result: RebuildResult;
    try {
      result = await runtime.rebuild(names, { tokenGraceInMs: options.tokenGraceInMs, now: now() });
    } catch (e) {
      // The current runtime keeps serving; the next refresh or retry tries again.
      logger.warn(`rebuild failed, keeping the current runtime: ${describeError(e)}`);
      return undefined;
    }
    if (closed) {
      // Closed meanwhile: the new instances never serve.
      await closeAll(result.runtime.components.filter((c) => !runtime.components.includes(c)), logger);
      return undefined;
    }
    swap(result.runtime, result.replaced);
    settled();
    return result;
  };

  /** Ends one lease on `runtime`: the last one on a replaced runtime lets its components close. */
  const releaseOn = (runtime: Runtime): void => {
    const count = (inFlight.get(runtime) ?? 1) - 1;
    // The current runtime's count stays in the map at 0, rather than leaving and coming back with
    // every request.
    if (count <= 0 && runtime !== current) inFlight.delete(runtime);
    else inFlight.set(runtime, Math.max(0, count));
    if (retiring.length > 0) void closeRetired(false);
  };
  const leaseOn = (runtime: Runtime): RuntimeLease => {
    inFlight.set(runtime, (inFlight.get(runtime) ?? 0) + 1);
    return new Lease(runtime, releaseOn);
  };

  return {
    start,
    ready: start,
    status: () => status,
    current: () => current,
    serialize,
    rebuild,
    async acquire(): Promise<RuntimeLease> {
      return leaseOn(current ?? (await start()));
    },
    acquireNow: () => (current === undefined ? undefined : leaseOn(current)),
    drain: () => closeRetired(false),
    async close() {
      closed = true;
      if (retryTimer !== undefined) clearTimeout(retryTimer);
      retryTimer = undefined;
      await closeRetired(true);
      if (current !== undefined) await current.close();
    },
  };
}

/** A request's hold on a runtime: one object per request; releasing twice releases once. */
class Lease implements RuntimeLease {
  #released = false;

  constructor(
    readonly runtime: Runtime,
    private readonly onRelease: (runtime: Runtime) => void,
  ) {}

  release(): void {
    if (this.#released) return;
    this.#released = true;
    this.onRelease(this.runtime);
  }
}
