/**
 * @module keyvault-emulator/test/events.config: Event Grid webhook configuration and scheduling without the
 * SDK (secrets written through the admin API and the store): filters, immediate re-checks after clock shifts and
 * `exp` changes, the subscription validation handshake, exactly-once publishing across restarts, CLI and seed.
 */
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import * as path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { parseCliArgs } from "../src/cli";
import { SECRET_EVENT_TYPES, WebhookValidationError } from "../src/eventGrid";
import { parseSeedDocument } from "../src/seed";
import { type KeyVaultEmulator, startKeyVaultEmulator } from "../src/server";
import { eventIs, type EventReceiver, type ReceivedEvent, startEventReceiver } from "./eventReceiver";
import { admin } from "./helpers";

const DAY = 86_400;
const { newVersion: NEW, nearExpiry: NEAR, expired: EXPIRED } = SECRET_EVENT_TYPES;
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
const onPath =
  (p: string) =>
  (e: ReceivedEvent): boolean =>
    e.request.path === p;
const summary = (events: ReceivedEvent[]): string[] => events.map((e) => `${String(e.event.eventType ?? e.event.type)} ${String(e.event.subject)}`).sort();

async function putSecret(kv: KeyVaultEmulator, vault: string, name: string, value: string, exp?: number): Promise<string> {
  const res = await admin(kv.adminUrl, "PUT", `/vaults/${vault}/secrets/${name}`, { value, ...(exp === undefined ? {} : { attributes: { exp } }) });
  expect(res.status).toBe(201);
  return (res.json as { version: string }).version;
}

function nowSeconds(kv: KeyVaultEmulator): number {
  return Math.floor(kv.clock.now() / 1000);
}

describe("Event Grid webhooks: filters and scheduling", () => {
  let kv: KeyVaultEmulator;
  let rx: EventReceiver;
  const logLines: string[] = [];

  beforeAll(async () => {
    rx = await startEventReceiver();
    kv = await startKeyVaultEmulator({
      vaults: ["vault-a", "vault-b"],
      eventWebhooks: [
        { url: `${rx.url}/all` },
        { url: `${rx.url}/near`, eventTypes: ["SecretNearExpiry"] },
        { url: `${rx.url}/b`, vaults: ["VAULT-B"], schema: "CloudEventSchemaV1_0" },
      ],
      // A long interval: whatever arrives within a second came from the immediate re-check.
      eventDelivery: { expiryCheckIntervalMs: 60_000, retryDelaysMs: [20] },
      logger: (line) => logLines.push(line),
    });
  });

  afterAll(async () => {
    await kv?.close();
    await rx?.close();
  });

  it("delivers to the webhooks whose event type and vault filters match", async () => {
    expect(kv.eventWebhooks[1]?.eventTypes).toEqual([NEAR]);
    const started = Date.now();
    await putSecret(kv, "vault-a", "s1", "value-s1-secret", nowSeconds(kv) + 10 * DAY);
    await putSecret(kv, "vault-b", "s2", "value-s2-secret");
    await rx.waitForEvents(onPath("/near"), 1, 3000);
    expect(Date.now() - started).toBeLessThan(3000);
    await rx.waitForEvents(onPath("/all"), 3);
    await rx.waitForEvents(onPath("/b"), 1);
    await sleep(200);
    expect(summary(rx.events(onPath("/all")))).toEqual([`${NEAR} s1`, `${NEW} s1`, `${NEW} s2`]);
    expect(summary(rx.events(onPath("/near")))).toEqual([`${NEAR} s1`]);
    expect(summary(rx.events(onPath("/b")))).toEqual([`${NEW} s2`]);
    // Validation is off by default: no handshake requests at all.
    expect(rx.requests.filter((r) => r.method === "OPTIONS" || r.headers["aeg-event-type"] === "SubscriptionValidation")).toEqual([]);
    // The log names secrets and versions, never values.
    await kv.deliveriesSettled();
    expect(logLines.some((l) => l.includes("delivery") && l.includes("s1"))).toBe(true);
    expect(logLines.join("\n")).not.toMatch(/value-s[12]-secret/);
  });

  it("re-checks at once after a clock shift and after an exp change, watching the current version only", async () => {
    const exp = nowSeconds(kv) + 40 * DAY;
    const v1 = await putSecret(kv, "vault-a", "later", "v1-value", exp);
    const v2 = await putSecret(kv, "vault-a", "later", "v2-value");
    const shifty = await putSecret(kv, "vault-b", "shifty", "shifty-value", nowSeconds(kv) + 35 * DAY);
    try {
      kv.clock.advance(15 * DAY * 1000);
      // shifty is 20 days from exp: delivered right after the shift, long before the 60 s interval.
      await rx.waitForEvents(eventIs(NEAR, "shifty", shifty), 2, 3000);
      // later/v1 is within 30 days too, but it is no longer the current version (Key Vault watches the current one).
      await sleep(300);
      expect(rx.events(eventIs(NEAR, "later", v1))).toEqual([]);
      // Moving the current version's exp closer publishes at once.
      kv.store("vault-a").update("later", undefined, { exp: nowSeconds(kv) + 5 * DAY });
      const near = await rx.waitForEvents(eventIs(NEAR, "later", v2), 1, 3000);
      expect((near[0]?.event.data as { EXP: number }).EXP).toBe(nowSeconds(kv) + 5 * DAY);
      // s1 (exp 10 days after its creation) expired with the shift.
      await rx.waitForEvents(eventIs(EXPIRED, "s1"), 1, 3000);
    } finally {
      kv.clock.reset();
    }
  });

  it("watches every version when expiryEventsFor is allVersions", async () => {
    const rx2 = await startEventReceiver();
    const kv2 = await startKeyVaultEmulator({
      vaults: ["all-versions"],
      eventWebhooks: [{ url: `${rx2.url}/x` }],
      eventDelivery: { expiryEventsFor: "allVersions", expiryCheckIntervalMs: 60_000 },
    });
    try {
      const store = kv2.store("all-versions");
      const v1 = store.set("multi", { value: "old", exp: nowSeconds(kv2) + 40 * DAY }).version.version;
      const v2 = store.set("multi", { value: "new" }).version.version;
      kv2.clock.advance(15 * DAY * 1000);
      await rx2.waitForEvents(eventIs(NEAR, "multi", v1), 1, 3000);
      expect(kv2.checkExpiry()).toEqual([]);
      expect(rx2.events(eventIs(NEAR, "multi", v2))).toEqual([]);
    } finally {
      await kv2.close();
      await rx2.close();
    }
  });
});

describe("Event Grid webhooks: subscription validation handshake", () => {
  let kv: KeyVaultEmulator;
  let rx: EventReceiver;

  beforeAll(async () => {
    rx = await startEventReceiver();
    kv = await startKeyVaultEmulator({ vaults: ["validated"], eventDelivery: { validateWebhooks: true, validationTimeoutMs: 2000 } });
  });

  afterAll(async () => {
    await kv?.close();
    await rx?.close();
  });

  const validationRequests = (p: string) => rx.requests.filter((r) => r.path === p && r.headers["aeg-event-type"] === "SubscriptionValidation");

  it("sends a SubscriptionValidationEvent and accepts the echoed validation code", async () => {
    rx.validation = "echo";
    await kv.setWebhooks([{ url: `${rx.url}/eg`, name: "checked" }]);
    const [req] = validationRequests("/eg");
    expect(req?.method).toBe("POST");
    expect(req?.headers).toMatchObject({ "aeg-subscription-name": "CHECKED", "content-type": "application/json; charset=utf-8" });
    const events = req?.json as Array<Record<string, unknown>>;
    expect(events).toHaveLength(1);
    expect(events[0]).toEqual({
      id: expect.any(String),
      topic: expect.stringMatching(/^\/subscriptions\/[0-9a-f-]{36}\/resourceGroups\/[^/]+\/providers\/Microsoft\.KeyVault\/vaults\/validated$/),
      subject: "",
      data: { validationCode: expect.any(String), validationUrl: expect.stringContaining(`${kv.adminUrl}/webhooks/validate?code=`) },
      eventType: "Microsoft.EventGrid.SubscriptionValidationEvent",
      eventTime: expect.any(String),
      metadataVersion: "1",
      dataVersion: "1",
    });
    expect(kv.eventWebhooks.map((w) => w.url)).toEqual([`${rx.url}/eg`]);
    // Registering the same webhook again does not repeat the handshake.
    await kv.setWebhooks([{ url: `${rx.url}/eg`, name: "checked" }]);
    expect(validationRequests("/eg")).toHaveLength(1);
  });

  it("runs the OPTIONS abuse-protection handshake for CloudEvents webhooks", async () => {
    await kv.setWebhooks([...kv.eventWebhooks, { url: `${rx.url}/ce`, schema: "CloudEventSchemaV1_0" }]);
    const options = rx.requests.filter((r) => r.method === "OPTIONS" && r.path === "/ce");
    expect(options).toHaveLength(1);
    expect(options[0]?.headers["webhook-request-origin"]).toBe("eventgrid.azure.net");

    rx.allowOrigin = false;
    try {
      await expect(kv.setWebhooks([...kv.eventWebhooks, { url: `${rx.url}/ce2`, schema: "CloudEventSchemaV1_0" }])).rejects.toThrow(WebhookValidationError);
    } finally {
      rx.allowOrigin = true;
    }
    expect(kv.eventWebhooks.map((w) => w.url)).toEqual([`${rx.url}/eg`, `${rx.url}/ce`]);
  });

  it("accepts a GET on the validation URL instead of the echoed code", async () => {
    rx.validation = "validationUrl";
    try {
      await kv.setWebhooks([...kv.eventWebhooks, { url: `${rx.url}/manual` }]);
    } finally {
      rx.validation = "echo";
    }
    expect(validationRequests("/manual")).toHaveLength(1);
    expect(kv.eventWebhooks.map((w) => w.url)).toContain(`${rx.url}/manual`);
    expect((await admin(kv.adminUrl, "GET", "/webhooks/validate?code=not-a-pending-code")).status).toBe(404);
  });

  it("rejects a webhook that fails the handshake and keeps the previous list", async () => {
    const before = kv.eventWebhooks;
    rx.validation = "reject";
    try {
      const res = await admin(kv.adminUrl, "PUT", "/webhooks", [...before, { url: `${rx.url}/refused` }]);
      expect(res.status).toBe(400);
      expect((res.json as { error: string }).error).toMatch(/validation handshake.*status 403/);
      expect(kv.eventWebhooks).toEqual(before);
      // validate: false on the webhook overrides the emulator default.
      await kv.setWebhooks([...before, { url: `${rx.url}/unchecked`, validate: false }]);
      expect(validationRequests("/unchecked")).toEqual([]);
      // A failing handshake at startup fails the start.
      await expect(startKeyVaultEmulator({ vaults: ["other-vault"], eventWebhooks: [{ url: `${rx.url}/boot`, validate: true }] })).rejects.toThrow(
        WebhookValidationError,
      );
    } finally {
      rx.validation = "echo";
    }
  });
});

describe("Event Grid events: exactly once across restarts with persistence", () => {
  let work: string;
  let rx: EventReceiver;

  beforeAll(async () => {
    work = mkdtempSync(path.join(tmpdir(), "kv-emulator-events-"));
    rx = await startEventReceiver();
  });

  afterAll(async () => {
    await rx?.close();
    rmSync(work, { recursive: true, force: true });
  });

  it("never publishes the same (version, event type) twice", async () => {
    const persistenceFile = path.join(work, "state.json");
    const start = () =>
      startKeyVaultEmulator({
        vaults: ["durable"],
        persistenceFile,
        eventWebhooks: [{ url: `${rx.url}/p` }],
        eventDelivery: { expiryCheckIntervalMs: 100 },
      });

    const first = await start();
    let version: string;
    let exp: number;
    try {
      exp = nowSeconds(first) + 10 * DAY;
      version = await putSecret(first, "durable", "kept", "kept-value", exp);
      await rx.waitForEvents(eventIs(NEAR, "kept", version), 1, 1500);
      await rx.waitForEvents(eventIs(NEW, "kept", version));
    } finally {
      await first.close();
    }

    const second = await start();
    try {
      await sleep(400);
      expect(second.checkExpiry()).toEqual([]);
      expect(rx.events(eventIs(NEW, "kept", version))).toHaveLength(1);
      expect(rx.events(eventIs(NEAR, "kept", version))).toHaveLength(1);
      second.clock.advance(11 * DAY * 1000);
      await rx.waitForEvents(eventIs(EXPIRED, "kept", version), 1, 1500);
    } finally {
      await second.close();
    }
    const file = JSON.parse(readFileSync(persistenceFile, "utf8")) as { eventGrid?: { published: string[] } };
    expect(file.eventGrid?.published.filter((k) => k.includes(version)).sort()).toEqual(
      [EXPIRED, NEAR, NEW].map((t) => `durable/${version}/${t}`).sort(),
    );
    expect(readFileSync(persistenceFile, "utf8")).not.toContain("Microsoft.EventGrid");

    const third = await start();
    try {
      third.clock.advance(11 * DAY * 1000);
      await sleep(400);
      expect(third.checkExpiry()).toEqual([]);
      expect(rx.events(eventIs(EXPIRED, "kept", version))).toHaveLength(1);
      expect(rx.events(eventIs(NEAR, "kept", version))).toHaveLength(1);
      expect(exp).toBeGreaterThan(0);
    } finally {
      await third.close();
    }
  });
});

describe("Event Grid webhooks: options, CLI and seed", () => {
  it("parses --webhook, --validate-webhooks and the delivery flags", () => {
    const { options } = parseCliArgs([
      "--webhook",
      "http://127.0.0.1:7071/runtime/webhooks/eventgrid?functionName=onKeyVaultEvent",
      "--webhook",
      "http://localhost:7072/api/events,cloudevents",
      "--webhook",
      "http://127.0.0.1:7073/x,EventGridSchema",
      "--validate-webhooks",
      "--event-retry-delays",
      "10,20,40",
      "--event-max-attempts",
      "3",
      "--expiry-check-interval",
      "500",
      "--quiet",
    ]);
    expect(options.eventWebhooks).toEqual([
      { url: "http://127.0.0.1:7071/runtime/webhooks/eventgrid?functionName=onKeyVaultEvent" },
      { url: "http://localhost:7072/api/events", schema: "CloudEventSchemaV1_0" },
      { url: "http://127.0.0.1:7073/x", schema: "EventGridSchema" },
    ]);
    expect(options.eventDelivery).toEqual({ validateWebhooks: true, retryDelaysMs: [10, 20, 40], maxAttempts: 3, expiryCheckIntervalMs: 500 });
    expect(() => parseCliArgs(["--event-retry-delays", "10,soon"])).toThrow(RangeError);
    expect(() => parseCliArgs(["--event-max-attempts", "0"])).toThrow(RangeError);
  });

  it("reads webhooks from the seed file and merges them with the options", async () => {
    const doc = parseSeedDocument({ webhooks: [{ url: "http://127.0.0.1:9/a", eventTypes: ["SecretNearExpiry", "microsoft.keyvault.secretexpired"] }] }, Date.now());
    expect(doc.webhooks).toEqual([{ url: "http://127.0.0.1:9/a", eventTypes: [NEAR, EXPIRED] }]);
    expect(() => parseSeedDocument({ webhooks: [{ url: "http://example.com/a" }] }, Date.now())).toThrow(/loopback only/);
    expect(() => parseSeedDocument({ webhooks: [{ url: "http://127.0.0.1:9/a", eventTypes: ["SecretRotated"] }] }, Date.now())).toThrow(/not a Key Vault event type/);
    expect(() => parseSeedDocument({ webhooks: [{ url: "http://127.0.0.1:9/a", name: "x" }] }, Date.now())).toThrow(/name/);

    // A receiver of ours: an emulator with webhooks may deliver, and never to a fixed port it does not own.
    const hooks = await startEventReceiver();
    const a = { url: `${hooks.url}/a` };
    const b = { url: `${hooks.url}/b`, schema: "CloudEventSchemaV1_0" as const };
    const kv = await startKeyVaultEmulator({ vaults: ["seeded-hooks"], eventWebhooks: [a], seed: { webhooks: [a, b] }, eventDelivery: { maxAttempts: 1 } });
    try {
      expect(kv.eventWebhooks).toEqual([a, b]);
      expect(((await admin(kv.adminUrl, "GET", "/config")).json as { eventWebhooks: unknown }).eventWebhooks).toEqual([a, b]);
      const seeded = await admin(kv.adminUrl, "POST", "/seed", { webhooks: [{ url: `${hooks.url}/c`, vaults: ["seeded-hooks"] }] });
      expect(seeded.status).toBe(200);
      expect(((await admin(kv.adminUrl, "GET", "/webhooks")).json as { webhooks: Array<{ url: string }> }).webhooks.map((w) => w.url)).toEqual([
        `${hooks.url}/a`,
        `${hooks.url}/b`,
        `${hooks.url}/c`,
      ]);
      expect((await admin(kv.adminUrl, "PUT", "/webhooks", [{ url: `${hooks.url}/a`, name: "dup" }, { url: `${hooks.url}/b`, name: "DUP" }])).status).toBe(400);
    } finally {
      await kv.close();
      await hooks.close();
    }
    await expect(startKeyVaultEmulator({ eventDelivery: { maxAttempts: 0 } })).rejects.toThrow(RangeError);
  });
});
