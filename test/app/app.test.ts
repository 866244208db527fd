/**
 * The composition root: apps are built from settings and clients, several per process, each with its
 * own runtime, callers and state.
 */
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import * as path from "node:path";
import { describe, expect, it } from "vitest";
import type { ApiRequest } from "../../src/api/request";
import { createApp, type App } from "../../src/app";
import { createAzureClients } from "../../src/azure/clients";
import { parseSettings } from "../../src/config/settings";
import type { Logger } from "../../src/observability/logger";

const COMPONENTS = `apiVersion: dapr.io/v1alpha1
kind: Component
metadata: {name: memstore}
spec: {type: state.in-memory, version: v1, metadata: []}
---
apiVersion: dapr.io/v1alpha1
kind: Component
metadata: {name: env}
spec:
  type: secretstores.local.env
  version: v1
  metadata: [{name: prefix, value: S_}]
`;

function componentsDir(): string {
  const dir = mkdtempSync(path.join(tmpdir(), "vaultstate-app-"));
  writeFileSync(path.join(dir, "components.yaml"), COMPONENTS);
  return dir;
}

function buildApp(env: Record<string, string>, lines: string[] = []): App {
  const logger: Logger = { info: (m) => lines.push(m), warn: (m) => lines.push(m), error: (m) => lines.push(m) };
  const settings = parseSettings({ COMPONENTS_PATH: componentsDir(), ...env });
  return createApp(settings, { azure: createAzureClients(settings.environment), logger });
}

function request(method: string, url: string, token: string, body = ""): ApiRequest {
  const headers = new Headers({ "dapr-api-token": token, ...(body === "" ? {} : { "content-type": "application/json" }) });
  return { method, url: `http://127.0.0.1${url}`, headers, body: async () => new TextEncoder().encode(body) };
}

async function text(app: App, req: ApiRequest): Promise<{ status: number; body: string }> {
  const response = await app.api(req);
  return { status: response.status, body: response.body === undefined ? "" : Buffer.from(response.body).toString("utf8") };
}

describe("createApp", () => {
  it("builds two independent apps with different settings in one process", async () => {
    const one = buildApp({ APP_ID: "one", API_TOKEN: "one=token-one", S_greeting: "hello from one" });
    const two = buildApp({ APP_ID: "two", API_TOKEN: "two=token-two", S_greeting: "hello from two" });
    await Promise.all([one.start(), two.start()]);
    try {
      expect(JSON.parse((await text(one, request("GET", "/v1.0/metadata", "token-one"))).body).id).toBe("one");
      expect(JSON.parse((await text(two, request("GET", "/v1.0/metadata", "token-two"))).body).id).toBe("two");
      // Callers, secrets and state belong to one app.
      expect((await text(one, request("GET", "/v1.0/metadata", "token-two"))).status).toBe(401);
      expect((await text(one, request("GET", "/v1.0/secrets/env/greeting", "token-one"))).body).toBe('{"greeting":"hello from one"}\n');
      expect((await text(two, request("GET", "/v1.0/secrets/env/greeting", "token-two"))).body).toBe('{"greeting":"hello from two"}\n');
      expect((await text(one, request("POST", "/v1.0/state/memstore", "token-one", '[{"key":"k","value":"v1"}]'))).status).toBe(204);
      expect((await text(one, request("GET", "/v1.0/state/memstore/k", "token-one"))).body).toBe('"v1"');
      expect((await text(two, request("GET", "/v1.0/state/memstore/k", "token-two"))).status).toBe(204);
    } finally {
      await Promise.all([one.close(), two.close()]);
    }
  });

  it("building an app does no I/O and logs nothing; start says what is off", async () => {
    const lines: string[] = [];
    const app = buildApp({ API_TOKEN: "t0ken-value" }, lines);
    expect(lines).toEqual([]);
    await app.start();
    expect(lines.join("\n")).toContain("no AzureWebJobsStorage: secret rotation is off");
    await app.close();
  });

  it("start fails on a broken component file, naming it", async () => {
    const dir = componentsDir();
    writeFileSync(path.join(dir, "broken.yaml"), "apiVersion: dapr.io/v1alpha1\nkind: Component\nmetadata: {name: broken}\nspec: {type: state.nope, version: v1}\n");
    const app = buildApp({ COMPONENTS_PATH: dir, API_TOKEN: "t0ken-value" });
    await expect(app.start()).rejects.toThrow(/broken\.yaml.*spec\.type/s);
  });

  it("start survives an outage: a vault unreachable at cold start fails only the components that need it", async () => {
    const dir = componentsDir();
    writeFileSync(
      path.join(dir, "kv.yaml"),
      "apiVersion: dapr.io/v1alpha1\nkind: Component\nmetadata: {name: kv}\nspec:\n  type: secretstores.azure.keyvault\n  version: v1\n  metadata: [{name: vaultUri, value: 'https://127.0.0.1:1'}]\n---\napiVersion: dapr.io/v1alpha1\nkind: Component\nmetadata: {name: needs-kv}\nspec:\n  type: state.in-memory\n  version: v1\n  metadata: [{name: x, secretKeyRef: {name: s, key: s}}]\nauth: {secretStore: kv}\n",
    );
    const lines: string[] = [];
    const app = buildApp({ COMPONENTS_PATH: dir, API_TOKEN: "t0ken-value", IDENTITY_ENDPOINT: "http://127.0.0.1:1/token", IDENTITY_HEADER: "h" }, lines);
    await expect(app.start()).resolves.toBeUndefined();
    const status = app.runtime.status();
    expect(status.state === "ready" ? status.runtime.failed.map((f) => f.definition.name) : status).toEqual(["needs-kv"]);
    expect((await text(app, request("GET", "/v1.0/healthz", ""))).status).toBe(500);
    expect(await text(app, request("GET", "/v1.0/state/needs-kv/k", "t0ken-value"))).toEqual({
      status: 503,
      body: '{"errorCode":"ERR_COMPONENT_NOT_READY","message":"state store needs-kv is not ready: it failed to initialise and is being retried"}',
    });
    expect((await text(app, request("POST", "/v1.0/state/memstore", "t0ken-value", '[{"key":"k","value":"v1"}]'))).status).toBe(204);
    expect((await text(app, request("GET", "/v1.0/state/memstore/k", "t0ken-value"))).body).toBe('"v1"');
    // The reason (with the vault's address) is logged, never answered.
    expect(lines.join("\n")).toContain("component needs-kv (state.in-memory/v1) failed to initialise");
    await app.close();
  });
});
