/**
 * @module keyvault-emulator/test/admin.integration: the admin API (vaults, seeding, clock, events,
 * webhooks, token lifetime, persistence).
 */
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import * as path from "node:path";
import { ManagedIdentityCredential } from "@azure/identity";
import { SecretClient } from "@azure/keyvault-secrets";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type KeyVaultEmulator, startKeyVaultEmulator } from "../src/server";
import { type EventReceiver, startEventReceiver } from "./eventReceiver";
import { admin } from "./helpers";

describe("Key Vault emulator admin API", () => {
  let kv: KeyVaultEmulator;
  // Deliveries go to a receiver of ours, never to a fixed port someone else may be serving.
  let rx: EventReceiver;
  let hookUrl: string;
  let work: string;
  let stateFile: string;
  let persistFile: string;

  beforeAll(async () => {
    work = mkdtempSync(path.join(tmpdir(), "kv-emulator-admin-"));
    stateFile = path.join(work, "state.json");
    persistFile = path.join(work, "persist.json");
    rx = await startEventReceiver();
    hookUrl = `${rx.url}/runtime/webhooks/eventgrid?functionName=onKeyVaultEvent`;
    kv = await startKeyVaultEmulator({
      vaults: ["first-vault"],
      stateFile,
      persistenceFile: persistFile,
      eventWebhooks: [{ url: hookUrl }],
    });
    process.env.IDENTITY_ENDPOINT = kv.identityEndpoint;
    process.env.IDENTITY_HEADER = kv.identityHeader;
  });

  afterAll(async () => {
    await kv?.close();
    await rx?.close();
    rmSync(work, { recursive: true, force: true });
  });

  it("reports its configuration like the state file", async () => {
    const config = (await admin(kv.adminUrl, "GET", "/config")).json as Record<string, unknown>;
    const state = JSON.parse(readFileSync(stateFile, "utf8")) as Record<string, unknown>;
    expect(config).toEqual(state);
    expect(config).toMatchObject({
      vaults: { "first-vault": kv.vaultUri("first-vault") },
      identityEndpoint: kv.identityEndpoint,
      identityHeader: kv.identityHeader,
      adminUrl: kv.adminUrl,
      tenantId: kv.tenantId,
      challengeResource: "https://vault.azure.net",
      eventWebhooks: [{ url: hookUrl }],
    });
    expect(kv.adminUrl).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    expect(kv.identityEndpoint).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/msi\/token$/);
  });

  it("creates vaults, seeds secrets without auth and serves them to the SDK", async () => {
    const created = await admin(kv.adminUrl, "POST", "/vaults", { name: "second-vault", softDelete: { retentionDays: 7 } });
    expect(created.status).toBe(201);
    const uri = (created.json as { uri: string }).uri;
    expect(uri).toMatch(/^https:\/\/127\.0\.0\.1:\d+$/);
    expect((JSON.parse(readFileSync(stateFile, "utf8")) as { vaults: Record<string, string> }).vaults["second-vault"]).toBe(uri);

    const seeded = await admin(kv.adminUrl, "POST", "/seed", {
      vaults: { "second-vault": { secrets: { "from-seed": { value: "seeded", exp: "now+10d" } } }, "third-vault": { secrets: { x: "y" } } },
    });
    expect(Object.keys((seeded.json as { vaults: Record<string, string> }).vaults).sort()).toEqual(["first-vault", "second-vault", "third-vault"]);
    const put = await admin(kv.adminUrl, "PUT", "/vaults/second-vault/secrets/direct", { value: "written-directly", tags: { via: "admin" } });
    expect(put.status).toBe(201);
    expect(put.json).not.toHaveProperty("value");

    const client = new SecretClient(uri, new ManagedIdentityCredential(), { disableChallengeResourceVerification: true });
    expect((await client.getSecret("direct")).value).toBe("written-directly");
    const secret = await client.getSecret("from-seed");
    expect(secret.properties.recoveryLevel).toBe("CustomizedRecoverable+Purgeable");
    expect(secret.properties.recoverableDays).toBe(7);

    const read = await admin(kv.adminUrl, "GET", "/vaults/second-vault/secrets/direct");
    expect(read.json).toMatchObject({ name: "direct", value: "written-directly", tags: { via: "admin" }, expired: false });
    expect((await admin(kv.adminUrl, "GET", "/vaults/nope/secrets")).status).toBe(404);
  });

  it("shifts the clock, which drives dates and expiry flags", async () => {
    const before = (await admin(kv.adminUrl, "GET", "/clock")).json as { nowSeconds: number };
    const after = (await admin(kv.adminUrl, "POST", "/clock", { advanceSeconds: 11 * 86_400 })).json as { nowSeconds: number; shiftSeconds: number };
    try {
      expect(after.shiftSeconds).toBe(11 * 86_400);
      expect(after.nowSeconds - before.nowSeconds).toBeGreaterThanOrEqual(11 * 86_400);
      const listed = (await admin(kv.adminUrl, "GET", "/vaults/second-vault/secrets")).json as { secrets: Array<{ name: string; expired: boolean }> };
      expect(listed.secrets.find((s) => s.name === "from-seed")?.expired).toBe(true);
      const put = (await admin(kv.adminUrl, "PUT", "/vaults/second-vault/secrets/later", { value: "v" })).json as { created: number };
      expect(put.created).toBeGreaterThanOrEqual(before.nowSeconds + 11 * 86_400);
    } finally {
      await admin(kv.adminUrl, "POST", "/clock", { reset: true });
    }
  });

  it("records change events without values, and keeps webhook and token-lifetime settings", async () => {
    await admin(kv.adminUrl, "DELETE", "/events");
    await admin(kv.adminUrl, "PUT", "/vaults/first-vault/secrets/evt", { value: "hidden-value" });
    await admin(kv.adminUrl, "DELETE", "/vaults/first-vault/secrets/evt?purge=true");
    const events = (await admin(kv.adminUrl, "GET", "/events")).json as { events: Array<{ type: string; secretName: string; vaultName: string }> };
    expect(events.events.map((e) => `${e.type}:${e.vaultName}/${e.secretName}`)).toEqual([
      "SecretNewVersionCreated:first-vault/evt",
      "SecretDeleted:first-vault/evt",
      "SecretPurged:first-vault/evt",
    ]);
    expect(JSON.stringify(events)).not.toContain("hidden-value");

    const hooks = await admin(kv.adminUrl, "PUT", "/webhooks", [{ url: `${rx.url}/x`, schema: "CloudEventSchemaV1_0", eventTypes: ["Microsoft.KeyVault.SecretNearExpiry"] }]);
    expect(hooks.status).toBe(200);
    expect(kv.eventWebhooks).toEqual([{ url: `${rx.url}/x`, schema: "CloudEventSchemaV1_0", eventTypes: ["Microsoft.KeyVault.SecretNearExpiry"] }]);
    expect((await admin(kv.adminUrl, "PUT", "/webhooks", [{ url: "not a url" }])).status).toBe(400);

    expect((await admin(kv.adminUrl, "PUT", "/token-lifetime", { seconds: 900 })).json).toEqual({ seconds: 900 });
    const token = await admin(kv.adminUrl, "POST", "/tokens", { principal: "system", version: "1.0" });
    const claims = (token.json as { claims: { exp: number; iat: number; iss: string } }).claims;
    expect(claims.exp - claims.iat).toBe(900);
    expect(claims.iss).toBe(`https://sts.windows.net/${kv.tenantId}/`);
  });

  it("validates fault rules and principals", async () => {
    expect((await admin(kv.adminUrl, "POST", "/faults", { operation: "nope", status: 500 })).status).toBe(400);
    expect((await admin(kv.adminUrl, "POST", "/principals", { name: "x", type: "robot" })).status).toBe(400);
    expect((await admin(kv.adminUrl, "PUT", "/principals/system/roles", { vault: "*", role: "Owner" })).status).toBe(400);
    expect((await admin(kv.adminUrl, "GET", "/no-such-route")).status).toBe(404);
  });

  it("persists every vault's secrets to the persistence file", async () => {
    await admin(kv.adminUrl, "PUT", "/vaults/third-vault/secrets/persisted", { value: "on-disk" });
    // Writes are coalesced and asynchronous: wait until the change lands.
    type Persisted = { format: string; vaults: Record<string, { secrets: Array<{ name: string }> }> };
    let file: Persisted | undefined;
    for (let i = 0; i < 100 && !file?.vaults["third-vault"]?.secrets.some((s) => s.name === "persisted"); i++) {
      await new Promise((r) => setTimeout(r, 20));
      file = JSON.parse(readFileSync(persistFile, "utf8")) as Persisted;
    }
    expect(file?.format).toBe("vaultstate-kv-emulator/1");
    expect(file?.vaults["third-vault"]?.secrets.map((s) => s.name).sort()).toEqual(["persisted", "x"]);
  });
});
