/** @module functions-host/test/eventGridWebhook: the /runtime/webhooks/eventgrid endpoint served by the host CLI. */

import { existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import * as path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { eventually, killAllChildren, startFixtureHost, type RunningHost } from "./helpers";

interface Delivered {
  event: Record<string, unknown>;
  triggerMetadata: Record<string, unknown>;
}

function isDelivered(value: unknown): value is Delivered {
  return typeof value === "object" && value !== null && "event" in value && "triggerMetadata" in value;
}

const secretEvent = (id: string, name: string): Record<string, unknown> => ({
  id,
  topic: "/subscriptions/x/resourceGroups/rg/providers/Microsoft.KeyVault/vaults/dev",
  subject: name,
  eventType: "Microsoft.KeyVault.SecretNewVersionCreated",
  eventTime: "2026-01-01T00:00:00Z",
  data: { Id: `https://dev.vault.azure.net/secrets/${name}/1`, VaultName: "dev", ObjectType: "Secret", ObjectName: name },
  dataVersion: "1",
  metadataVersion: "1",
});

describe("eventgrid-app webhook", () => {
  let host: RunningHost;
  let dir: string;
  let outFile: string;

  const delivered = (): Delivered[] =>
    existsSync(outFile)
      ? readFileSync(outFile, "utf8")
          .split("\n")
          .filter((l) => l !== "")
          .map((l): unknown => JSON.parse(l))
          .filter(isDelivered)
      : [];

  const post = (functionName: string, eventType: string | undefined, body: unknown, pathName = "/runtime/webhooks/eventgrid"): Promise<Response> =>
    fetch(`${host.url}${pathName}?functionName=${functionName}`, {
      method: "POST",
      headers: { "Content-Type": "application/json", ...(eventType === undefined ? {} : { "aeg-event-type": eventType }) },
      body: JSON.stringify(body),
    });

  beforeAll(async () => {
    dir = mkdtempSync(path.join(tmpdir(), "host-eg-"));
    outFile = path.join(dir, "events.jsonl");
    host = await startFixtureHost("eventgrid-app", { EVENTS_OUT: outFile });
  });

  afterAll(async () => {
    await host?.stop();
    await killAllChildren();
    rmSync(dir, { recursive: true, force: true });
  });

  it("answers the Event Grid schema validation handshake", async () => {
    const body = [
      {
        id: "v1",
        topic: "t",
        subject: "",
        eventType: "Microsoft.EventGrid.SubscriptionValidationEvent",
        eventTime: "2026-01-01T00:00:00Z",
        data: { validationCode: "512d38b6-c7b8-40c8-89fe-f46f9e9622b6", validationUrl: "https://example.invalid" },
        dataVersion: "2",
        metadataVersion: "1",
      },
    ];
    const res = await post("onSecretEvent", "SubscriptionValidation", body);
    expect(res.status).toBe(200);
    expect(res.headers.get("content-type")).toBe("text/plain; charset=utf-8");
    expect(await res.json()).toEqual({ validationResponse: "512d38b6-c7b8-40c8-89fe-f46f9e9622b6" });
  });

  it("answers a CloudEvents validation event whose data is double-encoded", async () => {
    const body = {
      specversion: "1.0",
      type: "Microsoft.EventGrid.SubscriptionValidationEvent",
      source: "/subscriptions/x",
      id: "v2",
      data: JSON.stringify({ validationCode: "cloud-code" }),
    };
    const res = await post("onSecretEvent", "SubscriptionValidation", body, "/runtime/webhooks/EventGrid");
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ validationResponse: "cloud-code" });
  });

  it("accepts the CloudEvents abuse-protection OPTIONS handshake", async () => {
    const res = await fetch(`${host.url}/runtime/webhooks/eventgrid?functionName=onSecretEvent`, {
      method: "OPTIONS",
      headers: { "WebHook-Request-Origin": "eventgrid.azure.net" },
    });
    expect(res.status).toBe(200);
    expect(res.headers.get("webhook-allowed-origin")).toBe("eventgrid.azure.net");
  });

  it("dispatches every event of a notification array to the function and answers 202", async () => {
    const res = await post("onSecretEvent", "Notification", [secretEvent("e1", "alpha"), secretEvent("e2", "beta")], "/runtime/webhooks/EventGrid");
    expect(res.status).toBe(202);
    const events = await eventually(() => {
      const found = delivered().filter((d) => d.event.id === "e1" || d.event.id === "e2");
      return found.length === 2 ? found : undefined;
    });
    expect(events.map((d) => d.event).sort((a, b) => String(a.id).localeCompare(String(b.id)))).toEqual([secretEvent("e1", "alpha"), secretEvent("e2", "beta")]);
    // Trigger metadata is camel-cased by the library; the event itself is passed as sent.
    expect(events.find((d) => d.event.id === "e1")?.triggerMetadata).toMatchObject({
      data: { id: "https://dev.vault.azure.net/secrets/alpha/1", vaultName: "dev", objectType: "Secret", objectName: "alpha" },
      sys: { methodName: "onSecretEvent" },
    });
  });

  it("dispatches a single CloudEvents 1.0 object", async () => {
    const cloudEvent = { specversion: "1.0", type: "Microsoft.KeyVault.SecretNewVersionCreated", source: "/vaults/dev", id: "ce1", subject: "gamma", data: { ObjectName: "gamma" } };
    const res = await post("onSecretEvent", "Notification", cloudEvent);
    expect(res.status).toBe(202);
    const found = await eventually(() => delivered().find((d) => d.event.id === "ce1"));
    expect(found.event).toEqual(cloudEvent);
  });

  it("answers 500 when any invocation of the batch fails", async () => {
    const res = await post("failingEvent", "Notification", [
      { id: "ok", subject: "fine", eventType: "x", data: {} },
      { id: "bad", subject: "fail", eventType: "x", data: {} },
    ]);
    expect(res.status).toBe(500);
    expect(await res.text()).toBe("Exception while executing function: Functions.failingEvent");
    expect((await post("failingEvent", "Notification", [{ id: "ok2", subject: "fine", eventType: "x" }])).status).toBe(202);
  });

  it("answers 400 without a valid aeg-event-type header and 202 for Unsubscribe", async () => {
    expect((await post("onSecretEvent", undefined, [secretEvent("n1", "x")])).status).toBe(400);
    expect((await post("onSecretEvent", "Bogus", [secretEvent("n2", "x")])).status).toBe(400);
    expect((await post("onSecretEvent", "Unsubscribe", {})).status).toBe(202);
    expect(delivered().some((d) => d.event.id === "n1" || d.event.id === "n2")).toBe(false);
  });

  it("answers 400 for deep or malformed bodies without running anything or logging an unhandled error", async () => {
    const deep = "[".repeat(200_000) + "]".repeat(200_000);
    const send = (body: string): Promise<Response> =>
      fetch(`${host.url}/runtime/webhooks/eventgrid?functionName=onSecretEvent`, {
        method: "POST",
        headers: { "Content-Type": "application/json", "aeg-event-type": "Notification" },
        body,
      });
    for (const body of [deep, `[{"id":"deep","data":${"{\"a\":".repeat(100)}1${"}".repeat(100)}}]`, '[{"id":', "\u0000", '"just a string"']) {
      const res = await send(body);
      expect(res.status, body.slice(0, 40)).toBe(400);
      expect(await res.text()).toBe("The request content should be parseable into a JSON object or array.");
    }
    // Brackets inside strings do not count, and 64 levels are still fine.
    expect((await send(JSON.stringify([{ id: "brackets", subject: "[[[[", eventType: "x", data: { s: "{".repeat(1000) } }]))).status).toBe(202);
    let nested: unknown = 1;
    for (let i = 0; i < 62; i++) nested = { n: nested };
    expect((await send(JSON.stringify([{ id: "deep-ok", eventType: "x", data: nested }]))).status).toBe(202);
    expect(host.output()).not.toMatch(/Maximum call stack|unhandled|RangeError/i);
  });

  it("answers 404 for an unknown function or a function that is not an Event Grid trigger", async () => {
    const res = await post("noSuchFunction", "Notification", []);
    expect(res.status).toBe(404);
    expect(await res.text()).toBe("cannot find function: 'noSuchFunction'");
    expect((await post("ONSECRETEVENT", "Notification", [])).status).toBe(404);
    expect((await fetch(`${host.url}/runtime/webhooks/eventgrid`, { method: "POST", headers: { "aeg-event-type": "Notification" }, body: "[]" })).status).toBe(404);
  });
});
