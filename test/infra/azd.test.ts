/**
 * @module Offline checks of the azd side of the deployment: azure.yaml against the azd schema rules
 * (shared/reference/functions-host-and-tooling.md §3.1), the hook scripts, and the package azd uploads
 * (.funcignore) against what the platform's remote build does with it.
 */
import { execFileSync } from "node:child_process";
import { existsSync, readdirSync, readFileSync } from "node:fs";
import * as path from "node:path";
import { describe, expect, it } from "vitest";
import { parse as parseYaml } from "yaml";

const REPO = path.resolve(__dirname, "../..");

type Json = null | boolean | number | string | Json[] | { [key: string]: Json };

function get(doc: Json | undefined, ...keys: string[]): Json | undefined {
  let current = doc;
  for (const key of keys) {
    if (current === null || typeof current !== "object" || Array.isArray(current)) return undefined;
    current = current[key];
  }
  return current;
}

function read(rel: string): string {
  return readFileSync(path.join(REPO, rel), "utf8");
}

/** A script without its comment lines (sh and PowerShell both use #), so prose cannot satisfy a check. */
function code(rel: string): string {
  return read(rel)
    .split(/\r?\n/)
    .filter((line) => !line.trim().startsWith("#"))
    .join("\n");
}

const azureYaml = parseYaml(read("azure.yaml")) as Json;

/** The hook script a platform runs, relative to the repository root. */
function hookScript(hook: string, platform: "posix" | "windows"): string {
  const run = get(azureYaml, "hooks", hook, platform, "run");
  expect(typeof run, `hooks.${hook}.${platform}.run`).toBe("string");
  return path.normalize(String(run));
}

/** Output names main.bicep declares (azd writes them into the environment the hooks see). */
function mainOutputs(): string[] {
  return [...read("infra/main.bicep").matchAll(/^output\s+([A-Za-z_]\w*)\s/gm)].map((m) => m[1] ?? "");
}

/** Variables azd itself puts in every environment. */
const AZD_BUILTINS = ["AZURE_ENV_NAME", "AZURE_LOCATION", "AZURE_SUBSCRIPTION_ID", "AZURE_PRINCIPAL_ID", "AZURE_PRINCIPAL_TYPE"];

/** Environment values a hook reads through its azd helper. */
function hookInputs(script: string): string[] {
  const source = read(script);
  return [...source.matchAll(/\bazd_value\s+([A-Z_][A-Z0-9_]*)|\bGet-AzdValue\s+'([A-Z_][A-Z0-9_]*)'/g)].map((m) => m[1] ?? m[2] ?? "");
}

describe("azure.yaml", () => {
  it("has a name azd accepts", () => {
    expect(get(azureYaml, "name")).toMatch(/^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/);
  });

  it("deploys one TypeScript function app service, api, from the repository root", () => {
    const services = get(azureYaml, "services");
    expect(Object.keys(services !== null && typeof services === "object" && !Array.isArray(services) ? services : {})).toEqual(["api"]);
    expect(get(azureYaml, "services", "api", "host")).toBe("function");
    expect(get(azureYaml, "services", "api", "language")).toBe("ts");
    expect(get(azureYaml, "services", "api", "project")).toBe(".");
  });

  it("points at a Bicep entry point that exists", () => {
    const infraPath = String(get(azureYaml, "infra", "path") ?? "infra");
    const module = String(get(azureYaml, "infra", "module") ?? "main");
    expect(get(azureYaml, "infra", "provider") ?? "bicep").toBe("bicep");
    expect(existsSync(path.join(REPO, infraPath, `${module}.bicep`))).toBe(true);
    expect(existsSync(path.join(REPO, infraPath, `${module}.parameters.json`))).toBe(true);
  });

  it("has an api project azd can build: package.json with a build script and main under dist/", () => {
    const pkg = JSON.parse(read("package.json")) as { main?: string; scripts?: Record<string, string> };
    expect(pkg.scripts?.build).toBeDefined();
    expect(pkg.main).toMatch(/^dist\//);
  });

  for (const hook of ["postprovision", "postdeploy"]) {
    it(`runs the ${hook} hook on posix (sh) and windows (pwsh), failing the run when it fails`, () => {
      expect(get(azureYaml, "hooks", hook, "posix", "shell")).toBe("sh");
      expect(get(azureYaml, "hooks", hook, "windows", "shell")).toBe("pwsh");
      for (const platform of ["posix", "windows"] as const) {
        expect(existsSync(path.join(REPO, hookScript(hook, platform))), `${hook} ${platform}`).toBe(true);
        expect(get(azureYaml, "hooks", hook, platform, "continueOnError") ?? false, `${hook} ${platform}`).toBe(false);
      }
      expect(hookScript(hook, "posix")).toMatch(/\.sh$/);
      expect(hookScript(hook, "windows")).toMatch(/\.ps1$/);
    });
  }
});

describe("hook scripts", () => {
  const posixScripts = ["postprovision", "postdeploy"].map((h) => hookScript(h, "posix"));
  const windowsScripts = ["postprovision", "postdeploy"].map((h) => hookScript(h, "windows"));

  it("are valid POSIX sh (sh -n)", () => {
    for (const script of posixScripts) {
      expect(() => execFileSync("sh", ["-n", path.join(REPO, script)], { stdio: "pipe" }), script).not.toThrow();
    }
  });

  it("read only values that main.bicep outputs or azd provides", () => {
    const available = new Set([...mainOutputs(), ...AZD_BUILTINS]);
    for (const script of [...posixScripts, ...windowsScripts]) {
      const inputs = hookInputs(script);
      expect(inputs.length, script).toBeGreaterThan(0);
      expect(inputs.filter((v) => !available.has(v)), script).toEqual([]);
    }
  });

  it("read the same values on both platforms", () => {
    for (const hook of ["postprovision", "postdeploy"]) {
      expect(hookInputs(hookScript(hook, "windows")), hook).toEqual(hookInputs(hookScript(hook, "posix")));
    }
  });

  describe("postdeploy: Event Grid subscription to onKeyVaultEvent", () => {
    const registered = /app\.eventGrid\("([^"]+)"/.exec(read("src/functions/onKeyVaultEvent.ts"))?.[1];
    const handled = read("src/runtime/keyVaultEvents.ts");

    for (const platform of ["posix", "windows"] as const) {
      const source = code(hookScript("postdeploy", platform));

      it(`${platform}: targets the registered Event Grid function with an AzureFunction endpoint`, () => {
        expect(registered).toBeDefined();
        expect(source).toMatch(new RegExp(`FunctionName\\s*=\\s*'?${registered ?? "?"}'?|FUNCTION_NAME=${registered ?? "?"}`));
        expect(source).toMatch(/--endpoint-type['"]?,?\s*['"]?azurefunction/);
        expect(source).toMatch(/\/functions\/\$(FUNCTION_NAME|FunctionName)/);
        expect(source).toMatch(/system-topic['"]?,?\s*['"]?event-subscription['"]?,?\s*['"]?create/);
        // A WebHook destination would need the eventgrid_extension system key in the script.
        expect(source).not.toMatch(/webhook|eventgrid_extension|systemKeys/i);
      });

      it(`${platform}: delivers in the Event Grid schema exactly the secret events the app handles`, () => {
        expect(source).toContain("eventgridschema");
        const types = [...new Set([...source.matchAll(/Microsoft\.KeyVault\.(\w+)/g)].map((m) => m[1] ?? ""))].sort();
        expect(types).toEqual(["SecretExpired", "SecretNearExpiry", "SecretNewVersionCreated"]);
        for (const t of types) expect(handled, t).toContain(t);
      });

      it(`${platform}: sets a retry policy and one event per delivery`, () => {
        expect(source).toMatch(/--max-delivery-attempts['"]?,?\s*['"]?30/);
        expect(source).toMatch(/--event-ttl['"]?,?\s*['"]?1440/);
        expect(source).toMatch(/--max-events-per-batch['"]?,?\s*['"]?1\b/);
      });

      it(`${platform}: waits until the function is indexed before subscribing`, () => {
        const wait = source.search(/functionapp['"]?,?\s*['"]?function['"]?,?\s*['"]?show/);
        const subscribe = source.search(/event-subscription['"]?,?\s*['"]?create/);
        expect(wait).toBeGreaterThan(-1);
        expect(subscribe).toBeGreaterThan(wait);
      });
    }
  });

  describe("postprovision: caller tokens", () => {
    for (const platform of ["posix", "windows"] as const) {
      const source = code(hookScript("postprovision", platform));

      it(`${platform}: hands token values to az through a file, never on the command line`, () => {
        expect(source).toMatch(/secret['"]?,?\s*['"]?set/);
        expect(source).toContain("--file");
        expect(source).not.toMatch(/--value\b/);
      });

      it(`${platform}: keeps az output of secret commands off the console`, () => {
        const sets = source.split(/\r?\n/).filter((l) => /secret['"]?,?\s*['"]?set\b/.test(l));
        expect(sets.length).toBeGreaterThan(0);
        // The set command spans lines; its argument list must end in --output none.
        const start = source.search(/secret['"]?,?\s*['"]?set\b/);
        expect(source.slice(start, start + 600)).toMatch(/--output['"]?,?\s*['"]?none/);
        expect(source).toMatch(/secret['"]?,?\s*['"]?show[\s\S]{0,200}--query['"]?,?\s*['"]?id/);
      });

      it(`${platform}: creates a token only when the secret is missing`, () => {
        const show = source.search(/secret['"]?,?\s*['"]?show/);
        const set = source.search(/secret['"]?,?\s*['"]?set/);
        expect(show).toBeGreaterThan(-1);
        expect(source).toMatch(/SecretNotFound/);
        expect(source).toMatch(/present/);
        expect(set).toBeGreaterThan(-1);
      });
    }
  });
});

// --- the package azd uploads -----------------------------------------------------------------------

/** A gitignore-style matcher for .funcignore, enough for its usual patterns (globs, dir/, !negation). */
function ignoreMatcher(lines: readonly string[]): (rel: string, isDir: boolean) => boolean {
  const rules = lines
    .map((l) => l.trim())
    .filter((l) => l !== "" && !l.startsWith("#"))
    .map((line) => {
      const negate = line.startsWith("!");
      let pattern = negate ? line.slice(1) : line;
      const dirOnly = pattern.endsWith("/");
      if (dirOnly) pattern = pattern.slice(0, -1);
      const anchored = pattern.includes("/");
      if (pattern.startsWith("/")) pattern = pattern.slice(1);
      const source = pattern
        .split("**")
        .map((part) => part.replace(/[.+^${}()|[\]\\]/g, "\\$&").replace(/\*/g, "[^/]*").replace(/\?/g, "[^/]"))
        .join(".*");
      return { negate, dirOnly, anchored, regex: new RegExp(`^${source}$`) };
    });
  const matchesOne = (rel: string, isDir: boolean): boolean => {
    let ignored = false;
    for (const rule of rules) {
      if (rule.dirOnly && !isDir) continue;
      const subject = rule.anchored ? rel : (rel.split("/").at(-1) ?? rel);
      if (rule.regex.test(subject)) ignored = !rule.negate;
    }
    return ignored;
  };
  return (rel, isDir) => {
    const parts = rel.split("/");
    for (let i = 1; i < parts.length; i++) if (matchesOne(parts.slice(0, i).join("/"), true)) return true;
    return matchesOne(rel, isDir);
  };
}

function filesUnder(rel: string): string[] {
  const out: string[] = [];
  for (const entry of readdirSync(path.join(REPO, rel), { withFileTypes: true })) {
    const child = `${rel}/${entry.name}`;
    if (entry.isDirectory()) out.push(...filesUnder(child));
    else out.push(child);
  }
  return out;
}

describe("deployment package (.funcignore)", () => {
  const ignored = ignoreMatcher(existsSync(path.join(REPO, ".funcignore")) ? read(".funcignore").split(/\r?\n/) : []);
  const nodeModulesExcluded = ignored("node_modules", true);
  // azd's rule for JS/TS function apps: remote build follows .funcignore unless set explicitly, and an
  // explicit setting must agree with it (Azure/azure-dev, service_target_functionapp.go).
  const declared = get(azureYaml, "services", "api", "remoteBuild");
  const remoteBuild = typeof declared === "boolean" ? declared : nodeModulesExcluded;

  it("agrees with azure.yaml's remoteBuild the way azd enforces it", () => {
    expect(nodeModulesExcluded, "remoteBuild true needs node_modules excluded; false needs it included").toBe(remoteBuild);
  });

  it("ships what the Functions host loads: host.json, package.json, the components", () => {
    for (const rel of ["host.json", "package.json", "components/callers.yaml", "components/secretstore.yaml"]) {
      expect(ignored(rel, false), rel).toBe(false);
    }
    expect(ignored("local.settings.json", false), "local settings stay local").toBe(true);
  });

  it("ships what the build needs: TypeScript sources and tsconfig.json for a remote build, dist/ for a local one", () => {
    if (remoteBuild) {
      // The platform runs `npm install` then `npm run build` (tsc) on the uploaded files; without the
      // sources tsc stops with TS18003 "No inputs were found" and the deployment fails.
      const sources = filesUnder("src").filter((f) => f.endsWith(".ts"));
      expect(sources.length).toBeGreaterThan(0);
      expect(ignored("tsconfig.json", false), "tsconfig.json").toBe(false);
      expect(sources.filter((f) => ignored(f, false)), "src/**/*.ts left out of the package").toEqual([]);
    } else {
      // azd builds dist/ before zipping and the platform installs nothing: dist/src and every runtime
      // dependency must be in the zip.
      const pkg = JSON.parse(read("package.json")) as { dependencies?: Record<string, string> };
      expect(ignored("dist/src/index.js", false), "dist/src/index.js").toBe(false);
      expect(ignored("dist/src/functions/secrets.js", false), "dist/src/functions").toBe(false);
      const dependencies = Object.keys(pkg.dependencies ?? {});
      expect(dependencies).toContain("@azure/functions");
      expect(dependencies.filter((d) => ignored(`node_modules/${d}/package.json`, false)), "runtime dependencies left out").toEqual([]);
    }
  });
});

describe("host.json logging (Application Insights)", () => {
  const host = JSON.parse(read("host.json")) as Json;

  it("logs successful requests too (Host.Results at Information, not Error)", () => {
    const level = String(get(host, "logging", "logLevel", "Host.Results") ?? get(host, "logging", "logLevel", "default") ?? "Information");
    expect(["Trace", "Debug", "Information"]).toContain(level);
  });

  it("samples requests rather than keeping every one, and never samples away exceptions", () => {
    const sampling = get(host, "logging", "applicationInsights", "samplingSettings");
    expect(get(sampling, "isEnabled")).toBe(true);
    const excluded = String(get(sampling, "excludedTypes") ?? "").split(";").map((t) => t.trim());
    expect(excluded).not.toContain("Request");
    expect(excluded).toContain("Exception");
    expect(Number(get(sampling, "maxTelemetryItemsPerSecond"))).toBeGreaterThan(0);
  });
});

describe("the deployed components", () => {
  const ignored = ignoreMatcher(read(".funcignore").split(/\r?\n/));
  const docs = read("docs/deploy.md");

  it("leave out the local stores and the per-process memstore, and docs/deploy.md says which ship", () => {
    for (const rel of ["components/secrets.json", "components/localsecretstore.yaml", "components/envsecretstore.yaml", "components/memstore.yaml"]) {
      expect(ignored(rel, false), rel).toBe(true);
    }
    const shipped = readdirSync(path.join(REPO, "components")).filter((n) => n.endsWith(".yaml") && !ignored(`components/${n}`, false));
    expect(shipped.sort()).toEqual(["callers.yaml", "configuration.yaml", "secretstore.yaml", "statestore.yaml", "tablestore.yaml"]);
    // The sentence in docs/deploy.md that lists them must name exactly these, and the left-out ones as left out.
    const line = /Shipped components: ([^\n]*)/.exec(docs)?.[1] ?? "";
    expect([...line.matchAll(/`([a-z]+\.yaml)`/g)].map((m) => m[1]).sort()).toEqual(shipped.sort());
    const omitted = /Left out of the package: ([\s\S]*?)\n\n/.exec(docs)?.[1] ?? "";
    for (const name of ["localsecretstore", "envsecretstore", "memstore"]) expect(omitted, name).toContain(`\`${name}\``);
  });
});
