/**
 * @module The deployment package, built the way azd builds it: azure.yaml names the folder it zips
 * (`dist`) and azd runs the `package` script to fill it (after `npm install` and `npm run build`, which
 * `npm test` has already done). Checks that it holds the built app and production dependencies only,
 * and prints its size against the bound docs/deploy.md states.
 */
import { spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import * as path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { parse as parseYaml } from "yaml";
import { buildPackage, excludedComponentFiles, packagesInSources, type PackageResult } from "../../tools/package";

const REPO = path.resolve(__dirname, "../..");
/** The bound docs/deploy.md states for the uncompressed package. */
const MAX_PACKAGE_MIB = 16;

const azure = parseYaml(readFileSync(path.join(REPO, "azure.yaml"), "utf8")) as { services: { api: Record<string, unknown> } };
const pkg = JSON.parse(readFileSync(path.join(REPO, "package.json"), "utf8")) as {
  scripts: Record<string, string>;
  dependencies: Record<string, string>;
  devDependencies: Record<string, string>;
};
const lock = JSON.parse(readFileSync(path.join(REPO, "package-lock.json"), "utf8")) as { packages: Record<string, { dev?: boolean; devOptional?: boolean }> };

let out = "";
let result: PackageResult;

beforeAll(async () => {
  out = mkdtempSync(path.join(tmpdir(), "vaultstate-package-"));
  result = await buildPackage(path.join(out, "bundle"));
  const mib = (result.totalBytes / 2 ** 20).toFixed(2);
  console.log(`deployment package: ${result.files.length} files, ${mib} MiB (bound ${MAX_PACKAGE_MIB} MiB); ${result.bundledPackages.length} production packages inlined`);
}, 180_000);

afterAll(() => {
  rmSync(out, { recursive: true, force: true });
});

/** Whether the lockfile has a copy of `name` that production code needs (not flagged dev-only). */
function isProductionPackage(name: string): boolean {
  const copies = Object.entries(lock.packages).filter(([key]) => key === `node_modules/${name}` || key.endsWith(`/node_modules/${name}`));
  return copies.some(([, entry]) => entry.dev !== true && entry.devOptional !== true);
}

describe("the deployment package azd uploads", () => {
  it("is what azure.yaml tells azd to zip, filled by the package script azd runs", () => {
    expect(azure.services.api.dist).toBe("dist/bundle");
    expect(azure.services.api.remoteBuild).toBe(false);
    expect(pkg.scripts.package).toMatch(/node dist\/tools\/package\.js$/);
  });

  it("holds the bundled app, its manifest, host.json and the deployable components, nothing else", () => {
    expect(result.files.map((f) => f.path)).toEqual([
      "components/callers.yaml",
      "components/configuration.yaml",
      "components/secretstore.yaml",
      "components/statestore.yaml",
      "components/tablestore.yaml",
      "host.json",
      // Loaded on first use only: Blob listing in Arrow format, ARM key rotation, Entra ID token
      // validation, interactive browser sign-in, telemetry export.
      "lazy/apache-arrow.js",
      "lazy/azure-arm-storage.js",
      "lazy/jose.js",
      "lazy/open.js",
      "lazy/otelExport.js",
      "lazy/otelExport.js.LEGAL.txt",
      "main.js",
      "main.js.LEGAL.txt",
      "package.json",
    ]);
    const manifest = JSON.parse(readFileSync(path.join(result.dir, "package.json"), "utf8")) as Record<string, unknown>;
    expect(manifest.main).toBe("main.js");
    expect(manifest).not.toHaveProperty("dependencies");
    expect(existsSync(path.join(result.dir, "node_modules"))).toBe(false);
    expect(readFileSync(path.join(result.dir, "host.json"), "utf8")).toBe(readFileSync(path.join(REPO, "host.json"), "utf8"));
  });

  it("leaves out every component file .funcignore keeps out of Azure", () => {
    const excluded = excludedComponentFiles(readFileSync(path.join(REPO, ".funcignore"), "utf8"));
    expect(excluded).toEqual(expect.arrayContaining(["secrets.json", "localsecretstore.yaml", "envsecretstore.yaml", "memstore.yaml"]));
    for (const name of excluded) expect(result.files.map((f) => f.path)).not.toContain(`components/${name}`);
  });

  it("inlines production dependencies only: no devDependency and nothing only a devDependency needs", () => {
    expect(result.bundledPackages).toEqual(expect.arrayContaining(["@azure/keyvault-secrets", "@azure/storage-blob", "@azure/identity", "yaml", "@azure/monitor-opentelemetry", "@azure/arm-storage", "jose"]));
    const dev = Object.keys(pkg.devDependencies);
    expect(result.bundledPackages.filter((p) => dev.includes(p))).toEqual([]);
    expect(result.bundledPackages.filter((p) => !isProductionPackage(p))).toEqual([]);
    // The Functions worker provides this module at run time; it must stay a require, not code.
    expect(readFileSync(path.join(result.dir, "main.js"), "utf8")).toContain('require("@azure/functions-core")');
  });

  it("loads on its own, outside the repository and without node_modules", () => {
    // Outside a Functions worker @azure/functions runs in test mode and skips registrations; what
    // matters here is that every module main.js needs is inside it.
    const script = "require('./main.js'); console.log('loaded: ' + Object.keys(require.cache).map((f) => require('node:path').relative(process.cwd(), f)).join(','))";
    const run = spawnSync(process.execPath, ["-e", script], { cwd: result.dir, encoding: "utf8", env: { PATH: process.env.PATH ?? "" }, timeout: 60_000 });
    expect(run.stderr).not.toMatch(/Cannot find module/);
    expect(run.status, run.stderr).toBe(0);
    expect(`${run.stdout}${run.stderr}`).toContain("in test mode");
    // The lazily loaded bundles stay unread until something imports them.
    expect(run.stdout).toContain("loaded: main.js\n");
  });

  it("starts with Application Insights configured, from lazy/otelExport.js (no 'Failed to load JSON config')", () => {
    // A stand-in for the worker's @azure/functions-core runs the app start hook, which starts telemetry
    // (useAzureMonitor, in the lazily loaded bundle) with a connection string. Inlined as ESM,
    // @azure/monitor-opentelemetry cannot find its own folder (import.meta.url is empty in a CommonJS
    // bundle) and logs that line: the lazy bundles take every package's CommonJS build.
    const components = mkdtempSync(path.join(tmpdir(), "vaultstate-package-components-"));
    writeFileSync(path.join(components, "memstore.yaml"), "apiVersion: dapr.io/v1alpha1\nkind: Component\nmetadata: {name: memstore}\nspec: {type: state.in-memory, version: v1}\n");
    const script = `
      const Module = require("node:module");
      const starts = [];
      class Disposable { constructor() {} dispose() {} }
      let model;
      const core = { version: "3.10.1", hostVersion: "4.1037.0", Disposable,
        registerFunction: () => new Disposable(), registerHook: (name, cb) => { if (name === "appStart") starts.push(cb); return new Disposable(); },
        setProgrammingModel: (m) => { model = m; }, getProgrammingModel: () => model, log: () => undefined };
      const load = Module._load;
      Module._load = function (request, parent, isMain) { return request === "@azure/functions-core" ? core : load.call(this, request, parent, isMain); };
      require("./main.js");
      (async () => {
        for (const start of starts) await start({ hookData: {}, appHookData: {}, functionAppDirectory: process.cwd() });
        console.log("app started, " + starts.length + " start hook(s)");
        process.exit(0);
      })().catch((e) => { console.error(e); process.exit(1); });`;
    try {
      const run = spawnSync(process.execPath, ["-e", script], {
        cwd: result.dir,
        encoding: "utf8",
        env: { PATH: process.env.PATH ?? "", COMPONENTS_PATH: components, APPLICATIONINSIGHTS_CONNECTION_STRING: "InstrumentationKey=00000000-0000-0000-0000-000000000000;IngestionEndpoint=http://127.0.0.1:9/" },
        timeout: 60_000,
      });
      const output = `${run.stdout}${run.stderr}`;
      expect(run.status, output).toBe(0);
      expect(output).toContain("app started, 1 start hook(s)");
      expect(output).not.toMatch(/Failed to load JSON config|import\.meta|ERR_INVALID_ARG_TYPE/);
    } finally {
      rmSync(components, { recursive: true, force: true });
    }
  });

  it(`stays under ${MAX_PACKAGE_MIB} MiB`, () => {
    expect(result.totalBytes).toBeGreaterThan(100_000);
    expect(result.totalBytes).toBeLessThan(MAX_PACKAGE_MIB * 2 ** 20);
  });
});

describe("package helpers", () => {
  it("reads component exclusions from .funcignore lines", () => {
    expect(excludedComponentFiles("# c\ncomponents/a.yaml\ncomponents/*.json\n!components/b.yaml\ncomponents/x/y\nsrc\n")).toEqual(["a.yaml"]);
  });

  it("names npm packages from source-map paths, scoped ones included", () => {
    expect(packagesInSources(["../../src/app.ts", "../../node_modules/@azure/core-util/dist/x.js", "../../node_modules/a/node_modules/b/i.js", "../../node_modules/yaml/d.js"])).toEqual([
      "@azure/core-util",
      "b",
      "yaml",
    ]);
  });
});
