import { describe, expect, it } from "vitest";
import { createKeyVaultSecretStore } from "../../../src/components/secretstores/azure/keyvault/keyVaultSecretStore";
import { createEnvSecretStore } from "../../../src/components/secretstores/local/env/envSecretStore";
import {
  isNameListingSecretStore,
  isRotatableSecretStore,
  isVaultSecretStore,
  isVersionedSecretStore,
  type SecretStore,
} from "../../../src/components/secretstores/secretStore";

describe("optional secret-store abilities", () => {
  it("the Key Vault store has every ability, and names its vault and rotation target once initialised", async () => {
    const store: SecretStore = createKeyVaultSecretStore({ getClient: () => ({}) as never });
    await store.init({ vaultName: "Abilities1" });
    expect([isNameListingSecretStore(store), isVersionedSecretStore(store), isVaultSecretStore(store), isRotatableSecretStore(store)]).toEqual([true, true, true, true]);
    if (!isRotatableSecretStore(store)) throw new Error("unreachable");
    expect(store.vaultUrl()).toBe("https://abilities1.vault.azure.net");
    expect(store.rotationTarget("db-password")).toEqual({ vaultUrl: "https://abilities1.vault.azure.net", secretName: "db-password" });
  });

  it("a local store has none of them, so events, coherence and rotation pass it by", () => {
    const store: SecretStore = createEnvSecretStore({ env: {} });
    expect([isNameListingSecretStore(store), isVersionedSecretStore(store), isVaultSecretStore(store), isRotatableSecretStore(store)]).toEqual([false, false, false, false]);
  });
});
