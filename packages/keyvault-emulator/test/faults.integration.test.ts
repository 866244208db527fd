/**
 * @module keyvault-emulator/test/faults.integration: fault injection through the admin API and how the
 * real SDK's retry policies react (429 with/without Retry-After, 503, 500, connection reset, latency).
 */
import { ManagedIdentityCredential } from "@azure/identity";
import { SecretClient } from "@azure/keyvault-secrets";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { type KeyVaultEmulator, startKeyVaultEmulator } from "../src/server";
import { admin, catchError, requestLog, restErrorDetails } from "./helpers";

const VAULT = "fault-vault";

describe("Key Vault emulator fault injection with the real SDK", () => {
  let kv: KeyVaultEmulator;
  let client: SecretClient;

  beforeAll(async () => {
    kv = await startKeyVaultEmulator({ vaults: [VAULT], seed: { vaults: { [VAULT]: { secrets: { target: "value", other: "x" } } } } });
    process.env.IDENTITY_ENDPOINT = kv.identityEndpoint;
    process.env.IDENTITY_HEADER = kv.identityHeader;
    // Short exponential back-off keeps the 5xx/reset tests fast; Retry-After is still honoured as sent.
    client = new SecretClient(kv.vaultUri(VAULT), new ManagedIdentityCredential(), {
      disableChallengeResourceVerification: true,
      retryOptions: { retryDelayInMs: 20, maxRetryDelayInMs: 100 },
    });
    await client.getSecret("target"); // complete the challenge handshake before counting requests
  });

  beforeEach(async () => {
    await admin(kv.adminUrl, "DELETE", "/faults");
    await admin(kv.adminUrl, "DELETE", "/requests");
  });

  afterAll(async () => {
    await kv?.close();
  });

  it("429 with Retry-After: the SDK waits as told and succeeds on the retry", async () => {
    const created = await admin(kv.adminUrl, "POST", "/faults", { operation: "getSecret", status: 429, retryAfterSeconds: 1, count: 1 });
    expect(created.status).toBe(201);
    const started = Date.now();
    expect((await client.getSecret("target")).value).toBe("value");
    expect(Date.now() - started).toBeGreaterThanOrEqual(950);
    const log = await requestLog(kv.adminUrl, "getSecret");
    expect(log.entries.map((e) => [e.status, e.fault])).toEqual([
      [429, "status"],
      [200, undefined],
    ]);
    expect(log.counts.byOperationAndStatus.getSecret).toEqual({ "200": 1, "429": 1 });
  });

  it("429 without Retry-After (like the real service): the SDK does not retry and surfaces Throttled", async () => {
    await admin(kv.adminUrl, "POST", "/faults", { operation: "getSecret", status: 429, count: 1 });
    const e = await catchError(() => client.getSecret("target"));
    expect(e.statusCode).toBe(429);
    expect(e.code).toBe("Throttled");
    expect(restErrorDetails(e)).toMatchObject({
      error: { code: "Throttled", message: "Request was not processed because too many requests were received. Reason: VaultRequestTypeLimitReached" },
    });
    expect((await requestLog(kv.adminUrl, "getSecret")).counts.byOperation.getSecret).toBe(1);
  });

  it("503 for the next two requests: the SDK retries with back-off and succeeds", async () => {
    await admin(kv.adminUrl, "POST", "/faults", { operation: "getSecret", status: 503, count: 2 });
    expect((await client.getSecret("target")).value).toBe("value");
    expect((await requestLog(kv.adminUrl, "getSecret")).entries.map((e) => e.status)).toEqual([503, 503, 200]);
  });

  it("500 until cleared: the SDK gives up after its 3 retries", async () => {
    await admin(kv.adminUrl, "POST", "/faults", { operation: "getSecret", status: 500 });
    const e = await catchError(() => client.getSecret("target"));
    expect(e.statusCode).toBe(500);
    expect((await requestLog(kv.adminUrl, "getSecret")).counts.byOperationAndStatus.getSecret).toEqual({ "500": 4 });
    const rules = (await admin(kv.adminUrl, "GET", "/faults")).json as { faults: Array<{ hits: number }> };
    expect(rules.faults[0]?.hits).toBe(4);
  });

  it("a connection reset is retried by the SDK", async () => {
    await admin(kv.adminUrl, "POST", "/faults", { operation: "getSecret", reset: true, count: 1 });
    expect((await client.getSecret("target")).value).toBe("value");
    expect((await requestLog(kv.adminUrl, "getSecret")).entries.map((e) => [e.status, e.fault])).toEqual([
      [0, "reset"],
      [200, undefined],
    ]);
  });

  it("faults target one operation only, and latency delays without failing", async () => {
    await admin(kv.adminUrl, "POST", "/faults", { operation: "setSecret", status: 503 });
    await admin(kv.adminUrl, "POST", "/faults", { operation: "listSecrets", latencyMs: 300, count: 1 });
    expect((await client.getSecret("other")).value).toBe("x");
    const started = Date.now();
    const names: string[] = [];
    for await (const p of client.listPropertiesOfSecrets()) names.push(p.name);
    expect(Date.now() - started).toBeGreaterThanOrEqual(290);
    expect(names.sort()).toEqual(["other", "target"]);
    expect((await catchError(() => client.setSecret("new", "v"))).statusCode).toBe(503);
    const log = await requestLog(kv.adminUrl);
    expect(log.counts.byOperation).toEqual({ getSecret: 1, listSecrets: 1, setSecret: 4 });
  });

  it("fails the managed identity endpoint on request (the credential retries it), and the log keeps counts until reset", async () => {
    await admin(kv.adminUrl, "POST", "/faults", { operation: "getManagedIdentityToken", status: 500, count: 1 });
    // A user-assigned identity nobody has used, so MSAL must call the endpoint.
    const principal = (await admin(kv.adminUrl, "POST", "/principals", { name: "late", roles: { [VAULT]: "Key Vault Secrets User" } })).json as {
      clientId: string;
    };
    const fresh = new SecretClient(kv.vaultUri(VAULT), new ManagedIdentityCredential({ clientId: principal.clientId }), {
      disableChallengeResourceVerification: true,
    });
    expect((await fresh.getSecret("target")).value).toBe("value");
    const log = await requestLog(kv.adminUrl, "getManagedIdentityToken");
    expect(log.entries.map((e) => [e.status, e.fault])).toEqual([
      [500, "status"],
      [200, undefined],
    ]);
    expect(log.counts.byOperationAndStatus.getSecret).toEqual({ "200": 1, "401": 1 });
    await admin(kv.adminUrl, "DELETE", "/requests");
    expect((await requestLog(kv.adminUrl)).counts.total).toBe(0); // admin calls are not logged
  });
});
