/**
 * Flex Consumption topology at the manager level: an HTTP instance serves a Key Vault secret, a
 * timer-only instance (which caches none of it) must still notice a new version through the shared
 * version table and publish it, and the HTTP instance serves it after its next coherence read.
 * Key Vault is the emulator over HTTPS through the real SDK; the version table is an in-memory fake
 * with the same newer-wins rule as the Table storage one.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Logger } from "../../src/observability/logger";
import { isNewer, type VersionRow, type VersionTable, versionKey } from "../../src/azure/versionTable";
import { parseResourceDocuments } from "../../src/runtime/componentFiles";
import { createRuntimeManager, type RuntimeManager } from "../../src/runtime/manager";
import { buildRuntime } from "../../src/runtime/runtime";
import { createCounters } from "../../src/runtime/secretCache";
import { byLowerName, rowsOfVault, unregistered } from "../../src/runtime/servedSecrets";
import { startKeyVaultEmulator, type KeyVaultEmulator } from "@vaultstate/keyvault-emulator";
import { createAzureClients } from "../../src/azure/clients";

const VAULT = "flexvault";
const lines: string[] = [];
const logger: Logger = { info: (m) => lines.push(m), warn: (m) => lines.push(m), error: (m) => lines.push(m) };

function memoryTable(): VersionTable & { rows: Map<string, VersionRow> } {
  const rows = new Map<string, VersionRow>();
  const publish = (row: VersionRow): Promise<void> => {
    const { partitionKey, rowKey } = versionKey(row.vaultUrl, row.secretName);
    const existing = rows.get(`${partitionKey}/${rowKey}`);
    if (existing === undefined || isNewer(row, existing)) rows.set(`${partitionKey}/${rowKey}`, row);
    return Promise.resolve();
  };
  return {
    rows,
    async *pages() {
      yield { rows: [...rows.values()] };
    },
    publish,
    async register(batch) {
      for (const row of batch) await publish(row);
    },
  };
}

describe("served secrets (pure)", () => {
  const row = (vaultUrl: string, secretName: string): VersionRow => ({ vaultUrl, secretName, version: "v", updatedOn: 1 });

  it("groups the table's rows by vault host and lower-cased name", () => {
    const rows = rowsOfVault([row("https://a.vault.azure.net", "Name"), row("https://b.vault.azure.net", "other"), row("https://A.vault.azure.net/", "x")], "https://a.vault.azure.net/");
    expect([...rows.keys()].sort()).toEqual(["name", "x"]);
  });

  it("lists served secrets the table lacks, skipping registered ones and those without a version date", () => {
    const table = rowsOfVault([row("https://a.vault.azure.net", "listed")], "https://a.vault.azure.net");
    const served = new Map([
      ["LISTED", { version: "1", updatedOn: 5 }],
      ["new", { version: "2", updatedOn: 6 }],
      ["mine", { version: "3", updatedOn: 7 }],
      ["undated", { version: "4" }],
    ]);
    expect(unregistered(table, served, new Set(["mine"]))).toEqual([{ secretName: "new", version: { version: "2", updatedOn: 6 } }]);
    expect([...byLowerName(new Map([["Mixed", { version: "1" }]])).keys()]).toEqual(["mixed"]);
  });
});

describe("a timer-only instance keeps HTTP instances current", () => {
  let emulator: KeyVaultEmulator;
  let http: RuntimeManager;
  let timer: RuntimeManager;
  const table = memoryTable();

  const manager = (): RuntimeManager =>
    createRuntimeManager({
      logger,
      tokenGraceInMs: 0,
      coherenceIntervalInMs: 60_000,
      versionTable: table,
      build: () =>
        buildRuntime({
          appId: "flex",
          resources: parseResourceDocuments(
            "c.yaml",
            `apiVersion: dapr.io/v1alpha1\nkind: Component\nmetadata: {name: kv}\nspec:\n  type: secretstores.azure.keyvault\n  version: v1\n  metadata:\n  - {name: vaultUri, value: "${emulator.vaultUri(VAULT)}"}\n`,
          ),
          apiTokens: ["flex-t0ken"],
          providerContext: { azure: createAzureClients({}), appRoot: "/", environment: {} },
          logger,
          secretCache: { counters: createCounters() },
        }),
    });

  const read = async (m: RuntimeManager, name: string): Promise<string | undefined> => {
    const rt = await m.start();
    const kv = rt.components.find((c) => c.definition.name === "kv");
    if (kv === undefined || kv.kind !== "secretstores") throw new Error("no kv store");
    return (await kv.store.getSecret({ name, metadata: {} })).data[name];
  };

  beforeAll(async () => {
    emulator = await startKeyVaultEmulator({ vaultHost: "vault.localhost", seed: { vaults: { [VAULT]: { secrets: { served: "served-v1", unread: "unread-v1" } } } } });
    Object.assign(process.env, emulator.identityEnvironment());
    http = manager();
    timer = manager();
  });

  afterAll(async () => {
    await http?.close();
    await timer?.close();
    await emulator?.close();
  });

  it("registers what the HTTP instance serves; the timer finds the new version; the HTTP instance serves it", async () => {
    expect(await read(http, "served")).toBe("served-v1");
    await http.checkCoherence(true);
    expect([...table.rows.values()].map((r) => r.secretName)).toEqual(["served"]);

    // Key Vault's listing carries no version id, only the update time in whole seconds: a new version
    // in the same second as the old one would look unchanged to any refresh.
    const before = table.rows.get(versionKey(emulator.vaultUri(VAULT), "served").partitionKey + "/served")?.updatedOn ?? 0;
    while (Math.floor(Date.now() / 1000) * 1000 <= before) await new Promise((resolve) => setTimeout(resolve, 100));
    emulator.store(VAULT).set("served", { value: "served-v2" });
    // Without the event, the HTTP instance still serves its cached value ...
    expect(await read(http, "served")).toBe("served-v1");
    // ... until the timer, which never read the secret, compares the table's names with Key Vault.
    const summary = await timer.refresh("timer");
    expect(summary.changed).toContain("served");
    // The listing has the update time, not the version id: the row now orders after what the HTTP instance holds.
    expect([...table.rows.values()].find((r) => r.secretName === "served")?.updatedOn).toBeGreaterThan(before);
    await http.checkCoherence(true);
    expect(await read(http, "served")).toBe("served-v2");
    // A secret nobody serves is never registered, so it costs the timer nothing.
    expect([...table.rows.values()].map((r) => r.secretName)).not.toContain("unread");
  });
});
