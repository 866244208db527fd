import { describe, expect, it } from "vitest";
import { isKeyVaultReference, parseKeyVaultReference } from "../../src/runtime/keyVaultReferences";

describe("Key Vault references", () => {
  it.each([
    ["@Microsoft.KeyVault(SecretUri=https://myvault.vault.azure.net/secrets/mysecret/)", { vaultUrl: "https://myvault.vault.azure.net", secretName: "mysecret", version: undefined }],
    [
      "@Microsoft.KeyVault(SecretUri=https://myvault.vault.azure.net/secrets/mysecret/ec96f02080254f109c51a1f14cdb1931)",
      { vaultUrl: "https://myvault.vault.azure.net", secretName: "mysecret", version: "ec96f02080254f109c51a1f14cdb1931" },
    ],
    ["@Microsoft.KeyVault(SecretUri=https://127.0.0.1:8443/secrets/demo)", { vaultUrl: "https://127.0.0.1:8443", secretName: "demo", version: undefined }],
    ["@Microsoft.KeyVault(VaultName=MyVault;SecretName=mysecret)", { vaultUrl: "https://myvault.vault.azure.net", secretName: "mysecret", version: undefined }],
    ["@Microsoft.KeyVault(vaultname=myvault; secretname=s; secretversion=abc)", { vaultUrl: "https://myvault.vault.azure.net", secretName: "s", version: "abc" }],
  ])("parses %s", (value, expected) => {
    expect(isKeyVaultReference(value)).toBe(true);
    expect(parseKeyVaultReference(value)).toEqual(expected);
  });

  it.each([
    ["@Microsoft.KeyVault(SecretUri=http://myvault.vault.azure.net/secrets/s)", /https/],
    ["@Microsoft.KeyVault(SecretUri=https://myvault.vault.azure.net/keys/s)", /secrets/],
    ["@Microsoft.KeyVault(SecretUri=not a url)", /not a URL/],
    ["@Microsoft.KeyVault(VaultName=v)", /VaultName and SecretName/],
    ["@Microsoft.KeyVault(garbage)", /Name=Value/],
  ])("rejects %s", (value, message) => {
    expect(() => parseKeyVaultReference(value)).toThrow(message);
  });

  it("plain values are not references", () => {
    expect(isKeyVaultReference("dev-token")).toBe(false);
    expect(isKeyVaultReference("@Microsoft.KeyVaultish")).toBe(false);
  });
});
