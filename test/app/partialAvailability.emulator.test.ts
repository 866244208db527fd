/**
 * Partial availability and self-driven recovery, against the Key Vault emulator over HTTPS with the
 * real SDK and managed identity, and Azurite: Key Vault refusing at cold start fails only the component
 * that reads its credentials from Key Vault; memstore, the env store and a Table store with its own
 * credentials serve; the background retry brings the failed component up, and the health probes turn
 * 204, with no API request in between.
 */
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import * as path from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { startKeyVaultEmulator, type KeyVaultEmulator } from "@vaultstate/keyvault-emulator";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { ApiRequest } from "../../src/api/request";
import { createApp, type App } from "../../src/app";
import { createAzureClients } from "../../src/azure/clients";
import { parseSettings } from "../../src/config/settings";
import type { Logger } from "../../src/observability/logger";
import { useAzurite } from "../setup/azurite";

const VAULT = "partial";
const TOKEN = "partial-t0ken";
/** START_RETRY_MAX_SECONDS of the app under test: the bound on the wait between two retries. */
const MAX_RETRY_DELAY_IN_MS = 1_000;

let emulator: KeyVaultEmulator;
const azurite = useAzurite();

beforeAll(async () => {
  emulator = await startKeyVaultEmulator({ vaultHost: "vault.localhost", seed: { vaults: { [VAULT]: { secrets: { "store-password": "pa55word-from-kv" } } } } });
  // The managed identity credential reads its endpoint from the process environment.
  Object.assign(process.env, emulator.identityEnvironment());
});

afterAll(async () => {
  await emulator?.close();
});

function components(vaultUri: string): string {
  const { accountName, accountKey, tableEndpoint } = azurite();
  return `apiVersion: dapr.io/v1alpha1
kind: Component
metadata: {name: tablestore}
spec:
  type: state.azure.tablestorage
  version: v1
  metadata: [{name: accountName, value: "${accountName}"}, {name: accountKey, value: "${accountKey}"}, {name: tableName, value: partial}, {name: serviceURL, value: "${tableEndpoint}"}]
---
apiVersion: dapr.io/v1alpha1
kind: Component
metadata: {name: memstore}
spec: {type: state.in-memory, version: v1, metadata: []}
---
apiVersion: dapr.io/v1alpha1
kind: Component
metadata: {name: env}
spec: {type: secretstores.local.env, version: v1, metadata: [{name: prefix, value: S_}]}
---
apiVersion: dapr.io/v1alpha1
kind: Component
metadata: {name: kv}
spec:
  type: secretstores.azure.keyvault
  version: v1
  metadata: [{name: vaultUri, value: "${vaultUri}"}]
---
apiVersion: dapr.io/v1alpha1
kind: Component
metadata: {name: kvbacked}
spec:
  type: state.in-memory
  version: v1
  metadata: [{name: password, secretKeyRef: {name: store-password, key: store-password}}]
auth: {secretStore: kv}
`;
}

function request(method: string, url: string, token?: string, body = ""): ApiRequest {
  const headers = new Headers({ ...(token === undefined ? {} : { "dapr-api-token": token }), ...(body === "" ? {} : { "content-type": "application/json" }) });
  return { method, url: `http://127.0.0.1${url}`, headers, body: async () => new TextEncoder().encode(body) };
}

async function call(app: App, method: string, url: string, token?: string, body = ""): Promise<{ status: number; body: string }> {
  const response = await app.api(request(method, url, token, body));
  return { status: response.status, body: response.body === undefined ? "" : Buffer.from(response.body).toString("utf8") };
}

describe("partial availability after a cold start with Key Vault down", () => {
  it("healthy components serve, the failed one answers its own 503, and health turns 204 by itself once Key Vault is back", async () => {
    const dir = mkdtempSync(path.join(tmpdir(), "vaultstate-partial-"));
    writeFileSync(path.join(dir, "components.yaml"), components(emulator.vaultUri(VAULT)));
    const lines: string[] = [];
    const logger: Logger = { info: (m) => lines.push(m), warn: (m) => lines.push(m), error: (m) => lines.push(m) };
    const settings = parseSettings({
      ...emulator.identityEnvironment(),
      COMPONENTS_PATH: dir,
      API_TOKEN: TOKEN,
      S_greeting: "hello",
      START_RETRY_MAX_SECONDS: String(MAX_RETRY_DELAY_IN_MS / 1000),
    });
    const app = createApp(settings, { azure: createAzureClients(settings.environment), logger });
    // Key Vault refuses every secrets call: the connection is reset without an answer.
    const down = emulator.faults.add({ operation: "*", vault: VAULT, reset: true });
    let cleared = false;
    try {
      await app.start();
      expect(await call(app, "GET", "/v1.0/healthz")).toEqual({ status: 500, body: '{"errorCode":"ERR_HEALTH_NOT_READY","message":"dapr is not ready: [components]"}' });
      expect((await call(app, "GET", "/v1.0/healthz/outbound")).status).toBe(500);
      // HEAD works like GET, without a token.
      expect(await call(app, "HEAD", "/v1.0/healthz")).toEqual({ status: 500, body: "" });

      // The components that do not need Key Vault serve.
      expect((await call(app, "POST", "/v1.0/state/memstore", TOKEN, '[{"key":"k","value":"v1"}]')).status).toBe(204);
      expect(await call(app, "GET", "/v1.0/state/memstore/k", TOKEN)).toEqual({ status: 200, body: '"v1"' });
      expect(await call(app, "GET", "/v1.0/secrets/env/greeting", TOKEN)).toEqual({ status: 200, body: '{"greeting":"hello"}\n' });
      expect((await call(app, "POST", "/v1.0/state/tablestore", TOKEN, '[{"key":"t","value":"table"}]')).status).toBe(204);
      expect(await call(app, "GET", "/v1.0/state/tablestore/t", TOKEN)).toEqual({ status: 200, body: '"table"' });
      // The failed one answers its own error: no upstream body, no address.
      const failed = await call(app, "GET", "/v1.0/state/kvbacked/k", TOKEN);
      expect(failed).toEqual({ status: 503, body: '{"errorCode":"ERR_COMPONENT_NOT_READY","message":"state store kvbacked is not ready: it failed to initialise and is being retried"}' });
      expect(failed.body).not.toContain("127.0.0.1");

      emulator.faults.clear(down.id);
      cleared = true;
      const backAt = performance.now();
      // Only health probes from here on: the recovery must not need an API request.
      let health = 500;
      while (health !== 204 && performance.now() - backAt < 25_000) {
        await sleep(50);
        health = (await call(app, "GET", "/v1.0/healthz")).status;
      }
      const recoveredAfterInMs = performance.now() - backAt;
      if (health !== 204) console.info(lines.join("\n"));
      expect(health).toBe(204);
      // One retry interval (≤ the cap) plus the rebuild itself; the slack is for a loaded machine.
      expect(recoveredAfterInMs).toBeLessThan(MAX_RETRY_DELAY_IN_MS + 15_000);
      expect((await call(app, "GET", "/v1.0/healthz/outbound")).status).toBe(204);
      expect(await call(app, "HEAD", "/v1.0/healthz")).toEqual({ status: 204, body: "" });

      expect((await call(app, "POST", "/v1.0/state/kvbacked", TOKEN, '[{"key":"k","value":"kv"}]')).status).toBe(204);
      expect(await call(app, "GET", "/v1.0/state/kvbacked/k", TOKEN)).toEqual({ status: 200, body: '"kv"' });
      // memstore kept its data: the retry rebuilt only the failed component.
      expect(await call(app, "GET", "/v1.0/state/memstore/k", TOKEN)).toEqual({ status: 200, body: '"v1"' });
      expect(lines.join("\n")).not.toContain("pa55word-from-kv");
      expect(lines.some((l) => l.includes("kvbacked") && l.includes("after an earlier failure"))).toBe(true);
      console.info(`healthz turned 204 ${Math.round(recoveredAfterInMs)} ms after Key Vault came back (retry cap ${MAX_RETRY_DELAY_IN_MS} ms)`);
    } finally {
      if (!cleared) emulator.faults.clear(down.id);
      await app.close();
    }
  });
});
