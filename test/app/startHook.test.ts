/**
 * Start-up failures are loud: settings, component files and callers are loaded in the app start hook,
 * so a bad setting fails the hook (worker initialisation) with a message naming the setting, and the
 * function files still register every function first. Also the same through our local host's CLI.
 */
import { spawnSync } from "node:child_process";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import * as path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { stopApp } from "../../src/functions/appHost";
import { installFunctionsCoreStub, type Registrations } from "./functionsCoreStub";

const REPO_ROOT = path.resolve(__dirname, "../..");
const SRC = path.join(REPO_ROOT, "src");
/** The local host's CLI (the workspace package's bin; `npm run build` compiles it). */
const HOST_CLI = path.join(path.dirname(require.resolve("@vaultstate/functions-host/package.json")), "dist", "cli.js");

let registrations: Registrations;
const saved = { ...process.env };

beforeAll(async () => {
  registrations = installFunctionsCoreStub();
  // Imported by path after the stub is in place (the library caches the core module on first use).
  await import(path.join(SRC, "index.ts"));
  await import(path.join(SRC, "functions", "secrets.ts"));
});
afterAll(async () => {
  for (const key of Object.keys(process.env)) delete process.env[key];
  Object.assign(process.env, saved);
});

/** Runs the registered start hook with an environment of exactly `env`, then shuts the app down again. */
async function runStartHook(env: Record<string, string>): Promise<void> {
  for (const key of Object.keys(process.env)) delete process.env[key];
  Object.assign(process.env, env);
  try {
    for (const hook of registrations.hooks.appStart ?? []) await hook({ hookData: {}, appHookData: {}, functionAppDirectory: REPO_ROOT });
  } finally {
    await stopApp();
  }
}

function componentsDir(extra: Record<string, string> = {}): string {
  const dir = mkdtempSync(path.join(tmpdir(), "vaultstate-start-"));
  writeFileSync(path.join(dir, "memstore.yaml"), "apiVersion: dapr.io/v1alpha1\nkind: Component\nmetadata: {name: memstore}\nspec: {type: state.in-memory, version: v1}\n");
  for (const [name, content] of Object.entries(extra)) writeFileSync(path.join(dir, name), content);
  return dir;
}

describe("the app start hook", () => {
  it("registers functions at import and loads nothing until the hook runs", () => {
    expect(registrations.functions.map((f) => f.name)).toContain("secrets");
    expect(registrations.hooks.appStart).toHaveLength(1);
  });

  it("fails with a message naming the setting (ENTRA_AUDIENCES without ENTRA_ISSUERS)", async () => {
    await expect(runStartHook({ COMPONENTS_PATH: componentsDir(), ENTRA_AUDIENCES: "api://vaultstate" })).rejects.toThrow(/ENTRA_ISSUERS/);
  });

  it("fails on a malformed number setting, naming it", async () => {
    await expect(runStartHook({ COMPONENTS_PATH: componentsDir(), TOKEN_GRACE_SECONDS: "soon" })).rejects.toThrow(/TOKEN_GRACE_SECONDS/);
  });

  it("fails on a broken caller document, naming the file", async () => {
    const dir = componentsDir({ "callers.yaml": "apiVersion: vaultstate.io/v1alpha1\nkind: Caller\nmetadata: {name: c}\nspec: {role: emperor}\n" });
    await expect(runStartHook({ COMPONENTS_PATH: dir })).rejects.toThrow(/callers\.yaml/);
  });

  it("succeeds with good settings", async () => {
    await expect(runStartHook({ COMPONENTS_PATH: componentsDir(), API_TOKEN: "t0ken-value" })).resolves.toBeUndefined();
  });
});

describe("our local host", () => {
  it("stops start-up with the same message for a bad setting", async () => {
    const env: Record<string, string | undefined> = { ...saved, ENTRA_AUDIENCES: "api://vaultstate", ENTRA_ISSUERS: "", ENTRA_TENANT_ID: "" };
    delete env.PORT;
    const result = spawnSync(process.execPath, [HOST_CLI, "--port", "0", "--cwd", REPO_ROOT], { env, encoding: "utf8", timeout: 60_000 });
    const output = `${result.stdout}${result.stderr}`;
    expect(result.status, output).not.toBe(0);
    expect(output).toMatch(/ENTRA_ISSUERS/);
    expect(output).not.toMatch(/Host listening/);
  });
});
