/**
 * @module keyvault-emulator/test/events.delivery: Event Grid delivery of Key Vault secret events, driven
 * through the real `SecretClient` + `ManagedIdentityCredential`, to two local receivers (Event Grid schema and
 * CloudEvents 1.0): payloads, near-expiry/expiry on the shifted clock, retries, redelivery, loopback-only URLs.
 */
import { ManagedIdentityCredential } from "@azure/identity";
import { SecretClient } from "@azure/keyvault-secrets";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { parseCliArgs } from "../src/cli";
import { parseWebhooks, SECRET_EVENT_TYPES, type DeliveryRecord } from "../src/eventGrid";
import { type KeyVaultEmulator, startKeyVaultEmulator } from "../src/server";
import { eventIs, type EventReceiver, type ReceivedEvent, startEventReceiver } from "./eventReceiver";
import { admin } from "./helpers";

const VAULT = "events-vault";
const SUBSCRIPTION = "0b7c1f3e-5d2a-4c6b-9e8f-112233445566";
const RESOURCE_GROUP = "rg-events";
const TOPIC = `/subscriptions/${SUBSCRIPTION}/resourceGroups/${RESOURCE_GROUP}/providers/Microsoft.KeyVault/vaults/${VAULT}`;
const SECRET_VALUE = "value-that-must-never-leak";
const DAY = 86_400;
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
const EVENT_TIME = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{7}Z$/;
const { newVersion: NEW, nearExpiry: NEAR, expired: EXPIRED } = SECRET_EVENT_TYPES;

async function until<T>(probe: () => T | undefined | Promise<T | undefined>, timeoutMs = 5000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await probe();
    if (v !== undefined) return v;
    if (Date.now() > deadline) throw new Error("timed out");
    await new Promise((r) => setTimeout(r, 20));
  }
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

describe("Key Vault emulator Event Grid delivery (real SDK, both schemas)", () => {
  let kv: KeyVaultEmulator;
  let client: SecretClient;
  let eg: EventReceiver;
  let ce: EventReceiver;
  let dbPasswordEventId = "";

  beforeAll(async () => {
    [eg, ce] = await Promise.all([startEventReceiver(), startEventReceiver()]);
    kv = await startKeyVaultEmulator({
      vaults: [VAULT],
      azure: { subscriptionId: SUBSCRIPTION, resourceGroup: RESOURCE_GROUP },
      eventWebhooks: [
        { url: `${eg.url}/runtime/webhooks/eventgrid?functionName=egHandler`, name: "eg-hook" },
        { url: `${ce.url}/api/cloudevents`, schema: "CloudEventSchemaV1_0", name: "ce-hook" },
      ],
      eventDelivery: { retryDelaysMs: [50, 100, 150, 200], expiryCheckIntervalMs: 250, timeoutMs: 3000 },
    });
    process.env.IDENTITY_ENDPOINT = kv.identityEndpoint;
    process.env.IDENTITY_HEADER = kv.identityHeader;
    client = new SecretClient(kv.vaultUri(VAULT), new ManagedIdentityCredential(), { disableChallengeResourceVerification: true });
  });

  afterAll(async () => {
    await kv?.close();
    await Promise.all([eg?.close(), ce?.close()]);
  });

  it("delivers SecretNewVersionCreated in the Event Grid schema and as a CloudEvent, with Azure's fields and headers", async () => {
    const exp = new Date((Math.floor(Date.now() / 1000) + 60 * DAY) * 1000);
    const nbf = new Date((Math.floor(Date.now() / 1000) - 3600) * 1000);
    const set = await client.setSecret("db-password", SECRET_VALUE, { expiresOn: exp, notBefore: nbf });
    const version = set.properties.version as string;
    const plain = await client.setSecret("plain", "another-value");

    const [got] = await eg.waitForEvents(eventIs(NEW, "db-password"));
    const received = got as ReceivedEvent;
    expect(received.request.method).toBe("POST");
    expect(received.request.path).toBe("/runtime/webhooks/eventgrid?functionName=egHandler");
    expect(received.request.headers).toMatchObject({
      "content-type": "application/json; charset=utf-8",
      "aeg-event-type": "Notification",
      "aeg-subscription-name": "EG-HOOK",
      "aeg-delivery-count": "0",
      "aeg-data-version": "1",
      "aeg-metadata-version": "1",
    });
    // The Event Grid schema is an array, one event per delivery.
    expect(Array.isArray(received.request.json)).toBe(true);
    expect(received.request.json).toHaveLength(1);
    const data = {
      Id: `${kv.vaultUri(VAULT)}/secrets/db-password/${version}`,
      VaultName: VAULT,
      ObjectType: "Secret",
      ObjectName: "db-password",
      Version: version,
      NBF: nbf.getTime() / 1000,
      EXP: exp.getTime() / 1000,
    };
    expect(received.event).toEqual({
      id: expect.stringMatching(UUID),
      topic: TOPIC,
      subject: "db-password",
      eventType: NEW,
      eventTime: expect.stringMatching(EVENT_TIME),
      data,
      dataVersion: "1",
      metadataVersion: "1",
    });
    expect(Object.keys(received.event).sort()).toEqual(["data", "dataVersion", "eventTime", "eventType", "id", "metadataVersion", "subject", "topic"]);
    expect(Math.abs(Date.parse(received.event.eventTime as string) - Date.now())).toBeLessThan(60_000);
    dbPasswordEventId = received.event.id as string;

    const [cloud] = await ce.waitForEvents(eventIs(NEW, "db-password"));
    const c = cloud as ReceivedEvent;
    expect(c.request.path).toBe("/api/cloudevents");
    expect(c.request.headers["content-type"]).toMatch(/^application\/cloudevents\+json(;|$)/);
    expect(c.request.headers).toMatchObject({ "aeg-event-type": "Notification", "aeg-subscription-name": "CE-HOOK", "aeg-delivery-count": "0" });
    // Structured-mode CloudEvent: a single object, same event id and data as the Event Grid form.
    expect(Array.isArray(c.request.json)).toBe(false);
    expect(c.event).toEqual({
      specversion: "1.0",
      type: NEW,
      source: TOPIC,
      subject: "db-password",
      id: dbPasswordEventId,
      time: received.event.eventTime,
      data,
    });

    // No dates on the secret: NBF and EXP are null.
    const [plainEvent] = await eg.waitForEvents(eventIs(NEW, "plain"));
    expect((plainEvent as ReceivedEvent).event.data).toEqual({
      Id: `${kv.vaultUri(VAULT)}/secrets/plain/${plain.properties.version}`,
      VaultName: VAULT,
      ObjectType: "Secret",
      ObjectName: "plain",
      Version: plain.properties.version,
      NBF: null,
      EXP: null,
    });

    // Values never leave the vault: not in deliveries, not in the logs.
    await until(() => (kv.deliveries({ status: "delivered" }).length === 4 ? true : undefined));
    for (const r of [...eg.requests, ...ce.requests]) expect(r.body).not.toContain(SECRET_VALUE);
    expect((await admin(kv.adminUrl, "GET", "/events/deliveries")).text).not.toContain(SECRET_VALUE);
    expect((await admin(kv.adminUrl, "GET", "/events/published")).text).not.toContain(SECRET_VALUE);
    expect(kv.deliveries({ eventId: dbPasswordEventId }).map((d) => [d.subscriptionName, d.schema, d.status, d.attempts, d.statusCode])).toEqual([
      ["eg-hook", "EventGridSchema", "delivered", 1, 200],
      ["ce-hook", "CloudEventSchemaV1_0", "delivered", 1, 200],
    ]);
  });

  it("sends one SecretNearExpiry per version within 30 days of exp and one SecretExpired at exp, on the shifted clock", async () => {
    const expSeconds = Math.floor(Date.now() / 1000) + 40 * DAY;
    const set = await client.setSecret("rotating", "rotating-value", { expiresOn: new Date(expSeconds * 1000) });
    const version = set.properties.version as string;
    await eg.waitForEvents(eventIs(NEW, "rotating", version));
    // 40 days out: nothing due yet.
    expect(kv.checkExpiry()).toEqual([]);
    try {
      // 25 days before exp: SecretNearExpiry, within about a second of the shift (the check runs at once).
      await admin(kv.adminUrl, "POST", "/clock", { shiftSeconds: 15 * DAY });
      const [near] = await eg.waitForEvents(eventIs(NEAR, "rotating", version), 1, 3000);
      expect((near as ReceivedEvent).event).toMatchObject({
        topic: TOPIC,
        subject: "rotating",
        eventType: NEAR,
        data: { ObjectName: "rotating", Version: version, EXP: expSeconds, NBF: null, ObjectType: "Secret", VaultName: VAULT },
      });
      // eventTime is emulator time (shifted).
      expect(Date.parse((near as ReceivedEvent).event.eventTime as string)).toBeGreaterThan(Date.now() + 14 * DAY * 1000);
      await ce.waitForEvents(eventIs(NEAR, "rotating", version), 1, 3000);

      // Shift again, let several scheduled checks run: still exactly one per version and webhook.
      await admin(kv.adminUrl, "POST", "/clock", { advanceSeconds: DAY });
      await sleep(800);
      expect(kv.checkExpiry().filter((e) => e.secret === "rotating")).toEqual([]);
      expect(eg.events(eventIs(NEAR, "rotating", version))).toHaveLength(1);
      expect(ce.events(eventIs(NEAR, "rotating", version))).toHaveLength(1);
      expect(eg.events(eventIs(EXPIRED, "rotating", version))).toHaveLength(0);

      // Past exp: one SecretExpired.
      await admin(kv.adminUrl, "POST", "/clock", { shiftSeconds: 41 * DAY });
      const [expired] = await eg.waitForEvents(eventIs(EXPIRED, "rotating", version), 1, 3000);
      expect((expired as ReceivedEvent).event).toMatchObject({ eventType: EXPIRED, subject: "rotating", data: { Version: version, EXP: expSeconds } });
      expect(Date.parse((expired as ReceivedEvent).event.eventTime as string)).toBeGreaterThanOrEqual(expSeconds * 1000);
      const [expiredCloud] = await ce.waitForEvents(eventIs(EXPIRED, "rotating", version), 1, 3000);
      expect((expiredCloud as ReceivedEvent).event).toMatchObject({ type: EXPIRED, id: (expired as ReceivedEvent).event.id });
      await admin(kv.adminUrl, "POST", "/clock", { advanceSeconds: 2 * DAY });
      await sleep(800);
      expect(eg.events(eventIs(EXPIRED, "rotating", version))).toHaveLength(1);
      expect(ce.events(eventIs(EXPIRED, "rotating", version))).toHaveLength(1);
      expect(eg.events(eventIs(NEAR, "rotating", version))).toHaveLength(1);
      // db-password (exp in 60 days) came within 30 days of its exp on the way: one SecretNearExpiry too.
      expect(eg.events(eventIs(NEAR, "db-password"))).toHaveLength(1);
    } finally {
      await admin(kv.adminUrl, "POST", "/clock", { reset: true });
    }
    // Back in the present nothing is published again.
    await sleep(400);
    expect(eg.events(eventIs(NEAR, "rotating", version))).toHaveLength(1);
    const published = (await admin(kv.adminUrl, "GET", "/events/published")).json as { events: Array<{ eventType: string; secret: string }> };
    expect(published.events.filter((e) => e.secret === "rotating").map((e) => e.eventType)).toEqual([NEW, NEAR, EXPIRED]);
  });

  it("retries a failing webhook with growing delays and records every attempt in the delivery log", async () => {
    eg.failNext(2, { when: (e) => e.subject === "flaky" });
    const set = await client.setSecret("flaky", "flaky-value");
    const version = set.properties.version as string;

    const attempts = await eg.waitForEvents(eventIs(NEW, "flaky", version), 3);
    expect(attempts.map((a) => a.request.answered)).toEqual([500, 500, 200]);
    expect(attempts.map((a) => a.request.headers["aeg-delivery-count"])).toEqual(["0", "1", "2"]);
    expect(new Set(attempts.map((a) => a.event.id)).size).toBe(1);

    const log = await until(async () => {
      const res = await admin(kv.adminUrl, "GET", "/events/deliveries?secret=flaky&webhook=eg-hook");
      const list = (res.json as { deliveries: DeliveryRecord[] }).deliveries;
      return list.length === 1 && list[0]?.status !== "pending" ? list : undefined;
    });
    const record = log[0] as DeliveryRecord;
    expect(record).toMatchObject({
      eventId: attempts[0]?.event.id,
      eventType: NEW,
      vault: VAULT,
      secret: "flaky",
      version,
      webhook: `${eg.url}/runtime/webhooks/eventgrid?functionName=egHandler`,
      subscriptionName: "eg-hook",
      redelivery: false,
      attempts: 3,
      status: "delivered",
      statusCode: 200,
    });
    expect(record.attemptLog.map((a) => [a.attempt, a.status])).toEqual([
      [1, 500],
      [2, 500],
      [3, 200],
    ]);
    // Backoff: at least the configured 50 ms, then 100 ms, between attempts.
    const at = record.attemptLog.map((a) => Date.parse(a.at));
    expect((at[1] as number) - (at[0] as number)).toBeGreaterThanOrEqual(45);
    expect((at[2] as number) - (at[1] as number)).toBeGreaterThanOrEqual(95);
    // The CloudEvents webhook was not affected, and the handle shows the same log.
    expect(kv.deliveries({ secret: "flaky", webhook: "ce-hook" }).map((d) => [d.status, d.attempts])).toEqual([["delivered", 1]]);
    expect(kv.deliveries({ secret: "flaky", webhook: "eg-hook" })).toEqual(log);
  });

  it("gives up after the last attempt and marks the delivery failed", async () => {
    eg.failNext(100, { when: (e) => e.subject === "doomed", status: 503 });
    try {
      await client.setSecret("doomed", "doomed-value");
      const failed = await until(() => kv.deliveries({ secret: "doomed", webhook: "eg-hook", status: "failed" })[0]);
      expect(failed).toMatchObject({ attempts: 5, statusCode: 503, status: "failed" });
      expect(failed.attemptLog.map((a) => a.status)).toEqual([503, 503, 503, 503, 503]);
      expect(eg.events(eventIs(NEW, "doomed"))).toHaveLength(5);
      const viaAdmin = (await admin(kv.adminUrl, "GET", "/events/deliveries?secret=doomed&status=failed")).json as { deliveries: DeliveryRecord[] };
      expect(viaAdmin.deliveries.map((d) => d.subscriptionName)).toEqual(["eg-hook"]);
    } finally {
      eg.clearFailures();
    }
  });

  it("redelivers an event on demand as a duplicate with the same event id", async () => {
    expect(dbPasswordEventId).toMatch(UUID);
    const res = await admin(kv.adminUrl, "POST", "/events/redeliver", { eventId: dbPasswordEventId });
    expect(res.status).toBe(202);
    const created = (res.json as { deliveries: DeliveryRecord[] }).deliveries;
    expect(created.map((d) => [d.subscriptionName, d.redelivery, d.eventId])).toEqual([
      ["eg-hook", true, dbPasswordEventId],
      ["ce-hook", true, dbPasswordEventId],
    ]);
    const sameId = (e: ReceivedEvent): boolean => e.event.id === dbPasswordEventId;
    const egCopies = await eg.waitForEvents(sameId, 2);
    const ceCopies = await ce.waitForEvents(sameId, 2);
    expect(egCopies[1]?.event).toEqual(egCopies[0]?.event);
    expect(ceCopies[1]?.event).toEqual(ceCopies[0]?.event);

    // Only one webhook, through the handle.
    const one = kv.redeliver(dbPasswordEventId, "ce-hook");
    expect(one.map((d) => d.subscriptionName)).toEqual(["ce-hook"]);
    await ce.waitForEvents(sameId, 3);
    expect(eg.events(sameId)).toHaveLength(2);
    await until(() => (kv.deliveries({ eventId: dbPasswordEventId, status: "delivered" }).length === 5 ? true : undefined));
    expect(kv.deliveries({ eventId: dbPasswordEventId }).map((d) => d.redelivery)).toEqual([false, false, true, true, true]);

    expect((await admin(kv.adminUrl, "POST", "/events/redeliver", { eventId: "00000000-0000-0000-0000-000000000000" })).status).toBe(404);
    expect((await admin(kv.adminUrl, "POST", "/events/redeliver", {})).status).toBe(400);
    expect(() => kv.redeliver(dbPasswordEventId, "no-such-hook")).toThrow(RangeError);
  });

  it("accepts loopback webhook URLs only", async () => {
    const before = (await admin(kv.adminUrl, "GET", "/webhooks")).json;
    for (const url of [
      "http://example.com/hook",
      "https://myapp.azurewebsites.net/runtime/webhooks/eventgrid?functionName=f",
      "http://10.1.2.3:7071/x",
      "http://169.254.169.254/metadata",
      "http://127.0.0.2/x",
      "ftp://127.0.0.1/x",
    ]) {
      const res = await admin(kv.adminUrl, "PUT", "/webhooks", [{ url }]);
      expect(res.status, url).toBe(400);
      expect((res.json as { error: string }).error).toMatch(/loopback only/);
    }
    expect((await admin(kv.adminUrl, "PUT", "/webhooks", [{ url: "http://user:pw@127.0.0.1:9/x" }])).status).toBe(400);
    // Rejected lists change nothing.
    expect((await admin(kv.adminUrl, "GET", "/webhooks")).json).toEqual(before);
    await expect(kv.setWebhooks([{ url: "http://example.org/x" }])).rejects.toThrow(/loopback only/);
    await expect(startKeyVaultEmulator({ eventWebhooks: [{ url: "http://192.168.1.10:7071/x" }] })).rejects.toThrow(/loopback only/);
    expect(() => parseCliArgs(["--webhook", "http://example.com/x"])).toThrow(/loopback only/);
    // The loopback spellings are accepted.
    expect(parseWebhooks([{ url: "http://localhost:7071/a" }, { url: "https://127.0.0.1/b" }, { url: "http://[::1]:7071/c" }])).toHaveLength(3);
  });
});
