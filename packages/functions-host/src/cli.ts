#!/usr/bin/env node
/** @module functions-host/cli: `vaultstate-host [--port N] [--cwd DIR]`, the local stand-in for `func start`. */

import { existsSync, readFileSync } from "node:fs";
import * as path from "node:path";
import { describeFunctions, MASTER_KEY_SETTING, parseCliArgs, resolvePort, USAGE, type CliArgs } from "./cliArgs";
import { startHost, type LocalHost } from "./host";
import { applyLocalSettingsValues, parseLocalSettings, type LocalSettings } from "./localSettings";

/** Environment variable naming a folder where the host records every response (tests only; bodies are kept verbatim). */
export const RECORD_RESPONSES_DIR_SETTING = "FUNCTIONS_HOST_RECORD_RESPONSES_DIR";

function loadLocalSettings(appDir: string): LocalSettings | undefined {
  const file = path.join(appDir, "local.settings.json");
  if (!existsSync(file)) return undefined;
  return parseLocalSettings(readFileSync(file, "utf8"));
}

function fail(message: string, exitCode: number): never {
  process.stderr.write(`${message}\n`);
  process.exit(exitCode);
}

function describeError(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

async function main(): Promise<void> {
  let args: CliArgs;
  try {
    args = parseCliArgs(process.argv.slice(2));
  } catch (err) {
    fail(`${describeError(err)}\n${USAGE}`, 2);
  }
  if (args.help) {
    process.stdout.write(`${USAGE}\n`);
    return;
  }
  const appDir = path.resolve(args.cwd ?? process.cwd());

  let host: LocalHost;
  try {
    // PORT is read from the real environment before local settings are applied: local.settings.json sets the
    // port through Host.LocalHttpPort, not through Values.
    const envPort = process.env.PORT;
    const settings = loadLocalSettings(appDir);
    if (settings) {
      // Values must be in process.env before the app is loaded: app code reads settings at import time.
      const { warnings } = applyLocalSettingsValues(settings.values, process.env);
      for (const warning of warnings) process.stdout.write(`${warning}\n`);
    }
    const port = resolvePort(args.port, envPort, settings);
    // Test aid: every response is appended to <dir>/host-<pid>.jsonl (one file per host process).
    const recordDir = process.env[RECORD_RESPONSES_DIR_SETTING];
    // The host's own setting, not the app's: taken out of the environment before the app could read or log it.
    const masterKey = process.env[MASTER_KEY_SETTING];
    delete process.env[MASTER_KEY_SETTING];
    host = await startHost({
      appDir,
      port,
      ...(recordDir ? { recordResponsesTo: path.join(recordDir, `host-${process.pid}.jsonl`) } : {}),
      ...(masterKey !== undefined && masterKey !== "" ? { masterKey } : {}),
    });
  } catch (err) {
    fail(`Host failed to start: ${describeError(err)}`, 1);
  }
  // One write, so a reader that saw the first line also has the function list.
  process.stdout.write(`Host listening on ${host.url}\n${describeFunctions(host.url, host.functions).join("\n")}\n`);

  let stopping = false;
  const stop = (signal: NodeJS.Signals): void => {
    if (stopping) fail(`Received ${signal} again; exiting without waiting.`, 1);
    stopping = true;
    process.stdout.write(`Received ${signal}; shutting down.\n`);
    host.close().then(
      () => process.exit(0),
      (err: unknown) => fail(`Shutdown failed: ${describeError(err)}`, 1),
    );
  };
  process.on("SIGINT", stop);
  process.on("SIGTERM", stop);
}

if (require.main === module) {
  main().catch((err: unknown) => fail(`Host failed: ${describeError(err)}`, 1));
}
