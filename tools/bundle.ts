#!/usr/bin/env node
/**
 * @module tools/bundle: `npm run bundle` → `dist/bundle/`, a function app folder that runs as is:
 * `main.js` (every entry point of the app in one esbuild bundle, in the order the worker would load
 * them), `lazy/*.js` (what the app loads with `import()`, one bundle each), source maps (for stack
 * traces with `--enable-source-maps`), `package.json` whose `main` names `main.js`, `host.json`, and
 * a copy of `components/`.
 *
 * One file instead of a module graph of thousands: the cold start reads and compiles far less, and the
 * deployment package needs no `node_modules`. A module imported with `import()` by the app's own code
 * (the OpenTelemetry SDK and Azure Monitor when telemetry exports, the ARM SDK for `arm` rotation,
 * `jose` for Entra ID callers) or by one package from another (`apache-arrow`, `open`) becomes a file
 * of its own that `main.js` requires on first use: a process that never needs it neither reads nor
 * compiles it.
 */
import { build, type BuildOptions, type Plugin } from "esbuild";
import fg from "fast-glob";
import { cpSync, copyFileSync, mkdirSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import * as path from "node:path";
import { REPO_ROOT } from "./devEnvironment";

/** Where the bundle goes. */
export const BUNDLE_DIR = path.join(REPO_ROOT, "dist", "bundle");

/**
 * The app's entry points as TypeScript sources: the package.json `main` glob expanded over the tsc
 * output (as the worker expands it), mapped back to `src/…/*.ts`.
 * @throws Error when the glob matches nothing (run `npm run build` first)
 */
export function entryPoints(root: string = REPO_ROOT): string[] {
  const pkg = JSON.parse(readFileSync(path.join(root, "package.json"), "utf8")) as { main?: string };
  if (pkg.main === undefined) throw new Error("package.json has no main field naming the app's entry points");
  const compiled = fg.sync(pkg.main, { cwd: root, onlyFiles: true });
  if (compiled.length === 0) throw new Error(`package.json main (${pkg.main}) matches no file: run \`npm run build\` first`);
  return compiled.map((file) => path.join(root, file.replace(/^dist\//, "").replace(/\.js$/, ".ts")));
}

/**
 * Resolves every package `import` statement as Node resolves the tsc output's `require`: with the
 * package's `require` export condition. Used for the lazy bundles: esbuild would otherwise pick a dual
 * package's ESM build (`import` condition) and inline it into a CommonJS bundle, where `import.meta.url`
 * is empty — `@azure/monitor-opentelemetry`'s ESM build then fails to find its own folder and logs
 * "Failed to load JSON config file values." at start. `main.js` takes the ESM builds instead (esbuild
 * drops their unused exports and hoists their modules into one scope, which loads about a quarter
 * faster than the CommonJS builds' wrapped modules), and its build fails if one of them reads
 * `import.meta`.
 */
const REQUIRE_RESOLUTION = Symbol("require-resolution");
export const requireConditionPlugin: Plugin = {
  name: "require-condition",
  setup(pluginBuild) {
    pluginBuild.onResolve({ filter: /^[^./]/ }, async (args) => {
      if (args.kind !== "import-statement" || args.pluginData === REQUIRE_RESOLUTION) return undefined;
      const resolved = await pluginBuild.resolve(args.path, { kind: "require-call", resolveDir: args.resolveDir, importer: args.importer, pluginData: REQUIRE_RESOLUTION });
      // Externals and failures fall back to esbuild's own resolution (and its error message).
      return resolved.errors.length > 0 ? undefined : resolved;
    });
  },
};

/** Where a lazily loaded module's bundle goes, relative to the bundle folder. */
export function lazyBundleName(specifier: string): string {
  const base = specifier.startsWith(".") ? (specifier.split("/").pop() ?? specifier).replace(/\.[cm]?[jt]s$/, "") : specifier.replace(/^@/, "").replace(/\//g, "-");
  return `lazy/${base}.js`;
}

/** The npm package a file belongs to (the nearest node_modules), or undefined outside node_modules. */
function packageOf(file: string): string | undefined {
  const parts = file.split(path.sep);
  const at = parts.lastIndexOf("node_modules");
  if (at === -1) return undefined;
  const first = parts[at + 1] ?? "";
  return first.startsWith("@") ? `${first}/${parts[at + 2] ?? ""}` : first;
}

/**
 * Turns each `import()` in the app's own code (src/) into a `require` of a bundle of its own
 * (`./lazy/<name>.js`, relative to the importing bundle) and records what to build there: the
 * resolved module, with the `require` export condition as for the rest of the bundle.
 */
function lazyImportsPlugin(lazy: Map<string, string>, bundleRoot: string): Plugin {
  return {
    name: "lazy-imports",
    setup(pluginBuild) {
      pluginBuild.onResolve({ filter: /.*/ }, async (args) => {
        if (args.kind !== "dynamic-import") return undefined;
        const fromApp = args.importer.startsWith(path.join(REPO_ROOT, "src") + path.sep);
        // Inside a package, only an import() of another package (storage-blob's optional
        // `apache-arrow`, identity's `open`): a package's import() of its own modules stays inlined,
        // since a second copy of them would not share their state.
        if (!fromApp && (args.path.startsWith(".") || packageOf(args.importer) === undefined)) return undefined;
        const resolved = await pluginBuild.resolve(args.path, { kind: "require-call", resolveDir: args.resolveDir, importer: args.importer, pluginData: REQUIRE_RESOLUTION });
        // Node built-ins and externals stay as they are.
        if (resolved.errors.length > 0 || resolved.external || !path.isAbsolute(resolved.path)) return undefined;
        if (!fromApp && packageOf(resolved.path) === packageOf(args.importer)) return undefined;
        const name = lazyBundleName(args.path);
        const known = lazy.get(name);
        if (known !== undefined && known !== resolved.path) throw new Error(`two lazily imported modules would share ${name}: ${known} and ${resolved.path}`);
        lazy.set(name, resolved.path);
        // From lazy/<a>.js, lazy/<b>.js is a sibling.
        const from = path.dirname(pluginBuild.initialOptions.outfile ?? path.join(bundleRoot, "main.js"));
        const relative = path.relative(from, path.join(bundleRoot, name)).split(path.sep).join("/");
        return { path: relative.startsWith(".") ? relative : `./${relative}`, external: true };
      });
    },
  };
}

/**
 * Builds `dist/bundle/`; returns the size of `main.js` in bytes (what every cold start loads).
 * `external` names packages to leave as run-time `require`s (tools/package.ts passes the dev-only ones
 * that production code merely probes for).
 */
export async function bundle(outDir: string = BUNDLE_DIR, options: { external?: readonly string[] } = {}): Promise<number> {
  const entries = entryPoints();
  rmSync(outDir, { recursive: true, force: true });
  mkdirSync(outDir, { recursive: true });
  const lazy = new Map<string, string>();
  const common: BuildOptions = {
    bundle: true,
    platform: "node",
    target: "node20",
    format: "cjs",
    // Provided by the Functions worker (or the local host) at run time, never installed.
    external: ["@azure/functions-core", ...(options.external ?? [])],
    // `import()` of a lazy bundle becomes `require()`: its named exports are then the CommonJS
    // module's own, and no ES module loader is involved.
    supported: { "dynamic-import": false },
    sourcemap: "linked",
    sourcesContent: false,
    minifyWhitespace: true,
    minifySyntax: true,
    legalComments: "linked",
    logLevel: "warning",
  };
  await build({
    ...common,
    stdin: {
      contents: entries.map((file) => `require(${JSON.stringify(`./${path.relative(REPO_ROOT, file).split(path.sep).join("/")}`)});`).join("\n"),
      resolveDir: REPO_ROOT,
      sourcefile: "vaultstate-entry.js",
      loader: "js",
    },
    outfile: path.join(outDir, "main.js"),
    // An inlined ES module build that reads import.meta would find it empty in CommonJS: fail the build.
    logOverride: { "empty-import-meta": "error" },
    plugins: [lazyImportsPlugin(lazy, outDir)],
  });
  // A lazy module may import() further ones: build until none is left.
  const built = new Set<string>();
  for (let next = [...lazy.keys()]; next.length > 0; next = [...lazy.keys()].filter((name) => !built.has(name))) {
    for (const name of next) {
      built.add(name);
      await build({ ...common, entryPoints: [lazy.get(name) ?? ""], outfile: path.join(outDir, name), plugins: [requireConditionPlugin, lazyImportsPlugin(lazy, outDir)] });
    }
  }
  writeFileSync(path.join(outDir, "package.json"), `${JSON.stringify({ name: "vaultstate-bundle", private: true, main: "main.js" }, null, 2)}\n`);
  copyFileSync(path.join(REPO_ROOT, "host.json"), path.join(outDir, "host.json"));
  cpSync(path.join(REPO_ROOT, "components"), path.join(outDir, "components"), { recursive: true });
  return statSync(path.join(outDir, "main.js")).size;
}

if (require.main === module) {
  bundle().then(
    (bytes) => process.stdout.write(`dist/bundle/main.js: ${(bytes / 2 ** 20).toFixed(2)} MiB (with lazy/, source maps, package.json, host.json, components/)\n`),
    (e: unknown) => {
      process.stderr.write(`bundle failed: ${e instanceof Error ? e.message : String(e)}\n`);
      process.exit(1);
    },
  );
}
