/**
 * @module Hostile-input fixes in the secrets API (found by test/security): a denied secret stays denied in
 * every letter case, and per-request metadata a store refuses is a 400.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Caller } from "../../src/api/auth";
import { isApiError } from "../../src/api/errors";
import { bulkGetSecret, getSecret, isSecretAllowedAnyCase } from "../../src/api/secretsApi";
import { MetadataError } from "../../src/components/metadata";
import type { Logger } from "../../src/observability/logger";
import { parseResourceDocuments, type SecretScope } from "../../src/runtime/componentFiles";
import { buildRuntime, type Runtime } from "../../src/runtime/runtime";
import { createAzureClients } from "../../src/azure/clients";

const logger: Logger = { info: () => {}, warn: () => {}, error: () => {} };
const caller: Caller = { appId: "demo", role: "writer", via: "token" };

const yaml = `apiVersion: dapr.io/v1alpha1
kind: Component
metadata: {name: envstore}
spec: {type: secretstores.local.env, version: v1, metadata: []}
---
apiVersion: dapr.io/v1alpha1
kind: Configuration
metadata: {name: appconfig}
spec:
  secrets:
    scopes:
      - storeName: envstore
        defaultAccess: allow
        deniedSecrets: [storage-account-key]
`;

let runtime: Runtime;
beforeAll(async () => {
  runtime = await buildRuntime({
    appId: "demo",
    resources: parseResourceDocuments("c.yaml", yaml),
    apiTokens: ["demo=dev-token"],
    // Environment variables are case-sensitive on Linux; on Windows (and in Key Vault) they are not.
    providerContext: { azure: createAzureClients({}), appRoot: "/", environment: { "storage-account-key": "k1", "STORAGE-ACCOUNT-KEY": "k2", "Storage-Account-Key": "k3", greeting: "hi" } },
    logger,
  });
});
afterAll(async () => {
  await runtime.close();
});

async function status(run: () => { status: number } | Promise<{ status: number }>): Promise<{ status: number; code?: string }> {
  try {
    return { status: (await run()).status };
  } catch (e) {
    if (!isApiError(e)) throw e;
    return { status: e.status, code: e.code };
  }
}

describe("a denied secret is denied in every letter case", () => {
  it.each(["storage-account-key", "STORAGE-ACCOUNT-KEY", "Storage-Account-Key", "storage-account-\u212Aey"])("GET %s → 403", async (key) => {
    expect(await status(() => getSecret(runtime, caller, { storeName: "envstore", key, metadata: {} }))).toEqual({ status: 403, code: "ERR_PERMISSION_DENIED" });
  });
  it("other secrets are still served", async () => {
    expect(await status(() => getSecret(runtime, caller, { storeName: "envstore", key: "greeting", metadata: {} }))).toEqual({ status: 200 });
  });
  it("bulk leaves every case variant out", async () => {
    const response = await bulkGetSecret(runtime, caller, { storeName: "envstore", metadata: {} });
    const body: unknown = JSON.parse(String(response.body));
    expect(typeof body === "object" && body !== null ? Object.keys(body) : []).toEqual(["greeting"]);
  });
  it("only the deny list is widened: a non-empty allow list still decides alone, exactly", () => {
    const scope: SecretScope = { storeName: "s", defaultAccess: "deny", allowedSecrets: ["a", "B"], deniedSecrets: ["a"] };
    expect([isSecretAllowedAnyCase(scope, "a"), isSecretAllowedAnyCase(scope, "A"), isSecretAllowedAnyCase(scope, "B"), isSecretAllowedAnyCase(scope, "b")]).toEqual([true, false, true, false]);
    expect(isSecretAllowedAnyCase(undefined, "ANY")).toBe(true);
  });
});

describe("request metadata a store refuses", () => {
  /** A runtime view with one store whose every call fails with the given error. */
  function failingRuntime(error: Error): Runtime {
    const store = {
      getSecret: async () => Promise.reject(error),
      bulkGetSecret: async () => Promise.reject(error),
    };
    const view = { secretStores: () => new Map([["kv", store]]), configuration: () => undefined };
    // Only the two members the secrets API reads are provided.
    return view as unknown as Runtime;
  }
  it("MetadataError (e.g. metadata.maxresults=abc) → 400 ERR_SECRET_GET", async () => {
    const rt = failingRuntime(new MetadataError("maxresults", 'metadata field "maxresults" must be an integer'));
    expect(await status(() => bulkGetSecret(rt, caller, { storeName: "kv", metadata: { maxresults: "abc" } }))).toEqual({ status: 400, code: "ERR_SECRET_GET" });
    expect(await status(() => getSecret(rt, caller, { storeName: "kv", key: "x", metadata: {} }))).toEqual({ status: 400, code: "ERR_SECRET_GET" });
  });
  it("any other store failure stays daprd's 500", async () => {
    const rt = failingRuntime(new Error("Key Vault answered 503"));
    expect(await status(() => getSecret(rt, caller, { storeName: "kv", key: "x", metadata: {} }))).toEqual({ status: 500, code: "ERR_SECRET_GET" });
  });
});
