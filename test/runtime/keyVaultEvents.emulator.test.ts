/**
 * Key Vault events are hints: forged events against the real runtime, the Key Vault emulator over
 * HTTPS, the real @azure/keyvault-secrets and ManagedIdentityCredential. A forged vault is an HTTPS
 * listener on loopback that records every request it gets.
 */
import { readFileSync } from "node:fs";
import { createServer, type Server } from "node:https";
import type { AddressInfo } from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createAzureClients, type AzureClients } from "../../src/azure/clients";
import type { Logger } from "../../src/observability/logger";
import { parseResourceDocuments } from "../../src/runtime/componentFiles";
import { createEventCounters, createKeyVaultEventHandler, type EventCounters, type KeyVaultEventHandler, type SecretEvent } from "../../src/runtime/keyVaultEvents";
import { createRuntimeManager, type RuntimeManager } from "../../src/runtime/manager";
import { buildRuntime } from "../../src/runtime/runtime";
import { createCounters } from "../../src/runtime/secretCache";
import { ensureDevCertificates, startKeyVaultEmulator, type KeyVaultEmulator } from "@vaultstate/keyvault-emulator";

const VAULT = "eventvault";
let clients: AzureClients | undefined;
/** The Azure clients of this file, made once the emulator's identity environment is in place. */
const azure = (): AzureClients => (clients ??= createAzureClients(emulator.identityEnvironment()));
const lines: string[] = [];
const logger: Logger = { info: (m) => lines.push(m), warn: (m) => lines.push(m), error: (m) => lines.push(m) };

let emulator: KeyVaultEmulator;
let vaultUri: string;
let forged: Server;
let forgedUrl: string;
const forgedRequests: { method: string; url: string; authorization: boolean }[] = [];

beforeAll(async () => {
  emulator = await startKeyVaultEmulator({ vaultHost: "vault.localhost", seed: { vaults: { [VAULT]: { secrets: { watched: "watched-v1", flooded: "flooded-v1", other: "other-v1", outage: "outage-v1" } } } } });
  vaultUri = emulator.vaultUri(VAULT);
  Object.assign(process.env, emulator.identityEnvironment());
  const certs = await ensureDevCertificates();
  // A hostile "vault": it challenges for an ARM token, the way the reported attack did.
  forged = createServer({ cert: readFileSync(certs.certPath), key: readFileSync(certs.keyPath) }, (req, res) => {
    forgedRequests.push({ method: req.method ?? "", url: req.url ?? "", authorization: req.headers.authorization !== undefined });
    res.writeHead(401, { "www-authenticate": 'Bearer authorization="https://login.microsoftonline.com/tenant", resource="https://management.azure.com"', "content-type": "application/json" });
    res.end('{"error":{"code":"Unauthorized","message":"AKV10000"}}');
  });
  await new Promise<void>((resolve) => forged.listen(0, "127.0.0.1", resolve));
  forgedUrl = `https://127.0.0.1:${(forged.address() as AddressInfo).port}`;
});

afterAll(async () => {
  await new Promise((resolve) => forged?.close(resolve));
  await emulator?.close();
});

function component(): string {
  return `apiVersion: dapr.io/v1alpha1\nkind: Component\nmetadata: {name: kv}\nspec:\n  type: secretstores.azure.keyvault\n  version: v1\n  metadata:\n  - {name: vaultUri, value: "${vaultUri}"}\n`;
}

function startManager(): RuntimeManager {
  return createRuntimeManager({
    logger,
    tokenGraceInMs: 0,
    coherenceIntervalInMs: 60_000,
    build: () =>
      buildRuntime({
        appId: "events",
        resources: parseResourceDocuments("c.yaml", component()),
        apiTokens: ["events-t0ken"],
        providerContext: { azure: azure(), appRoot: "/", environment: {} },
        logger,
        secretCache: { counters: createCounters() },
      }),
  });
}

function event(type: "SecretNewVersionCreated" | "SecretNearExpiry" | "SecretExpired", origin: string, secret: string, version: string): unknown {
  return {
    id: `${type}-${secret}-${version}`,
    topic: `/subscriptions/x/resourceGroups/rg/providers/Microsoft.KeyVault/vaults/${VAULT}`,
    subject: secret,
    eventType: `Microsoft.KeyVault.${type}`,
    eventTime: new Date().toISOString(),
    data: { Id: `${origin}/secrets/${secret}/${version}`, VaultName: VAULT, ObjectType: "Secret", ObjectName: secret, Version: version, NBF: null, EXP: String(Math.floor(Date.now() / 1000) + 3600) },
    dataVersion: "1",
    metadataVersion: "1",
  };
}

async function read(manager: RuntimeManager, name: string): Promise<string | undefined> {
  const runtime = await manager.start();
  const store = runtime.secretStores("events").get("kv");
  return (await store?.getSecret({ name, metadata: {} }))?.data[name];
}

function getSecretReads(name: string): number {
  return emulator.requestLog.list({ operation: "getSecret" }).filter((e) => e.secretName === name).length;
}

describe("forged events", () => {
  let manager: RuntimeManager;
  let handler: KeyVaultEventHandler;
  let counters: EventCounters;
  const nearExpiryCalls: SecretEvent[] = [];

  beforeAll(async () => {
    manager = startManager();
    await manager.start();
    counters = createEventCounters();
    handler = createKeyVaultEventHandler({
      manager,
      logger,
      counters,
      // What the app wires: rotation through a SecretClient for the event's (configured) vault URL.
      onNearExpiry: async (e) => {
        nearExpiryCalls.push(e);
        await azure().secretClient(e.vaultUrl).getSecret(e.secretName);
        return "looked";
      },
    });
  });
  afterAll(async () => {
    await manager?.close();
  });

  it("an event naming another vault, of any type, sends that host no request at all", async () => {
    expect(await read(manager, "watched")).toBe("watched-v1");
    forgedRequests.length = 0;
    const results = await Promise.all(
      (["SecretNewVersionCreated", "SecretNearExpiry", "SecretExpired"] as const).flatMap((type) => [
        handler.handle(event(type, forgedUrl, "watched", "a".repeat(32))),
        // The vault's own name in VaultName does not make the forged Id trusted.
        handler.handle({ ...(event(type, forgedUrl, "watched", "b".repeat(32)) as object) }),
      ]),
    );
    expect(results.every((r) => r.startsWith("ignored:"))).toBe(true);
    expect(forgedRequests).toEqual([]);
    expect(nearExpiryCalls).toEqual([]);
    expect(counters.ignored).toBe(6);
    expect(lines.some((l) => l.includes("Key Vault secret expired"))).toBe(false);
  });

  it("an event for the app's vault is acted on with the configured URL, even when the Id's letter case differs", async () => {
    const upper = vaultUri.replace("https://", "HTTPS://");
    expect(await handler.handle(event("SecretNearExpiry", upper, "other", "c".repeat(32)))).toContain("looked");
    expect(nearExpiryCalls.map((e) => e.vaultUrl)).toEqual([vaultUri]);
  });

  it("a client whose vault asks for a non-Key Vault token never gets one and never sends one", async () => {
    forgedRequests.length = 0;
    const error = await azure().secretClient(forgedUrl)
      .getSecret("anything")
      .then(
        () => undefined,
        (e: unknown) => e as Error,
      );
    // Refused by challenge-resource verification (always on) before the credential is even asked.
    expect(error?.message).toMatch(/does not match the requested domain|Key Vault clients only get tokens for Key Vault/);
    // Only the SDK's unauthenticated challenge probe, never an Authorization header.
    expect(forgedRequests.length).toBeGreaterThan(0);
    expect(forgedRequests.every((r) => !r.authorization)).toBe(true);
  });

  it("repeated SecretExpired for one secret is logged once per interval", async () => {
    const before = lines.filter((l) => l.includes("Key Vault secret expired")).length;
    for (let i = 0; i < 1000; i++) await handler.handle(event("SecretExpired", vaultUri, "other", "d".repeat(32)));
    expect(lines.filter((l) => l.includes("Key Vault secret expired")).length - before).toBe(1);
    expect(counters.expired).toBe(1);
    expect(counters.coalesced).toBeGreaterThanOrEqual(999);
  });
});

describe("new-version floods", () => {
  it("10,000 new-version events for one secret cause at most 2 Key Vault reads, and the new version is served", async () => {
    const manager = startManager();
    try {
      expect(await read(manager, "flooded")).toBe("flooded-v1");
      const version = emulator.store(VAULT).set("flooded", { value: "flooded-v2" }).version.version;
      emulator.requestLog.reset();
      const counters = createEventCounters();
      const handler = createKeyVaultEventHandler({ manager, logger, counters });
      // Half name the real new version, half are forged with random versions.
      const events = Array.from({ length: 10_000 }, (_, i) => event("SecretNewVersionCreated", vaultUri, "flooded", i % 2 === 0 ? version : i.toString(16).padStart(32, "0")));
      await Promise.all(events.map((e) => handler.handle(e)));
      expect(getSecretReads("flooded")).toBeLessThanOrEqual(2);
      expect(getSecretReads("flooded")).toBeGreaterThanOrEqual(1);
      expect(await read(manager, "flooded")).toBe("flooded-v2");
      expect(counters.coalesced).toBeGreaterThanOrEqual(9_998);
      // Once the cache holds the named version, more events about it cost nothing.
      emulator.requestLog.reset();
      for (let i = 0; i < 100; i++) await handler.handle(event("SecretNewVersionCreated", vaultUri, "flooded", version));
      expect(getSecretReads("flooded")).toBe(0);
    } finally {
      await manager.close();
    }
  });

  it("10,000 near-expiry events for one secret start at most 2 rotation checks", async () => {
    const manager = startManager();
    try {
      await manager.start();
      let checks = 0;
      const counters = createEventCounters();
      const handler = createKeyVaultEventHandler({
        manager,
        logger,
        counters,
        onNearExpiry: async () => {
          checks++;
          await new Promise((resolve) => setTimeout(resolve, 20));
          return "not-due";
        },
      });
      await Promise.all(Array.from({ length: 10_000 }, (_, i) => handler.handle(event("SecretNearExpiry", vaultUri, "other", i.toString(16).padStart(32, "0")))));
      expect(checks).toBeLessThanOrEqual(2);
      expect(counters.coalesced).toBeGreaterThanOrEqual(9_998);
    } finally {
      await manager.close();
    }
  });

  it("events for a secret the app does not use cost no Key Vault read", async () => {
    const manager = startManager();
    try {
      await manager.start();
      emulator.requestLog.reset();
      const handler = createKeyVaultEventHandler({ manager, logger, counters: createEventCounters() });
      await Promise.all(Array.from({ length: 1000 }, (_, i) => handler.handle(event("SecretNewVersionCreated", vaultUri, `unused-${i % 10}`, "e".repeat(32)))));
      expect(emulator.requestLog.list({ operation: "getSecret" })).toEqual([]);
    } finally {
      await manager.close();
    }
  });

  it("an event during a Key Vault outage keeps the cached value serving", async () => {
    const manager = startManager();
    try {
      expect(await read(manager, "outage")).toBe("outage-v1");
      const version = emulator.store(VAULT).set("outage", { value: "outage-v2" }).version.version;
      const down = emulator.faults.add({ operation: "getSecret", status: 503 });
      try {
        const handler = createKeyVaultEventHandler({ manager, logger, counters: createEventCounters() });
        await handler.handle(event("SecretNewVersionCreated", vaultUri, "outage", version));
        for (let i = 0; i < 6; i++) expect(await read(manager, "outage")).toBe("outage-v1");
      } finally {
        emulator.faults.clear(down.id);
      }
      // Once Key Vault answers again, the next read fetches the new version.
      expect(await read(manager, "outage")).toBe("outage-v2");
    } finally {
      await manager.close();
    }
  });
});
