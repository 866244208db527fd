import { describe, expect, it } from "vitest";
import { isMetadataError } from "../../../../src/components/metadata";
import { isSecretNotFoundError, isSecretStoreUnavailableError } from "../../../../src/components/secretstores/secretStore";
import {
  parseKeyVaultMetadata,
  parseMaxResults,
  translateKeyVaultError,
} from "../../../../src/components/secretstores/azure/keyvault/keyVaultSecretStore";

describe("parseKeyVaultMetadata", () => {
  it("builds the public-cloud URL from vaultName", () => {
    expect(parseKeyVaultMetadata({ vaultName: "MyVault" })).toEqual({
      vaultUrl: "https://myvault.vault.azure.net",
      clientId: undefined,
      tenantId: undefined,
      clientSecret: undefined,
    });
  });
  it.each([
    ["AzureChinaCloud", "https://kv1.vault.azure.cn"],
    ["azurechina", "https://kv1.vault.azure.cn"],
    ["AzureUSGovernment", "https://kv1.vault.usgovcloudapi.net"],
    ["AZUREPUBLIC", "https://kv1.vault.azure.net"],
  ])("azureEnvironment %s", (env, url) => {
    expect(parseKeyVaultMetadata({ vaultName: "kv1", azureEnvironment: env }).vaultUrl).toBe(url);
    expect(parseKeyVaultMetadata({ vaultName: "kv1", azureCloud: env }).vaultUrl).toBe(url);
  });
  it("accepts the legacy FQDN form, which also picks the cloud", () => {
    expect(parseKeyVaultMetadata({ vaultName: "legacy.vault.azure.cn" }).vaultUrl).toBe("https://legacy.vault.azure.cn");
  });
  it("reads identity fields through Dapr's aliases", () => {
    const m = parseKeyVaultMetadata({ vaultName: "vv1", spnClientId: "c", tenantId: "t", azureClientSecret: "s" });
    expect([m.clientId, m.tenantId, m.clientSecret]).toEqual(["c", "t", "s"]);
  });
  it("vaultUri overrides vaultName; metadata has no say over challenge verification", () => {
    expect(parseKeyVaultMetadata({ vaultUri: "https://127.0.0.1:8443/" })).toEqual({ vaultUrl: "https://127.0.0.1:8443", clientId: undefined, tenantId: undefined, clientSecret: undefined });
    expect(parseKeyVaultMetadata({ vaultUri: "https://evil.example", disableChallengeResourceVerification: "true" })).not.toHaveProperty("disableChallengeResourceVerification");
  });
  it.each([
    [{}, "vaultName"],
    [{ vaultName: "v1", azureEnvironment: "AzureGermanCloud" }, "azureEnvironment"],
    [{ vaultName: "not_valid!" }, "vaultName"],
    [{ vaultName: "x.example.com" }, "vaultName"],
    [{ vaultUri: "http://127.0.0.1:1" }, "vaultUri"],
    [{ vaultUri: "::" }, "vaultUri"],
  ])("rejects %j naming %s", (props, field) => {
    let caught: unknown;
    try {
      parseKeyVaultMetadata(props);
    } catch (e) {
      caught = e;
    }
    expect(isMetadataError(caught) && caught.field).toBe(field);
  });
});

describe("per-request metadata and error translation", () => {
  it("parses maxresults", () => {
    expect(parseMaxResults({})).toBeUndefined();
    expect(parseMaxResults({ maxresults: "5" })).toBe(5);
    expect(() => parseMaxResults({ maxresults: "0" })).toThrow(/maxresults/);
  });
  const restError = (statusCode: number, headers: Record<string, string> = {}, code?: string) =>
    Object.assign(new Error(`Service said ${statusCode}`), { name: "RestError", statusCode, code, response: { headers: { get: (n: string) => headers[n] } } });
  it("maps 404 to not found, 429/5xx/network to transient, others to a plain error", () => {
    expect(isSecretNotFoundError(translateKeyVaultError(restError(404), "s"))).toBe(true);
    const throttled = translateKeyVaultError(restError(429, { "retry-after": "2" }), "s");
    expect(isSecretStoreUnavailableError(throttled) && [throttled.failure, throttled.retryAfterInMs]).toEqual(["throttled", 2000]);
    const unavailable = translateKeyVaultError(restError(503), "s");
    expect(isSecretStoreUnavailableError(unavailable) && unavailable.failure).toBe("unavailable");
    const reset = translateKeyVaultError(Object.assign(new Error("socket hang up"), { code: "ECONNRESET" }), "s");
    expect(isSecretStoreUnavailableError(reset) && reset.message).toBe("Key Vault is unreachable: ECONNRESET");
    const forbidden = translateKeyVaultError(restError(403, {}, "Forbidden"), "s");
    expect(isSecretStoreUnavailableError(forbidden)).toBe(false);
    expect(forbidden.message).toBe("Key Vault answered 403 Forbidden: Service said 403");
  });
});
