/** @module functions-host/eventGrid: the Event Grid webhook rules of the Functions host (pure functions). */

/** Path of the system webhook; matched case-insensitively because Azure docs spell it `EventGrid`. */
export const EVENT_GRID_WEBHOOK_PATH = "/runtime/webhooks/eventgrid";

/** What the extension does with a webhook request, decided from its method and `aeg-event-type` header. */
export type EventGridAction = "abuseProtection" | "validation" | "notification" | "unsubscribe" | "badRequest";

/** True when a raw request path (no query) is the Event Grid webhook. */
export function isEventGridWebhookPath(rawPath: string): boolean {
  const path = rawPath.endsWith("/") ? rawPath.slice(0, -1) : rawPath;
  return path.toLowerCase() === EVENT_GRID_WEBHOOK_PATH;
}

/**
 * Classifies a request the way the extension's HttpRequestProcessor does: OPTIONS is the CloudEvents
 * abuse-protection handshake; otherwise the `aeg-event-type` header (case-insensitive) decides, and a
 * missing or unknown value is a bad request.
 */
export function classifyEventGridRequest(method: string, eventTypeHeader: string | undefined): EventGridAction {
  if (method.toUpperCase() === "OPTIONS") return "abuseProtection";
  switch (eventTypeHeader?.toLowerCase()) {
    case "subscriptionvalidation":
      return "validation";
    case "notification":
      return "notification";
    case "unsubscribe":
      return "unsubscribe";
    default:
      return "badRequest";
  }
}

const KNOWN_ORIGINS = [
  "eventgrid.azure.net",
  "eventgrid.azure.us",
  "eventgrid.azure.eaglex.ic.gov",
  "eventgrid.azure.microsoft.scloud",
  "eventgrid.azure.cn",
];

/** The `WebHook-Allowed-Origin` answer: the request origin if it is an Event Grid cloud, else the public one. */
export function allowedWebhookOrigin(requestOrigin: string | undefined): string {
  return requestOrigin !== undefined && KNOWN_ORIGINS.includes(requestOrigin) ? requestOrigin : KNOWN_ORIGINS[0];
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

/**
 * The validation code of a SubscriptionValidation body: the first event of an array (Event Grid schema) or
 * a single object (CloudEvents, type `Microsoft.EventGrid.SubscriptionValidationEvent`), whose `data` may be
 * an object or a JSON-encoded string (CloudEvents double-encode it). Undefined when absent.
 */
export function extractValidationCode(body: unknown): string | undefined {
  const event = Array.isArray(body) ? body[0] : body;
  if (!isRecord(event)) return undefined;
  let data = event.data;
  if (typeof data === "string") {
    try {
      data = JSON.parse(data);
    } catch {
      return undefined;
    }
  }
  if (!isRecord(data)) return undefined;
  const code = data.validationCode;
  return typeof code === "string" ? code : undefined;
}

/** The events of a Notification body: an array as is, a single object wrapped; undefined for anything else. */
export function toEventList(body: unknown): unknown[] | undefined {
  if (Array.isArray(body)) return body;
  if (isRecord(body)) return [body];
  return undefined;
}

/** 202 when every invocation succeeded, otherwise 500 (Event Grid then redelivers the whole batch). */
export function notificationStatus(succeeded: readonly boolean[]): 202 | 500 {
  return succeeded.every(Boolean) ? 202 : 500;
}

/** The event's schema, for logging and trigger metadata. */
export function eventSchema(event: unknown): "cloudEvents" | "eventGrid" | "unknown" {
  if (!isRecord(event)) return "unknown";
  if (typeof event.specversion === "string") return "cloudEvents";
  if (typeof event.eventType === "string") return "eventGrid";
  return "unknown";
}

/**
 * Json.NET's default `MaxDepth`, which the Event Grid extension parses webhook bodies with: anything
 * nested deeper is a 400 there, before any function runs.
 */
export const MAX_EVENT_JSON_DEPTH = 64;

/**
 * Whether JSON text nests objects and arrays deeper than `maxDepth` (a linear scan, no recursion, so a
 * 200k-deep body costs one pass and never a stack overflow while serialising it for the worker).
 */
export function jsonNestsDeeperThan(text: string, maxDepth: number): boolean {
  let depth = 0;
  let inString = false;
  for (let i = 0; i < text.length; i++) {
    const ch = text.charCodeAt(i);
    if (inString) {
      if (ch === 0x5c) i++; // backslash: skip the escaped character
      else if (ch === 0x22) inString = false;
    } else if (ch === 0x22) {
      inString = true;
    } else if (ch === 0x5b || ch === 0x7b) {
      if (++depth > maxDepth) return true;
    } else if (ch === 0x5d || ch === 0x7d) {
      depth--;
    }
  }
  return false;
}
