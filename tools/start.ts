#!/usr/bin/env node
/**
 * @module tools/start: `npm start`. Creates `local.settings.json` when missing, starts Azurite, the Key
 * Vault emulator and the local Functions host with the sample components, prints a banner, and stops
 * everything on Ctrl-C. Azurite keeps its data in `.vaultstate/azurite` (git-ignored) across restarts
 * and crashes; `npm start -- --fresh` starts from an empty folder.
 */
import { readFileSync } from "node:fs";
import { rm } from "node:fs/promises";
import * as path from "node:path";
import { ensureLocalSettings, REPO_ROOT, startDevEnvironment, type DevEnvironment } from "./devEnvironment";

/** The first literal caller token in an `API_TOKEN` value, for the banner (pure). */
export function bannerToken(apiToken: string | undefined): { appId: string | undefined; token: string } | undefined {
  for (const entry of (apiToken ?? "").split(",").map((s) => s.trim())) {
    if (entry === "") continue;
    const match = /^([A-Za-z0-9][A-Za-z0-9_.-]*)=(.+)$/.exec(entry);
    const value = match?.[2] ?? entry;
    if (value.startsWith("secretstore:") || value.startsWith("@Microsoft.KeyVault(")) continue;
    return { appId: match?.[1], token: value };
  }
  return undefined;
}

/** Where `npm start` keeps Azurite's data between runs (inside the git-ignored `.vaultstate/`). */
export const AZURITE_DATA_DIR = path.join(REPO_ROOT, ".vaultstate", "azurite");

/** What `npm start` was asked for (pure). */
export interface StartOptions {
  /** Delete Azurite's kept data before starting. */
  fresh: boolean;
}

/**
 * Parses `npm start` arguments.
 * @throws {@link Error} for an unknown argument, naming the ones that exist
 */
export function parseStartArgs(argv: readonly string[]): StartOptions {
  const options: StartOptions = { fresh: false };
  for (const arg of argv) {
    if (arg === "--fresh") options.fresh = true;
    else throw new Error(`unknown argument "${arg}" (npm start accepts: --fresh, which deletes the kept Azurite data first)`);
  }
  return options;
}

/** Reads `Values` of local.settings.json (already validated by the host when it started). */
function localSettingsValues(): Record<string, string> {
  try {
    const parsed: unknown = JSON.parse(readFileSync(path.join(REPO_ROOT, "local.settings.json"), "utf8"));
    const values = typeof parsed === "object" && parsed !== null ? (parsed as { Values?: unknown }).Values : undefined;
    return typeof values === "object" && values !== null ? (values as Record<string, string>) : {};
  } catch {
    return {};
  }
}

interface MetadataBody {
  id?: string;
  components?: { name: string; type: string; version: string; capabilities?: string[] }[];
}

async function banner(env: DevEnvironment): Promise<string> {
  const values = localSettingsValues();
  const caller = bannerToken(process.env.API_TOKEN ?? values.API_TOKEN);
  const lines = ["", "vaultstate is running", "", `  URL:    ${env.url}`];
  if (caller !== undefined) {
    const response = await fetch(`${env.url}/v1.0/metadata`, { headers: { "dapr-api-token": caller.token } });
    const metadata = (await response.json()) as MetadataBody;
    lines.push(`  Caller: app-id ${metadata.id ?? caller.appId ?? "?"}, header  dapr-api-token: ${caller.token}`, "", "  Components:");
    for (const c of metadata.components ?? []) {
      lines.push(`    ${c.name.padEnd(18)} ${c.type}/${c.version}${c.capabilities !== undefined ? `  [${c.capabilities.join(", ")}]` : ""}`);
    }
    lines.push(
      "",
      "  Try:",
      `    curl -s -H 'dapr-api-token: ${caller.token}' ${env.url}/v1.0/secrets/secretstore/demo-secret`,
      `    curl -s -H 'dapr-api-token: ${caller.token}' ${env.url}/v1.0/secrets/localsecretstore/bulk`,
      `    curl -s -X POST -H 'dapr-api-token: ${caller.token}' -H 'content-type: application/json' ${env.url}/v1.0/state/statestore -d '[{"key":"order-1","value":{"qty":3}}]'`,
      `    curl -s -H 'dapr-api-token: ${caller.token}' ${env.url}/v1.0/state/statestore/order-1`,
    );
  } else {
    lines.push("  No literal caller token in API_TOKEN: API routes need the token you configured.");
  }
  if (env.emulator !== undefined) lines.push("", `  Key Vault emulator: ${env.emulator.vaultUri("vaultstate-dev")} (admin ${env.emulator.adminUrl})`);
  if (env.azurite !== undefined) {
    lines.push(`  Azurite:            blob ${env.azurite.blobEndpoint}, table ${env.azurite.tableEndpoint}`);
    lines.push(`                      data kept in ${path.relative(REPO_ROOT, AZURITE_DATA_DIR)} (npm start -- --fresh empties it)`);
  }
  lines.push("", "  Ctrl-C stops everything.", "");
  return lines.join("\n");
}

async function main(): Promise<void> {
  const { fresh } = parseStartArgs(process.argv.slice(2));
  if (await ensureLocalSettings()) process.stdout.write("Created local.settings.json from local.settings.sample.json\n");
  if (fresh) {
    await rm(AZURITE_DATA_DIR, { recursive: true, force: true });
    process.stdout.write(`--fresh: deleted the kept Azurite data (${path.relative(REPO_ROOT, AZURITE_DATA_DIR)})\n`);
  }
  const port = process.env.PORT !== undefined && process.env.PORT !== "" ? Number(process.env.PORT) : 7071;
  const env = await startDevEnvironment({ port, azuriteDataDir: AZURITE_DATA_DIR });
  let stopping = false;
  const stop = (): void => {
    if (stopping) return;
    stopping = true;
    process.stdout.write("\nStopping…\n");
    env.stop().then(
      () => process.exit(0),
      () => process.exit(1),
    );
  };
  process.on("SIGINT", stop);
  process.on("SIGTERM", stop);
  env.host.once("exit", (code) => {
    if (stopping) return;
    process.stderr.write(`The local Functions host exited (code ${code ?? "signal"}); stopping.\n`);
    stopping = true;
    void env.stop().then(() => process.exit(1));
  });
  process.stdout.write(await banner(env));
}

if (require.main === module) {
  main().catch((e: unknown) => {
    process.stderr.write(`npm start failed: ${e instanceof Error ? e.message : String(e)}\n`);
    process.exit(1);
  });
}
