/**
 * The one error sanitiser, fed with the real error texts of Azurite (Table OData JSON, Blob
 * `RequestId:` lines and XML) and of the Key Vault emulator (its JSON body, and the messages the real
 * SDK raises from it), and applied at the error boundary.
 */
import { randomUUID } from "node:crypto";
import { TableClient } from "@azure/data-tables";
import { BlobServiceClient } from "@azure/storage-blob";
import { startKeyVaultEmulator, type KeyVaultEmulator } from "@vaultstate/keyvault-emulator";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { apiError, toHttpResponse } from "../../src/api/errors";
import { sanitizeMessage } from "../../src/api/sanitize";
import { createAzureClients } from "../../src/azure/clients";
import { createKeyVaultSecretStore } from "../../src/components/secretstores/azure/keyvault/keyVaultSecretStore";
import { useAzurite } from "../setup/azurite";

const azurite = useAzurite();
const GUID = /[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}/i;
let emulator: KeyVaultEmulator;

beforeAll(async () => {
  emulator = await startKeyVaultEmulator({ vaultHost: "vault.localhost", seed: { vaults: { sanitize: { secrets: { present: "v" } } }, principals: [{ name: "app", type: "systemAssigned", roles: { sanitize: "Key Vault Secrets User" } }] } });
  Object.assign(process.env, emulator.identityEnvironment());
});
afterAll(async () => {
  await emulator?.close();
});

const thrown = async (run: () => Promise<unknown>): Promise<Error> => {
  const e = await run().then(
    () => undefined,
    (err: unknown) => err,
  );
  if (!(e instanceof Error)) throw new Error("expected an error");
  return e;
};

/** Asserts the sanitised text keeps `keep` and carries no request id, timestamp, URL or raw body. */
function expectClean(raw: string, keep: string[]): void {
  const clean = sanitizeMessage(raw);
  for (const k of keep) expect(clean).toContain(k);
  expect(clean).not.toMatch(GUID);
  expect(clean).not.toMatch(/RequestId|request-id|Time:|odata|<\?xml|<Error>|https?:\/\/|127\.0\.0\.1|devstoreaccount1\/|"lang"/i);
  expect(sanitizeMessage(clean)).toBe(clean);
}

describe("sanitizeMessage with real upstream errors", () => {
  it("Azurite Table: OData JSON with RequestId and Time becomes 'code: first line'", async () => {
    const client = TableClient.fromConnectionString(azurite().connectionString, `missing${randomUUID().slice(0, 8)}`, { allowInsecureConnection: true });
    const e = await thrown(() => client.getEntity("p", "r"));
    expect(e.message).toMatch(/RequestId/);
    expectClean(`fail to get k from state store tablestore: ${e.message}`, ["fail to get k from state store tablestore: ", "TableNotFound"]);
    const big = TableClient.fromConnectionString(azurite().connectionString, `big${randomUUID().slice(0, 8)}`, { allowInsecureConnection: true });
    await big.createTable();
    const tooLarge = await thrown(() => big.createEntity({ partitionKey: "p", rowKey: "r", Value: "x".repeat(40_000) }));
    expectClean(tooLarge.message, ["PropertyValueTooLarge", "The property value exceeds the maximum allowed size (64KB)."]);
  });
  it("Azurite Blob: RequestId/Time lines are dropped, the service sentence kept", async () => {
    const service = BlobServiceClient.fromConnectionString(azurite().connectionString);
    const e = await thrown(() => service.getContainerClient(`missing${randomUUID().slice(0, 8)}`).getProperties());
    const conflict = await thrown(async () => {
      const c = service.getContainerClient(`c${randomUUID().slice(0, 8)}`);
      await c.create();
      await c.create();
    });
    expect(conflict.message).toMatch(/RequestId/);
    expectClean(conflict.message, ["The specified container already exists."]);
    expectClean(`${e.message} (${String((e as { code?: string }).code)})`, []);
  });
  it("Blob XML bodies become 'code: message'", () => {
    const xml = '<?xml version="1.0" encoding="utf-8"?><Error><Code>BlobNotFound</Code><Message>The specified blob does not exist.\nRequestId:0f3b2c1e-5a6d-4e7f-8a9b-0c1d2e3f4a5b\nTime:2026-12-03T18:07:13.339Z</Message></Error>';
    expectClean(`failed: ${xml}`, ["failed: BlobNotFound: The specified blob does not exist."]);
  });
  it("Key Vault emulator: its JSON body, and the real SDK's errors from it", async () => {
    // The emulator's body for a missing secret (packages/keyvault-emulator/src/errors.ts), as Key Vault sends it.
    const body = JSON.stringify({ error: { code: "SecretNotFound", message: "A secret with (name/id) nope was not found in this key vault. If you recently deleted this secret you may be able to recover it using the correct recovery command. For help resolving this issue, please see https://go.microsoft.com/fwlink/?linkid=2125182" } });
    expectClean(`failed getting secret: ${body} x-ms-request-id: ${randomUUID()}`, ["SecretNotFound: A secret with (name/id) nope was not found in this key vault."]);
    const store = createKeyVaultSecretStore({ getClient: createAzureClients(emulator.identityEnvironment()).secretClient });
    await store.init({ vaultUri: emulator.vaultUri("sanitize") });
    const e = await thrown(() => store.getSecret({ name: "nope", metadata: {} }));
    expectClean(e.message, []);
    await store.close();
  });
});

describe("at the error boundary", () => {
  it("toHttpResponse sanitises every ApiError message", () => {
    const raw = `failed saving state in state store tablestore: {"odata.error":{"code":"EntityTooLarge","message":{"lang":"en-US","value":"The entity is larger than the maximum allowed size (1MB).\\nRequestId:${randomUUID()}\\nTime:2026-12-03T18:07:27.799Z"}}} at http://127.0.0.1:10002/devstoreaccount1/state`;
    const response = toHttpResponse(apiError("stateSave", { store: "tablestore", error: raw.slice("failed saving state in state store tablestore: ".length) }), () => {});
    expect(JSON.parse(String(response.body))).toEqual({ errorCode: "ERR_STATE_SAVE", message: "failed saving state in state store tablestore: EntityTooLarge: The entity is larger than the maximum allowed size (1MB)." });
  });
  it("keeps ordinary messages unchanged, keys with UUIDs included", () => {
    const key = randomUUID();
    for (const m of [`fail to get ${key} from state store memstore: boom`, "input key/keyPrefix 'ke||y1' can't contain '||'", "state store memstore query failed: page.limit must be a non-negative integer"]) {
      expect(sanitizeMessage(m)).toBe(m);
    }
  });
});
