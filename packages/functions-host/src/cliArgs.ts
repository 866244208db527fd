/** @module functions-host/cliArgs: command-line parsing, port precedence and the function list of the host CLI (pure). */

import type { FunctionInfo } from "./host";
import type { LocalSettings } from "./localSettings";

/** Parsed command line. */
export interface CliArgs {
  readonly port?: number;
  readonly cwd?: string;
  readonly help: boolean;
}

/** One-line usage text. */
export const USAGE = "Usage: vaultstate-host [--port N] [--cwd DIR]";
const DEFAULT_PORT = 7071;
/** The environment variable (or local.settings.json value) holding the host's master key; see StartHostOptions.masterKey. */
export const MASTER_KEY_SETTING = "FUNCTIONS_HOST_MASTER_KEY";

/** Parses `--port N`, `--port=N`, `--cwd DIR`, `--cwd=DIR` and `--help`; throws on anything else. */
export function parseCliArgs(argv: readonly string[]): CliArgs {
  let port: number | undefined;
  let cwd: string | undefined;
  let help = false;
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    const [flag, inline] = arg.startsWith("--") && arg.includes("=") ? [arg.slice(0, arg.indexOf("=")), arg.slice(arg.indexOf("=") + 1)] : [arg, undefined];
    const value = (): string => {
      const v = inline ?? argv[++i];
      if (v === undefined) throw new Error(`${flag} needs a value`);
      return v;
    };
    if (flag === "--port" || flag === "-p") port = parsePort(value(), flag);
    else if (flag === "--cwd") cwd = value();
    else if (flag === "--help" || flag === "-h") help = true;
    else throw new Error(`Unknown argument "${arg}"`);
  }
  return { port, cwd, help };
}

/** Validates a port number given as text. */
export function parsePort(text: string, source: string): number {
  if (!/^\d+$/.test(text) || Number(text) > 65535) throw new Error(`${source} must be a port number (0-65535), got "${text}"`);
  return Number(text);
}

/** Port precedence: --port flag, then the PORT environment variable, then Host.LocalHttpPort, then 7071. */
export function resolvePort(flag: number | undefined, envPort: string | undefined, settings: LocalSettings | undefined): number {
  if (flag !== undefined) return flag;
  if (envPort !== undefined && envPort !== "") return parsePort(envPort, "PORT");
  return settings?.host.localHttpPort ?? DEFAULT_PORT;
}

/** The lines printed for the function list, in the spirit of `func start`. */
export function describeFunctions(url: string, functions: readonly FunctionInfo[]): string[] {
  const lines = ["", "Functions:", ""];
  for (const fn of functions) {
    if (fn.trigger === "http") {
      lines.push(`\t${fn.name}: [${(fn.methods ?? ["ALL"]).join(",")}] ${url}/${fn.route ?? ""}`);
    } else if (fn.trigger === "timer") {
      lines.push(`\t${fn.name}: timerTrigger (${fn.schedule ?? ""})`);
    } else if (fn.trigger === "eventGrid") {
      lines.push(`\t${fn.name}: eventGridTrigger ${url}/runtime/webhooks/eventgrid?functionName=${encodeURIComponent(fn.name)}`);
    } else {
      lines.push(`\t${fn.name}: ${fn.trigger} (not run by the local host)`);
    }
  }
  lines.push("");
  return lines;
}
