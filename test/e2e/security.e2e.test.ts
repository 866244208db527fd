/**
 * End to end: callers and roles, isolation between app-ids, Entra ID access tokens, rate limiting,
 * and secret rotation (manual, near-expiry, dual-credential storage keys) through the running host.
 */
import { randomUUID } from "node:crypto";
import { cp, mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import * as path from "node:path";
import { TableClient } from "@azure/data-tables";
import { auditPartitionKey } from "../../src/rotation";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { REPO_ROOT } from "../../tools/devEnvironment";
import type { KeyVaultEmulator } from "@vaultstate/keyvault-emulator";
import { daprClient, knownSecretValues, startE2eEnvironment, TOKEN, type E2eEnvironment, stopAndCheckResponses } from "./environment";

const AUDIENCE = "api://vaultstate";
const ENTRA_OBJECT_ID = "3d9f8e7a-6b5c-4d3e-8f2a-1b0c9d8e7f6a";
let env: E2eEnvironment;
let emulator: KeyVaultEmulator;
let componentsDir: string;

beforeAll(async () => {
  componentsDir = await mkdtemp(path.join(tmpdir(), "vs-components-"));
  await cp(path.join(REPO_ROOT, "components"), componentsDir, { recursive: true });
  await writeFile(
    path.join(componentsDir, "entra-caller.yaml"),
    `apiVersion: vaultstate.io/v1alpha1\nkind: Caller\nmetadata: {name: entra-app}\nspec:\n  role: reader\n  entraId:\n    objectIds: ["${ENTRA_OBJECT_ID}"]\n`,
  );
  env = await startE2eEnvironment((services) => ({
    COMPONENTS_PATH: componentsDir,
    ENTRA_ISSUERS: services.emulator?.oidcIssuer ?? "",
    ENTRA_AUDIENCES: AUDIENCE,
  }));
  if (env.emulator === undefined) throw new Error("emulator missing");
  emulator = env.emulator;
});
afterAll(async () => {
  try {
    await stopAndCheckResponses(env, __filename);
  } finally {
    if (componentsDir !== undefined) await rm(componentsDir, { recursive: true, force: true });
  }
});

const call = (method: string, p: string, token: string | undefined, body?: unknown, headers: Record<string, string> = {}) =>
  fetch(`${env.url}${p}`, { method, headers: { ...(token === undefined ? {} : { "dapr-api-token": token }), ...headers }, body: body === undefined ? undefined : JSON.stringify(body) });

describe("isolation between callers", () => {
  it("the writer demo and the reader reader-app see their own state, through @dapr/dapr", async () => {
    const demo = daprClient(env);
    const reader = daprClient(env, "reader-token");
    const key = randomUUID();
    expect((await demo.state.save("memstore", [{ key, value: "demo's" }])).error).toBeUndefined();
    expect(await demo.state.get("memstore", key)).toBe("demo's");
    expect(await reader.state.get("memstore", key)).toBe("");
    // A reader may not write: @dapr/dapr's save does not throw, it reports the error.
    const denied = await reader.state.save("memstore", [{ key, value: "reader's" }]);
    expect(String(denied.error)).toMatch(/ERR_PERMISSION_DENIED/);
    expect(await demo.state.get("memstore", key)).toBe("demo's");
    await demo.stop();
    await reader.stop();
  });

  it("a reader's state write, delete and transaction get 403 ERR_PERMISSION_DENIED", async () => {
    for (const [method, p, body] of [
      ["POST", "/v1.0/state/memstore", [{ key: "k", value: 1 }]],
      ["DELETE", "/v1.0/state/memstore/k", undefined],
      ["POST", "/v1.0/state/memstore/transaction", { operations: [] }],
    ] as const) {
      const r = await call(method, p, "reader-token", body);
      expect(r.status).toBe(403);
      expect(((await r.json()) as { errorCode: string }).errorCode).toBe("ERR_PERMISSION_DENIED");
    }
  });

  it("caller tokens in Key Vault are not readable through the API", async () => {
    expect((await call("GET", "/v1.0/secrets/secretstore/caller-ops-token", TOKEN)).status).toBe(403);
  });
});

describe("Microsoft Entra ID access tokens", () => {
  const bearer = (token: string) => fetch(`${env.url}/v1.0/metadata`, { headers: { authorization: `Bearer ${token}` } });

  it("a valid token of a configured principal acts as its app-id", async () => {
    const { token } = emulator.mintToken({ objectId: ENTRA_OBJECT_ID, audience: AUDIENCE, version: "2.0" });
    const r = await bearer(token);
    expect(r.status).toBe(200);
    expect(((await r.json()) as { id: string }).id).toBe("entra-app");
  });

  it.each([
    [
      "expired",
      () => {
        // Minted two hours in the past (emulator clock), valid for one minute then.
        emulator.clock.setShift(-2 * 3600 * 1000);
        try {
          return emulator.mintToken({ objectId: ENTRA_OBJECT_ID, audience: AUDIENCE, version: "2.0", lifetimeSeconds: 60 }).token;
        } finally {
          emulator.clock.reset();
        }
      },
    ],
    ["for another audience", () => emulator.mintToken({ objectId: ENTRA_OBJECT_ID, audience: "api://someone-else", version: "2.0" }).token],
    [
      "forged (payload changed after signing)",
      () => {
        const [h, p, s] = emulator.mintToken({ objectId: ENTRA_OBJECT_ID, audience: AUDIENCE, version: "2.0" }).token.split(".");
        const claims = JSON.parse(Buffer.from(p ?? "", "base64url").toString()) as Record<string, unknown>;
        return `${h}.${Buffer.from(JSON.stringify({ ...claims, oid: "00000000-0000-0000-0000-000000000000" })).toString("base64url")}.${s}`;
      },
    ],
    [
      "unsigned (alg none)",
      () => {
        const claims = { iss: emulator.oidcIssuer, aud: AUDIENCE, oid: ENTRA_OBJECT_ID, exp: Math.floor(Date.now() / 1000) + 600 };
        return `${Buffer.from('{"alg":"none","typ":"JWT"}').toString("base64url")}.${Buffer.from(JSON.stringify(claims)).toString("base64url")}.`;
      },
    ],
  ])("a token that is %s gets 401", async (_name, make) => {
    const r = await bearer(make());
    expect(r.status).toBe(401);
    expect(await r.text()).toBe("invalid api token\n");
  });

  it("a valid token of an unknown principal gets 403", async () => {
    const { token } = emulator.mintToken({ objectId: randomUUID(), audience: AUDIENCE, version: "2.0" });
    expect((await bearer(token)).status).toBe(403);
  });
});

describe("rate limiting", () => {
  it("answers 429 with Retry-After once a caller's burst is spent", async () => {
    const limited = await env.startAnotherHost({ RATE_LIMIT_PER_SECOND: "1", RATE_LIMIT_BURST: "2" }, () => {});
    const statuses: { status: number; retryAfter: string | null }[] = [];
    // More requests than the burst can hold even if a token refills on a slow machine.
    for (let i = 0; i < 8; i++) {
      const r = await fetch(`${limited.url}/v1.0/metadata`, { headers: { "dapr-api-token": TOKEN } });
      statuses.push({ status: r.status, retryAfter: r.headers.get("retry-after") });
    }
    expect(statuses.slice(0, 2).map((s) => s.status)).toEqual([200, 200]);
    const limitedResponses = statuses.filter((s) => s.status === 429);
    expect(limitedResponses.length).toBeGreaterThanOrEqual(1);
    expect(statuses.every((s) => s.status === 200 || s.status === 429)).toBe(true);
    expect(limitedResponses.every((s) => Number(s.retryAfter) >= 1)).toBe(true);
    // Another caller has its own bucket.
    expect((await fetch(`${limited.url}/v1.0/metadata`, { headers: { "dapr-api-token": "reader-token" } })).status).toBe(200);
    await limited.stop();
  });
});

describe("rotation", () => {

  it("only admins may rotate; an admin rotation promotes a new version that is served at once", async () => {
    expect((await call("POST", "/v1.0-alpha1/secrets/secretstore/demo-rotating-token/rotate", TOKEN)).status).toBe(403);
    const before = vault().get("demo-rotating-token").version.version;
    const r = await call("POST", "/v1.0-alpha1/secrets/secretstore/demo-rotating-token/rotate", "ops-token");
    const text = await r.text();
    expect(r.status).toBe(200);
    const report = JSON.parse(text) as { outcome: string; oldVersion: string; newVersion: string };
    expect(report).toMatchObject({ outcome: "rotated", oldVersion: before });
    const current = vault().get("demo-rotating-token").version;
    expect(report.newVersion).toBe(current.version);
    expect(text).not.toContain(current.value);
    const served = (await (await call("GET", "/v1.0/secrets/secretstore/demo-rotating-token", TOKEN)).json()) as Record<string, string>;
    expect(served["demo-rotating-token"]).toBe(current.value);
    expect(served["demo-rotating-token"]).not.toBe("first-rotating-token-value");
  });

  it("rotating a secret without a policy, or in a store that cannot rotate, is a 400", async () => {
    expect((await call("POST", "/v1.0-alpha1/secrets/secretstore/demo-secret/rotate", "ops-token")).status).toBe(400);
    const r = await call("POST", "/v1.0-alpha1/secrets/localsecretstore/demo-secret/rotate", "ops-token");
    expect(r.status).toBe(400);
    expect(((await r.json()) as { errorCode: string }).errorCode).toBe("ERR_ROTATION_NOT_SUPPORTED");
  });

  it("rotating statestore's storage key under continuous load: zero failed requests, and each key works", async () => {
    let stop = false;
    const failures: string[] = [];
    let requests = 0;
    const client = (async () => {
      for (let i = 0; !stop; i++) {
        const key = `load-${i % 20}`;
        const saved = await call("POST", "/v1.0/state/statestore", TOKEN, [{ key, value: i }]);
        const read = await call("GET", `/v1.0/state/statestore/${key}`, TOKEN);
        requests += 2;
        if (saved.status !== 204) failures.push(`save ${saved.status} ${await saved.text()}`);
        if (read.status !== 200) failures.push(`get ${read.status} ${await read.text()}`);
      }
    })();
    try {
      for (const expected of ["key2", "key1"]) {
        const r = await call("POST", "/v1.0-alpha1/secrets/secretstore/storage-account-key/rotate", "ops-token");
        expect(r.status).toBe(200);
        expect(((await r.json()) as { description: string }).description).toContain(expected);
        expect(vault().get("storage-account-key").version.tags?.["rotation-active-key"]).toBe(expected);
        // Let the client run against the rebuilt component before the next rotation.
        const seen = requests;
        await expect.poll(() => requests, { timeout: 10_000, interval: 50 }).toBeGreaterThan(seen + 10);
      }
    } finally {
      stop = true;
      await client;
    }
    expect(failures).toEqual([]);
    expect(requests).toBeGreaterThan(20);
    expect(env.output().match(/component statestore rebuilt with changed metadata/g)?.length).toBeGreaterThanOrEqual(2);
  });

  it("duplicate and reordered near-expiry events produce exactly one new version and one rotated audit row", async () => {
    const versionsBefore = vault().listVersions("demo-rotating-token").length;
    const expiringVersion = vault().get("demo-rotating-token").version.version;
    vault().update("demo-rotating-token", undefined, { exp: Math.floor(Date.now() / 1000) + 10 * 24 * 3600 });
    await expect.poll(() => vault().listVersions("demo-rotating-token").length, { timeout: 15_000, interval: 250 }).toBe(versionsBefore + 1);
    const nearExpiry = emulator.deliveries().filter((d) => d.eventType === "Microsoft.KeyVault.SecretNearExpiry" && d.secret === "demo-rotating-token");
    expect(nearExpiry.length).toBeGreaterThanOrEqual(1);
    // Event Grid is at-least-once and unordered: the same event twice more, after the rotation.
    await emulator.redeliver(nearExpiry[0]?.eventId ?? "");
    await emulator.redeliver(nearExpiry[0]?.eventId ?? "");
    await emulator.deliveriesSettled();
    expect(vault().listVersions("demo-rotating-token").length).toBe(versionsBefore + 1);
    if (env.azurite === undefined) throw new Error("Azurite missing");
    const audit = TableClient.fromConnectionString(env.azurite.connectionString, "vaultstaterotations", { allowInsecureConnection: true });
    const partition = auditPartitionKey({ vaultUrl: emulator.vaultUri("vaultstate-dev"), secretName: "demo-rotating-token" });
    const rows: Record<string, unknown>[] = [];
    for await (const row of audit.listEntities<Record<string, unknown>>({ queryOptions: { filter: `PartitionKey eq '${partition}'` } })) rows.push(row);
    const rotatedByEvent = rows.filter((r) => r.trigger === "event" && r.outcome === "rotated");
    expect(rotatedByEvent).toHaveLength(1);
    expect(rotatedByEvent[0]?.oldVersion).toBe(expiringVersion);
    expect(rows.filter((r) => r.trigger === "event" && r.outcome !== "rotated").every((r) => r.outcome === "stale-trigger" || r.outcome === "locked")).toBe(true);
  });

  it("a new version set in the vault reaches callers through Event Grid within seconds", async () => {
    vault().set("demo-secret", { value: "set-in-the-portal" });
    await expect
      .poll(async () => ((await (await call("GET", "/v1.0/secrets/secretstore/demo-secret", TOKEN)).json()) as Record<string, string>)["demo-secret"], { timeout: 10_000, interval: 200 })
      .toBe("set-in-the-portal");
  });
});

describe("secret hygiene", () => {
  it("no secret value or token appears in the host's log", () => {
    const values = [...knownSecretValues(env, {}), "ops-token", "reader-token", "set-in-the-portal", ...vault().listVersions("demo-rotating-token").map((v) => v.version.value)];
    const output = env.output();
    for (const value of values.filter((v) => v.length >= 8)) expect(output.includes(value), `log contains a secret (${value.length} chars)`).toBe(false);
  });
});

function vault() {
  if (env.emulator === undefined) throw new Error("emulator missing");
  return env.emulator.store("vaultstate-dev");
}
