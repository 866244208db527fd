/**
 * @module Finds the real Azure Functions Node.js worker (`../shared/functions-worker` beside the
 * repository, read-only in CI) and installs a copy of it once into a git-ignored cache folder, so every
 * parity test file of a run (and later runs) share one `npm install`.
 */
import { spawn } from "node:child_process";
import { createHash } from "node:crypto";
import { existsSync } from "node:fs";
import { cp, mkdir, open, readFile, readdir, rename, rm, stat, writeFile } from "node:fs/promises";
import * as path from "node:path";
import { performance } from "node:perf_hooks";

/** The repository root (this file is test/parity/support/). */
export const REPO_ROOT = path.resolve(__dirname, "..", "..", "..");

/**
 * Where the worker is expected: `VAULTSTATE_FUNCTIONS_WORKER` when set (a git worktree that is not a
 * sibling of `shared/`), otherwise `../shared/functions-worker` relative to the repository root.
 */
export function workerSourceDir(): string {
  const configured = process.env.VAULTSTATE_FUNCTIONS_WORKER?.trim();
  return configured !== undefined && configured !== "" ? path.resolve(configured) : path.resolve(REPO_ROOT, "..", "shared", "functions-worker");
}

/** Why the parity tier cannot run here, or undefined when the worker is present. */
export function workerUnavailableReason(): string | undefined {
  const dir = workerSourceDir();
  if (!existsSync(path.join(dir, "src", "nodejsWorker.js")) || !existsSync(path.join(dir, "package.json"))) {
    return `parity tests skipped: the real Azure Functions Node.js worker is not at ${dir} (clone the repository with shared/ beside it, or set VAULTSTATE_FUNCTIONS_WORKER)`;
  }
  return undefined;
}

/** An installed copy of the worker. */
export interface InstalledWorker {
  /** The folder with `src/nodejsWorker.js` and its `node_modules`. */
  dir: string;
  /** True when an earlier test file or run had already installed this exact worker. */
  cached: boolean;
  /** Wall time of this call, including any wait for a concurrent install. */
  elapsedInMs: number;
}

const MARKER = ".vaultstate-installed";
/** A concurrent installer that has not finished in this time is presumed dead. */
const STALE_LOCK_MS = 10 * 60_000;

/**
 * Copies the worker into `.vaultstate/functions-worker/<content hash>` and runs
 * `npm install --ignore-scripts --no-audit --no-fund` there, unless a complete install of the same
 * content exists. Safe to call from several test processes at once: one installs, the others wait.
 * @throws Error when the worker is absent or npm fails (with npm's output)
 */
export async function ensureWorkerInstalled(): Promise<InstalledWorker> {
  const started = performance.now();
  const source = workerSourceDir();
  const reason = workerUnavailableReason();
  if (reason !== undefined) throw new Error(reason);
  const key = await contentKey(source);
  const cacheRoot = path.join(REPO_ROOT, ".vaultstate", "functions-worker");
  const target = path.join(cacheRoot, key);
  await mkdir(cacheRoot, { recursive: true });
  if (existsSync(path.join(target, MARKER))) return { dir: target, cached: true, elapsedInMs: performance.now() - started };

  const lockFile = `${target}.lock`;
  for (;;) {
    if (existsSync(path.join(target, MARKER))) return { dir: target, cached: true, elapsedInMs: performance.now() - started };
    const lock = await tryLock(lockFile);
    if (lock) break;
    await new Promise((resolve) => setTimeout(resolve, 500));
  }
  try {
    if (existsSync(path.join(target, MARKER))) return { dir: target, cached: true, elapsedInMs: performance.now() - started };
    const staging = `${target}.staging-${process.pid}`;
    await rm(staging, { recursive: true, force: true });
    await cp(source, staging, { recursive: true, filter: (from) => path.basename(from) !== "node_modules" });
    await npmInstall(staging);
    await writeFile(path.join(staging, MARKER), new Date().toISOString());
    await rm(target, { recursive: true, force: true });
    await rename(staging, target);
    return { dir: target, cached: false, elapsedInMs: performance.now() - started };
  } finally {
    await rm(lockFile, { force: true });
  }
}

async function tryLock(lockFile: string): Promise<boolean> {
  try {
    const handle = await open(lockFile, "wx");
    await handle.writeFile(String(process.pid));
    await handle.close();
    return true;
  } catch (e) {
    if (!(e instanceof Error && "code" in e && e.code === "EEXIST")) throw e;
    // A crashed installer leaves its lock behind; take over once it is clearly abandoned.
    try {
      const info = await stat(lockFile);
      const owner = Number(await readFile(lockFile, "utf8"));
      if (Date.now() - info.mtimeMs > STALE_LOCK_MS || (Number.isInteger(owner) && owner > 0 && !isAlive(owner))) await rm(lockFile, { force: true });
    } catch {
      // The lock vanished meanwhile: the next attempt decides.
    }
    return false;
  }
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/** A hash of the worker's files and the Node major version, so a changed worker gets a fresh install. */
async function contentKey(dir: string): Promise<string> {
  const hash = createHash("sha256");
  hash.update(process.versions.node.split(".")[0] ?? "");
  const walk = async (folder: string): Promise<void> => {
    const entries = (await readdir(folder, { withFileTypes: true })).filter((e) => e.name !== "node_modules").sort((a, b) => a.name.localeCompare(b.name));
    for (const entry of entries) {
      const full = path.join(folder, entry.name);
      if (entry.isDirectory()) await walk(full);
      else if (entry.isFile()) {
        hash.update(path.relative(dir, full));
        hash.update(await readFile(full));
      }
    }
  };
  await walk(dir);
  return hash.digest("hex").slice(0, 16);
}

/**
 * The tests' environment with the machine's NODE_EXTRA_CA_CERTS restored: the global setup points it at the Key Vault
 * emulator's CA, which would make npm distrust a registry reached through the machine's own CA.
 */
function registryEnvironment(): NodeJS.ProcessEnv {
  const env = { ...process.env };
  const machine = env.VAULTSTATE_MACHINE_NODE_EXTRA_CA_CERTS;
  if (machine === undefined) return env;
  if (machine === "") delete env.NODE_EXTRA_CA_CERTS;
  else env.NODE_EXTRA_CA_CERTS = machine;
  return env;
}

/** npm from the npm that runs the tests when there is one (npm_execpath), else from PATH. */
function npmInstall(dir: string): Promise<void> {
  const args = ["install", "--ignore-scripts", "--no-audit", "--no-fund", "--prefer-offline", "--no-package-lock"];
  const execPath = process.env.npm_execpath;
  const [command, commandArgs] = execPath !== undefined && execPath.endsWith(".js") ? [process.execPath, [execPath, ...args]] : ["npm", args];
  return new Promise((resolve, reject) => {
    const child = spawn(command, commandArgs, { cwd: dir, env: registryEnvironment(), stdio: ["ignore", "pipe", "pipe"], shell: process.platform === "win32" && command === "npm" });
    let output = "";
    child.stdout.on("data", (d: Buffer) => (output += d.toString("utf8")));
    child.stderr.on("data", (d: Buffer) => (output += d.toString("utf8")));
    child.once("error", reject);
    child.once("exit", (code) => (code === 0 ? resolve() : reject(new Error(`npm install of the Functions worker failed (exit ${code ?? "signal"}):\n${output}`))));
  });
}
