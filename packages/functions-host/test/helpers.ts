/** @module functions-host/test/helpers: run the compiled host CLI against fixture apps in child processes. */

import { spawn, type ChildProcess } from "node:child_process";
import { existsSync } from "node:fs";
import * as path from "node:path";

/** This package's folder. */
export const PACKAGE_ROOT = path.resolve(__dirname, "..");
/** The compiled CLI (`npm test` builds it first). */
export const CLI_PATH = path.join(PACKAGE_ROOT, "dist", "cli.js");
/** The compiled host module, for in-process API tests run inside a child node. */
export const HOST_MODULE_PATH = path.join(PACKAGE_ROOT, "dist", "host.js");
/** Fixture apps. */
export const FIXTURES = path.join(__dirname, "fixtures");

const children = new Set<ChildProcess>();

function assertBuilt(): void {
  if (!existsSync(CLI_PATH)) throw new Error(`${CLI_PATH} is missing: run "npm run build" first.`);
}

/** How a child process ended. */
export interface Exit {
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
}

/** A spawned node process with its combined output. */
export interface Spawned {
  readonly child: ChildProcess;
  readonly exited: Promise<Exit>;
  output(): string;
  stdout(): string;
  stderr(): string;
  /** Resolves with the first match of `pattern` in the output; rejects on exit or timeout, with the output. */
  waitForOutput(pattern: RegExp, timeoutMs?: number): Promise<RegExpExecArray>;
}

/** Spawns `node <args>` with extra environment; every child is tracked for {@link killAllChildren}. */
export function spawnNode(args: readonly string[], env: Record<string, string> = {}, cwd = PACKAGE_ROOT): Spawned {
  assertBuilt();
  const childEnv: Record<string, string | undefined> = { ...process.env, ...env };
  // The CLI would prefer PORT over the fixture's settings; the tests always pass --port explicitly anyway.
  if (!("PORT" in env)) delete childEnv.PORT;
  const child = spawn(process.execPath, [...args], { cwd, env: childEnv, stdio: ["ignore", "pipe", "pipe"] });
  children.add(child);
  let out = "";
  let err = "";
  child.stdout?.setEncoding("utf8").on("data", (chunk: string) => (out += chunk));
  child.stderr?.setEncoding("utf8").on("data", (chunk: string) => (err += chunk));
  const exited = new Promise<Exit>((resolve) => {
    child.once("exit", (code, signal) => {
      children.delete(child);
      resolve({ code, signal });
    });
  });
  let ended = false;
  void exited.then(() => (ended = true));
  const output = (): string => out + err;
  return {
    child,
    exited,
    output,
    stdout: () => out,
    stderr: () => err,
    waitForOutput(pattern, timeoutMs = 20_000) {
      return new Promise((resolve, reject) => {
        const started = Date.now();
        const poll = (): void => {
          const match = pattern.exec(output());
          if (match) return resolve(match);
          if (ended) return reject(new Error(`process exited before printing ${pattern}:\n${output()}`));
          if (Date.now() - started > timeoutMs) return reject(new Error(`timed out waiting for ${pattern}:\n${output()}`));
          setTimeout(poll, 25);
        };
        poll();
      });
    },
  };
}

/** A host CLI started against a fixture. */
export interface RunningHost extends Spawned {
  readonly url: string;
  readonly port: number;
  /** Sends a signal and waits for the exit. */
  stop(signal?: NodeJS.Signals): Promise<Exit>;
}

/** Starts `cli.js --port 0 --cwd <fixture>` and waits for "Host listening on ...". */
export async function startFixtureHost(fixture: string, env: Record<string, string> = {}): Promise<RunningHost> {
  const spawned = spawnNode([CLI_PATH, "--port", "0", "--cwd", path.join(FIXTURES, fixture)], env);
  const match = await spawned.waitForOutput(/Host listening on (http:\/\/127\.0\.0\.1:(\d+))/);
  return {
    ...spawned,
    url: match[1],
    port: Number(match[2]),
    async stop(signal: NodeJS.Signals = "SIGTERM") {
      if (spawned.child.exitCode === null && spawned.child.signalCode === null) spawned.child.kill(signal);
      return spawned.exited;
    },
  };
}

/** Kills every child still running (afterAll safety net). */
export async function killAllChildren(): Promise<void> {
  const pending = [...children].map(
    (child) =>
      new Promise<void>((resolve) => {
        if (child.exitCode !== null || child.signalCode !== null) return resolve();
        child.once("exit", () => resolve());
        child.kill("SIGKILL");
      }),
  );
  await Promise.all(pending);
}

/** Polls `check` until it returns a value other than undefined, or fails after `timeoutMs`. */
export async function eventually<T>(check: () => T | undefined | Promise<T | undefined>, timeoutMs = 15_000, what = "condition"): Promise<T> {
  const started = Date.now();
  for (;;) {
    const value = await check();
    if (value !== undefined) return value;
    if (Date.now() - started > timeoutMs) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}
