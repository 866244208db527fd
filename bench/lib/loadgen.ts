/**
 * @module bench/lib/loadgen: the load generator (autocannon) in its own long-lived process, so the
 * server's CPU, the load generator's CPU and the measuring process's CPU can be told apart.
 */
import { type ChildProcess, fork } from "node:child_process";
import autocannon from "autocannon";

/** One load run. */
export interface LoadOptions {
  /** `http://127.0.0.1:<port>` */
  origin: string;
  method: "GET" | "POST";
  /** Request path; `{i}` is replaced by a counter modulo `keys` when `keys` is set. */
  path: string;
  /** A second request kind, alternated with the first (same `{i}` rule), e.g. reads and writes. */
  alternate?: { method: "GET" | "POST"; path: string; body?: string };
  keys?: number;
  /** First counter value (to continue a key sequence in a second run). */
  startAt?: number;
  headers?: Record<string, string>;
  body?: string;
  connections: number;
  /** Seconds to run; or `amount` requests in total. */
  duration?: number;
  amount?: number;
}

/** What a load run measured. */
export interface LoadResult {
  requests: number;
  /** Completed requests per second over the run. */
  throughput: number;
  p50: number;
  p99: number;
  /** Errors, timeouts and non-2xx answers. */
  failed: number;
  /** Answers by HTTP status. */
  statuses: Record<string, number>;
  wallMs: number;
  /** The load generator's own CPU over the run (user + system). */
  cpuMs: number;
}

const WORKER_FLAG = "--bench-load-worker";

/** The load generator's process, started once and reused: a fresh Node process per run costs more than a short run. */
let worker: ChildProcess | undefined;
let queue: Promise<unknown> = Promise.resolve();
/** The tail of what the load generator's process wrote to stderr. */
let workerErrors = "";

function loadWorker(): ChildProcess {
  if (worker !== undefined && worker.exitCode === null && worker.signalCode === null) return worker;
  const child = fork(__filename, [WORKER_FLAG], { stdio: ["ignore", "ignore", "pipe", "ipc"] });
  child.stderr?.on("data", (c: Buffer) => {
    workerErrors = (workerErrors + c.toString("utf8")).slice(-2000);
  });
  // Only the bench's own exit should wait for it: an idle load generator keeps nothing alive.
  child.unref();
  child.channel?.unref();
  worker = child;
  return child;
}

/** The load generator's process id (it is started on first use), so a run can pin it to a CPU. */
export function loadGeneratorPid(): number | undefined {
  return loadWorker().pid;
}

/** Stops the load generator's process (the bench calls it at the end; safe to call twice). */
export function stopLoadGenerator(): void {
  worker?.kill();
  worker = undefined;
}

/**
 * Runs one load in the load generator's own process (one run at a time, in call order).
 * @throws Error when the load generator fails
 */
export function runLoad(options: LoadOptions): Promise<LoadResult> {
  const run = queue.then(() => runInWorker(options));
  queue = run.catch(() => undefined);
  return run;
}

function runInWorker(options: LoadOptions): Promise<LoadResult> {
  return new Promise((resolve, reject) => {
    const child = loadWorker();
    const cleanup = (): void => {
      child.off("message", onMessage);
      child.off("exit", onExit);
      child.channel?.unref();
    };
    const onMessage = (message: unknown): void => {
      cleanup();
      const m = message as { result?: LoadResult; error?: string };
      if (m.result !== undefined) resolve(m.result);
      else reject(new Error(`the load generator failed: ${m.error ?? "no result"}`));
    };
    const onExit = (code: number | null): void => {
      cleanup();
      reject(new Error(`the load generator exited (code ${code ?? "signal"}): ${workerErrors}`));
    };
    child.on("message", onMessage);
    child.once("exit", onExit);
    child.channel?.ref();
    child.send(options);
  });
}

function substitute(template: string, i: number): string {
  return template.includes("{i}") ? template.split("{i}").join(String(i)) : template;
}

async function generate(options: LoadOptions): Promise<LoadResult> {
  const headers = { "content-type": "application/json", ...options.headers };
  const keys = options.keys;
  let counter = options.startAt ?? 0;
  const kinds = [{ method: options.method, path: options.path, body: options.body }, ...(options.alternate !== undefined ? [options.alternate] : [])];
  const requests =
    keys === undefined && kinds.length === 1
      ? undefined
      : [
          {
            setupRequest: (request: autocannon.Request): autocannon.Request => {
              const n = counter++;
              const kind = kinds[n % kinds.length] ?? kinds[0];
              const i = keys === undefined ? n : Math.floor(n / kinds.length) % keys;
              return { ...request, method: kind?.method, path: substitute(kind?.path ?? "/", i), body: kind?.body === undefined ? undefined : substitute(kind.body, i), headers };
            },
          },
        ];
  const cpuBefore = process.cpuUsage();
  const started = performance.now();
  const result = await autocannon({
    url: `${options.origin}${substitute(options.path, 0)}`,
    method: options.method,
    headers,
    body: options.body,
    connections: options.connections,
    ...(options.amount !== undefined ? { amount: options.amount } : { duration: options.duration ?? 5 }),
    ...(requests !== undefined ? { requests } : {}),
    timeout: 30,
  });
  const wallMs = performance.now() - started;
  const cpu = process.cpuUsage(cpuBefore);
  const requestsDone = result.requests.total;
  return {
    requests: requestsDone,
    throughput: requestsDone / (wallMs / 1000),
    p50: result.latency.p50,
    p99: result.latency.p99,
    failed: result.errors + result.timeouts + result.non2xx,
    statuses: Object.fromEntries(Object.entries((result as { statusCodeStats?: Record<string, { count: number }> }).statusCodeStats ?? {}).map(([code, stat]) => [code, stat.count])),
    wallMs,
    cpuMs: (cpu.user + cpu.system) / 1000,
  };
}

if (require.main === module && process.argv.includes(WORKER_FLAG)) {
  // The bench went away: nothing more to run.
  process.on("disconnect", () => process.exit(0));
  process.on("message", (options: LoadOptions) => {
    generate(options).then(
      (result) => process.send?.({ result }),
      (e: unknown) => process.send?.({ error: e instanceof Error ? (e.stack ?? e.message) : String(e) }),
    );
  });
}
