/**
 * @module The app's production dependency tree holds no dev tooling: the emulator, Azurite, the local
 * host's helpers and the Bicep syntax checker live in workspace packages and devDependencies, so a
 * deployment (or `npm ci --omit=dev` of the app) never installs them.
 */
import { execFileSync } from "node:child_process";
import * as path from "node:path";
import { describe, expect, it } from "vitest";

const REPO = path.resolve(__dirname, "../..");

interface NpmTree {
  dependencies?: Record<string, NpmTree>;
}

function names(tree: NpmTree): string[] {
  return Object.entries(tree.dependencies ?? {}).flatMap(([name, child]) => [name, ...names(child)]);
}

describe("production dependencies", () => {
  it("npm ls --omit=dev of the app lists no azurite, selfsigned, tree-sitter or workspace tooling", () => {
    const npm = process.platform === "win32" ? "npm.cmd" : "npm";
    const json = execFileSync(npm, ["ls", "--omit=dev", "--all", "--workspaces=false", "--json"], { cwd: REPO, encoding: "utf8", maxBuffer: 64 * 2 ** 20 });
    const all = new Set(names(JSON.parse(json) as NpmTree));
    expect(all.has("@azure/keyvault-secrets")).toBe(true);
    expect([...all].filter((n) => /azurite|selfsigned|tree-sitter|^@vaultstate\/|^vitest$|^esbuild$|^autocannon$/.test(n))).toEqual([]);
  }, 60_000);
});
