/**
 * @module Offline checks of infra/ (Bicep). No Bicep compiler runs here, so every file is parsed with
 * tree-sitter-bicep and the rules a compile, a deployment or the app's first start would otherwise be
 * the first to reveal are checked on the syntax tree: resource types and API versions, module wiring,
 * parameters, role assignments, the function app's shape and its settings against what the app reads.
 */
import { existsSync, readdirSync, readFileSync } from "node:fs";
import * as path from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import type { Node } from "web-tree-sitter";
import { parseAllDocuments } from "yaml";
import {
  at,
  bicepParser,
  booleanLiteral,
  descendants,
  expandVariables,
  findBicepFiles,
  kids,
  literal,
  moduleOutputReference,
  modules,
  outputs,
  params,
  parseBicepFile,
  properties,
  resolveString,
  resources,
  syntaxProblems,
  targetScope,
  type BicepFile,
  type ResourceDecl,
} from "./bicepTree";

const REPO = path.resolve(__dirname, "../..");
const INFRA = path.join(REPO, "infra");

/**
 * The resource types this deployment may use, each pinned to one API version. A new type or version
 * is a deliberate change to this list (checked against the ARM reference), not an accident.
 */
const ALLOWED_RESOURCES: Readonly<Record<string, string>> = {
  "Microsoft.Resources/resourceGroups": "2024-03-01",
  "Microsoft.ManagedIdentity/userAssignedIdentities": "2023-01-31",
  "Microsoft.OperationalInsights/workspaces": "2023-09-01",
  "Microsoft.Insights/components": "2020-02-02",
  "Microsoft.Storage/storageAccounts": "2024-01-01",
  "Microsoft.Storage/storageAccounts/blobServices": "2024-01-01",
  "Microsoft.Storage/storageAccounts/blobServices/containers": "2024-01-01",
  "Microsoft.Storage/storageAccounts/tableServices": "2024-01-01",
  "Microsoft.Storage/storageAccounts/tableServices/tables": "2024-01-01",
  "Microsoft.KeyVault/vaults": "2023-07-01",
  "Microsoft.KeyVault/vaults/secrets": "2023-07-01",
  "Microsoft.EventGrid/systemTopics": "2022-06-15",
  "Microsoft.Web/serverfarms": "2024-04-01",
  "Microsoft.Web/sites": "2024-04-01",
  "Microsoft.Authorization/roleAssignments": "2022-04-01",
};

/** Built-in role definition ids (shared/reference/functions-host-and-tooling.md §3.3) and where each belongs. */
const ROLES: Readonly<Record<string, { name: string; scopeType: string }>> = {
  "b7e6dc6d-f1e8-4753-8033-0f276bb0955b": { name: "Storage Blob Data Owner", scopeType: "Microsoft.Storage/storageAccounts" },
  "974c5e8b-45b9-4653-ba55-5f855dd0fb88": { name: "Storage Queue Data Contributor", scopeType: "Microsoft.Storage/storageAccounts" },
  "0a9a7e1f-b9d0-4cc4-a60d-0319b160aaa3": { name: "Storage Table Data Contributor", scopeType: "Microsoft.Storage/storageAccounts" },
  "3913510d-42f4-4e42-8a64-420c390055eb": { name: "Monitoring Metrics Publisher", scopeType: "Microsoft.Insights/components" },
  "4633458b-17de-408a-b874-0445c86b69e6": { name: "Key Vault Secrets User", scopeType: "Microsoft.KeyVault/vaults" },
  "b86a8fe4-44ce-4948-aee5-eccb2c155cd7": { name: "Key Vault Secrets Officer", scopeType: "Microsoft.KeyVault/vaults" },
  "81a9662b-bebf-436f-a333-f67b29880f12": { name: "Storage Account Key Operator Service Role", scopeType: "Microsoft.Storage/storageAccounts" },
};

/**
 * The complete intended grant list: who gets which role on what (resource named by the module that
 * creates it), with rotation off (the default) and on. The deployer is the principal azd knows.
 */
const EXPECTED_GRANTS_ROTATION_OFF = [
  "app identity: Storage Blob Data Owner on app-storage.bicep",
  "app identity: Storage Table Data Contributor on app-storage.bicep",
  "app identity: Monitoring Metrics Publisher on monitoring.bicep",
  "app identity: Key Vault Secrets User on keyvault.bicep",
  "deployer: Key Vault Secrets Officer on keyvault.bicep",
].sort();
const EXPECTED_GRANTS_ROTATION_ON = [
  ...EXPECTED_GRANTS_ROTATION_OFF,
  "rotation identity: Key Vault Secrets Officer on keyvault.bicep",
  "rotation identity: Storage Account Key Operator Service Role on state-storage.bicep",
].sort();

/** Settings the Functions platform or SDKs read, not vaultstate itself. */
const PLATFORM_SETTINGS = new Set([
  "AzureWebJobsStorage__credential",
  "APPLICATIONINSIGHTS_CONNECTION_STRING",
  "APPLICATIONINSIGHTS_AUTHENTICATION_STRING",
  "AZURE_CLIENT_ID",
]);

/**
 * Settings the function app must define (README, Configuration; components/secretstore.yaml envRefs).
 * API_TOKEN and ENTRA_* are defined conditionally, set only when their parameters are (tests below).
 */
const REQUIRED_SETTINGS = [
  "APP_ID",
  "COMPONENTS_PATH",
  "KEYVAULT_URI",
  "KEYVAULT_CLIENT_ID",
  "KEY_VAULT_REFERENCE_CLIENT_ID",
  "ROTATION_CLIENT_ID",
  "ROTATION_LOCK_CONTAINER",
  "ROTATION_AUDIT_TABLE",
  "VERSION_TABLE_NAME",
  "REFRESH_SCHEDULE",
  "API_TOKEN",
  "AzureWebJobsStorage__credential",
  "AzureWebJobsStorage__clientId",
  "AzureWebJobsStorage__blobServiceUri",
  "AzureWebJobsStorage__tableServiceUri",
  "APPLICATIONINSIGHTS_CONNECTION_STRING",
  "APPLICATIONINSIGHTS_AUTHENTICATION_STRING",
  "ENTRA_TENANT_ID",
  "ENTRA_AUDIENCES",
  "ROTATION_ARM_SUBSCRIPTION_ID",
  "ROTATION_ARM_RESOURCE_GROUP",
];

/** Settings that must stay unset in Azure: local-only switches, or endpoints whose absence means "public". */
const FORBIDDEN_SETTINGS = [
  "AzureWebJobsStorage", // a connection string: the host account is identity-only
  "FUNCTIONS_WORKER_RUNTIME", // Flex takes the runtime from functionAppConfig.runtime
  "WEBSITE_RUN_FROM_PACKAGE", // not supported on Flex Consumption
  "ALLOW_ANONYMOUS",
  "REFRESH_ON_STARTUP",
  "ROTATION_AZURITE_ACCOUNTS",
  "ROTATION_AZURITE_BLOB_ENDPOINT",
  "STORAGE_BLOB_ENDPOINT",
  "STORAGE_TABLE_ENDPOINT",
];

let files: BicepFile[] = [];

function file(rel: string): BicepFile {
  const found = files.find((f) => f.rel === rel);
  if (found === undefined) throw new Error(`${rel} was not parsed`);
  return found;
}

function allResources(): ResourceDecl[] {
  return files.flatMap(resources);
}

function onlyResource(rel: string, type: string, options: { existing?: boolean } = {}): ResourceDecl {
  const matches = resources(file(rel)).filter((r) => r.type === type && r.existing === (options.existing ?? false));
  expect(matches.map((r) => r.symbol), `exactly one ${type} in ${rel}`).toHaveLength(1);
  return matches[0] as ResourceDecl;
}

const MAIN = "infra/main.bicep";

/** The main.bicep module declaration that uses a file under infra/ (by path relative to infra/). */
function mainModule(target: string): { symbol: string; params: Map<string, Node> } {
  const found = modules(file(MAIN)).filter((m) => m.path === target);
  expect(found, `main.bicep uses ${target} once`).toHaveLength(1);
  const decl = found[0];
  if (decl === undefined) throw new Error(`no module ${target}`);
  return { symbol: decl.symbol, params: new Map(properties(at(decl.body, "params")).map((p) => [p.key, p.value])) };
}

/** The text of the expression main.bicep passes to a module parameter. */
function mainArgument(target: string, param: string): string | undefined {
  return mainModule(target).params.get(param)?.text;
}

/** Name and value expression of every app setting of the function app, through variables and concat(). */
function appSettings(): { name: string; value: Node | undefined; conditional: boolean }[] {
  const site = onlyResource("infra/app/api.bicep", "Microsoft.Web/sites");
  const expr = at(site.body, "properties", "siteConfig", "appSettings");
  if (expr === undefined) return [];
  const settings: { name: string; value: Node | undefined; conditional: boolean }[] = [];
  for (const node of expandVariables(site.file, expr)) {
    if (node.type !== "object") continue;
    const name = literal(at(node, "name"));
    if (name === undefined) continue;
    let conditional = false;
    for (let p = node.parent; p !== null; p = p.parent) if (p.type === "ternary_expression") conditional = true;
    settings.push({ name, value: at(node, "value"), conditional });
  }
  return settings;
}

function ancestorOfType(node: Node | undefined, type: string): Node | undefined {
  for (let p = node?.parent ?? null; p !== null; p = p.parent) if (p.type === type) return p;
  return undefined;
}

function setting(name: string): Node | undefined {
  return appSettings().find((s) => s.name === name)?.value;
}

/** `${VAR}` names in a string. */
function envReferences(text: string): string[] {
  return [...text.matchAll(/\$\{([A-Za-z_][A-Za-z0-9_]*)/g)].map((m) => m[1] ?? "");
}

beforeAll(async () => {
  const parser = await bicepParser();
  files = findBicepFiles(INFRA).map((abs) => parseBicepFile(parser, REPO, abs));
});

describe("Bicep syntax (tree-sitter-bicep)", () => {
  it("finds the entry point and the modules", () => {
    expect(files.map((f) => f.rel)).toContain(MAIN);
    expect(files.length).toBeGreaterThan(1);
  });

  it("parses every .bicep file without ERROR or MISSING nodes", () => {
    const problems = files.flatMap((f) => syntaxProblems(f).map((p) => `${f.rel}:${p.line}:${p.column} ${p.kind} ${JSON.stringify(p.text)}`));
    expect(problems).toEqual([]);
  });

  it("reports a broken file, so a clean result means something", async () => {
    const parser = await bicepParser();
    const tree = parser.parse("resource x 'Microsoft.Web/sites@2024-04-01' = {\n  name: \n  location: 'x'\n");
    expect(tree?.rootNode.hasError).toBe(true);
  });
});

describe("resources and modules", () => {
  it("targets the subscription from main.bicep (azd creates the resource group) and nothing else does", () => {
    expect(targetScope(file(MAIN))).toBe("subscription");
    for (const f of files.filter((x) => x.rel !== MAIN)) expect(targetScope(f), f.rel).toBeUndefined();
  });

  it("declares only allowed resource types, each with its pinned API version", () => {
    const all = allResources();
    expect(all.length).toBeGreaterThan(10);
    for (const r of all) {
      expect(r.apiVersion, `${r.file.rel} ${r.symbol} has an explicit apiVersion`).toMatch(/^\d{4}-\d{2}-\d{2}(-preview)?$/);
      expect(Object.keys(ALLOWED_RESOURCES), `${r.file.rel} ${r.symbol}: ${r.type} is an allowed type`).toContain(r.type);
      expect(`${r.type}@${r.apiVersion ?? ""}`, `${r.file.rel} ${r.symbol}`).toBe(`${r.type}@${ALLOWED_RESOURCES[r.type] ?? ""}`);
    }
  });

  it("uses only local modules that exist: no br/public:, br: or ts: registry references", () => {
    const all = files.flatMap(modules);
    expect(all.length).toBeGreaterThan(0);
    for (const m of all) {
      expect(m.path, `${m.file.rel} module ${m.symbol}`).not.toMatch(/^(br[:/]|ts[:/])/);
      expect(existsSync(path.resolve(path.dirname(m.file.abs), m.path)), `${m.file.rel} module ${m.symbol}: ${m.path} exists`).toBe(true);
    }
  });

  it("passes every module exactly the parameters it declares, all required ones included", () => {
    for (const m of files.flatMap(modules)) {
      const target = file(path.relative(REPO, path.resolve(path.dirname(m.file.abs), m.path)).split(path.sep).join("/"));
      const declared = params(target);
      const passed = properties(at(m.body, "params")).map((p) => p.key);
      const where = `${m.file.rel} module ${m.symbol} (${target.rel})`;
      expect(passed.filter((p) => !declared.some((d) => d.name === p)), `${where}: unknown parameters`).toEqual([]);
      expect(declared.filter((d) => !d.hasDefault && !passed.includes(d.name)).map((d) => d.name), `${where}: missing parameters`).toEqual([]);
    }
  });

  it("reads only outputs the referenced modules declare", () => {
    for (const f of files) {
      const symbols = new Map(modules(f).map((m) => [m.symbol, path.resolve(path.dirname(m.file.abs), m.path)]));
      for (const node of descendants(f.root)) {
        if (node.type !== "member_expression") continue;
        const ref = moduleOutputReference(node);
        const target = ref === undefined ? undefined : symbols.get(ref.module);
        if (ref === undefined || target === undefined) continue;
        const declared = outputs(file(path.relative(REPO, target).split(path.sep).join("/")));
        expect([...declared.keys()], `${f.rel}: ${node.text}`).toContain(ref.output);
      }
    }
  });

  it("loads only JSON files that exist (loadJsonContent)", () => {
    for (const f of files) {
      for (const node of descendants(f.root)) {
        if (node.type !== "call_expression" || node.childForFieldName("function")?.text !== "loadJsonContent") continue;
        const target = literal(kids(node.childForFieldName("arguments") ?? node)[0]);
        expect(target, `${f.rel}: ${node.text}`).toBeDefined();
        expect(existsSync(path.resolve(path.dirname(f.abs), target ?? "")), `${f.rel}: ${target ?? ""} exists`).toBe(true);
      }
    }
  });
});

describe("main.bicep parameters and outputs", () => {
  const parametersFile = path.join(INFRA, "main.parameters.json");

  function parameterValues(): Map<string, unknown> {
    const json: unknown = JSON.parse(readFileSync(parametersFile, "utf8"));
    const parameters = (json as { parameters?: Record<string, { value?: unknown }> }).parameters ?? {};
    return new Map(Object.entries(parameters).map(([k, v]) => [k, v.value]));
  }

  it("gets every parameter without a default from main.parameters.json", () => {
    const provided = parameterValues();
    const required = params(file(MAIN)).filter((p) => !p.hasDefault).map((p) => p.name);
    expect(required).toEqual(expect.arrayContaining(["environmentName", "location"]));
    expect(required.filter((p) => !provided.has(p))).toEqual([]);
  });

  it("has no entry in main.parameters.json that main.bicep does not declare (ARM rejects those)", () => {
    const declared = params(file(MAIN)).map((p) => p.name);
    expect([...parameterValues().keys()].filter((k) => !declared.includes(k))).toEqual([]);
  });

  it("maps the azd environment into the parameters with ${VAR} references", () => {
    const values = parameterValues();
    expect(values.get("environmentName")).toBe("${AZURE_ENV_NAME}");
    expect(values.get("location")).toBe("${AZURE_LOCATION}");
    expect(values.get("principalId")).toBe("${AZURE_PRINCIPAL_ID}");
    for (const [name, value] of values) expect(typeof value === "string" && envReferences(value).length === 1, `${name}: ${String(value)}`).toBe(true);
  });

  it("outputs what azd and the hooks need", () => {
    expect([...outputs(file(MAIN)).keys()]).toEqual(
      expect.arrayContaining([
        "AZURE_RESOURCE_GROUP",
        "AZURE_FUNCTION_APP_NAME",
        "AZURE_FUNCTION_APP_ID",
        "AZURE_KEY_VAULT_NAME",
        "AZURE_KEY_VAULT_URI",
        "AZURE_KEY_VAULT_EVENTS_TOPIC_NAME",
        "SERVICE_API_BASE_URL",
      ]),
    );
  });

  it("never puts an account key into an output, a setting or anything but a Key Vault secret", () => {
    for (const f of files) {
      for (const [name, value] of outputs(f)) expect(value.text, `${f.rel} output ${name}`).not.toMatch(/\blist[A-Z]\w*\(/);
      const secrets = resources(f).filter((r) => r.type === "Microsoft.KeyVault/vaults/secrets");
      for (const node of descendants(f.root)) {
        if (node.type !== "call_expression" || !/(^|\.)list\w*$/.test(node.childForFieldName("function")?.text ?? "")) continue;
        const inSecret = secrets.some((s) => s.node.startIndex <= node.startIndex && node.endIndex <= s.node.endIndex);
        expect(inSecret, `${f.rel}: ${node.text} is the value of a Key Vault secret`).toBe(true);
      }
    }
  });
});

describe("role assignments", () => {
  /** `principalId` parameters of rbac.bicep → who main.bicep says they are. */
  function principalOf(param: string): string {
    const identities = mainModule("app/identities.bicep").symbol;
    const arg = mainArgument("app/rbac.bicep", param);
    if (arg === `${identities}.outputs.appPrincipalId`) return "app identity";
    if (arg === `${identities}.outputs.rotationPrincipalId`) return "rotation identity";
    if (arg === "principalId") return "deployer";
    return `unknown (${param} = ${arg ?? "?"})`;
  }

  /** An `existing` resource of rbac.bicep → the module whose output names it. */
  function scopeOf(resource: ResourceDecl): string {
    const nameParam = at(resource.body, "name")?.text ?? "";
    const ref = moduleOutputReference(mainModule("app/rbac.bicep").params.get(nameParam));
    const module = modules(file(MAIN)).find((m) => m.symbol === ref?.module);
    return module === undefined ? `unknown (${nameParam})` : path.basename(module.path);
  }

  function grants(): { text: string; assignment: ResourceDecl; roleId: string | undefined }[] {
    const rbac = file("infra/app/rbac.bicep");
    const declared = resources(rbac);
    return declared
      .filter((r) => r.type === "Microsoft.Authorization/roleAssignments")
      .map((assignment) => {
        const props = at(assignment.body, "properties");
        const roleArgs = kids(at(props, "roleDefinitionId")?.childForFieldName("arguments") ?? rbac.root);
        const roleId = resolveString(rbac, roleArgs[1]);
        const scope = declared.find((r) => r.symbol === at(assignment.body, "scope")?.text);
        const role = roleId === undefined ? undefined : ROLES[roleId];
        const principal = principalOf(at(props, "principalId")?.text ?? "");
        const text = `${principal}: ${role?.name ?? `unknown role ${roleId ?? "?"}`} on ${scope === undefined ? "?" : scopeOf(scope)}`;
        return { text, assignment, roleId };
      });
  }

  it("uses only known role definition ids, anywhere in infra/", () => {
    const guids = files.flatMap((f) => [...f.source.matchAll(/[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}/gi)].map((m) => `${f.rel}: ${m[0].toLowerCase()}`));
    expect(guids.length).toBeGreaterThan(0);
    for (const g of guids) expect(Object.keys(ROLES), g).toContain(g.split(": ")[1]);
  });

  /**
   * Evaluates an assignment's `if (...)` for given parameter values; only the two conditions rbac.bicep
   * uses are understood, so a new kind of condition fails here instead of being guessed.
   */
  function granted(condition: string | undefined, values: { rotationEnabled: boolean; deployerPrincipalId: string }): boolean {
    const c = condition?.replace(/\s+/g, "");
    if (c === undefined) return true;
    if (c === "(rotationEnabled)") return values.rotationEnabled;
    if (c === "(!empty(deployerPrincipalId))") return values.deployerPrincipalId !== "";
    throw new Error(`unknown condition ${c}`);
  }

  function grantsWith(values: { rotationEnabled: boolean; deployerPrincipalId: string }): string[] {
    return grants()
      .filter((g) => granted(g.assignment.condition?.text, values))
      .map((g) => g.text)
      .sort();
  }

  it("grants exactly the intended roles to the intended principals on the intended resources, rotation off", () => {
    expect(grantsWith({ rotationEnabled: false, deployerPrincipalId: "someone" })).toEqual(EXPECTED_GRANTS_ROTATION_OFF);
  });

  it("with rotation on, adds exactly the rotation identity's two write roles: the vault, and the state account's keys", () => {
    expect(grantsWith({ rotationEnabled: true, deployerPrincipalId: "someone" })).toEqual(EXPECTED_GRANTS_ROTATION_ON);
    // The key role is scoped to the state account that main.bicep creates, never the host account.
    expect(mainArgument("app/rbac.bicep", "stateStorageAccountName")).toBe(`${mainModule("app/state-storage.bicep").symbol}.outputs.name`);
  });

  it("gives the rotation identity no write role at all while rotation is off", () => {
    const rotation = grants().filter((g) => g.text.startsWith("rotation identity:"));
    expect(rotation.length).toBe(2);
    for (const g of rotation) expect(g.assignment.condition?.text.replace(/\s+/g, ""), g.text).toBe("(rotationEnabled)");
  });

  it("takes rotationEnabled from one main.bicep parameter, off by default, for both roles and settings", () => {
    const param = params(file(MAIN)).find((p) => p.name === "rotationEnabled");
    expect(param?.hasDefault).toBe(true);
    expect(file(MAIN).source).toMatch(/param rotationEnabled bool = false/);
    expect(mainArgument("app/rbac.bicep", "rotationEnabled")).toBe("rotationEnabled");
    expect(mainArgument("app/api.bicep", "rotationEnabled")).toBe("rotationEnabled");
  });

  it("scopes each role to a resource of the type it is meant for, never to the resource group", () => {
    const rbac = file("infra/app/rbac.bicep");
    for (const { assignment, roleId } of grants()) {
      const scope = resources(rbac).find((r) => r.symbol === at(assignment.body, "scope")?.text);
      expect(scope?.existing, `${assignment.symbol} is scoped to an existing resource`).toBe(true);
      expect(scope?.type, assignment.symbol).toBe(ROLES[roleId ?? ""]?.scopeType);
    }
  });

  it("names assignments guid(scope, principal, role) and uses subscription-level role definition ids", () => {
    for (const { assignment } of grants()) {
      const props = at(assignment.body, "properties");
      const scope = at(assignment.body, "scope")?.text ?? "?";
      const principal = at(props, "principalId")?.text ?? "?";
      const role = kids(at(props, "roleDefinitionId")?.childForFieldName("arguments") ?? assignment.node)[1]?.text ?? "?";
      expect(at(assignment.body, "name")?.text.replace(/\s+/g, ""), assignment.symbol).toBe(`guid(${scope}.id,${principal},${role})`);
      expect(at(props, "roleDefinitionId")?.text, assignment.symbol).toMatch(/^subscriptionResourceId\('Microsoft\.Authorization\/roleDefinitions', /);
      const type = literal(at(props, "principalType")) ?? at(props, "principalType")?.text;
      expect(type, assignment.symbol).toBe(principal === "deployerPrincipalId" ? "deployerPrincipalType" : "ServicePrincipal");
    }
  });

  it("assigns the deployer role only when azd knows who the deployer is", () => {
    const deployer = grants().find((g) => g.text.startsWith("deployer:"));
    expect(deployer?.assignment.condition?.text.replace(/\s+/g, "")).toBe("(!empty(deployerPrincipalId))");
  });

  it("keeps the two identities distinct", () => {
    const identities = file("infra/app/identities.bicep");
    const out = outputs(identities);
    const owner = (name: string): string => out.get(name)?.text.split(".")[0] ?? "";
    const uamis = resources(identities).filter((r) => r.type === "Microsoft.ManagedIdentity/userAssignedIdentities").map((r) => r.symbol);
    expect(uamis).toHaveLength(2);
    expect(uamis).toContain(owner("appPrincipalId"));
    expect(uamis).toContain(owner("rotationPrincipalId"));
    expect(owner("appPrincipalId")).not.toBe(owner("rotationPrincipalId"));
    for (const kind of ["IdentityId", "ClientId", "PrincipalId"]) expect(owner(`rotation${kind}`), kind).toBe(owner("rotationPrincipalId"));
    for (const kind of ["IdentityId", "ClientId", "PrincipalId"]) expect(owner(`app${kind}`), kind).toBe(owner("appPrincipalId"));
  });
});

describe("function app", () => {
  const API = "infra/app/api.bicep";

  it("runs on a Linux Flex Consumption (FC1) plan", () => {
    const plan = onlyResource(API, "Microsoft.Web/serverfarms");
    expect(literal(at(plan.body, "sku", "name"))).toBe("FC1");
    expect(literal(at(plan.body, "sku", "tier"))).toBe("FlexConsumption");
    expect(booleanLiteral(at(plan.body, "properties", "reserved"))).toBe(true);
    const site = onlyResource(API, "Microsoft.Web/sites");
    expect(at(site.body, "properties", "serverFarmId")?.text).toBe(`${plan.symbol}.id`);
  });

  it("runs Node.js 22 (functionAppConfig.runtime), as a Linux function app", () => {
    const site = onlyResource(API, "Microsoft.Web/sites");
    expect(literal(at(site.body, "properties", "functionAppConfig", "runtime", "name"))).toBe("node");
    expect(literal(at(site.body, "properties", "functionAppConfig", "runtime", "version"))).toBe("22");
    expect(literal(at(site.body, "kind"))).toBe("functionapp,linux");
  });

  it("carries the azd-service-name tag of the api service", () => {
    const site = onlyResource(API, "Microsoft.Web/sites");
    const tags = at(site.body, "tags");
    const tagged = descendants(tags ?? site.node).some((n) => n.type === "object" && literal(at(n, "azd-service-name")) === "api");
    expect(tagged).toBe(true);
  });

  it("sets scale limits and deploys from a blob container with the app identity", () => {
    const site = onlyResource(API, "Microsoft.Web/sites");
    const config = at(site.body, "properties", "functionAppConfig");
    expect(at(config, "scaleAndConcurrency", "maximumInstanceCount")).toBeDefined();
    expect(at(config, "scaleAndConcurrency", "instanceMemoryMB")).toBeDefined();
    expect(literal(at(config, "deployment", "storage", "type"))).toBe("blobContainer");
    expect(at(config, "deployment", "storage", "value")?.text).toBe("'${appStorageBlobEndpoint}${deploymentContainerName}'");
    expect(literal(at(config, "deployment", "storage", "authentication", "type"))).toBe("UserAssignedIdentity");
    expect(at(config, "deployment", "storage", "authentication", "userAssignedIdentityResourceId")?.text).toBe("appIdentityId");
  });

  it("attaches both user-assigned identities and no system-assigned one", () => {
    const site = onlyResource(API, "Microsoft.Web/sites");
    expect(literal(at(site.body, "identity", "type"))).toBe("UserAssigned");
    expect(properties(at(site.body, "identity", "userAssignedIdentities")).map((p) => p.key).sort()).toEqual(["${appIdentityId}", "${rotationIdentityId}"]);
    const identities = mainModule("app/identities.bicep").symbol;
    expect(mainArgument("app/api.bicep", "appIdentityId")).toBe(`${identities}.outputs.appIdentityId`);
    expect(mainArgument("app/api.bicep", "rotationIdentityId")).toBe(`${identities}.outputs.rotationIdentityId`);
  });

  it("sets every setting the app needs in Azure, each once", () => {
    const names = appSettings().map((s) => s.name);
    expect(REQUIRED_SETTINGS.filter((n) => !names.includes(n))).toEqual([]);
    expect(names.filter((n, i) => names.indexOf(n) !== i)).toEqual([]);
  });

  it("sets nothing the app does not read (catches misspelt setting names)", () => {
    const settingsSource = readFileSync(path.join(REPO, "src/config/settings.ts"), "utf8");
    const readByApp = new Set([...settingsSource.matchAll(/\benv(?:\.([A-Za-z_]\w*)|\[\s*"([A-Za-z_]\w*)"\s*\])|\(env,\s*"([A-Za-z_]\w*)"/g)].map((m) => m[1] ?? m[2] ?? m[3] ?? ""));
    const envRefs = componentDocuments().flatMap((d) => envRefsOf(d));
    for (const name of envRefs) readByApp.add(name);
    expect(readByApp.has("KEYVAULT_URI")).toBe(true);
    const unknown = appSettings()
      .map((s) => s.name)
      .filter((n) => !PLATFORM_SETTINGS.has(n) && !readByApp.has(n));
    expect(unknown).toEqual([]);
  });

  it("leaves local-only switches and endpoint overrides unset", () => {
    const names = appSettings().map((s) => s.name);
    expect(FORBIDDEN_SETTINGS.filter((n) => names.includes(n))).toEqual([]);
  });

  it("wires host storage to identity, not keys", () => {
    expect(literal(setting("AzureWebJobsStorage__credential"))).toBe("managedidentity");
    expect(setting("AzureWebJobsStorage__clientId")?.text).toBe("appIdentityClientId");
    const storage = mainModule("app/app-storage.bicep").symbol;
    expect(mainArgument("app/api.bicep", "appStorageBlobEndpoint")).toBe(`${storage}.outputs.blobEndpoint`);
    expect(mainArgument("app/api.bicep", "appStorageTableEndpoint")).toBe(`${storage}.outputs.tableEndpoint`);
  });

  it("gives each client-id setting the identity it is meant for", () => {
    for (const name of ["KEYVAULT_CLIENT_ID", "KEY_VAULT_REFERENCE_CLIENT_ID", "AZURE_CLIENT_ID", "AzureWebJobsStorage__clientId"]) {
      expect(setting(name)?.text, name).toBe("appIdentityClientId");
    }
    expect(setting("ROTATION_CLIENT_ID")?.text).toBe("rotationIdentityClientId");
    expect(setting("APPLICATIONINSIGHTS_AUTHENTICATION_STRING")?.text).toBe("'ClientId=${appIdentityClientId};Authorization=AAD'");
    const identities = mainModule("app/identities.bicep").symbol;
    expect(mainArgument("app/api.bicep", "appIdentityClientId")).toBe(`${identities}.outputs.appClientId`);
    expect(mainArgument("app/api.bicep", "rotationIdentityClientId")).toBe(`${identities}.outputs.rotationClientId`);
  });

  it("points KEYVAULT_URI at the vault main.bicep creates", () => {
    expect(setting("KEYVAULT_URI")?.text).toBe("keyVaultUri");
    expect(mainArgument("app/api.bicep", "keyVaultUri")).toBe(`${mainModule("app/keyvault.bicep").symbol}.outputs.uri`);
  });

  it("names the lock container and the tables exactly as app-storage.bicep creates them", () => {
    const pairs: [string, string][] = [
      ["lockContainerName", "lockContainerName"],
      ["versionTableName", "versionTableName"],
      ["auditTableName", "auditTableName"],
      ["deploymentContainerName", "deploymentContainerName"],
    ];
    for (const [apiParam, storageParam] of pairs) {
      expect(mainArgument("app/api.bicep", apiParam), apiParam).toBeDefined();
      expect(mainArgument("app/api.bicep", apiParam), apiParam).toBe(mainArgument("app/app-storage.bicep", storageParam));
    }
    expect(setting("ROTATION_LOCK_CONTAINER")?.text).toBe("lockContainerName");
    expect(setting("ROTATION_AUDIT_TABLE")?.text).toBe("auditTableName");
    expect(setting("VERSION_TABLE_NAME")?.text).toBe("versionTableName");
  });

  it("sets the Entra ID pair together or not at all (the app refuses one without the other)", () => {
    const entra = appSettings().filter((s) => s.name.startsWith("ENTRA_"));
    expect(entra.map((s) => s.name).sort()).toEqual(["ENTRA_AUDIENCES", "ENTRA_TENANT_ID"]);
    expect(entra.every((s) => s.conditional)).toBe(true);
    const ternaries = new Set(entra.map((s) => ancestorOfType(s.value, "ternary_expression")?.id));
    expect(ternaries.size, "both in the same conditional").toBe(1);
  });

  it("sets API_TOKEN only when callers are given, from the apiToken parameter", () => {
    const apiToken = appSettings().find((s) => s.name === "API_TOKEN");
    expect(apiToken?.conditional).toBe(true);
    expect(apiToken?.value?.text).toBe("apiToken");
    expect(appSettings().filter((s) => s.conditional && s.name !== "API_TOKEN" && !s.name.startsWith("ENTRA_") && !s.name.startsWith("ROTATION_ARM_"))).toEqual([]);
  });

  it("sets the ROTATION_ARM_* pair only with rotation on, naming this subscription and resource group", () => {
    const arm = appSettings().filter((s) => s.name.startsWith("ROTATION_ARM_"));
    expect(arm.map((s) => s.name).sort()).toEqual(["ROTATION_ARM_RESOURCE_GROUP", "ROTATION_ARM_SUBSCRIPTION_ID"]);
    expect(arm.every((s) => s.conditional)).toBe(true);
    const ternary = ancestorOfType(arm[0]?.value, "ternary_expression");
    expect(ternary?.childForFieldName("condition")?.text ?? ternary?.child(0)?.text).toBe("rotationEnabled");
    expect(ancestorOfType(arm[1]?.value, "ternary_expression")?.id).toBe(ternary?.id);
    expect(setting("ROTATION_ARM_SUBSCRIPTION_ID")?.text).toBe("subscription().subscriptionId");
    // api.bicep is deployed into the resource group that also holds the state account.
    expect(setting("ROTATION_ARM_RESOURCE_GROUP")?.text).toBe("resourceGroup().name");
    expect(mainModule("app/api.bicep").symbol).toBeDefined();
    expect(mainModule("app/state-storage.bicep").params.size).toBeGreaterThan(0);
  });

  it("serves HTTPS only, TLS 1.2 and up", () => {
    const site = onlyResource(API, "Microsoft.Web/sites");
    expect(booleanLiteral(at(site.body, "properties", "httpsOnly"))).toBe(true);
    expect(literal(at(site.body, "properties", "siteConfig", "minTlsVersion"))).toBe("1.2");
  });
});

describe("storage, Key Vault, monitoring, events", () => {
  it("keeps the host storage account identity-only", () => {
    const account = onlyResource("infra/app/app-storage.bicep", "Microsoft.Storage/storageAccounts");
    expect(booleanLiteral(at(account.body, "properties", "allowSharedKeyAccess"))).toBe(false);
  });

  it("hardens every storage account: TLS 1.2, HTTPS only, no public blob access", () => {
    const accounts = allResources().filter((r) => r.type === "Microsoft.Storage/storageAccounts" && !r.existing);
    expect(accounts).toHaveLength(2);
    for (const a of accounts) {
      const props = at(a.body, "properties");
      expect(literal(at(props, "minimumTlsVersion")), a.file.rel).toBe("TLS1_2");
      expect(booleanLiteral(at(props, "supportsHttpsTrafficOnly")), a.file.rel).toBe(true);
      expect(booleanLiteral(at(props, "allowBlobPublicAccess")), a.file.rel).toBe(false);
    }
    for (const c of allResources().filter((r) => r.type === "Microsoft.Storage/storageAccounts/blobServices/containers")) {
      expect(literal(at(c.body, "properties", "publicAccess")), `${c.file.rel} ${c.symbol}`).toBe("None");
    }
  });

  it("creates the vault with RBAC authorization and soft delete", () => {
    const vault = onlyResource("infra/app/keyvault.bicep", "Microsoft.KeyVault/vaults");
    const props = at(vault.body, "properties");
    expect(booleanLiteral(at(props, "enableRbacAuthorization"))).toBe(true);
    expect(booleanLiteral(at(props, "enableSoftDelete"))).toBe(true);
    expect(at(props, "accessPolicies")).toBeUndefined();
  });

  it("turns purge protection on by default and, when off, leaves the property out (Key Vault rejects false)", () => {
    const vault = onlyResource("infra/app/keyvault.bicep", "Microsoft.KeyVault/vaults");
    expect(at(vault.body, "properties", "enablePurgeProtection")?.text.replace(/\s+/g, " ")).toBe("purgeProtection ? true : null");
    expect(file(MAIN).source).toMatch(/param purgeProtection bool = true/);
    expect(mainArgument("app/keyvault.bicep", "purgeProtection")).toBe("purgeProtection");
  });

  it("lets a redeploy pick a new vault name while the old one is soft-deleted (keyVaultNameSuffix)", () => {
    const name = mainModule("app/keyvault.bicep").params.get("name")?.text ?? "";
    expect(name).toContain("${keyVaultNameSuffix}");
    expect(file(MAIN).source).toMatch(/@maxLength\(8\)\s*\nparam keyVaultNameSuffix string = ''/);
    // kv- + 13-character token + 8 = 24, Key Vault's longest name.
    expect(name).toBe("'${abbrs.keyVaultVaults}${resourceToken}${keyVaultNameSuffix}'");
  });

  it("provisions every Key Vault secret the deployed components and settings read", () => {
    const provisioned = new Set([...callerTokensCreatedByHooks(), ...stateSecretsCreatedByHooks()]);
    const needed = keyVaultSecretRefs();
    expect(needed).toEqual(expect.arrayContaining(["storage-account-name", "storage-account-key", "storage-container", "caller-reader-token"]));
    expect(needed.filter((n) => !provisioned.has(n))).toEqual([]);
  });

  it("creates a token for every Caller document that reads one from Key Vault, and no other", () => {
    expect(callerTokensCreatedByHooks().sort()).toEqual(callerTokenRefs().sort());
  });

  it("keeps credentials in the vault out of callers' reach (Configuration secret scopes)", () => {
    // Callers may GET secrets from the Key Vault store; tokens and keys must be denied there, or a
    // reader could fetch the admin token or the storage key through the API.
    const credentials = [...callerTokenRefs(), ...credentialSecretRefs()];
    expect(credentials).toEqual(expect.arrayContaining(["storage-account-key", "caller-ops-token"]));
    expect(credentials.filter((name) => readableByEveryCaller(name))).toEqual([]);
    // The same rules do let callers read what is not a credential.
    expect(readableByEveryCaller("storage-account-name")).toBe(true);
  });

  it("writes no Key Vault secret in Bicep: a secret resource would overwrite the value (and undo rotations) on every provision", () => {
    expect(allResources().filter((r) => r.type === "Microsoft.KeyVault/vaults/secrets" && !r.existing)).toEqual([]);
    // The hooks create them only when missing instead (postprovision.test.ts runs the sh hook).
    expect(stateSecretsCreatedByHooks().sort()).toEqual(["storage-account-key", "storage-account-name", "storage-container"]);
  });

  it("seeds the state-store secrets from the state account, not the host account", () => {
    const state = mainModule("app/state-storage.bicep").symbol;
    const out = outputs(file(MAIN));
    expect(out.get("AZURE_STATE_STORAGE_ACCOUNT_NAME")?.text).toBe(`${state}.outputs.name`);
    expect(out.get("AZURE_STATE_STORAGE_CONTAINER")?.text).toBe(`${state}.outputs.containerName`);
    const stateFile = file("infra/app/state-storage.bicep");
    const account = onlyResource(stateFile.rel, "Microsoft.Storage/storageAccounts");
    const container = resources(stateFile).find((r) => r.type === "Microsoft.Storage/storageAccounts/blobServices/containers");
    expect(outputs(stateFile).get("name")?.text).toBe(`${account.symbol}.name`);
    expect(outputs(stateFile).get("containerName")?.text).toBe(`${container?.symbol ?? "?"}.name`);
    for (const hook of ["scripts/postprovision.sh", "scripts/postprovision.ps1"]) {
      const source = readFileSync(path.join(REPO, hook), "utf8");
      expect(source, hook).toContain("AZURE_STATE_STORAGE_ACCOUNT_NAME");
      expect(source, hook).toContain("AZURE_STATE_STORAGE_CONTAINER");
      expect(source, hook).toMatch(/keyName=='key1'/);
    }
    // The sample components authenticate with that key, so this account has to accept it.
    expect(booleanLiteral(at(account.body, "properties", "allowSharedKeyAccess"))).toBe(true);
  });

  it("creates the table components/tablestore.yaml names", () => {
    const tableName = componentDocuments()
      .filter((d) => yamlAt(d, "spec", "type") === "state.azure.tablestorage")
      .flatMap((d) => metadataItems(d))
      .find((m) => m.name === "tableName")?.value;
    expect(tableName).toBeDefined();
    const main = file(MAIN);
    const argument = mainModule("app/state-storage.bicep").params.get("tableName");
    expect(resolveString(main, argument)).toBe(tableName);
  });

  it("keeps Application Insights on Entra ID auth only", () => {
    const insights = onlyResource("infra/app/monitoring.bicep", "Microsoft.Insights/components");
    expect(booleanLiteral(at(insights.body, "properties", "DisableLocalAuth"))).toBe(true);
  });

  it("publishes the vault's events through a Key Vault system topic", () => {
    const kv = file("infra/app/keyvault.bicep");
    const vault = onlyResource(kv.rel, "Microsoft.KeyVault/vaults");
    const topic = onlyResource(kv.rel, "Microsoft.EventGrid/systemTopics");
    expect(literal(at(topic.body, "properties", "topicType"))).toBe("Microsoft.KeyVault.vaults");
    expect(at(topic.body, "properties", "source")?.text).toBe(`${vault.symbol}.id`);
    expect(at(topic.body, "location")?.text).toBe(at(vault.body, "location")?.text);
    // The subscription needs the deployed function, so the postdeploy hook creates it (azd.test.ts).
    expect(allResources().filter((r) => r.type.includes("eventSubscriptions"))).toEqual([]);
  });
});

// --- components/*.yaml (what the deployed app will read) ---------------------------------------

type Json = null | boolean | number | string | Json[] | { [key: string]: Json };

/** Every YAML document in components/ (the folder COMPONENTS_PATH names in the deployed package). */
function componentDocuments(): Json[] {
  const dir = path.join(REPO, "components");
  return readdirSync(dir)
    .filter((n) => /\.ya?ml$/.test(n))
    .sort()
    .flatMap((n) => parseAllDocuments(readFileSync(path.join(dir, n), "utf8")).map((d) => d.toJSON() as Json));
}

function yamlAt(doc: Json | undefined, ...keys: string[]): Json | undefined {
  let current = doc;
  for (const key of keys) {
    if (current === null || typeof current !== "object" || Array.isArray(current)) return undefined;
    current = current[key];
  }
  return current;
}

function metadataItems(doc: Json): { name: string; value?: string; envRef?: string; secretRef?: string }[] {
  const items = yamlAt(doc, "spec", "metadata");
  if (!Array.isArray(items)) return [];
  return items.map((item) => {
    const value = yamlAt(item, "value");
    const envRef = yamlAt(item, "envRef");
    const secretRef = yamlAt(item, "secretKeyRef", "name");
    return {
      name: String(yamlAt(item, "name") ?? ""),
      ...(typeof value === "string" ? { value } : {}),
      ...(typeof envRef === "string" ? { envRef } : {}),
      ...(typeof secretRef === "string" ? { secretRef } : {}),
    };
  });
}

function envRefsOf(doc: Json): string[] {
  return metadataItems(doc).flatMap((m) => (m.envRef === undefined ? [] : [m.envRef]));
}

/** Secret names read through a Key Vault secret store by components and Caller documents. */
function keyVaultSecretRefs(): string[] {
  const docs = componentDocuments();
  const vaultStores = new Set(docs.filter((d) => yamlAt(d, "spec", "type") === "secretstores.azure.keyvault").map((d) => String(yamlAt(d, "metadata", "name"))));
  expect(vaultStores.size).toBeGreaterThan(0);
  const names: string[] = [];
  for (const doc of docs) {
    if (!vaultStores.has(String(yamlAt(doc, "auth", "secretStore")))) continue;
    names.push(...metadataItems(doc).flatMap((m) => (m.secretRef === undefined ? [] : [m.secretRef])));
    const tokens = yamlAt(doc, "spec", "tokens");
    if (Array.isArray(tokens)) for (const t of tokens) if (typeof yamlAt(t, "secretKeyRef", "name") === "string") names.push(String(yamlAt(t, "secretKeyRef", "name")));
  }
  return names;
}

/** Key Vault secret names that Caller documents use as tokens. */
function callerTokenRefs(): string[] {
  const stores = keyVaultStores();
  return componentDocuments()
    .filter((d) => yamlAt(d, "kind") === "Caller" && stores.has(String(yamlAt(d, "auth", "secretStore"))))
    .flatMap((d) => {
      const tokens = yamlAt(d, "spec", "tokens");
      return Array.isArray(tokens) ? tokens.map((t) => yamlAt(t, "secretKeyRef", "name")).filter((n): n is string => typeof n === "string") : [];
    });
}

/** Key Vault secret names that component metadata uses as credentials (keys, passwords, connection strings). */
function credentialSecretRefs(): string[] {
  const stores = keyVaultStores();
  return componentDocuments()
    .filter((d) => stores.has(String(yamlAt(d, "auth", "secretStore"))))
    .flatMap((d) => metadataItems(d))
    .filter((m) => m.secretRef !== undefined && /key|password|secret|token|connectionString/i.test(m.name))
    .map((m) => m.secretRef ?? "");
}

/** Names of the components that are Key Vault secret stores. */
function keyVaultStores(): Set<string> {
  return new Set(componentDocuments().filter((d) => yamlAt(d, "spec", "type") === "secretstores.azure.keyvault").map((d) => String(yamlAt(d, "metadata", "name"))));
}

/**
 * Whether every caller may read a secret through a Key Vault store, per the Configuration documents
 * that apply to all callers (no `scopes`): Dapr's rules, deny list first, then allow list, then default.
 */
function readableByEveryCaller(secret: string): boolean {
  const stores = keyVaultStores();
  const global = componentDocuments().filter((d) => yamlAt(d, "kind") === "Configuration" && yamlAt(d, "scopes") === undefined);
  for (const store of stores) {
    const scope = global
      .flatMap((d) => {
        const scopes = yamlAt(d, "spec", "secrets", "scopes");
        return Array.isArray(scopes) ? scopes : [];
      })
      .find((s) => yamlAt(s, "storeName") === store);
    if (scope === undefined) return true;
    const list = (key: string): string[] => {
      const value = yamlAt(scope, key);
      return Array.isArray(value) ? value.map(String) : [];
    };
    if (list("deniedSecrets").includes(secret)) continue;
    if (list("allowedSecrets").length > 0) {
      if (list("allowedSecrets").includes(secret)) return true;
      continue;
    }
    if (yamlAt(scope, "defaultAccess") !== "deny") return true;
  }
  return false;
}

/** The caller-token secrets both postprovision hooks create when missing (they must agree). */
function callerTokensCreatedByHooks(): string[] {
  const sh = readFileSync(path.join(REPO, "scripts/postprovision.sh"), "utf8");
  const ps1 = readFileSync(path.join(REPO, "scripts/postprovision.ps1"), "utf8");
  const fromSh = (/^CALLER_TOKEN_SECRETS="([^"]*)"/m.exec(sh)?.[1] ?? "").split(/\s+/).filter(Boolean);
  const fromPs1 = [...(/^\$CallerTokenSecrets = @\(([^)]*)\)/m.exec(ps1)?.[1] ?? "").matchAll(/'([^']+)'/g)].map((m) => m[1] ?? "");
  expect(fromSh.length).toBeGreaterThan(0);
  expect(fromPs1).toEqual(fromSh);
  return fromSh;
}

/** The state-store secrets both postprovision hooks create when missing (they must agree). */
function stateSecretsCreatedByHooks(): string[] {
  const sh = readFileSync(path.join(REPO, "scripts/postprovision.sh"), "utf8");
  const ps1 = readFileSync(path.join(REPO, "scripts/postprovision.ps1"), "utf8");
  const fromSh = (/^for name in (storage-[^;]*); do/m.exec(sh)?.[1] ?? "").split(/\s+/).filter(Boolean);
  const fromPs1 = [...(/^foreach \(\$name in @\(('storage-[^)]*)\)\)/m.exec(ps1)?.[1] ?? "").matchAll(/'([^']+)'/g)].map((m) => m[1] ?? "");
  expect(fromSh.length).toBeGreaterThan(0);
  expect(fromPs1).toEqual(fromSh);
  return fromSh;
}
