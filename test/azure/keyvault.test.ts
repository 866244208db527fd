import { readFile } from "node:fs/promises";
import { createServer, type Server } from "node:https";
import type { AddressInfo } from "node:net";
import type { AccessToken, TokenCredential } from "@azure/core-auth";
import { ensureDevCertificates } from "@vaultstate/keyvault-emulator";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createSecretClientSource, keyVaultOnlyCredential, keyVaultScopes, LOCAL_KEY_VAULT_SCOPE } from "../../src/azure/keyvault";

describe("challenge-resource verification is never off", () => {
  // A hostile "vault" on loopback, HTTPS with a certificate the client trusts (the dev CA), answering every
  // request with a challenge for some resource, and recording whether a token was ever sent to it.
  let server: Server;
  let port: number;
  let resource = "";
  const seen: { host: string; authorization: string | undefined }[] = [];
  beforeAll(async () => {
    const certs = await ensureDevCertificates();
    server = createServer({ cert: await readFile(certs.certPath), key: await readFile(certs.keyPath) }, (req, res) => {
      seen.push({ host: req.headers.host ?? "", authorization: req.headers.authorization });
      req.resume();
      res.writeHead(401, { "WWW-Authenticate": `Bearer authorization="https://login.microsoftonline.com/tenant", resource="${resource}"`, "Content-Type": "application/json" });
      res.end(JSON.stringify({ error: { code: "Unauthorized", message: "no" } }));
    });
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    port = (server.address() as AddressInfo).port;
  });
  afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));

  const asked: string[][] = [];
  const credential: TokenCredential = {
    getToken: async (scopes: string | string[]): Promise<AccessToken> => {
      asked.push(Array.isArray(scopes) ? scopes : [scopes]);
      return { token: "t0ken-for-the-hostile-host", expiresOnTimestamp: Date.now() + 3_600_000 };
    },
  };

  it.each([
    ["a foreign resource", "https://127.0.0.1", "https://management.azure.com"],
    ["the production Key Vault resource, from a loopback IP (the old emulator exemption)", "https://127.0.0.1", "https://vault.azure.net"],
    ["the emulator's resource, from a loopback IP", "https://127.0.0.1", "https://vault.localhost"],
    ["the production Key Vault resource, from a *.vault.localhost name", "https://evil.vault.localhost", "https://vault.azure.net"],
    ["a foreign resource, from a *.vault.localhost name", "https://evil.vault.localhost", "https://management.azure.com"],
  ])("a vault host whose challenge names %s gets no token, in and outside Azure", async (_what, origin, challengeResource) => {
    for (const inAzure of [false, true]) {
      resource = challengeResource;
      seen.length = 0;
      asked.length = 0;
      const client = createSecretClientSource(() => credential, { inAzure })(`${origin}:${port}`);
      await expect(client.getSecret("anything")).rejects.toThrow();
      expect(seen.length, "the listener was reached").toBeGreaterThan(0);
      expect(seen.every((r) => r.authorization === undefined)).toBe(true);
      expect(asked).toEqual([]);
    }
  });

  it("control: a *.vault.localhost host naming the emulator's resource gets a token outside Azure only", async () => {
    resource = "https://vault.localhost";
    for (const inAzure of [false, true]) {
      seen.length = 0;
      asked.length = 0;
      await expect(createSecretClientSource(() => credential, { inAzure })(`https://evil.vault.localhost:${port}`).getSecret("anything")).rejects.toThrow();
      expect(asked).toEqual(inAzure ? [] : [[LOCAL_KEY_VAULT_SCOPE]]);
      expect(seen.some((r) => r.authorization !== undefined)).toBe(!inAzure);
    }
  });

  it("the emulator's audience is a Key Vault scope outside Azure only", () => {
    expect(keyVaultScopes({ inAzure: false }).has(LOCAL_KEY_VAULT_SCOPE)).toBe(true);
    expect(keyVaultScopes({ inAzure: true }).has(LOCAL_KEY_VAULT_SCOPE)).toBe(false);
    expect(keyVaultScopes().has(LOCAL_KEY_VAULT_SCOPE)).toBe(false);
  });
});

describe("keyVaultOnlyCredential", () => {
  const asked: string[][] = [];
  const inner: TokenCredential = {
    getToken: async (scopes: string | string[]): Promise<AccessToken> => {
      asked.push(Array.isArray(scopes) ? scopes : [scopes]);
      return { token: "t0ken-value", expiresOnTimestamp: Date.now() + 3_600_000 };
    },
  };

  it("issues Key Vault tokens of every known cloud and refuses any other audience without asking the identity", async () => {
    const credential = keyVaultOnlyCredential(inner, 1000);
    for (const scope of ["https://vault.azure.net/.default", "https://vault.azure.cn/.default", "https://vault.usgovcloudapi.net/.default"]) {
      expect((await credential.getToken(scope))?.token).toBe("t0ken-value");
    }
    asked.length = 0;
    for (const scope of ["https://management.azure.com/.default", "https://storage.azure.com/.default", "https://vault.azure.net.evil.example/.default"]) {
      await expect(credential.getToken(scope)).rejects.toThrow("Key Vault clients only get tokens for Key Vault");
    }
    await expect(credential.getToken(["https://vault.azure.net/.default", "https://management.azure.com/.default"])).rejects.toThrow();
    expect(asked).toEqual([]);
  });

  it("gives up on a stalled identity endpoint at the token deadline", async () => {
    const stalled: TokenCredential = { getToken: () => new Promise<AccessToken | null>(() => undefined) };
    // Without the deadline this would never settle (and the test would time out).
    await expect(keyVaultOnlyCredential(stalled, 50).getToken("https://vault.azure.net/.default")).rejects.toMatchObject({ name: "AbortError" });
  });
});
