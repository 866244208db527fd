/**
 * @module keyvault-emulator/test/secrets.integration: every secrets operation through the real
 * `SecretClient` + real `ManagedIdentityCredential`, over HTTPS, against the emulator started in-process.
 *
 * CA trust comes from NODE_EXTRA_CA_CERTS set by the vitest global setup; nothing else is configured on
 * the clients except `disableChallengeResourceVerification` (the vault host is 127.0.0.1, not *.vault.azure.net).
 */
import { ManagedIdentityCredential } from "@azure/identity";
import { SecretClient } from "@azure/keyvault-secrets";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type KeyVaultEmulator, startKeyVaultEmulator } from "../src/server";
import { catchError, rawRequest, requestLog, restErrorDetails } from "./helpers";

const VAULT = "itest-vault";
const SLOW_VAULT = "slow-delete";

describe("Key Vault emulator with the real SDK: secrets operations", () => {
  let kv: KeyVaultEmulator;
  let client: SecretClient;

  beforeAll(async () => {
    kv = await startKeyVaultEmulator({
      vaults: [VAULT, { name: SLOW_VAULT, softDelete: { deletionLatencyMs: 300 } }],
      seed: { vaults: { [VAULT]: { secrets: { seeded: { value: "from-seed", contentType: "text/plain", tags: { origin: "seed" } } } } } },
    });
    process.env.IDENTITY_ENDPOINT = kv.identityEndpoint;
    process.env.IDENTITY_HEADER = kv.identityHeader;
    client = new SecretClient(kv.vaultUri(VAULT), new ManagedIdentityCredential(), { disableChallengeResourceVerification: true });
  });

  afterAll(async () => {
    await kv?.close();
  });

  /** A request with a token for the system identity, to see exactly what goes over the wire. */
  function rawVault(method: string, path: string, body?: unknown) {
    const token = kv.mintToken({ principalRef: "system", version: "1.0" }).token;
    return rawRequest(`${kv.vaultUri(VAULT)}${path}${path.includes("?") ? "&" : "?"}api-version=2026-04-01`, {
      method,
      headers: { Authorization: `Bearer ${token}` },
      caCertPath: kv.caCertPath,
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    });
  }

  it("serves the vault over HTTPS on 127.0.0.1 and runs the challenge handshake once per client", async () => {
    expect(kv.vaultUri(VAULT)).toMatch(/^https:\/\/127\.0\.0\.1:\d+$/);
    const seeded = await client.getSecret("seeded");
    expect(seeded.value).toBe("from-seed");
    expect(seeded.properties).toMatchObject({ contentType: "text/plain", tags: { origin: "seed" }, vaultUrl: kv.vaultUri(VAULT), enabled: true });
    await client.getSecret("seeded");
    const log = await requestLog(kv.adminUrl, "getSecret");
    expect(log.entries.map((e) => e.status)).toEqual([401, 200, 200]);
    expect(log.counts.byOperation.getManagedIdentityToken).toBe(1);
  });

  it("sets secrets and gets the latest version and an older one by version", async () => {
    const v1 = await client.setSecret("db-password", "first", { contentType: "text/plain", tags: { env: "test" } });
    const v2 = await client.setSecret("db-password", "second");
    expect(v1.properties.version).toMatch(/^[0-9a-f]{32}$/);
    expect(v2.properties.version).not.toBe(v1.properties.version);
    expect(v1.properties.id).toBe(`${kv.vaultUri(VAULT)}/secrets/db-password/${v1.properties.version}`);
    expect((await client.getSecret("db-password")).value).toBe("second");
    const old = await client.getSecret("db-password", { version: v1.properties.version ?? "" });
    expect(old.value).toBe("first");
    expect(old.properties).toMatchObject({ contentType: "text/plain", tags: { env: "test" } });
    // Unix-second dates: no milliseconds, and close to now.
    expect((old.properties.createdOn?.getTime() ?? 1) % 1000).toBe(0);
    expect(Math.abs((old.properties.createdOn?.getTime() ?? 0) - Date.now())).toBeLessThan(10_000);
  });

  it("lists secrets and versions with absolute nextLink paging (default 25, maxPageSize)", async () => {
    for (let i = 0; i < 30; i++) await client.setSecret(`page-${String(i).padStart(2, "0")}`, `v${i}`);
    const all: string[] = [];
    const defaultPages: number[] = [];
    for await (const page of client.listPropertiesOfSecrets().byPage()) {
      defaultPages.push(page.length);
      all.push(...page.map((p) => p.name));
    }
    expect(all.length).toBeGreaterThanOrEqual(32); // 30 page-* plus seeded and db-password at least
    expect(defaultPages[0]).toBe(25);
    expect(new Set(all).size).toBe(all.length);
    expect(all.filter((n) => n.startsWith("page-0"))).toHaveLength(10);

    const smallPages: number[] = [];
    for await (const page of client.listPropertiesOfSecrets().byPage({ maxPageSize: 10 })) smallPages.push(page.length);
    expect(smallPages.slice(0, 3)).toEqual([10, 10, 10]);
    expect(smallPages.reduce((a, b) => a + b, 0)).toBe(all.length);

    await client.setSecret("page-00", "v0-b");
    await client.setSecret("page-00", "v0-c");
    const versionPages: string[][] = [];
    for await (const page of client.listPropertiesOfSecretVersions("page-00").byPage({ maxPageSize: 2 })) {
      versionPages.push(page.map((p) => p.version ?? ""));
    }
    expect(versionPages.map((p) => p.length)).toEqual([2, 1]);
    expect(new Set(versionPages.flat()).size).toBe(3);

    const list = await requestLog(kv.adminUrl, "listSecrets");
    expect(list.entries.filter((e) => e.status === 200).length).toBeGreaterThanOrEqual(2 + 4);
  });

  it("lists versions sorted by id, and the versions of a missing secret as an empty page (200)", async () => {
    for (let i = 0; i < 6; i++) await client.setSecret("sorted-versions", `v${i}`);
    const ids: string[] = [];
    for await (const page of client.listPropertiesOfSecretVersions("sorted-versions").byPage({ maxPageSize: 4 })) ids.push(...page.map((p) => p.version ?? ""));
    expect(ids).toHaveLength(6);
    expect(ids).toEqual([...ids].sort());
    const none: string[] = [];
    for await (const v of client.listPropertiesOfSecretVersions("never-existed")) none.push(v.version ?? "");
    expect(none).toEqual([]);
    const raw = await rawVault("GET", "/secrets/never-existed/versions");
    expect(raw.status).toBe(200);
    expect(raw.json).toEqual({ value: [], nextLink: null });
  });

  it("rejects maxresults outside 1-25 and unknown api-versions with 400", async () => {
    const token = kv.mintToken({ principalRef: "system", version: "1.0" }).token;
    const headers = { Authorization: `Bearer ${token}` };
    const tooMany = await rawRequest(`${kv.vaultUri(VAULT)}/secrets?api-version=7.5&maxresults=26`, { headers, caCertPath: kv.caCertPath });
    expect(tooMany.status).toBe(400);
    expect(tooMany.json).toMatchObject({ error: { code: "BadParameter" } });
    const version = await rawRequest(`${kv.vaultUri(VAULT)}/secrets?api-version=1999-01-01`, { headers, caCertPath: kv.caCertPath });
    expect(version.json).toEqual({
      error: { code: "BadParameter", message: "The specified version (1999-01-01) is not recognized. Consider using the latest supported version (2026-04-01)." },
    });
    const older = new SecretClient(kv.vaultUri(VAULT), new ManagedIdentityCredential(), { disableChallengeResourceVerification: true, serviceVersion: "7.4" });
    expect((await older.getSecret("seeded")).value).toBe("from-seed");
  });

  it("updates properties, and a disabled secret's value is refused with 403 SecretDisabled", async () => {
    const created = await client.setSecret("toggle", "value-1");
    const expiresOn = new Date("2031-02-03T04:05:06Z");
    const notBefore = new Date("2030-01-01T00:00:00Z");
    const updated = await client.updateSecretProperties("toggle", created.properties.version ?? "", {
      enabled: false,
      contentType: "application/x-test",
      tags: { rotated: "yes" },
      expiresOn,
      notBefore,
    });
    expect(updated).toMatchObject({ enabled: false, contentType: "application/x-test", tags: { rotated: "yes" }, expiresOn, notBefore });
    const e = await catchError(() => client.getSecret("toggle"));
    expect(e.statusCode).toBe(403);
    expect(restErrorDetails(e)).toMatchObject({
      error: { code: "Forbidden", message: "Operation get is not allowed on a disabled secret.", innerError: { code: "SecretDisabled" } },
    });
    const wire = await rawVault("GET", "/secrets/toggle/");
    expect([wire.status, wire.json]).toEqual([
      403,
      { error: { code: "Forbidden", message: "Operation get is not allowed on a disabled secret.", innererror: { code: "SecretDisabled" } } },
    ]);
    const listed = [];
    for await (const p of client.listPropertiesOfSecretVersions("toggle")) listed.push(p);
    expect(listed.map((p) => p.enabled)).toEqual([false]);
    await client.updateSecretProperties("toggle", created.properties.version ?? "", { enabled: true });
    expect((await client.getSecret("toggle")).value).toBe("value-1");
  });

  it("deletes with the poller, lists and gets the deleted secret, recovers with the poller, then purges", async () => {
    await client.setSecret("lifecycle", "v1");
    await client.setSecret("lifecycle", "v2");
    const deleted = await (await client.beginDeleteSecret("lifecycle")).pollUntilDone();
    expect(deleted.properties.recoveryId).toBe(`${kv.vaultUri(VAULT)}/deletedsecrets/lifecycle`);
    expect(deleted.properties.deletedOn).toBeInstanceOf(Date);
    expect(deleted.properties.scheduledPurgeDate?.getTime()).toBe((deleted.properties.deletedOn?.getTime() ?? 0) + 90 * 86_400_000);
    expect((await catchError(() => client.getSecret("lifecycle"))).statusCode).toBe(404);

    const conflict = await catchError(() => client.setSecret("lifecycle", "v3"));
    expect(conflict.statusCode).toBe(409);
    expect(restErrorDetails(conflict)).toMatchObject({ error: { code: "Conflict", innerError: { code: "ObjectIsDeletedButRecoverable" } } });

    expect((await client.getDeletedSecret("lifecycle")).properties.recoveryId).toContain("/deletedsecrets/lifecycle");
    const deletedNames: string[] = [];
    for await (const d of client.listDeletedSecrets()) deletedNames.push(d.name);
    expect(deletedNames).toContain("lifecycle");

    const recovered = await (await client.beginRecoverDeletedSecret("lifecycle")).pollUntilDone();
    expect(recovered.name).toBe("lifecycle");
    expect((await client.getSecret("lifecycle")).value).toBe("v2");

    await (await client.beginDeleteSecret("lifecycle")).pollUntilDone();
    await client.purgeDeletedSecret("lifecycle");
    expect((await catchError(() => client.getDeletedSecret("lifecycle"))).statusCode).toBe(404);
    expect((await client.setSecret("lifecycle", "fresh")).value).toBe("fresh");
    const purges = await requestLog(kv.adminUrl, "purgeDeletedSecret");
    expect(purges.entries.map((e) => e.status)).toEqual([204]);
  });

  it("lets the delete poller wait out a vault's 'being deleted' window", async () => {
    const slow = new SecretClient(kv.vaultUri(SLOW_VAULT), new ManagedIdentityCredential(), { disableChallengeResourceVerification: true });
    await slow.setSecret("slow", "v");
    const poller = await slow.beginDeleteSecret("slow", { intervalInMs: 100 });
    const deleted = await poller.pollUntilDone();
    expect(deleted.name).toBe("slow");
    const polls = (await requestLog(kv.adminUrl, "getDeletedSecret")).entries.filter((e) => e.secretName === "slow").map((e) => e.status);
    expect(polls[0]).toBe(404);
    expect(polls.at(-1)).toBe(200);
  });

  it("backs up and restores a secret with all versions; restoring over an existing name is 409", async () => {
    await client.setSecret("to-backup", "one");
    const latest = await client.setSecret("to-backup", "two");
    const blob = await client.backupSecret("to-backup");
    expect(blob).toBeInstanceOf(Uint8Array);
    const conflict = await catchError(() => client.restoreSecretBackup(blob as Uint8Array));
    expect(conflict.statusCode).toBe(409);
    expect(restErrorDetails(conflict)).toMatchObject({ error: { code: "Conflict" } });
    await (await client.beginDeleteSecret("to-backup")).pollUntilDone();
    await client.purgeDeletedSecret("to-backup");
    const restored = await client.restoreSecretBackup(blob as Uint8Array);
    expect(restored.version).toBe(latest.properties.version);
    expect((await client.getSecret("to-backup")).value).toBe("two");
    const versions = [];
    for await (const v of client.listPropertiesOfSecretVersions("to-backup")) versions.push(v.version);
    expect(versions).toHaveLength(2);
  });

  it("answers unknown secrets with 404 SecretNotFound", async () => {
    const e = await catchError(() => client.getSecret("does-not-exist"));
    expect(e.statusCode).toBe(404);
    expect(e.code).toBe("SecretNotFound");
    const wire = await rawVault("GET", "/secrets/does-not-exist/");
    expect(wire.status).toBe(404);
    expect(wire.json).toEqual({
      error: {
        code: "SecretNotFound",
        message:
          "A secret with (name/id) does-not-exist was not found in this key vault. If you recently deleted this secret you may be able to recover it using the correct recovery command. For help resolving this issue, please see https://go.microsoft.com/fwlink/?linkid=2125182",
      },
    });
  });

  it("rejects invalid names and values over 25 KB with 400 BadParameter", async () => {
    const badName = await catchError(() => client.setSecret("bad_name", "x"));
    expect(badName.statusCode).toBe(400);
    expect(restErrorDetails(badName)).toMatchObject({ error: { code: "BadParameter", message: "The request URI contains an invalid name: bad_name" } });
    const tooBig = await catchError(() => client.setSecret("too-big", "x".repeat(25 * 1024 + 1)));
    expect(tooBig.statusCode).toBe(400);
    expect(tooBig.code).toBe("BadParameter");
    expect((await client.setSecret("just-fits", "x".repeat(25 * 1024))).value).toHaveLength(25 * 1024);
  });

  it("notifies change listeners without secret values", async () => {
    const seen: string[] = [];
    const off = kv.onChange((e) => seen.push(`${e.type}:${e.secretName}`));
    await client.setSecret("evented", "secret-value");
    off();
    expect(seen).toEqual(["SecretNewVersionCreated:evented"]);
    expect(JSON.stringify(kv.recentEvents())).not.toContain("secret-value");
  });
});
