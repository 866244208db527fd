/**
 * @module keyvault-emulator/test/eventReceiver: a tiny Event Grid webhook receiver on 127.0.0.1 (port 0)
 * that records every request and can be told to fail, or how to answer validation handshakes.
 */
import { createServer, type IncomingHttpHeaders, request } from "node:http";
import type { AddressInfo } from "node:net";

/** A recorded request. */
export interface ReceivedRequest {
  method: string;
  /** Path and query. */
  path: string;
  headers: IncomingHttpHeaders;
  body: string;
  json: unknown;
  /** The status the receiver answered. */
  answered: number;
}

/** An event as received, with the request that carried it. */
export interface ReceivedEvent {
  /** The event object (Event Grid schema or CloudEvent). */
  event: Record<string, unknown>;
  request: ReceivedRequest;
}

/** How the receiver answers `aeg-event-type: SubscriptionValidation`. */
export type ValidationMode = "echo" | "validationUrl" | "reject";

/** Options of {@link EventReceiver.failNext}. */
export interface FailOptions {
  /** Status to answer; default 500. */
  status?: number;
  /** Only requests carrying an event this accepts count. */
  when?: (event: Record<string, unknown>) => boolean;
}

/** A running receiver. */
export interface EventReceiver {
  /** `http://127.0.0.1:<port>`. */
  readonly url: string;
  readonly requests: ReceivedRequest[];
  /** Answers the next `n` matching notifications with an error status. */
  failNext(n: number, options?: FailOptions): void;
  /** Drops pending failure rules. */
  clearFailures(): void;
  /** Validation answer mode (default "echo"). */
  validation: ValidationMode;
  /** Whether OPTIONS answers `WebHook-Allowed-Origin` (default true). */
  allowOrigin: boolean;
  /** Notification events received so far (all paths), optionally only those `filter` accepts. */
  events(filter?: (e: ReceivedEvent) => boolean): ReceivedEvent[];
  /**
   * Waits until at least `count` received events match.
   * @throws Error after `timeoutMs`, listing what arrived
   */
  waitForEvents(filter: (e: ReceivedEvent) => boolean, count?: number, timeoutMs?: number): Promise<ReceivedEvent[]>;
  close(): Promise<void>;
}

function eventsOf(json: unknown): Record<string, unknown>[] {
  const list = Array.isArray(json) ? json : [json];
  return list.filter((e): e is Record<string, unknown> => typeof e === "object" && e !== null && !Array.isArray(e));
}

function header(headers: IncomingHttpHeaders, name: string): string | undefined {
  const v = headers[name];
  return Array.isArray(v) ? v[0] : v;
}

/** Starts a receiver on 127.0.0.1 with an ephemeral port. */
export async function startEventReceiver(): Promise<EventReceiver> {
  const requests: ReceivedRequest[] = [];
  let failures: Array<{ remaining: number; status: number; when?: (event: Record<string, unknown>) => boolean }> = [];
  const state = { validation: "echo" as ValidationMode, allowOrigin: true };

  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("end", () => {
      const body = Buffer.concat(chunks).toString("utf8");
      let json: unknown;
      try {
        json = body.length > 0 ? (JSON.parse(body) as unknown) : undefined;
      } catch {
        json = undefined;
      }
      const record: ReceivedRequest = { method: req.method ?? "", path: req.url ?? "", headers: req.headers, body, json, answered: 0 };
      requests.push(record);
      const answer = (status: number, text = "", headers: Record<string, string> = {}): void => {
        record.answered = status;
        res.writeHead(status, { "Content-Type": "application/json", ...headers });
        res.end(text);
      };
      if (req.method === "OPTIONS") {
        const origin = header(req.headers, "webhook-request-origin") ?? "";
        answer(200, "", state.allowOrigin ? { "WebHook-Allowed-Origin": origin } : {});
        return;
      }
      const kind = header(req.headers, "aeg-event-type");
      if (kind === "SubscriptionValidation") {
        const data = eventsOf(json)[0]?.data as { validationCode?: string; validationUrl?: string } | undefined;
        if (state.validation === "reject") answer(403, JSON.stringify({ error: "no" }));
        else if (state.validation === "echo") answer(200, JSON.stringify({ validationResponse: data?.validationCode }));
        else {
          answer(200, "{}");
          // Manual validation: GET the validation URL a little later, like a human clicking it.
          const url = data?.validationUrl;
          if (url) setTimeout(() => request(url, { method: "GET" }, (r) => r.resume()).on("error", () => undefined).end(), 50);
        }
        return;
      }
      const events = eventsOf(json);
      const rule = failures.find((f) => f.remaining > 0 && (!f.when || events.some((e) => f.when?.(e))));
      if (rule) {
        rule.remaining--;
        answer(rule.status, JSON.stringify({ error: "injected failure" }));
        return;
      }
      answer(200);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;

  const received = (): ReceivedEvent[] =>
    requests
      .filter((r) => r.method === "POST" && header(r.headers, "aeg-event-type") === "Notification")
      .flatMap((r) => eventsOf(r.json).map((event) => ({ event, request: r })));

  return {
    url,
    requests,
    get validation() {
      return state.validation;
    },
    set validation(mode: ValidationMode) {
      state.validation = mode;
    },
    get allowOrigin() {
      return state.allowOrigin;
    },
    set allowOrigin(v: boolean) {
      state.allowOrigin = v;
    },
    failNext(n, options = {}) {
      failures.push({ remaining: n, status: options.status ?? 500, ...(options.when ? { when: options.when } : {}) });
    },
    clearFailures() {
      failures = [];
    },
    events: (filter) => (filter ? received().filter(filter) : received()),
    async waitForEvents(filter, count = 1, timeoutMs = 5000) {
      const deadline = Date.now() + timeoutMs;
      for (;;) {
        const found = received().filter(filter);
        if (found.length >= count) return found;
        if (Date.now() > deadline) {
          const seen = received().map((e) => `${String(e.event.eventType ?? e.event.type)} ${String(e.event.subject)}`);
          throw new Error(`timed out waiting for ${count} event(s); received: ${seen.join(", ") || "none"}`);
        }
        await new Promise((r) => setTimeout(r, 20));
      }
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}

/**
 * Type and subject of a received event, whatever its schema.
 * @param e - a received event
 */
export function typeAndSubject(e: ReceivedEvent): { type: unknown; subject: unknown; id: unknown } {
  return { type: e.event.eventType ?? e.event.type, subject: e.event.subject, id: e.event.id };
}

/**
 * A filter for events of `type` (full name) about `subject` (and `version` when given).
 * @param type - event type
 * @param subject - secret name
 * @param version - secret version
 */
export function eventIs(type: string, subject: string, version?: string): (e: ReceivedEvent) => boolean {
  return (e) => {
    const t = typeAndSubject(e);
    const data = e.event.data as { Version?: unknown } | undefined;
    return t.type === type && t.subject === subject && (version === undefined || data?.Version === version);
  };
}
