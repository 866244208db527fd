/**
 * Key Vault names are case-insensitive: a read of `DEMO-SECRET` and an event or refresh for
 * `demo-secret` are about one secret (issue 10.6). The manager runs over the real Key Vault provider
 * and cache, with an in-memory stand-in for the SDK client (unit test: no vault).
 */
import type { SecretClient } from "@azure/keyvault-secrets";
import { describe, expect, it } from "vitest";
import { createAzureClients } from "../../src/azure/clients";
import type { Logger } from "../../src/observability/logger";
import { parseResourceDocuments } from "../../src/runtime/componentFiles";
import { createRuntimeManager } from "../../src/runtime/manager";
import { buildRuntime } from "../../src/runtime/runtime";

const VAULT = "https://casevault.vault.azure.net";
const logger: Logger = { info: () => undefined, warn: () => undefined, error: () => undefined };

/** One secret, stored as Key Vault keeps it (its own spelling, lower case here), looked up in any case. */
function fakeVault() {
  const secret = { name: "demo-secret", value: "old", version: "v1", updatedOn: new Date(1_000) };
  let reads = 0;
  const client = {
    async getSecret(name: string) {
      reads++;
      if (name.toLowerCase() !== secret.name) throw Object.assign(new Error("SecretNotFound"), { name: "RestError", statusCode: 404 });
      return { name: secret.name, value: secret.value, properties: { name: secret.name, version: secret.version, updatedOn: secret.updatedOn, vaultUrl: VAULT } };
    },
    async *listPropertiesOfSecrets() {
      yield { name: secret.name, version: secret.version, updatedOn: secret.updatedOn, enabled: true, vaultUrl: VAULT };
    },
  } as unknown as SecretClient;
  return {
    client,
    reads: () => reads,
    update(value: string, version: string, updatedOn: number) {
      Object.assign(secret, { value, version, updatedOn: new Date(updatedOn) });
    },
  };
}

describe("case-insensitive Key Vault names", () => {
  it("an event for demo-secret drops a cached DEMO-SECRET, and the timer does not flag it changed on every run", async () => {
    const vault = fakeVault();
    const yaml = "apiVersion: dapr.io/v1alpha1\nkind: Component\nmetadata: {name: kv}\nspec: {type: secretstores.azure.keyvault, version: v1, metadata: [{name: vaultName, value: casevault}]}\n";
    const azure = { ...createAzureClients({}), secretClient: () => vault.client };
    const manager = createRuntimeManager({
      logger,
      tokenGraceInMs: 0,
      coherenceIntervalInMs: 60_000,
      build: () => buildRuntime({ appId: "demo", resources: parseResourceDocuments("c.yaml", yaml), apiTokens: ["t0ken-value"], providerContext: { azure, appRoot: "/", environment: {} }, logger }),
    });
    const store = (await manager.start()).secretStores("demo").get("kv");
    if (store === undefined) throw new Error("no kv store");

    expect((await store.getSecret({ name: "DEMO-SECRET", metadata: {} })).data).toEqual({ "DEMO-SECRET": "old" });
    // One cache entry for both spellings, each answered under the name it asked for.
    expect((await store.getSecret({ name: "demo-secret", metadata: {} })).data).toEqual({ "demo-secret": "old" });
    expect(vault.reads()).toBe(1);

    vault.update("new", "v2", 2_000);
    const summary = await manager.secretChanged(VAULT, "demo-secret", { publish: false });
    expect(summary?.changed).toEqual(["demo-secret"]);
    expect((await store.getSecret({ name: "DEMO-SECRET", metadata: {} })).data).toEqual({ "DEMO-SECRET": "new" });

    for (let run = 0; run < 3; run++) {
      const refresh = await manager.refresh("timer");
      expect(refresh).toMatchObject({ checked: 1, changed: [], errors: [] });
    }
    await manager.close();
  });
});
