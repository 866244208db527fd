import { describe, expect, it } from "vitest";
import { rotateSecret, type RotationPort } from "../../src/api/rotationApi";
import type { Caller } from "../../src/api/auth";
import { createKeyVaultSecretStore } from "../../src/components/secretstores/azure/keyvault/keyVaultSecretStore";
import { createEnvSecretStore } from "../../src/components/secretstores/local/env/envSecretStore";
import type { RotationTarget, SecretStore } from "../../src/components/secretstores/secretStore";
import type { Runtime } from "../../src/runtime/runtime";
import type { CachedSecretStore } from "../../src/runtime/secretCache";

const admin: Caller = { appId: "ops", role: "admin", via: "token" };

/** Only `secretStores(...).get(name).inner` is read by the route. */
function runtimeWith(name: string, inner: SecretStore): Runtime {
  const stores = new Map([[name, { inner } as CachedSecretStore]]);
  return { secretStores: () => stores } as unknown as Runtime;
}

describe("rotateSecret", () => {
  it("hands a rotatable store's target to the rotation port", async () => {
    const kv = createKeyVaultSecretStore({ getClient: () => ({}) as never });
    await kv.init({ vaultName: "rotatable1" });
    const seen: RotationTarget[] = [];
    const port: RotationPort = {
      rotate: async (target) => {
        seen.push(target);
        return { outcome: "rotated", newVersion: "v2" };
      },
    };
    const response = await rotateSecret(port, runtimeWith("kv", kv), admin, "kv", "db-password");
    expect(response.status).toBe(200);
    expect(seen).toEqual([{ vaultUrl: "https://rotatable1.vault.azure.net", secretName: "db-password" }]);
  });

  it("refuses a store without the rotation ability with 400 ERR_ROTATION_NOT_SUPPORTED and calls nothing", async () => {
    let calls = 0;
    const port: RotationPort = {
      rotate: async () => {
        calls++;
        return { outcome: "rotated" };
      },
    };
    await expect(rotateSecret(port, runtimeWith("env", createEnvSecretStore({ env: {} })), admin, "env", "x")).rejects.toMatchObject({ code: "ERR_ROTATION_NOT_SUPPORTED", status: 400 });
    expect(calls).toBe(0);
  });
});
