/**
 * @module test/azure/keyvaultTokenExpiry: the app's Key Vault client recovers from a token the service calls
 * expired while the credential still trusts it. The emulator answers like the real service (401,
 * `[TokenExpired]`, the plain challenge); tokens live an hour, so neither MSAL nor the SDK would refresh on
 * their own: only the forced refresh of the token-expiry policy brings a token the vault accepts.
 */
import type { PipelineRequest, PipelineResponse, SendRequest } from "@azure/core-rest-pipeline";
import { createHttpHeaders, createPipelineRequest } from "@azure/core-rest-pipeline";
import { startKeyVaultEmulator, type KeyVaultEmulator } from "@vaultstate/keyvault-emulator";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createAzureClients } from "../../src/azure/clients";
import { tokenExpiryPolicy } from "../../src/azure/keyvault";

interface LogEntry {
  operation: string;
  status: number;
}

let emulator: KeyVaultEmulator;

beforeAll(async () => {
  emulator = await startKeyVaultEmulator({ vaultHost: "vault.localhost",
    tokenLifetimeSeconds: 3600,
    seed: {
      vaults: { expiry: { secrets: { token: "still-served" } } },
      principals: [{ name: "app", type: "systemAssigned", roles: { expiry: "Key Vault Secrets User" } }],
    },
  });
  Object.assign(process.env, emulator.identityEnvironment());
});

afterAll(async () => {
  await emulator?.close();
});

async function requestLog(): Promise<LogEntry[]> {
  const res = await fetch(`${emulator.adminUrl}/requests`);
  return ((await res.json()) as { entries: LogEntry[] }).entries;
}

describe("Key Vault token expiry (the real service's plain challenge)", () => {
  it("gets a fresh token past the credential's cache and retries once", async () => {
    const client = createAzureClients(emulator.identityEnvironment()).secretClient(emulator.vaultUri("expiry"));
    expect((await client.getSecret("token")).value).toBe("still-served");
    await fetch(`${emulator.adminUrl}/requests`, { method: "DELETE" });

    await fetch(`${emulator.adminUrl}/clock`, { method: "POST", body: JSON.stringify({ advanceSeconds: 2 * 3600 }), headers: { "content-type": "application/json" } });
    try {
      expect((await client.getSecret("token")).value).toBe("still-served");
      const entries = await requestLog();
      expect(entries.filter((e) => e.operation === "getSecret").map((e) => e.status)).toEqual([401, 200]);
      expect(entries.filter((e) => e.operation === "getManagedIdentityToken").map((e) => e.status)).toEqual([200]);

      // The SDK keeps the fresh token: the next read needs no new round trip.
      await fetch(`${emulator.adminUrl}/requests`, { method: "DELETE" });
      expect((await client.getSecret("token")).value).toBe("still-served");
      expect((await requestLog()).map((e) => [e.operation, e.status])).toEqual([["getSecret", 200]]);
    } finally {
      await fetch(`${emulator.adminUrl}/clock`, { method: "POST", body: JSON.stringify({ reset: true }), headers: { "content-type": "application/json" } });
    }
  });
});

describe("tokenExpiryPolicy", () => {
  const PLAIN = 'Bearer authorization="https://login.microsoftonline.com/t", resource="https://vault.azure.net"';

  function respond(status: number, body: string, challenge?: string): SendRequest {
    return async (request: PipelineRequest): Promise<PipelineResponse> => ({
      request,
      status,
      headers: createHttpHeaders(challenge === undefined ? {} : { "WWW-Authenticate": challenge }),
      bodyAsText: body,
    });
  }

  it("refreshes once per request for [TokenExpired] and hands the SDK a claims challenge", async () => {
    const scopes: string[] = [];
    const policy = tokenExpiryPolicy(async (scope) => void scopes.push(scope));
    const request = createPipelineRequest({ url: "https://v.vault.azure.net/secrets/x" });
    const next = respond(401, '{"error":{"code":"Unauthorized","message":"[TokenExpired] Error validating token: \'S2S12086\'."}}', PLAIN);
    const first = await policy.sendRequest(request, next);
    expect(scopes).toEqual(["https://vault.azure.net/.default"]);
    const challenge = first.headers.get("www-authenticate") ?? "";
    const claims = /claims="([^"]+)"/.exec(challenge)?.[1] ?? "";
    expect(challenge).toMatch(/^Bearer error="insufficient_claims", claims="/);
    expect(JSON.parse(Buffer.from(claims, "base64").toString("utf8"))).toMatchObject({ access_token: { nbf: { essential: true } } });
    // The SDK's one retry of the same request: a second expiry is passed through untouched.
    expect((await policy.sendRequest(request, next)).headers.get("www-authenticate")).toBe(PLAIN);
    expect(scopes).toHaveLength(1);
  });

  it("leaves every other 401 alone", async () => {
    const policy = tokenExpiryPolicy(async () => {
      throw new Error("must not refresh");
    });
    const request = (): PipelineRequest => createPipelineRequest({ url: "https://v.vault.azure.net/secrets/x" });
    const missing = await policy.sendRequest(request(), respond(401, '{"error":{"message":"AKV10000: Request is missing a Bearer or PoP token."}}', PLAIN));
    expect(missing.headers.get("www-authenticate")).toBe(PLAIN);
    const audience = await policy.sendRequest(request(), respond(401, '{"error":{"message":"AKV10022: Invalid audience."}}', PLAIN));
    expect(audience.headers.get("www-authenticate")).toBe(PLAIN);
    expect((await policy.sendRequest(request(), respond(200, "{}"))).status).toBe(200);
  });
});
