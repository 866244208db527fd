import { describe, expect, it } from "vitest";
import { parseSecretEvent, resolveEventVault } from "../../src/runtime/keyVaultEvents";

const data = { Id: "https://sample-kv.vault.azure.net/secrets/newsecret/ee059b2bb5bc48398a53b168c6cdcb10", VaultName: "sample-kv", ObjectType: "Secret", ObjectName: "newsecret", Version: "ee059b2bb5bc48398a53b168c6cdcb10", NBF: "1559081980", EXP: "1559082102" };

describe("parseSecretEvent", () => {
  it("reads the Event Grid schema (Azure's documented example)", () => {
    expect(
      parseSecretEvent({ id: "e1", topic: "/subscriptions/x/resourceGroups/rg/providers/Microsoft.KeyVault/vaults/sample-kv", subject: "newsecret", eventType: "Microsoft.KeyVault.SecretNewVersionCreated", eventTime: "2019-07-25T01:08:33.1036736Z", data, dataVersion: "1", metadataVersion: "1" }),
    ).toEqual({
      id: "e1",
      type: "SecretNewVersionCreated",
      vaultUrl: "https://sample-kv.vault.azure.net",
      vaultFromId: true,
      vaultName: "sample-kv",
      secretName: "newsecret",
      version: "ee059b2bb5bc48398a53b168c6cdcb10",
      expiresOn: 1559082102000,
      time: Date.parse("2019-07-25T01:08:33.1036736Z"),
    });
  });

  it("reads CloudEvents 1.0, numeric NBF/EXP and null EXP", () => {
    const parsed = parseSecretEvent({ specversion: "1.0", id: "c1", source: "/subscriptions/x", subject: "newsecret", type: "Microsoft.KeyVault.SecretNearExpiry", time: "2026-01-01T00:00:00Z", data: { ...data, EXP: 1559082102, NBF: null } });
    expect(parsed).toMatchObject({ type: "SecretNearExpiry", secretName: "newsecret", expiresOn: 1559082102000 });
    expect(parseSecretEvent({ id: "c2", type: "Microsoft.KeyVault.SecretExpired", data: { ...data, EXP: null } })?.expiresOn).toBeUndefined();
  });

  it("is lenient with camelCase and stray spaces, and takes the vault from VaultName when Id is missing", () => {
    const parsed = parseSecretEvent({ eventType: "Microsoft.KeyVault.SecretNewVersionCreated", data: { vaultName: "Other-KV", "ObjectName ": " s1 ", objectType: "Secret" } });
    expect(parsed).toMatchObject({ vaultUrl: "https://other-kv.vault.azure.net", vaultFromId: false, secretName: "s1", version: undefined });
  });

  it.each([
    ["a key event", { eventType: "Microsoft.KeyVault.KeyNewVersionCreated", data }],
    ["an access policy event", { eventType: "Microsoft.KeyVault.VaultAccessPolicyChanged", data }],
    ["a certificate object", { eventType: "Microsoft.KeyVault.SecretNewVersionCreated", data: { ...data, ObjectType: "Certificate" } }],
    ["no data", { eventType: "Microsoft.KeyVault.SecretNewVersionCreated" }],
    ["not an object", "text"],
    ["a validation event", { eventType: "Microsoft.EventGrid.SubscriptionValidationEvent", data: { validationCode: "x" } }],
  ])("ignores %s", (_name, event) => {
    expect(parseSecretEvent(event)).toBeUndefined();
  });
});

describe("resolveEventVault", () => {
  const configured = ["https://myvault.vault.azure.net", "https://127.0.0.1:8443"];

  it("matches an Id's origin case-insensitively and answers with the configured URL", () => {
    expect(resolveEventVault({ vaultUrl: "https://MyVault.vault.azure.net", vaultFromId: true, vaultName: "x" }, configured)).toBe("https://myvault.vault.azure.net");
    expect(resolveEventVault({ vaultUrl: "https://127.0.0.1:8443", vaultFromId: true, vaultName: "x" }, configured)).toBe("https://127.0.0.1:8443");
  });

  it("refuses another host, port or scheme, whatever VaultName says", () => {
    for (const url of ["https://myvault.vault.azure.net.evil.example", "https://127.0.0.1:8444", "http://127.0.0.1:8443", "https://evil.example"]) {
      expect(resolveEventVault({ vaultUrl: url, vaultFromId: true, vaultName: "myvault" }, configured)).toBeUndefined();
    }
  });

  it("without an Id, matches VaultName to a configured vault's first host label only", () => {
    expect(resolveEventVault({ vaultUrl: "https://myvault.vault.azure.net", vaultFromId: false, vaultName: "MYVAULT" }, configured)).toBe("https://myvault.vault.azure.net");
    expect(resolveEventVault({ vaultUrl: "https://127.vault.azure.net", vaultFromId: false, vaultName: "127" }, configured)).toBeUndefined();
    expect(resolveEventVault({ vaultUrl: "https://other.vault.azure.net", vaultFromId: false, vaultName: "other" }, configured)).toBeUndefined();
  });
});
