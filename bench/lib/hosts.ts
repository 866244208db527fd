/**
 * @module bench/lib/hosts: the processes the bench measures besides the dev environment: baseline
 * function apps in the same local host, a bare `node:http` server, a host spawned without any harness,
 * and cold starts timed from `spawn` to the first secret served.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { copyFileSync, mkdirSync, writeFileSync } from "node:fs";
import { createServer } from "node:net";
import * as path from "node:path";
import { hostCliPath, ListeningWatcher, REPO_ROOT } from "../../tools/devEnvironment";
import { processCpuMs } from "./proc";

/** The local host's command line (the same one the dev environment runs). */
export const HOST_CLI = hostCliPath();

/** A process the bench started. */
export interface BenchProcess {
  url: string;
  pid: number | undefined;
  stop(): Promise<void>;
}

/**
 * Makes a compiled bench app (`dist/bench/apps/<name>/index.js`) a function app folder: a package.json
 * naming it and the app's own host.json, so the host runs it with the same host settings.
 */
export function prepareBaselineApp(name: string): string {
  const dir = path.join(REPO_ROOT, "dist", "bench", "apps", name);
  mkdirSync(dir, { recursive: true });
  writeFileSync(path.join(dir, "package.json"), JSON.stringify({ name: `bench-${name}`, private: true, main: "index.js" }, null, 2));
  copyFileSync(path.join(REPO_ROOT, "host.json"), path.join(dir, "host.json"));
  return dir;
}

/** A free loopback port from the OS. */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const address = server.address();
      const port = typeof address === "object" && address !== null ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}

function stopper(child: ChildProcess): () => Promise<void> {
  const exited = new Promise<void>((resolve) => {
    if (child.exitCode !== null || child.signalCode !== null) resolve();
    else child.once("exit", () => resolve());
  });
  return async () => {
    if (child.exitCode === null && child.signalCode === null) {
      child.kill("SIGTERM");
      const timer = setTimeout(() => child.kill("SIGKILL"), 5_000);
      await exited;
      clearTimeout(timer);
    }
  };
}

async function waitFor(url: string, status: number, timeoutInMs: number, headers: Record<string, string> = {}): Promise<Response> {
  const deadline = Date.now() + timeoutInMs;
  let last = "no answer";
  while (Date.now() < deadline) {
    try {
      const response = await fetch(url, { headers });
      if (response.status === status) return response;
      last = `${response.status}`;
      await response.arrayBuffer();
    } catch (e) {
      last = e instanceof Error ? e.message : String(e);
    }
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
  throw new Error(`${url} did not answer ${status} within ${timeoutInMs} ms (last: ${last})`);
}

/**
 * The same host as the dev environment's, spawned with its output discarded and nothing watching it:
 * the reference for "the harness does not slow the host".
 */
export async function spawnBareHost(options: { appDir: string; env: Record<string, string> }): Promise<BenchProcess> {
  const port = await freePort();
  const child = spawn(process.execPath, [HOST_CLI, "--cwd", options.appDir, "--port", String(port)], {
    cwd: options.appDir,
    env: { ...process.env, ...options.env },
    stdio: "ignore",
  });
  const stop = stopper(child);
  const url = `http://127.0.0.1:${port}`;
  try {
    await waitFor(`${url}/v1.0/healthz`, 204, 60_000);
  } catch (e) {
    await stop();
    throw e;
  }
  return { url, pid: child.pid, stop };
}

/** The bare `node:http` baseline, answering with `body` and `headers`. */
export async function startBareHttp(body: string, headers: Record<string, string>): Promise<BenchProcess> {
  const child = spawn(process.execPath, [path.join(REPO_ROOT, "dist", "bench", "apps", "bareHttp.js")], {
    env: { ...process.env, BENCH_BODY: body, BENCH_HEADERS: JSON.stringify(headers) },
    stdio: ["ignore", "pipe", "inherit"],
  });
  const stop = stopper(child);
  const port = await new Promise<number>((resolve, reject) => {
    let carry = "";
    child.stdout?.setEncoding("utf8");
    child.stdout?.on("data", (chunk: string) => {
      carry = (carry + chunk).slice(-200);
      const match = /listening (\d+)/.exec(carry);
      if (match !== null) resolve(Number(match[1]));
    });
    child.once("exit", () => reject(new Error("the bare HTTP baseline exited")));
  });
  child.stdout?.resume();
  return { url: `http://127.0.0.1:${port}`, pid: child.pid, stop };
}

/** One cold start. */
export interface ColdStart {
  /** Milliseconds from `spawn` to the first 200 answer of the secret route. */
  ms: number;
  /** CPU milliseconds the host process had used by then. */
  cpuMs: number;
}

/**
 * Spawns the host on `appDir`, waits for its listening line, then asks for `secretPath` until it is
 * served; stops the host afterwards.
 */
export async function coldStart(options: { appDir: string; env: Record<string, string>; secretPath: string; headers: Record<string, string>; nodeArgs?: string[] }): Promise<ColdStart> {
  const started = performance.now();
  const child = spawn(process.execPath, [...(options.nodeArgs ?? []), HOST_CLI, "--cwd", options.appDir, "--port", "0"], {
    cwd: options.appDir,
    env: { ...process.env, ...options.env },
    stdio: ["ignore", "pipe", "pipe"],
  });
  const stop = stopper(child);
  try {
    const watcher = new ListeningWatcher();
    const port = await new Promise<number>((resolve, reject) => {
      const onData = (chunk: string): void => {
        const found = watcher.push(chunk);
        if (found !== undefined) resolve(found);
      };
      child.stdout?.setEncoding("utf8").on("data", onData);
      child.stderr?.setEncoding("utf8").on("data", onData);
      child.once("exit", (code) => reject(new Error(`the host exited (code ${code ?? "signal"}) during a cold start:\n${watcher.tail()}`)));
    });
    try {
      await waitFor(`http://127.0.0.1:${port}${options.secretPath}`, 200, 60_000, options.headers);
    } catch (e) {
      throw new Error(`${e instanceof Error ? e.message : String(e)}; the host printed:\n${watcher.tail().slice(-4000)}`);
    }
    const ms = performance.now() - started;
    return { ms, cpuMs: processCpuMs(child.pid) };
  } finally {
    await stop();
  }
}
