import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import * as path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Logger } from "../../src/observability/logger";
import { parseResourceDocuments, ResourceFileError } from "../../src/runtime/componentFiles";
import { buildRuntime, splitCallerEntry } from "../../src/runtime/runtime";
import { createAzureClients } from "../../src/azure/clients";

const lines: string[] = [];
const logger: Logger = { info: (m) => lines.push(m), warn: (m) => lines.push(m), error: (m) => lines.push(m) };

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(path.join(tmpdir(), "vs-rt-"));
  await writeFile(path.join(dir, "secrets.json"), JSON.stringify({ "file-name": "from-file", token: "tok-from-file", dirname: "nested-dir", "api-token": "t0ken" }));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

const yaml = `apiVersion: dapr.io/v1alpha1
kind: Component
metadata: {name: files}
spec:
  type: secretstores.local.file
  version: v1
  metadata:
    - name: secretsFile
      envRef: SECRETS_FILE
---
apiVersion: dapr.io/v1alpha1
kind: Component
metadata: {name: derived}
spec:
  type: secretstores.local.file
  version: v1
  metadata:
    - name: secretsFile
      secretKeyRef: {name: file-name}
auth: {secretStore: files}
---
apiVersion: dapr.io/v1alpha1
kind: Component
metadata: {name: envstore}
spec:
  type: secretstores.local.env
  version: v1
  metadata: []
scopes: [other]
`;

function build(text: string, apiTokens: string[] = [], environment: Record<string, string> = {}) {
  return buildRuntime({
    appId: "demo",
    resources: parseResourceDocuments(path.join(dir, "c.yaml"), text),
    apiTokens,
    providerContext: { azure: createAzureClients({}), appRoot: dir, environment: { SECRETS_FILE: "secrets.json", ...environment } },
    logger,
  });
}

describe("buildRuntime", () => {
  it("initialises components in reference order and resolves secretKeyRef through auth.secretStore", async () => {
    await writeFile(path.join(dir, "from-file"), JSON.stringify({ derivedSecret: "yes" }));
    // Declared first but depends on `files`, which is declared second.
    const reordered = yaml.split("---").map((d) => d.trim()).reverse().join("\n---\n");
    const runtime = await build(reordered);
    const derived = runtime.secretStores("demo").get("derived");
    expect(derived).toBeDefined();
    expect((await derived?.getSecret({ name: "derivedSecret", metadata: {} }))?.data).toEqual({ derivedSecret: "yes" });
    await runtime.close();
  });

  it("honours component scopes per app-id", async () => {
    await writeFile(path.join(dir, "from-file"), "{}");
    const runtime = await build(yaml);
    expect([...runtime.secretStores("demo").keys()].sort()).toEqual(["derived", "files"]);
    expect([...runtime.secretStores("other").keys()].sort()).toEqual(["derived", "envstore", "files"]);
    await runtime.close();
  });

  it("resolves caller tokens: literals, app-id prefixes and secret store references", async () => {
    await writeFile(path.join(dir, "from-file"), "{}");
    const runtime = await build(yaml, ["plain", "other:reader=abc", "reader=secretstore:files/api-token", "x:admin=secretstore:files/dirname/dirname"]);
    expect(runtime.callers.map(({ appId, role, token, dependency }) => ({ appId, role, token, dependency }))).toEqual([
      { appId: "demo", role: "writer", token: "plain", dependency: undefined },
      { appId: "other", role: "reader", token: "abc", dependency: undefined },
      { appId: "reader", role: "writer", token: "t0ken", dependency: { kind: "store", store: "files", secret: "api-token" } },
      { appId: "x", role: "admin", token: "nested-dir", dependency: { kind: "store", store: "files", secret: "dirname" } },
    ]);
    await runtime.close();
  });

  it("reports a token reference that cannot be read as a failed caller, naming the setting without any value; the other callers sign in", async () => {
    await writeFile(path.join(dir, "from-file"), "{}");
    for (const [entry, reason] of [
      ["x=secretstore:files/missing", /setting API_TOKEN: cannot read secret "missing" from "files"/],
      ["x=secretstore:nostore/x", /secret store "nostore" is not loaded/],
    ] as const) {
      const runtime = await build(yaml, [entry, "plain-token"]);
      expect(runtime.failedCallers).toEqual([{ entry, reason: expect.stringMatching(reason) }]);
      expect(runtime.callers.map((c) => c.token)).toEqual(["plain-token"]);
      await runtime.close();
    }
  });

  it("rejects unknown types and versions naming file and field", async () => {
    const bad = yaml.replace("type: secretstores.local.env", "type: secretstores.nope");
    await expect(build(bad)).rejects.toSatisfy((e: unknown) => e instanceof ResourceFileError && e.field === "component envstore: spec.type");
    const badVersion = yaml.replace("version: v1\n  metadata: []", "version: v9\n  metadata: []");
    await expect(build(badVersion)).rejects.toThrow(/component envstore: spec.version: component type "secretstores.local.env" has no version "v9"/);
  });

  it("rejects an auth.secretStore that does not exist or is in a cycle", async () => {
    await expect(build(yaml.replace("auth: {secretStore: files}", "auth: {secretStore: ghost}"))).rejects.toThrow(/component derived: auth.secretStore: no component named "ghost"/);
    const cycle = `apiVersion: dapr.io/v1alpha1
kind: Component
metadata: {name: a}
spec: {type: secretstores.local.file, version: v1, metadata: [{name: secretsFile, secretKeyRef: {name: x}}]}
auth: {secretStore: b}
---
apiVersion: dapr.io/v1alpha1
kind: Component
metadata: {name: b}
spec: {type: secretstores.local.file, version: v1, metadata: [{name: secretsFile, secretKeyRef: {name: x}}]}
auth: {secretStore: a}
`;
    await expect(build(cycle)).rejects.toThrow(/cycle: a, b/);
  });

  it("reports metadata errors from init as file + component + field", async () => {
    const missing = yaml.replace("    - name: secretsFile\n      envRef: SECRETS_FILE", "    - name: other\n      value: x");
    await expect(build(missing)).rejects.toSatisfy((e: unknown) => e instanceof ResourceFileError && e.field === "component files: spec.metadata secretsFile");
  });

  it("a component whose secretKeyRef cannot be read fails alone (the others serve), and components with ignoreErrors are skipped", async () => {
    const partial = await build(yaml.replace("{name: file-name}", "{name: nope}"));
    expect(partial.failed.map((f) => ({ name: f.definition.name, kind: f.kind }))).toEqual([{ name: "derived", kind: "secretstores" }]);
    expect(partial.failed[0]?.reason).toMatch(/component derived: spec.metadata secretsFile: cannot read secret "nope"/);
    expect(partial.failedComponent("demo", "derived")?.definition.name).toBe("derived");
    expect(partial.secretStores("demo").has("files")).toBe(true);
    expect(partial.secretStores("demo").has("derived")).toBe(false);
    expect(lines.some((l) => l.startsWith("component derived (secretstores.local.file/v1) failed to initialise; the others serve"))).toBe(true);
    await partial.close();
    // A failed component is reported only to the app-ids it is scoped to; others see no such store.
    const scoped = await build(yaml.replace("{name: file-name}", "{name: nope}").replace("auth: {secretStore: files}", "auth: {secretStore: files}\nscopes: [other]"));
    expect(scoped.failedComponent("demo", "derived")).toBeUndefined();
    expect(scoped.failedComponent("other", "derived")?.kind).toBe("secretstores");
    await scoped.close();
    const ignoring = yaml.replace("{name: file-name}", "{name: nope}").replace("  type: secretstores.local.file\n  version: v1\n  metadata:\n    - name: secretsFile\n      secretKeyRef", "  type: secretstores.local.file\n  version: v1\n  ignoreErrors: true\n  metadata:\n    - name: secretsFile\n      secretKeyRef");
    const runtime = await build(ignoring);
    expect(runtime.secretStores("demo").has("derived")).toBe(false);
    expect(lines.some((l) => l.startsWith("component derived skipped (ignoreErrors)"))).toBe(true);
    await runtime.close();
  });

  it("envRef refuses DAPR_* variables", async () => {
    const text = yaml.replace("envRef: SECRETS_FILE", "envRef: DAPR_FILE");
    await expect(build(text, [], { DAPR_FILE: "secrets.json" })).rejects.toThrow(/environment variable DAPR_FILE may not be referenced/);
  });

  it("an envRef to an unset variable applies no value (so the provider reports the missing field)", async () => {
    const text = yaml.replace("envRef: SECRETS_FILE", "envRef: UNSET_VARIABLE");
    await expect(build(text)).rejects.toSatisfy((e: unknown) => e instanceof ResourceFileError && e.field === "component files: spec.metadata secretsFile");
  });
});

describe("splitCallerEntry", () => {
  it.each([
    ["dev-token", { appId: "def", role: "writer", value: "dev-token" }],
    ["demo=dev-token", { appId: "demo", role: "writer", value: "dev-token" }],
    ["demo:reader=dev-token", { appId: "demo", role: "reader", value: "dev-token" }],
    ["ops:admin=t", { appId: "ops", role: "admin", value: "t" }],
    ["demo=a=b", { appId: "demo", role: "writer", value: "a=b" }],
    ["abc==", { appId: "def", role: "writer", value: "abc==" }],
    ["demo:root=x", { appId: "def", role: "writer", value: "demo:root=x" }],
    ["demo=secretstore:s/n", { appId: "demo", role: "writer", value: "secretstore:s/n" }],
  ])("%s", (entry, expected) => {
    expect(splitCallerEntry(entry, "def")).toEqual(expected);
  });
});
