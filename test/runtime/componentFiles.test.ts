import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import * as path from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { loadResources, parseResourceDocuments, ResourceFileError, selectResources } from "../../src/runtime/componentFiles";

const component = (body: string): string => `apiVersion: dapr.io/v1alpha1\nkind: Component\n${body}`;

function errorOf(fn: () => unknown): ResourceFileError {
  try {
    fn();
  } catch (e) {
    if (e instanceof ResourceFileError) return e;
    throw e;
  }
  throw new Error("expected a ResourceFileError");
}

describe("parseResourceDocuments", () => {
  it("parses a component with literals, secretKeyRef (key defaults to name), envRef, auth and scopes", () => {
    const text = component(`metadata:
  name: statestore
  namespace: ns1
spec:
  type: state.azure.blobstorage
  version: v2
  metadata:
    - name: accountName
      secretKeyRef: { name: storage-account }
    - name: accountKey
      secretKeyRef: { name: storage, key: key1 }
    - name: retryCount
      value: 3
    - name: disableEntityManagement
      value: false
    - name: fromEnv
      envRef: MY_VAR
auth:
  secretstore: secretstore
scopes: [demo, other]
`);
    expect(parseResourceDocuments("/c/state.yaml", text)).toEqual({
      configurations: [],
      callers: [],
      components: [
        {
          file: "/c/state.yaml",
          name: "statestore",
          namespace: "ns1",
          type: "state.azure.blobstorage",
          version: "v2",
          ignoreErrors: false,
          secretStore: "secretstore",
          scopes: ["demo", "other"],
          metadata: [
            { name: "accountName", kind: "secretKeyRef", secretKeyRef: { name: "storage-account", key: "storage-account" } },
            { name: "accountKey", kind: "secretKeyRef", secretKeyRef: { name: "storage", key: "key1" } },
            { name: "retryCount", kind: "value", value: "3" },
            { name: "disableEntityManagement", kind: "value", value: "false" },
            { name: "fromEnv", kind: "envRef", envRef: "MY_VAR" },
          ],
        },
      ],
    });
  });

  it("reads several documents and ignores other kinds", () => {
    const text = `${component("metadata: {name: a}\nspec: {type: secretstores.local.env, version: v1}")}
---
apiVersion: dapr.io/v2alpha1
kind: Subscription
metadata: {name: s}
---
apiVersion: dapr.io/v1alpha1
kind: Configuration
metadata: {name: appconfig}
scopes: [demo]
spec:
  secrets:
    scopes:
      - storeName: a
        defaultAccess: DENY
        allowedSecrets: [x]
`;
    const parsed = parseResourceDocuments("f.yaml", text);
    expect(parsed.components.map((c) => c.name)).toEqual(["a"]);
    expect(parsed.configurations).toEqual([
      { file: "f.yaml", name: "appconfig", scopes: ["demo"], secretScopes: [{ storeName: "a", defaultAccess: "deny", allowedSecrets: ["x"], deniedSecrets: [] }] },
    ]);
  });

  it.each([
    ["metadata: {name: a}\nspec: {version: v1}", "component a: spec.type"],
    ["metadata: {name: a}\nspec: {type: x}", "component a: spec.version"],
    ["spec: {type: x, version: v1}", "metadata"],
    ["metadata: {name: 'bad name!'}\nspec: {type: x, version: v1}", "metadata.name"],
    ["metadata: {name: a}\nspec: {type: x, version: v1, metadata: [{value: 1}]}", "component a: spec.metadata[0].name"],
    ["metadata: {name: a}\nspec: {type: x, version: v1, metadata: [{name: k, value: [1]}]}", "component a: spec.metadata[0] (k).value"],
    ["metadata: {name: a}\nspec: {type: x, version: v1, metadata: [{name: k, value: 1, envRef: E}]}", "component a: spec.metadata[0] (k)"],
    ["metadata: {name: a}\nspec: {type: x, version: v1, metadata: [{name: k, secretKeyRef: {key: b}}]}", "component a: spec.metadata[0] (k).secretKeyRef.name"],
    ["metadata: {name: a}\nspec: {type: x, version: v1, metadata: [{name: k, secretKeyRef: {name: s}}]}", "component a: auth.secretStore"],
    ["metadata: {name: a}\nspec: {type: x, version: v1, metadata: [{name: k, value: 1}, {name: K, value: 2}]}", "component a: spec.metadata[1].name"],
    ["metadata: {name: a}\nspec: {type: x, version: v1}\nscopes: demo", "component a: scopes"],
  ])("names the field: %s", (body, field) => {
    const error = errorOf(() => parseResourceDocuments("/c/x.yaml", component(body)));
    expect(error.file).toBe("/c/x.yaml");
    expect(error.field).toBe(field);
    expect(error.message.startsWith(`/c/x.yaml: ${field}: `)).toBe(true);
  });

  it("rejects a wrong apiVersion and broken YAML", () => {
    expect(errorOf(() => parseResourceDocuments("f", "apiVersion: v1\nkind: Component\nmetadata: {name: a}")).field).toBe("apiVersion");
    expect(errorOf(() => parseResourceDocuments("f", "kind: [unclosed")).field).toBe("yaml");
  });

  it("rejects duplicate store scopes and bad defaultAccess in a Configuration", () => {
    const config = (scopes: string): string => `apiVersion: dapr.io/v1alpha1\nkind: Configuration\nmetadata: {name: c}\nspec:\n  secrets:\n    scopes: ${scopes}\n`;
    expect(errorOf(() => parseResourceDocuments("f", config("[{storeName: a}, {storeName: a}]"))).field).toBe("configuration c: spec.secrets.scopes[1].storeName");
    expect(errorOf(() => parseResourceDocuments("f", config("[{storeName: a, defaultAccess: maybe}]"))).field).toBe("configuration c: spec.secrets.scopes[0].defaultAccess");
  });
});

describe("selectResources", () => {
  const base = { file: "f", type: "t", version: "v1", ignoreErrors: false, metadata: [], secretStore: undefined, scopes: [] };
  it("filters by namespace, keeping components without one", () => {
    const all = {
      components: [
        { ...base, name: "a", namespace: "ns1" },
        { ...base, name: "b", namespace: "ns2" },
        { ...base, name: "c", namespace: undefined },
      ],
      configurations: [],
      callers: [],
    };
    expect(selectResources(all, "ns1").components.map((c) => c.name)).toEqual(["a", "c"]);
    expect(selectResources(all, undefined).components.map((c) => c.name)).toEqual(["a", "b", "c"]);
  });
  it("rejects duplicate component names and two configurations for one app-id", () => {
    expect(() => selectResources({ components: [{ ...base, name: "a", namespace: undefined }, { ...base, file: "g", name: "a", namespace: undefined }], configurations: [], callers: [] }, undefined)).toThrow(
      /g: metadata.name: component "a" is also defined in f/,
    );
    const cfg = { file: "f", name: "c1", scopes: ["demo"], secretScopes: [] };
    expect(() => selectResources({ components: [], configurations: [cfg, { ...cfg, name: "c2" }], callers: [] }, undefined)).toThrow(/app-id demo already has configuration c1/);
  });
});

describe("loadResources", () => {
  let dir: string | undefined;
  afterEach(async () => {
    if (dir !== undefined) await rm(dir, { recursive: true, force: true });
  });
  it("reads .yaml and .yml files in name order and skips other files", async () => {
    dir = await mkdtemp(path.join(tmpdir(), "vs-res-"));
    await writeFile(path.join(dir, "b.yml"), component("metadata: {name: b}\nspec: {type: t, version: v1}"));
    await writeFile(path.join(dir, "a.yaml"), component("metadata: {name: a}\nspec: {type: t, version: v1}"));
    await writeFile(path.join(dir, "secrets.json"), "{}");
    expect((await loadResources(dir)).components.map((c) => c.name)).toEqual(["a", "b"]);
  });
  it("reports a missing folder", async () => {
    await expect(loadResources("/nonexistent/components")).rejects.toThrow(/COMPONENTS_PATH: cannot read the folder \(ENOENT\)/);
  });
});
