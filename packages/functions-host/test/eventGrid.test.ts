/** @module functions-host/test/eventGrid: the Event Grid webhook header and status rules. */

import { describe, expect, it } from "vitest";
import {
  allowedWebhookOrigin,
  classifyEventGridRequest,
  eventSchema,
  extractValidationCode,
  isEventGridWebhookPath,
  notificationStatus,
  toEventList,
} from "../src/eventGrid";

describe("isEventGridWebhookPath", () => {
  it.each([
    ["/runtime/webhooks/eventgrid", true],
    ["/runtime/webhooks/EventGrid", true],
    ["/runtime/webhooks/eventgrid/", true],
    ["/api/runtime/webhooks/eventgrid", false],
    ["/runtime/webhooks/eventgridx", false],
  ])("%s -> %s", (path, expected) => {
    expect(isEventGridWebhookPath(path)).toBe(expected);
  });
});

describe("classifyEventGridRequest", () => {
  it.each([
    ["POST", "SubscriptionValidation", "validation"],
    ["POST", "subscriptionvalidation", "validation"],
    ["POST", "Notification", "notification"],
    ["POST", "NOTIFICATION", "notification"],
    ["POST", "Unsubscribe", "unsubscribe"],
    ["POST", undefined, "badRequest"],
    ["POST", "Something", "badRequest"],
    ["GET", "Notification", "notification"],
    ["OPTIONS", undefined, "abuseProtection"],
    ["options", "Notification", "abuseProtection"],
  ])("%s with aeg-event-type %s -> %s", (method, header, expected) => {
    expect(classifyEventGridRequest(method, header)).toBe(expected);
  });
});

describe("allowedWebhookOrigin", () => {
  it("echoes known Event Grid clouds and falls back to the public one", () => {
    expect(allowedWebhookOrigin("eventgrid.azure.net")).toBe("eventgrid.azure.net");
    expect(allowedWebhookOrigin("eventgrid.azure.us")).toBe("eventgrid.azure.us");
    expect(allowedWebhookOrigin("example.com")).toBe("eventgrid.azure.net");
    expect(allowedWebhookOrigin(undefined)).toBe("eventgrid.azure.net");
  });
});

describe("extractValidationCode", () => {
  it("reads the first event of an Event Grid schema array", () => {
    const body = [{ id: "1", eventType: "Microsoft.EventGrid.SubscriptionValidationEvent", data: { validationCode: "ABC", validationUrl: "https://x" } }];
    expect(extractValidationCode(body)).toBe("ABC");
  });

  it("reads a CloudEvents validation event, with data as an object or double-encoded", () => {
    const base = { specversion: "1.0", type: "Microsoft.EventGrid.SubscriptionValidationEvent", source: "/s", id: "1" };
    expect(extractValidationCode({ ...base, data: { validationCode: "OBJ" } })).toBe("OBJ");
    expect(extractValidationCode({ ...base, data: JSON.stringify({ validationCode: "STR" }) })).toBe("STR");
  });

  it.each([[[]], [{}], [{ data: "not json" }], [{ data: { validationCode: 5 } }], ["text"]])("returns undefined for %j", (body) => {
    expect(extractValidationCode(body)).toBeUndefined();
  });
});

describe("toEventList / notificationStatus / eventSchema", () => {
  it("wraps a single object and keeps arrays", () => {
    expect(toEventList([{ id: "a" }, { id: "b" }])).toEqual([{ id: "a" }, { id: "b" }]);
    expect(toEventList({ id: "a" })).toEqual([{ id: "a" }]);
    expect(toEventList("x")).toBeUndefined();
    expect(toEventList(null)).toBeUndefined();
  });

  it("is 202 only when every invocation succeeded", () => {
    expect(notificationStatus([true, true])).toBe(202);
    expect(notificationStatus([])).toBe(202);
    expect(notificationStatus([true, false])).toBe(500);
  });

  it("tells the two schemas apart", () => {
    expect(eventSchema({ specversion: "1.0", type: "t" })).toBe("cloudEvents");
    expect(eventSchema({ eventType: "t" })).toBe("eventGrid");
    expect(eventSchema(42)).toBe("unknown");
  });
});
