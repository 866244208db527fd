/**
 * End to end: the official @dapr/dapr client and raw fetch against the local Functions host running
 * the built app with the sample components, the Key Vault emulator and Azurite.
 */
import { readFileSync } from "node:fs";
import * as path from "node:path";
import type { DaprClient } from "@dapr/dapr";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { REPO_ROOT } from "../../tools/devEnvironment";
import { daprClient, knownSecretValues, startE2eEnvironment, TOKEN, type E2eEnvironment, stopAndCheckResponses } from "./environment";

let env: E2eEnvironment;
let client: DaprClient;
const fileSecrets = JSON.parse(readFileSync(path.join(REPO_ROOT, "components", "secrets.json"), "utf8")) as Record<string, unknown>;

beforeAll(async () => {
  env = await startE2eEnvironment();
  client = daprClient(env);
});
afterAll(async () => {
  await client?.stop();
  await stopAndCheckResponses(env, __filename);
});

const get = (p: string, headers: Record<string, string> = { "dapr-api-token": TOKEN }) => fetch(`${env.url}${p}`, { headers });

describe("@dapr/dapr secrets", () => {
  it("reads a secret from localsecretstore with the value in components/secrets.json", async () => {
    expect(await client.secret.get("localsecretstore", "demo-secret")).toEqual({ "demo-secret": fileSecrets["demo-secret"] });
  });

  it("getBulk returns every allowed file secret, nested keys flattened, denied ones filtered", async () => {
    const bulk = (await client.secret.getBulk("localsecretstore")) as Record<string, Record<string, string>>;
    expect(bulk["db-password"]).toEqual({ "db-password": fileSecrets["db-password"] });
    expect(bulk["connectionStrings:orders"]).toEqual({ "connectionStrings:orders": "Server=127.0.0.1;Database=orders" });
    expect(bulk["connectionStrings:port"]).toEqual({ "connectionStrings:port": "5432" });
    expect(bulk["internal-only"]).toBeUndefined();
  });

  it("reads envsecretstore (prefix stripped)", async () => {
    expect(await client.secret.get("envsecretstore", "greeting")).toEqual({ greeting: "hello-from-env" });
  });

  it("reads Key Vault secrets through managed identity, including pinned versions (metadata.version_id)", async () => {
    expect(await client.secret.get("secretstore", "demo-secret")).toEqual({ "demo-secret": "hello-from-key-vault" });
    const vault = env.emulator?.store("vaultstate-dev");
    if (vault === undefined) throw new Error("emulator missing");
    const v1 = vault.set("pinned-secret", { value: "first" }).version.version;
    const v2 = vault.set("pinned-secret", { value: "second" }).version.version;
    expect(await client.secret.get("secretstore", "pinned-secret", `metadata.version_id=${v1}`)).toEqual({ "pinned-secret": "first" });
    expect(await client.secret.get("secretstore", "pinned-secret", `metadata.version_id=${v2}`)).toEqual({ "pinned-secret": "second" });
    expect(await client.secret.get("secretstore", "pinned-secret")).toEqual({ "pinned-secret": "second" });
  });

  it("throws for a missing secret, with ERR_SECRET_GET in the body", async () => {
    await expect(client.secret.get("localsecretstore", "does-not-exist")).rejects.toThrow(/ERR_SECRET_GET/);
  });
});

describe("raw HTTP through the Functions host", () => {
  it("healthz and healthz/outbound answer 204 without a token", async () => {
    expect((await get("/v1.0/healthz", {})).status).toBe(204);
    expect((await get("/v1.0/healthz/outbound", {})).status).toBe(204);
    expect((await get("/v1.0/healthz?appid=wrong", {})).status).toBe(500);
  });

  it.each([
    ["missing", {}],
    ["wrong", { "dapr-api-token": "nope" }],
  ])("401 text/plain for a %s token", async (_n, headers) => {
    for (const p of ["/v1.0/metadata", "/v1.0/secrets/localsecretstore/demo-secret", "/v1.0/secrets/localsecretstore/bulk"]) {
      const r = await get(p, headers);
      expect(r.status).toBe(401);
      expect(r.headers.get("content-type")).toBe("text/plain; charset=utf-8");
      expect(await r.text()).toBe("invalid api token\n");
    }
  });

  it("401 ERR_SECRET_STORE_NOT_FOUND for an unknown store", async () => {
    const r = await get("/v1.0/secrets/customsecretstore1/x");
    expect(r.status).toBe(401);
    expect(await r.json()).toEqual({ errorCode: "ERR_SECRET_STORE_NOT_FOUND", message: "failed finding secret store with key customsecretstore1" });
  });

  it("403 ERR_PERMISSION_DENIED by secret scope, for file and Key Vault stores", async () => {
    for (const [store, key] of [
      ["localsecretstore", "internal-only"],
      ["secretstore", "storage-account-key"],
    ]) {
      const r = await get(`/v1.0/secrets/${store}/${key}`);
      expect(r.status).toBe(403);
      expect(r.headers.get("cache-control")).toBe("no-store");
      expect(await r.json()).toEqual({ errorCode: "ERR_PERMISSION_DENIED", message: `access denied by policy to get "${key}" from "${store}"` });
    }
  });

  it("200 with Cache-Control: no-store and a trailing newline; bulk filters silently", async () => {
    const r = await get("/v1.0/secrets/secretstore/bulk");
    expect(r.status).toBe(200);
    expect(r.headers.get("cache-control")).toBe("no-store");
    const text = await r.text();
    expect(text.endsWith("\n")).toBe(true);
    const body = JSON.parse(text) as Record<string, unknown>;
    expect(Object.keys(body)).toEqual(expect.arrayContaining(["demo-secret", "storage-account-name", "storage-container"]));
    expect(Object.keys(body)).not.toContain("storage-account-key");
  });

  it("500 ERR_SECRET_GET naming the secret for a missing one", async () => {
    const r = await get("/v1.0/secrets/secretstore/nope");
    expect(r.status).toBe(500);
    expect(await r.json()).toEqual({ errorCode: "ERR_SECRET_GET", message: "failed getting secret with key nope from secret store secretstore: secret nope not found" });
  });

  it("decodes path parameters once; a bad escape reaches the API as a literal key, as through the real host", async () => {
    expect((await get("/v1.0/secrets/localsecretstore/demo%2Dsecret")).status).toBe(200);
    // The Functions host decodes the path and the streaming proxy re-escapes every "%" (YARP), so "%zz"
    // arrives as "%25zz": daprd's 400 for a bad escape cannot be reached through it; the key "%zz" is not found.
    const bad = await get("/v1.0/secrets/localsecretstore/%zz");
    expect(bad.status).toBe(500);
    expect(await bad.json()).toEqual({ errorCode: "ERR_SECRET_GET", message: "failed getting secret with key %zz from secret store localsecretstore: secret %zz not found" });
  });

  it("unmatched Dapr routes get 404 ERR_DIRECT_INVOKE, wrong methods 405 with Allow; other paths the host's own 404", async () => {
    const outside = await fetch(`${env.url}/foo`, { headers: { "dapr-api-token": TOKEN } });
    expect(outside.status).toBe(404);
    expect(await outside.text()).toBe("");
    for (const [method, p] of [
      ["GET", "/v1.0/foo"],
      ["POST", "/v1.0-alpha1/foo"],
      ["GET", "/v1.0/secrets/localsecretstore"],
    ]) {
      const r = await fetch(`${env.url}${p}`, { method, headers: { "dapr-api-token": TOKEN } });
      expect(r.status).toBe(404);
      expect(((await r.json()) as { errorCode: string }).errorCode).toBe("ERR_DIRECT_INVOKE");
    }
    for (const [method, p, allow] of [
      ["POST", "/v1.0/secrets/localsecretstore/demo-secret", "GET"],
      ["GET", "/v1.0/state/memstore", "POST, PUT"],
      ["PATCH", "/v1.0/state/memstore", "POST, PUT"],
      ["PUT", "/v1.0/state/memstore/k", "DELETE, GET"],
      ["POST", "/v1.0/metadata", "GET"],
    ]) {
      const r = await fetch(`${env.url}${p}`, { method, headers: { "dapr-api-token": TOKEN } });
      expect(r.status, `${method} ${p}`).toBe(405);
      expect(r.headers.get("allow")).toBe(allow);
      expect(((await r.json()) as { errorCode: string }).errorCode).toBe("ERR_DIRECT_INVOKE");
    }
  });

  it("metadata names the caller's app-id and lists components with capabilities", async () => {
    const body = (await (await get("/v1.0/metadata")).json()) as { id: string; components: { name: string; capabilities?: string[] }[]; extended: Record<string, unknown> };
    expect(body.id).toBe("demo");
    expect(body.components.map((c) => c.name).sort()).toEqual(["envsecretstore", "localsecretstore", "memstore", "secretstore", "statestore", "tablestore"]);
    expect(typeof body.extended.secretCacheHits).toBe("number");
    const reader = (await (await get("/v1.0/metadata", { "dapr-api-token": "reader-token" })).json()) as { id: string };
    expect(reader.id).toBe("reader-app");
  });
});

describe("secret hygiene", () => {
  it("no secret value or token appears in anything the host logged during this file's tests", () => {
    const output = env.output();
    expect(output).toContain("Host listening on");
    for (const value of knownSecretValues(env, fileSecrets)) expect(output.includes(value), `log contains a secret (${value.length} chars)`).toBe(false);
  });
});
