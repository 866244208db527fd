import type { AccessToken, TokenCredential } from "@azure/core-auth";
import { describe, expect, it } from "vitest";
import { keyVaultOnlyCredential, skipsChallengeVerification } from "../../src/azure/keyvault";

describe("challenge-resource verification", () => {
  it("is skipped only for a loopback host (the local emulator), and never in Azure", () => {
    for (const url of ["https://127.0.0.1:8443", "https://localhost:1", "https://[::1]:9"]) {
      expect(skipsChallengeVerification(url, false)).toBe(true);
      expect(skipsChallengeVerification(url, true)).toBe(false);
    }
    for (const url of ["https://myvault.vault.azure.net", "https://evil.example", "https://127.0.0.1.evil.example", "https://localhost.evil.example", "https://10.0.0.4", "not a url"]) {
      expect(skipsChallengeVerification(url, false)).toBe(false);
    }
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
