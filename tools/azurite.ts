/**
 * @module Azurite launcher: starts the Blob/Queue/Table emulator from node_modules on loopback, for
 * tests and local runs, and stops it (with its whole process group) when asked.
 *
 * @example
 * ```ts
 * const azurite = await startAzurite();            // free ports, temp data folder
 * // ... use azurite.connectionString or azurite.blobEndpoint + accountName/accountKey
 * await azurite.stop();                            // kills the process, removes the folder
 * ```
 */
import { parseDualKeyAccounts } from "../src/rotation/keyPairSources";
import { type ChildProcess, spawn } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";

/** Azurite's well-known development account (public, documented in the Azurite README). */
export const DEV_ACCOUNT_NAME = "devstoreaccount1";
/** The key of {@link DEV_ACCOUNT_NAME}; public, not a secret. */
export const DEV_ACCOUNT_KEY = "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw==";

const HOST = "127.0.0.1";
const STARTUP_TIMEOUT_IN_MS = 30_000;
const STOP_TIMEOUT_IN_MS = 5_000;
/** Closing writes Azurite's databases to disk; with a kept folder, give a busy machine time to finish. */
const KEPT_DATA_STOP_TIMEOUT_IN_MS = 30_000;

/** Runs Azurite as its child and ends it when the parent's pipe closes or on SIGTERM/SIGINT. */
const WATCHDOG = `
const { spawn } = require("node:child_process");
const child = spawn(process.execPath, JSON.parse(process.argv[1]), { stdio: ["ignore", "inherit", "inherit"] });
let ending = false;
const graceInMs = Number(process.argv[2]);
const end = (signal) => { if (!ending) { ending = true; child.kill(signal); setTimeout(() => child.kill("SIGKILL"), graceInMs).unref(); } };
process.stdin.on("end", () => end("SIGTERM"));
process.stdin.on("error", () => end("SIGTERM"));
process.stdin.resume();
process.on("SIGTERM", () => end("SIGTERM"));
process.on("SIGINT", () => end("SIGTERM"));
child.on("exit", (code, signal) => process.exit(code ?? (signal ? 1 : 0)));
`;

/** Options of {@link startAzurite}. */
export interface AzuriteOptions {
  /** Workspace folder; a temp folder (removed on stop) when omitted. A given folder is kept. */
  dataDir?: string;
  /** 0 or undefined lets Azurite pick a free port. */
  blobPort?: number;
  tablePort?: number;
  queuePort?: number;
  /** `AZURITE_ACCOUNTS` format (`name:key1[:key2];…`); the first account is the one returned. */
  accounts?: string;
  /** Suppress Azurite's access log and output (default true). */
  silent?: boolean;
}

/** A running Azurite. */
export interface AzuriteInstance {
  /** Path-style blob service URL including the account, e.g. `http://127.0.0.1:10000/devstoreaccount1`. */
  blobEndpoint: string;
  /** Path-style table service URL including the account. */
  tableEndpoint: string;
  /** Path-style queue service URL including the account. */
  queueEndpoint: string;
  accountName: string;
  accountKey: string;
  /** A full connection string for the account with all three endpoints. */
  connectionString: string;
  /** Kills Azurite (and any child) and removes the temp data folder; safe to call twice. */
  stop(): Promise<void>;
  /**
   * Freezes (SIGSTOP) or thaws (SIGCONT) Azurite's process group: connections are still accepted by
   * the kernel but nothing answers, like a stalled service. POSIX only; for deadline tests.
   */
  pause(): void;
  resume(): void;
}

/** One storage account in `AZURITE_ACCOUNTS`. */
export interface AzuriteAccount {
  name: string;
  key: string;
}

/**
 * Parses the `AZURITE_ACCOUNTS` format (`name:key1[:key2];name2:key`), keeping the first key.
 * @throws {@link RangeError} when an entry has no name or key
 */
export function parseAzuriteAccounts(accounts: string): AzuriteAccount[] {
  return parseDualKeyAccounts(accounts).map(({ name, key1 }) => ({ name, key: key1 }));
}

/** The Azurite services whose "listening" line we wait for. */
export type AzuriteService = "blob" | "queue" | "table";

/**
 * Reads the port from Azurite's start-up line, which reports the real port even when asked for 0.
 * @returns the service and port, or `undefined` for any other line
 */
export function parseListeningLine(line: string): { service: AzuriteService; port: number } | undefined {
  const match = /Azurite (Blob|Queue|Table) service is successfully listening at https?:\/\/[^:\s]+:(\d+)/.exec(line);
  if (match === null) return undefined;
  return { service: match[1].toLowerCase() as AzuriteService, port: Number(match[2]) };
}

/** Builds the connection string for an account on the given path-style endpoints (pure). */
export function buildConnectionString(account: AzuriteAccount, endpoints: Record<AzuriteService, string>): string {
  return (
    `DefaultEndpointsProtocol=http;AccountName=${account.name};AccountKey=${account.key};` +
    `BlobEndpoint=${endpoints.blob};QueueEndpoint=${endpoints.queue};TableEndpoint=${endpoints.table};`
  );
}

/** Resolves Azurite's CLI entry from its package.json, so PATH and shims play no part. */
function azuriteEntry(): string {
  const packageJsonPath = require.resolve("azurite/package.json");
  const manifest: unknown = JSON.parse(fs.readFileSync(packageJsonPath, "utf8"));
  const bin = typeof manifest === "object" && manifest !== null && "bin" in manifest ? manifest.bin : undefined;
  const entry = typeof bin === "object" && bin !== null && "azurite" in bin ? bin.azurite : undefined;
  if (typeof entry !== "string") throw new Error(`no "azurite" bin in ${packageJsonPath}`);
  return path.resolve(path.dirname(packageJsonPath), entry);
}

/**
 * Starts Azurite (Blob, Queue, Table) on 127.0.0.1 and waits until every service answers HTTP.
 * @throws {@link Error} when it exits or does not answer within 30 s (the message carries its last output)
 */
export async function startAzurite(options: AzuriteOptions = {}): Promise<AzuriteInstance> {
  const silent = options.silent ?? true;
  const account = options.accounts !== undefined ? parseAzuriteAccounts(options.accounts)[0] : { name: DEV_ACCOUNT_NAME, key: DEV_ACCOUNT_KEY };
  if (account === undefined) throw new RangeError("options.accounts lists no account");
  const ownsDataDir = options.dataDir === undefined;
  const dataDir = options.dataDir ?? (await fs.promises.mkdtemp(path.join(os.tmpdir(), "vaultstate-azurite-")));

  const args = [
    azuriteEntry(),
    "--blobHost", HOST, "--blobPort", String(options.blobPort ?? 0),
    "--queueHost", HOST, "--queuePort", String(options.queuePort ?? 0),
    "--tableHost", HOST, "--tablePort", String(options.tablePort ?? 0),
    "--location", dataDir,
    // The SDKs send API versions newer than Azurite 3.35 knows; telemetry would phone home (3.35 has the flag).
    "--skipApiVersionCheck",
    "--disableTelemetry",
    ...(silent ? ["--silent"] : []),
  ];
  const env: NodeJS.ProcessEnv = { ...process.env };
  if (options.accounts !== undefined) env.AZURITE_ACCOUNTS = options.accounts;
  else delete env.AZURITE_ACCOUNTS;

  // A process group of its own lets stop() kill Azurite and anything it spawned in one signal; the
  // watchdog in between kills it when our stdin pipe closes, i.e. when this process dies without
  // calling stop() (a crashed or killed test worker never runs "exit" handlers).
  const stopTimeoutInMs = ownsDataDir ? STOP_TIMEOUT_IN_MS : KEPT_DATA_STOP_TIMEOUT_IN_MS;
  const child = spawn(process.execPath, ["-e", WATCHDOG, JSON.stringify(args), String(stopTimeoutInMs)], {
    cwd: dataDir,
    env,
    detached: true,
    stdio: ["pipe", "pipe", "pipe"],
  });
  const killGroupNow = (): void => signalGroup(child, "SIGKILL");
  process.once("exit", killGroupNow);

  let stopped: Promise<void> | undefined;
  const stop = (): Promise<void> => {
    stopped ??= (async () => {
      process.removeListener("exit", killGroupNow);
      await terminate(child, stopTimeoutInMs);
      if (ownsDataDir) await fs.promises.rm(dataDir, { recursive: true, force: true, maxRetries: 5, retryDelay: 100 });
    })();
    return stopped;
  };

  try {
    const ports = await waitForPorts(child, silent);
    const endpoints: Record<AzuriteService, string> = {
      blob: `http://${HOST}:${ports.blob}/${account.name}`,
      queue: `http://${HOST}:${ports.queue}/${account.name}`,
      table: `http://${HOST}:${ports.table}/${account.name}`,
    };
    await Promise.all(Object.values(endpoints).map((url) => waitUntilAnswering(url, child)));
    return {
      blobEndpoint: endpoints.blob,
      tableEndpoint: endpoints.table,
      queueEndpoint: endpoints.queue,
      accountName: account.name,
      accountKey: account.key,
      connectionString: buildConnectionString(account, endpoints),
      stop,
      pause: () => signalGroup(child, "SIGSTOP"),
      resume: () => signalGroup(child, "SIGCONT"),
    };
  } catch (error) {
    await stop();
    throw error;
  }
}

/** Collects output and resolves with the three ports once Azurite has printed them. */
function waitForPorts(child: ChildProcess, silent: boolean): Promise<Record<AzuriteService, number>> {
  return new Promise((resolve, reject) => {
    const ports: Partial<Record<AzuriteService, number>> = {};
    const tail: string[] = [];
    let pending = "";
    const onData = (chunk: Buffer): void => {
      if (!silent) process.stderr.write(chunk);
      pending += chunk.toString("utf8");
      const lines = pending.split(/\r?\n/);
      pending = lines.pop() ?? "";
      for (const line of lines) {
        tail.push(line);
        if (tail.length > 20) tail.shift();
        const parsed = parseListeningLine(line);
        if (parsed !== undefined) ports[parsed.service] = parsed.port;
      }
      const { blob, queue, table } = ports;
      if (blob !== undefined && queue !== undefined && table !== undefined) {
        cleanup();
        // Keep draining so a chatty Azurite never blocks on a full pipe.
        child.stdout?.on("data", silent ? () => {} : (c: Buffer) => process.stderr.write(c));
        child.stderr?.on("data", silent ? () => {} : (c: Buffer) => process.stderr.write(c));
        resolve({ blob, queue, table });
      }
    };
    const onExit = (code: number | null, signal: string | null): void => {
      cleanup();
      reject(new Error(`azurite exited before it was ready (code ${code}, signal ${signal}):\n${tail.join("\n")}`));
    };
    const timer = setTimeout(() => {
      cleanup();
      reject(new Error(`azurite did not start within ${STARTUP_TIMEOUT_IN_MS} ms:\n${tail.join("\n")}`));
    }, STARTUP_TIMEOUT_IN_MS);
    const cleanup = (): void => {
      clearTimeout(timer);
      child.stdout?.removeListener("data", onData);
      child.stderr?.removeListener("data", onData);
      child.removeListener("exit", onExit);
    };
    child.stdout?.on("data", onData);
    child.stderr?.on("data", onData);
    child.once("exit", onExit);
  });
}

/** Polls until the service answers any HTTP status (a 4xx still proves it is serving). */
async function waitUntilAnswering(url: string, child: ChildProcess): Promise<void> {
  const deadline = Date.now() + STARTUP_TIMEOUT_IN_MS;
  for (;;) {
    if (child.exitCode !== null || child.signalCode !== null) throw new Error(`azurite exited while starting (${url})`);
    try {
      const response = await fetch(url, { signal: AbortSignal.timeout(2_000) });
      await response.arrayBuffer();
      return;
    } catch (error) {
      if (Date.now() > deadline) throw new Error(`azurite did not answer at ${url}`, { cause: error });
      await new Promise((r) => setTimeout(r, 100));
    }
  }
}

function signalGroup(child: ChildProcess, signal: NodeJS.Signals): void {
  if (child.pid === undefined || child.exitCode !== null || child.signalCode !== null) return;
  try {
    // Negative pid = the whole group (POSIX); Windows has no groups, so kill the process itself.
    if (process.platform === "win32") child.kill(signal);
    else process.kill(-child.pid, signal);
  } catch {
    // Already gone.
  }
}

/** SIGTERM (Azurite closes its databases cleanly), then SIGKILL if it lingers past `timeoutInMs`. */
async function terminate(child: ChildProcess, timeoutInMs: number): Promise<void> {
  if (child.pid === undefined || child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
  // A paused group would never act on SIGTERM.
  if (process.platform !== "win32") signalGroup(child, "SIGCONT");
  // Only the watchdog: it forwards one SIGTERM to Azurite, whose handler is `once`, so a second
  // SIGTERM from a group-wide signal would kill it while it writes its databases to disk.
  try {
    child.kill("SIGTERM");
  } catch {
    // Already gone.
  }
  let timer: NodeJS.Timeout | undefined;
  const timedOut = await Promise.race([
    exited.then(() => false),
    new Promise<boolean>((resolve) => (timer = setTimeout(() => resolve(true), timeoutInMs))),
  ]);
  clearTimeout(timer);
  if (timedOut) {
    signalGroup(child, "SIGKILL");
    await exited;
  }
  // The group may still hold children after the leader exited.
  try {
    if (process.platform !== "win32" && child.pid !== undefined) process.kill(-child.pid, "SIGKILL");
  } catch {
    // No such group: everything is gone.
  }
}
