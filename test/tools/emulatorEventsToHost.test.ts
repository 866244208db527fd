/**
 * @module test/tools/emulatorEventsToHost: the emulator's Event Grid deliveries against the REAL local
 * Functions host (`@vaultstate/functions-host`'s compiled CLI, run `npm run build` first; `npm test` builds) serving a
 * fixture app with an `app.eventGrid` function: both handshakes, both schemas, the host's 404 for an unknown
 * function, and SecretNearExpiry after a clock shift.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import * as path from "node:path";
import { ManagedIdentityCredential } from "@azure/identity";
import { SecretClient } from "@azure/keyvault-secrets";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { SECRET_EVENT_TYPES, type KeyVaultEmulator, startKeyVaultEmulator } from "@vaultstate/keyvault-emulator";
import { hostCliPath, REPO_ROOT } from "../../tools/devEnvironment";

const REPO = REPO_ROOT;
const HOST_CLI = hostCliPath();
const FIXTURE = path.join(__dirname, "fixtures", "eventgrid-app");
const FUNCTION = "onKeyVaultSecretEvent";
const VAULT = "host-events";
const DAY = 86_400;

interface Recorded {
  event: Record<string, unknown> & { data: Record<string, unknown> };
  functionName: string;
}

async function until<T>(probe: () => T | undefined, timeoutMs = 10_000, what = "condition"): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = probe();
    if (v !== undefined) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

describe("Key Vault emulator events delivered to the real local Functions host", () => {
  let work: string;
  let eventsFile: string;
  let host: ChildProcess | undefined;
  let hostOutput = "";
  let hostUrl: string;
  let kv: KeyVaultEmulator;
  let client: SecretClient;

  const recorded = (): Recorded[] => {
    if (!existsSync(eventsFile)) return [];
    return readFileSync(eventsFile, "utf8")
      .split("\n")
      .filter((l) => l.trim().length > 0)
      .map((l) => JSON.parse(l) as Recorded);
  };

  beforeAll(async () => {
    if (!existsSync(HOST_CLI)) throw new Error(`${HOST_CLI} is missing: run "npm run build" (npm test does it) before these tests`);
    work = mkdtempSync(path.join(tmpdir(), "kv-emulator-host-events-"));
    eventsFile = path.join(work, "events.jsonl");
    const child = spawn(process.execPath, [HOST_CLI, "--port", "0", "--cwd", FIXTURE], {
      cwd: REPO,
      env: { ...process.env, KV_EVENTS_OUT: eventsFile },
      stdio: ["ignore", "pipe", "pipe"],
    });
    host = child;
    child.stdout?.on("data", (d: Buffer) => (hostOutput += d.toString()));
    child.stderr?.on("data", (d: Buffer) => (hostOutput += d.toString()));
    hostUrl = await until(() => /Host listening on (http:\/\/127\.0\.0\.1:\d+)/.exec(hostOutput)?.[1] ?? (child.exitCode !== null ? "exited" : undefined), 30_000, "the host");
    if (hostUrl === "exited") throw new Error(`the host exited:\n${hostOutput}`);

    const webhook = `${hostUrl}/runtime/webhooks/eventgrid?functionName=${FUNCTION}`;
    kv = await startKeyVaultEmulator({
      vaults: [VAULT],
      eventWebhooks: [
        { url: webhook, name: "func-eventgrid" },
        { url: webhook, schema: "CloudEventSchemaV1_0", name: "func-cloudevents" },
        { url: `${hostUrl}/runtime/webhooks/eventgrid?functionName=noSuchFunction`, name: "func-missing", eventTypes: ["SecretNewVersionCreated"], validate: false },
      ],
      // Both handshakes run against the host at startup: the Event Grid extension answers them itself.
      eventDelivery: { validateWebhooks: true, validationTimeoutMs: 10_000, maxAttempts: 2, retryDelaysMs: [50], expiryCheckIntervalMs: 500 },
    });
    process.env.IDENTITY_ENDPOINT = kv.identityEndpoint;
    process.env.IDENTITY_HEADER = kv.identityHeader;
    client = new SecretClient(kv.vaultUri(VAULT), new ManagedIdentityCredential(), { disableChallengeResourceVerification: true });
  });

  afterAll(async () => {
    await kv?.close();
    if (host && host.exitCode === null) {
      const exited = new Promise((resolve) => host?.once("exit", resolve));
      host.kill("SIGTERM");
      const timer = setTimeout(() => host?.kill("SIGKILL"), 10_000);
      await exited;
      clearTimeout(timer);
    }
    if (work) rmSync(work, { recursive: true, force: true });
  });

  it("passes the host's validation handshakes (the emulator started with validateWebhooks), and fails them for an unknown function", async () => {
    expect(kv.eventWebhooks.map((w) => w.name)).toEqual(["func-eventgrid", "func-cloudevents", "func-missing"]);
    const unknown = `${hostUrl}/runtime/webhooks/eventgrid?functionName=stillMissing`;
    await expect(kv.setWebhooks([...kv.eventWebhooks, { url: unknown }])).rejects.toThrow(/validation handshake.*status 404/);
    await expect(kv.setWebhooks([...kv.eventWebhooks, { url: unknown, schema: "CloudEventSchemaV1_0" }])).rejects.toThrow(/abuse-protection handshake.*status 404/);
    expect(kv.eventWebhooks).toHaveLength(3);
  });

  it("invokes the app.eventGrid function with SecretNewVersionCreated in both schemas", async () => {
    const set = await client.setSecret("host-secret", "host-secret-value", { expiresOn: new Date((Math.floor(Date.now() / 1000) + 45 * DAY) * 1000) });
    const version = set.properties.version as string;
    const got = await until(() => {
      const mine = recorded().filter((r) => r.event.subject === "host-secret");
      return mine.length >= 2 ? mine : undefined;
    }, 10_000, "two invocations");
    const eventGridForm = got.find((r) => r.event.eventType === SECRET_EVENT_TYPES.newVersion);
    const cloudForm = got.find((r) => r.event.type === SECRET_EVENT_TYPES.newVersion);
    expect(eventGridForm?.functionName).toBe(FUNCTION);
    const data = {
      Id: `${kv.vaultUri(VAULT)}/secrets/host-secret/${version}`,
      VaultName: VAULT,
      ObjectType: "Secret",
      ObjectName: "host-secret",
      Version: version,
      NBF: null,
      EXP: expect.any(Number),
    };
    expect(eventGridForm?.event).toMatchObject({ subject: "host-secret", dataVersion: "1", metadataVersion: "1", data });
    expect(eventGridForm?.event.topic).toMatch(new RegExp(`/providers/Microsoft\\.KeyVault/vaults/${VAULT}$`));
    expect(cloudForm?.event).toMatchObject({ specversion: "1.0", subject: "host-secret", id: eventGridForm?.event.id, source: eventGridForm?.event.topic, data });
    expect(readFileSync(eventsFile, "utf8")).not.toContain("host-secret-value");

    // The host answered 202 to both deliveries; the unknown function got the host's 404 on every attempt.
    const log = await until(() => {
      const d = kv.deliveries({ secret: "host-secret" });
      return d.length === 3 && d.every((x) => x.status !== "pending") ? d : undefined;
    }, 10_000, "settled deliveries");
    expect(log.map((d) => [d.subscriptionName, d.status, d.statusCode, d.attempts])).toEqual([
      ["func-eventgrid", "delivered", 202, 1],
      ["func-cloudevents", "delivered", 202, 1],
      ["func-missing", "failed", 404, 2],
    ]);
  });

  it("invokes the function with SecretNearExpiry after the clock is shifted", async () => {
    try {
      kv.clock.advance(20 * DAY * 1000);
      const near = await until(() => {
        const mine = recorded().filter((r) => r.event.subject === "host-secret" && (r.event.eventType ?? r.event.type) === SECRET_EVENT_TYPES.nearExpiry);
        return mine.length >= 2 ? mine : undefined;
      }, 5000, "SecretNearExpiry invocations");
      expect(near.map((r) => (r.event.eventType === undefined ? "cloudevents" : "eventgrid")).sort()).toEqual(["cloudevents", "eventgrid"]);
      expect(kv.deliveries({ secret: "host-secret", eventType: "SecretNearExpiry" }).map((d) => d.subscriptionName).sort()).toEqual([
        "func-cloudevents",
        "func-eventgrid",
      ]);
    } finally {
      kv.clock.reset();
    }
  });
});
