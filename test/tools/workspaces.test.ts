/**
 * @module test/tools/workspaces: the app package carries no dev tooling. The local host, the emulator and
 * their dependencies are workspace packages reached only through the root's devDependencies, so the
 * production dependency tree npm computes for the app (what `npm ci --omit=dev` keeps) holds none of them.
 */
import { execFile } from "node:child_process";
import { readFileSync } from "node:fs";
import * as path from "node:path";
import { promisify } from "node:util";
import { describe, expect, it } from "vitest";
import { REPO_ROOT } from "../../tools/devEnvironment";

const execFileAsync = promisify(execFile);
const DEV_TOOLING = /(^|[\\/])(azurite|selfsigned|tree-sitter[^\\/]*|web-tree-sitter|@vaultstate)([\\/]|$)/;

/** Installed package folders of the root package's tree, as `npm ls --parseable` prints them. */
async function installedFolders(...flags: string[]): Promise<string[]> {
  const npmCli = process.env.npm_execpath;
  const [command, args] = npmCli && npmCli.endsWith(".js") ? [process.execPath, [npmCli]] : ["npm", []];
  // The app is the root package alone: --workspaces=false keeps npm from adding every workspace as a root edge.
  const { stdout } = await execFileAsync(command, [...args, "ls", "--all", "--parseable", "--workspaces=false", ...flags], {
    cwd: REPO_ROOT,
    maxBuffer: 16 * 1024 * 1024,
  });
  return stdout.split(/\r?\n/).filter((line) => line.trim() !== "").map((line) => path.relative(REPO_ROOT, line));
}

describe("npm workspaces", () => {
  it("keeps dev tooling out of the app's production dependency tree", async () => {
    const [production, everything] = await Promise.all([installedFolders("--omit=dev"), installedFolders()]);
    // The full tree does hold them: the pattern is live, so an empty match below means something.
    expect(everything.filter((f) => DEV_TOOLING.test(f)).length).toBeGreaterThan(0);
    expect(production.some((f) => f.includes(path.join("node_modules", "@azure", "functions")))).toBe(true);
    expect(production.filter((f) => DEV_TOOLING.test(f))).toEqual([]);
  }, 60_000);

  it("lists the workspace packages as root devDependencies, each with its own bin", () => {
    const root = JSON.parse(readFileSync(path.join(REPO_ROOT, "package.json"), "utf8")) as { dependencies: Record<string, string>; devDependencies: Record<string, string>; workspaces: string[] };
    expect(root.workspaces).toEqual(["packages/*"]);
    for (const [folder, name] of [["functions-host", "@vaultstate/functions-host"], ["keyvault-emulator", "@vaultstate/keyvault-emulator"]] as const) {
      const pkg = JSON.parse(readFileSync(path.join(REPO_ROOT, "packages", folder, "package.json"), "utf8")) as { name: string; private: boolean; bin: Record<string, string> };
      expect(pkg.name).toBe(name);
      expect(pkg.private).toBe(true);
      expect(Object.keys(pkg.bin).length).toBe(1);
      expect(root.devDependencies).toHaveProperty([name]);
      expect(root.dependencies).not.toHaveProperty([name]);
    }
  });
});
