#!/usr/bin/env node
/**
 * @module tools/package: `npm run package`, the step azd runs after `npm run build` (with
 * NODE_ENV=production) before it zips the service's `dist` folder (azure.yaml: `dist: dist/bundle`).
 *
 * It builds the esbuild bundle (tools/bundle.ts) and then takes out of it what `.funcignore` keeps out
 * of any deployment: the source maps and the component files that must not run in Azure (local secret
 * stores, memstore). The result holds the app's code and its production dependencies, inlined in
 * `main.js` and the lazily loaded `lazy/*.js`, and nothing else: no `node_modules`, no TypeScript, no
 * dev tooling.
 * test/infra/package.test.ts builds it and checks that; docs/deploy.md states the size.
 */
import { readdirSync, readFileSync, rmSync, statSync } from "node:fs";
import * as path from "node:path";
import { bundle, BUNDLE_DIR } from "./bundle";
import { REPO_ROOT } from "./devEnvironment";

/** One file of the package, by path relative to the package root. */
export interface PackageFile {
  path: string;
  bytes: number;
}

/** What {@link buildPackage} produced. */
export interface PackageResult {
  dir: string;
  files: PackageFile[];
  totalBytes: number;
  /** The npm packages whose code the bundle inlines (from the source map, read before it is removed). */
  bundledPackages: string[];
}

/** The `components/<file>` lines of `.funcignore`: component files no deployment may carry. */
export function excludedComponentFiles(funcignore: string): string[] {
  return funcignore
    .split(/\r?\n/)
    .map((line) => line.trim())
    .filter((line) => /^components\/[^*!/]+$/.test(line))
    .map((line) => line.slice("components/".length));
}

/** npm package names in source-map paths (`../../node_modules/@scope/name/...`), the nearest node_modules winning. */
export function packagesInSources(sources: readonly string[]): string[] {
  const names = new Set<string>();
  for (const source of sources) {
    const parts = source.split("/");
    const at = parts.lastIndexOf("node_modules");
    if (at === -1) continue;
    const first = parts[at + 1] ?? "";
    const name = first.startsWith("@") ? `${first}/${parts[at + 2] ?? ""}` : first;
    // Paths from a package's own source map can name build folders (`@scope/.build-data`), not packages.
    if (!name.split("/").some((part) => part === "" || part.startsWith("."))) names.add(name);
  }
  return [...names].sort();
}

function listFiles(dir: string, base: string = dir): PackageFile[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const full = path.join(dir, entry.name);
    return entry.isDirectory() ? listFiles(full, base) : [{ path: path.relative(base, full).split(path.sep).join("/"), bytes: statSync(full).size }];
  });
}

/**
 * Packages that only development needs, per the lockfile (every copy flagged `dev`). Production code
 * may still probe for one (`debug` tries `require("supports-color")`); left external, that probe finds
 * nothing in Azure, exactly as after `npm install --omit=dev`.
 */
export function devOnlyPackages(lockfile: { packages?: Record<string, { dev?: boolean; devOptional?: boolean }> }): string[] {
  const production = new Set<string>();
  const all = new Set<string>();
  for (const [key, entry] of Object.entries(lockfile.packages ?? {})) {
    const at = key.lastIndexOf("node_modules/");
    if (at === -1) continue;
    const name = key.slice(at + "node_modules/".length);
    all.add(name);
    if (entry.dev !== true && entry.devOptional !== true) production.add(name);
  }
  return [...all].filter((name) => !production.has(name)).sort();
}

/** Builds the deployment package in `outDir` (default `dist/bundle`, azure.yaml's `dist`). */
export async function buildPackage(outDir: string = BUNDLE_DIR): Promise<PackageResult> {
  const lockfile = JSON.parse(readFileSync(path.join(REPO_ROOT, "package-lock.json"), "utf8")) as Parameters<typeof devOnlyPackages>[0];
  await bundle(outDir, { external: devOnlyPackages(lockfile) });
  const maps = listFiles(outDir).filter((f) => f.path.endsWith(".js.map"));
  const sources = maps.flatMap((f) => (JSON.parse(readFileSync(path.join(outDir, f.path), "utf8")) as { sources?: string[] }).sources ?? []);
  // A package's own source map can point above its folder (msal-node's `../src/…` reads as
  // `@azure/src`): only names the lockfile installs are packages.
  const installed = new Set(Object.keys(lockfile.packages ?? {}).map((key) => key.slice(key.lastIndexOf("node_modules/") + "node_modules/".length)));
  const bundledPackages = packagesInSources(sources).filter((name) => installed.has(name));
  // Stack traces in Azure come from the bundles themselves; the maps would double the upload for no reader.
  for (const map of maps) rmSync(path.join(outDir, map.path), { force: true });
  for (const name of excludedComponentFiles(readFileSync(path.join(REPO_ROOT, ".funcignore"), "utf8"))) {
    rmSync(path.join(outDir, "components", name), { force: true });
  }
  const files = listFiles(outDir).sort((a, b) => (a.path < b.path ? -1 : 1));
  return { dir: outDir, files, totalBytes: files.reduce((t, f) => t + f.bytes, 0), bundledPackages };
}

if (require.main === module) {
  buildPackage().then(
    (result) => {
      const mib = (bytes: number): string => `${(bytes / 2 ** 20).toFixed(2)} MiB`;
      process.stdout.write(`deployment package ${path.relative(REPO_ROOT, result.dir)}: ${result.files.length} files, ${mib(result.totalBytes)}\n`);
      for (const f of result.files) process.stdout.write(`  ${f.path.padEnd(40)} ${mib(f.bytes)}\n`);
    },
    (e: unknown) => {
      process.stderr.write(`package failed: ${e instanceof Error ? e.message : String(e)}\n`);
      process.exit(1);
    },
  );
}
