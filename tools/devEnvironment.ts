/**
 * @module tools/devEnvironment: the local topology behind `npm start` and the end-to-end tests:
 * Azurite, the Key Vault emulator and the local Functions host (a child process, so it starts with
 * the emulator's CA in `NODE_EXTRA_CA_CERTS`), all on loopback, stopped together.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { copyFile, mkdir } from "node:fs/promises";
import { existsSync } from "node:fs";
import * as path from "node:path";
import { DEV_ACCOUNT_KEY, DEV_ACCOUNT_NAME, startAzurite, type AzuriteInstance } from "./azurite";
import { ensureDevCertificates, startKeyVaultEmulator, type KeyVaultEmulator } from "@vaultstate/keyvault-emulator";

/** The repository root (this file compiles to dist/tools/). */
export const REPO_ROOT = path.resolve(__dirname, "..", __dirname.includes(`${path.sep}dist${path.sep}`) || __dirname.endsWith(`${path.sep}dist${path.sep}tools`) ? ".." : "");

/** The local Functions host's compiled CLI, resolved through its workspace package. */
export function hostCliPath(): string {
  return require.resolve("@vaultstate/functions-host/dist/cli.js");
}

/** The vault the sample components use. */
export const DEV_VAULT = "vaultstate-dev";
/** The seed's rotation identity (Key Vault Secrets Officer). */
export const DEV_ROTATOR_CLIENT_ID = "6f1c2b7e-3a4d-4e5f-9a8b-7c6d5e4f3a2b";
/**
 * The second key of Azurite's development account, so the storage key can rotate between two valid
 * keys locally (the first is Azurite's documented well-known key).
 */
export const DEV_ACCOUNT_SECOND_KEY = "a2V5Mi1mb3ItdmF1bHRzdGF0ZS1kZXYtcm90YXRpb24tZGVtby0wMDAwMDAwMDAwMDA=";

/** What to start. */
export interface DevEnvironmentOptions {
  /** Host port; 0 picks a free one. Default 7071. */
  port?: number;
  /**
   * Extra environment for the host (wins over everything else); a function gets the started
   * services, for values that depend on their ports.
   */
  env?: Record<string, string> | ((services: { emulator: KeyVaultEmulator | undefined; azurite: AzuriteInstance | undefined }) => Record<string, string>);
  /** Point the emulator's Event Grid deliveries at the host (default true). */
  eventWebhooks?: boolean;
  /** Start the Key Vault emulator (default true). */
  keyVault?: boolean;
  /** Start Azurite (default true). */
  azurite?: boolean;
  /** Azurite's data folder, kept across runs; default a temp folder removed on stop. */
  azuriteDataDir?: string;
  /** Key Vault seed file; default `dev/keyvault-seed.yaml`. */
  seedFile?: string;
  /** Where the host's output goes; default inherited by the parent's stdout/stderr. */
  onHostOutput?: (chunk: string) => void;
  /** Milliseconds to wait for `/v1.0/healthz` to answer 204. Default 60 s. */
  readyTimeoutInMs?: number;
}

/** A running local topology. */
export interface DevEnvironment {
  /** `http://127.0.0.1:<port>` of the host. */
  url: string;
  port: number;
  emulator: KeyVaultEmulator | undefined;
  azurite: AzuriteInstance | undefined;
  /** The environment the host was started with (for tests and the banner; contains no secret values besides the identity header). */
  hostEnv: Record<string, string>;
  host: ChildProcess;
  /** The functions the first host indexed (from the list it prints at start-up). */
  functions: IndexedFunction[];
  /**
   * Starts a second host (another "instance" of the app) on a free port, sharing Azurite and the
   * emulator; stopped with the environment.
   */
  startAnotherHost(env?: Record<string, string>, onOutput?: (chunk: string) => void, spawn?: { healthCheck?: boolean }): Promise<RunningHost>;
  /** Stops the host, the emulator and Azurite; safe to call twice. */
  stop(): Promise<void>;
}

/** One running local Functions host. */
export interface RunningHost {
  url: string;
  port: number;
  process: ChildProcess;
  stop(): Promise<void>;
}

/**
 * Spawns the local Functions host on the built app and waits until `/v1.0/healthz` answers 204.
 * @throws Error with the host's output when it exits early or does not become healthy in time
 */
export async function spawnHost(options: {
  port: number;
  env: Record<string, string>;
  onOutput?: (chunk: string) => void;
  readyTimeoutInMs?: number;
  /** The function app folder (package.json, host.json); default the repository root. */
  appDir?: string;
  /** Node.js options for the host process (e.g. `--cpu-prof`). */
  nodeArgs?: string[];
  /** Wait for `/v1.0/healthz` (default true); a host that serves no HTTP (timer-only) is ready once it listens. */
  healthCheck?: boolean;
}): Promise<RunningHost> {
  const appDir = options.appDir ?? REPO_ROOT;
  const host = spawn(process.execPath, [...(options.nodeArgs ?? []), hostCliPath(), "--cwd", appDir, "--port", String(options.port)], {
    cwd: appDir,
    env: { ...process.env, ...options.env },
    stdio: ["ignore", "pipe", "pipe"],
  });
  const exited = new Promise<void>((resolve) => host.once("exit", () => resolve()));
  const stop = async (): Promise<void> => {
    if (host.exitCode === null && host.signalCode === null) {
      host.kill("SIGTERM");
      const timer = setTimeout(() => host.kill("SIGKILL"), 5_000);
      await exited;
      clearTimeout(timer);
    }
  };
  const onOutput = options.onOutput ?? ((chunk: string) => process.stdout.write(chunk));
  const watcher = new ListeningWatcher();
  let watching = true;
  let listened: (port: number) => void = () => {};
  const listening = new Promise<number>((resolve, reject) => {
    listened = resolve;
    host.once("exit", (code) => reject(new Error(`the local Functions host exited (code ${code ?? "signal"}) before listening:\n${watcher.tail()}`)));
  });
  const onData = (chunk: string): void => {
    onOutput(chunk);
    if (!watching) return;
    const port = watcher.push(chunk);
    if (port !== undefined) listened(port);
  };
  for (const stream of [host.stdout, host.stderr]) {
    stream?.setEncoding("utf8");
    stream?.on("data", onData);
  }
  try {
    const port = await listening;
    const url = `http://127.0.0.1:${port}`;
    if (options.healthCheck !== false) await waitHealthy(url, options.readyTimeoutInMs ?? 60_000, () => watcher.tail());
    // From here on the host's output is only forwarded, never scanned or kept.
    watching = false;
    return { url, port, process: host, stop };
  } catch (e) {
    await stop();
    throw e;
  }
}

/**
 * Finds the host's "Host listening" line in its start-up output with O(1) work per chunk: only the
 * unfinished last line is carried over, and a bounded tail is kept for error messages. (Scanning the
 * whole accumulated output on every chunk cost the host measurable CPU under load.)
 */
export class ListeningWatcher {
  private static readonly LISTENING = /Host listening on http:\/\/127\.0\.0\.1:(\d+)/;
  /** Longest unfinished line carried into the next chunk; the listening line is far shorter. */
  private static readonly CARRY_LIMIT = 512;
  private carry = "";
  private readonly chunks: string[] = [];
  private kept = 0;
  private port: number | undefined;

  constructor(private readonly tailLimit = 64 * 1024) {}

  /** Adds a chunk; returns the port once the listening line has been seen (and on every chunk after). */
  push(chunk: string): number | undefined {
    this.keep(chunk);
    if (this.port !== undefined) return this.port;
    const text = this.carry + chunk;
    const match = ListeningWatcher.LISTENING.exec(text);
    if (match !== null) {
      this.carry = "";
      return (this.port = Number(match[1]));
    }
    const lineStart = text.lastIndexOf("\n") + 1;
    this.carry = text.length - lineStart > ListeningWatcher.CARRY_LIMIT ? text.slice(-ListeningWatcher.CARRY_LIMIT) : text.slice(lineStart);
    return undefined;
  }

  /** The last output (at most the tail limit), for error messages. */
  tail(): string {
    return this.chunks.join("");
  }

  private keep(chunk: string): void {
    const piece = chunk.length > this.tailLimit ? chunk.slice(-this.tailLimit) : chunk;
    this.chunks.push(piece);
    this.kept += piece.length;
    for (let first = this.chunks[0]; first !== undefined && this.kept - first.length >= this.tailLimit; first = this.chunks[0]) {
      this.chunks.shift();
      this.kept -= first.length;
    }
  }
}

/** Creates `local.settings.json` from the sample when it is missing, as `func init` would. */
export async function ensureLocalSettings(root: string = REPO_ROOT): Promise<boolean> {
  const target = path.join(root, "local.settings.json");
  if (existsSync(target)) return false;
  await copyFile(path.join(root, "local.settings.sample.json"), target);
  return true;
}

/**
 * Starts Azurite, the emulator and the host, waits until the host is healthy.
 * @throws Error with the host's output when it exits or does not become healthy in time
 */
export async function startDevEnvironment(options: DevEnvironmentOptions = {}): Promise<DevEnvironment> {
  const { caCertPath } = await ensureDevCertificates();
  const stack: Array<() => Promise<void>> = [];
  const stopAll = async (): Promise<void> => {
    for (const stop of stack.splice(0).reverse()) {
      try {
        await stop();
      } catch {
        // Best effort: keep stopping the rest.
      }
    }
  };
  try {
    const hostEnv: Record<string, string> = { NODE_EXTRA_CA_CERTS: caCertPath };
    // Azurite and the emulator do not depend on each other: started side by side.
    const accounts = `${DEV_ACCOUNT_NAME}:${DEV_ACCOUNT_KEY}:${DEV_ACCOUNT_SECOND_KEY}`;
    const [azuriteStart, emulatorStart] = await Promise.allSettled([
      options.azurite === false ? Promise.resolve(undefined) : startAzurite({ accounts, ...(options.azuriteDataDir === undefined ? {} : { dataDir: options.azuriteDataDir }) }),
      options.keyVault === false
        ? Promise.resolve(undefined)
        : mkdir(path.join(REPO_ROOT, ".vaultstate"), { recursive: true }).then(() =>
            startKeyVaultEmulator({
              vaultHost: "vault.localhost",
              seedFile: options.seedFile ?? path.join(REPO_ROOT, "dev", "keyvault-seed.yaml"),
              stateFile: path.join(REPO_ROOT, ".vaultstate", `keyvault-emulator-${process.pid}.json`),
            }),
          ),
    ]);
    const azurite: AzuriteInstance | undefined = azuriteStart.status === "fulfilled" ? azuriteStart.value : undefined;
    const emulator: KeyVaultEmulator | undefined = emulatorStart.status === "fulfilled" ? emulatorStart.value : undefined;
    if (azurite !== undefined) stack.push(() => azurite.stop());
    if (emulator !== undefined) stack.push(() => emulator.close());
    if (azuriteStart.status === "rejected") throw azuriteStart.reason;
    if (emulatorStart.status === "rejected") throw emulatorStart.reason;
    if (azurite !== undefined) {
      hostEnv.ROTATION_AZURITE_ACCOUNTS = accounts;
      hostEnv.ROTATION_AZURITE_BLOB_ENDPOINT = new URL(azurite.blobEndpoint).origin;
      hostEnv.STORAGE_BLOB_ENDPOINT = new URL(azurite.blobEndpoint).origin;
      hostEnv.STORAGE_TABLE_ENDPOINT = new URL(azurite.tableEndpoint).origin;
      hostEnv.AzureWebJobsStorage = azurite.connectionString;
    }
    if (emulator !== undefined) {
      Object.assign(hostEnv, emulator.identityEnvironment(), { KEYVAULT_URI: emulator.vaultUri(DEV_VAULT), ROTATION_CLIENT_ID: DEV_ROTATOR_CLIENT_ID });
    }
    Object.assign(hostEnv, typeof options.env === "function" ? options.env({ emulator, azurite }) : options.env);

    // The start-up lines (bounded) hold the host's function list.
    let startupOutput = "";
    const forward = options.onHostOutput ?? ((chunk: string) => process.stdout.write(chunk));
    const first = await spawnHost({
      port: options.port ?? 7071,
      env: hostEnv,
      onOutput: (chunk) => {
        if (startupOutput.length < 64 * 1024) startupOutput += chunk;
        forward(chunk);
      },
      readyTimeoutInMs: options.readyTimeoutInMs,
    });
    stack.push(first.stop);
    const url = first.url;
    const actualPort = first.port;
    const host = first.process;
    // Event Grid delivers to one instance of the app; the version table tells the others.
    if (options.eventWebhooks !== false) await emulator?.setWebhooks([{ url: `${url}/runtime/webhooks/eventgrid?functionName=onKeyVaultEvent`, schema: "EventGridSchema", name: "vaultstate" }]);
    let stopped: Promise<void> | undefined;
    return {
      url,
      port: actualPort,
      emulator,
      azurite,
      hostEnv,
      host,
      functions: indexedFunctions(startupOutput),
      async startAnotherHost(extra = {}, onOutput = options.onHostOutput, spawnOptions = {}) {
        const another = await spawnHost({ port: 0, env: { ...hostEnv, ...extra }, onOutput, readyTimeoutInMs: options.readyTimeoutInMs, healthCheck: spawnOptions.healthCheck });
        stack.push(another.stop);
        return another;
      },
      stop: () => (stopped ??= stopAll()),
    };
  } catch (e) {
    await stopAll();
    throw e;
  }
}

/** A function as the local host lists it at start-up. */
export interface IndexedFunction {
  name: string;
  /** "http", "timer", "eventGrid" or the trigger type the host printed. */
  trigger: string;
}

/** Parses the function list the local host prints at start-up (Core Tools' format: a tab, the name, a colon). */
export function indexedFunctions(output: string): IndexedFunction[] {
  const functions: IndexedFunction[] = [];
  for (const match of output.matchAll(/^\t([A-Za-z][\w-]*): (\S+)/gm)) {
    const name = match[1] ?? "";
    const rest = match[2] ?? "";
    const trigger = rest.startsWith("[") ? "http" : rest === "timerTrigger" ? "timer" : rest === "eventGridTrigger" ? "eventGrid" : rest;
    if (!functions.some((f) => f.name === name)) functions.push({ name, trigger });
  }
  return functions;
}

/**
 * The app settings that make an instance run one Flex Consumption function group: "http" (HTTP and
 * Event Grid webhook triggers) disables every other function; a timer group disables everything but
 * that timer (`AzureWebJobs.<name>.Disabled`, which the local host honours like the real one).
 */
export function functionGroupSettings(functions: readonly IndexedFunction[], group: "http" | { timer: string }): Record<string, string> {
  const keep = (f: IndexedFunction): boolean => (group === "http" ? f.trigger === "http" || f.trigger === "eventGrid" : f.name === group.timer);
  return Object.fromEntries(functions.filter((f) => !keep(f)).map((f) => [`AzureWebJobs.${f.name}.Disabled`, "true"]));
}

/** Flex Consumption's per-function scaling, locally. */
export interface FlexTopology {
  /** Instances of the "http" group: they serve HTTP and Event Grid deliveries, never the timer. */
  http: RunningHost[];
  /** The instance of the timer's own group: it serves no HTTP. */
  timer: RunningHost;
}

/**
 * Starts `httpHosts` HTTP-group instances and one timer-only instance next to a running dev environment
 * (sharing its Azurite, emulator and settings), and stops the environment's first host, which ran every
 * function, so only the Flex topology remains. Event Grid deliveries (when `eventWebhooks`) go to the
 * first HTTP instance, as Event Grid delivers each event to one instance. Everything stops with the
 * environment.
 */
export async function startFlexTopology(
  env: DevEnvironment,
  options: { httpHosts: number; eventWebhooks?: boolean; env?: Record<string, string>; onOutput?: (instance: string, chunk: string) => void },
): Promise<FlexTopology> {
  const timers = env.functions.filter((f) => f.trigger === "timer");
  if (timers.length !== 1) throw new Error(`the Flex topology needs exactly one timer function, the host listed ${timers.length}`);
  const timerName = timers[0]?.name ?? "";
  if (env.host.exitCode === null && env.host.signalCode === null) {
    const exited = new Promise((resolve) => env.host.once("exit", resolve));
    env.host.kill("SIGTERM");
    await exited;
  }
  const http: RunningHost[] = [];
  for (let i = 0; i < options.httpHosts; i++) {
    http.push(await env.startAnotherHost({ ...options.env, ...functionGroupSettings(env.functions, "http") }, (chunk) => options.onOutput?.(`http${i + 1}`, chunk)));
  }
  const timer = await env.startAnotherHost({ ...options.env, ...functionGroupSettings(env.functions, { timer: timerName }) }, (chunk) => options.onOutput?.("timer", chunk), { healthCheck: false });
  const firstHttp = http[0];
  if (options.eventWebhooks !== false && firstHttp !== undefined) {
    await env.emulator?.setWebhooks([{ url: `${firstHttp.url}/runtime/webhooks/eventgrid?functionName=onKeyVaultEvent`, schema: "EventGridSchema", name: "vaultstate" }]);
  } else {
    await env.emulator?.setWebhooks([]);
  }
  return { http, timer };
}

async function waitHealthy(url: string, timeoutInMs: number, output: () => string): Promise<void> {
  const deadline = Date.now() + timeoutInMs;
  let last = "no answer";
  while (Date.now() < deadline) {
    try {
      const response = await fetch(`${url}/v1.0/healthz`);
      if (response.status === 204) return;
      last = `${response.status} ${await response.text()}`;
    } catch (e) {
      last = e instanceof Error ? e.message : String(e);
    }
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
  throw new Error(`the host did not become healthy within ${timeoutInMs} ms (last: ${last}):\n${output()}`);
}
