/**
 * No module under src/ does work at import: with an empty environment, importing every one of them
 * (function files included, against a stub Functions core) throws nothing and prints nothing.
 */
import { readdirSync } from "node:fs";
import * as path from "node:path";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { installFunctionsCoreStub, type Registrations } from "./functionsCoreStub";

const SRC = path.resolve(__dirname, "../../src");

function modules(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const full = path.join(dir, entry.name);
    if (entry.isDirectory()) return modules(full);
    return entry.name.endsWith(".ts") && !entry.name.endsWith(".d.ts") ? [full] : [];
  });
}

let registrations: Registrations;
const saved = { ...process.env };

beforeAll(() => {
  registrations = installFunctionsCoreStub();
});
afterAll(() => {
  Object.assign(process.env, saved);
});

describe("importing src/", () => {
  it("every module loads with an empty environment, silently", async () => {
    const files = modules(SRC);
    expect(files.length).toBeGreaterThan(50);
    const output: string[] = [];
    const spies = (["log", "info", "warn", "error", "debug"] as const).map((level) => vi.spyOn(console, level).mockImplementation((...args: unknown[]) => void output.push(`${level}: ${args.join(" ")}`)));
    const stdout = vi.spyOn(process.stdout, "write").mockImplementation((chunk: string | Uint8Array) => (output.push(String(chunk)), true));
    const stderr = vi.spyOn(process.stderr, "write").mockImplementation((chunk: string | Uint8Array) => (output.push(String(chunk)), true));
    for (const key of Object.keys(process.env)) delete process.env[key];
    try {
      for (const file of files) await import(file);
    } finally {
      Object.assign(process.env, saved);
      for (const spy of [...spies, stdout, stderr]) spy.mockRestore();
    }
    expect(output).toEqual([]);
    // Registration is the only thing the function files do: every function, the start hook, no work.
    expect(registrations.functions.map((f) => f.name).sort()).toEqual(["healthz", "metadata", "onKeyVaultEvent", "refreshSecrets", "secrets", "state", "zDaprAlphaFallback", "zDaprFallback"]);
    expect(Object.keys(registrations.hooks).sort()).toEqual(["appStart", "appTerminate"]);
  });
});
