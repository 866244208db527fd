import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import * as path from "node:path";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import type { ApiResponse } from "../../src/api/errors";
import { createApi, routingPath, type ApiHandler, type ApiOptions, type RouteContext } from "../../src/api/router";
import type { RuntimeSource, RuntimeStatus } from "../../src/runtime/runtime";
import type { Logger } from "../../src/observability/logger";
import { parseResourceDocuments } from "../../src/runtime/componentFiles";
import { buildRuntime, type Runtime } from "../../src/runtime/runtime";
import { createAzureClients } from "../../src/azure/clients";

const SECRETS = { "demo-secret": "v1<&>", "internal-only": "hidden-value", "a b": "space", "a+b": "plus", bulk: "named-bulk" };
const logLines: string[] = [];
const logger: Logger = { info: (m) => logLines.push(m), warn: (m) => logLines.push(m), error: (m) => logLines.push(m) };

const COMPONENTS = `apiVersion: dapr.io/v1alpha1
kind: Component
metadata: {name: localsecretstore}
spec:
  type: secretstores.local.file
  version: v1
  metadata: [{name: secretsFile, value: secrets.json}]
---
apiVersion: dapr.io/v1alpha1
kind: Component
metadata: {name: envsecretstore}
spec: {type: secretstores.local.env, version: v1, metadata: [{name: prefix, value: "S_"}]}
---
apiVersion: dapr.io/v1alpha1
kind: Component
metadata: {name: otherstore}
spec: {type: secretstores.local.env, version: v1}
scopes: [other]
---
apiVersion: dapr.io/v1alpha1
kind: Configuration
metadata: {name: appconfig}
spec:
  secrets:
    scopes:
      - storeName: localsecretstore
        deniedSecrets: [internal-only]
`;

let dir: string;
let runtime: Runtime;
let api: ApiHandler;

function source(status: () => RuntimeStatus, ready: () => Promise<Runtime>): RuntimeSource {
  return { status, ready };
}

function request(method: string, url: string, headers: Record<string, string> = { "dapr-api-token": "dev-token" }, body = "") {
  const h = new Headers(headers);
  return { method, url, headers: h, body: async () => new TextEncoder().encode(body) };
}

async function call(method: string, url: string, headers?: Record<string, string>, body?: string, handler: ApiHandler = api): Promise<ApiResponse & { text: string }> {
  const response = await handler(request(method, url, headers, body));
  return { ...response, text: response.body === undefined ? "" : typeof response.body === "string" ? response.body : Buffer.from(response.body).toString() };
}

/** An API over the test runtime, ready, that signs callers in by API token only; `options` add to or replace that. */
function testApi(options: Partial<ApiOptions> = {}): ApiHandler {
  return createApi({
    runtime: source(() => ({ state: "ready", runtime }), async () => runtime),
    authPolicy: (rt) => ({ callers: rt.callers, allowAnonymous: false, anonymousAppId: rt.appId }),
    logger,
    ...options,
  });
}

beforeAll(async () => {
  dir = await mkdtemp(path.join(tmpdir(), "vs-api-"));
  await writeFile(path.join(dir, "secrets.json"), JSON.stringify(SECRETS));
  runtime = await buildRuntime({
    appId: "demo",
    resources: parseResourceDocuments("c.yaml", COMPONENTS),
    apiTokens: ["demo=dev-token", "other=other-token"],
    providerContext: { azure: createAzureClients({}), appRoot: dir, environment: { S_greeting: "hi", PLAIN: "p" } },
    logger,
  });
  api = testApi({ extended: () => ({ cacheHits: 3 }) });
});
afterAll(async () => {
  await runtime.close();
  await rm(dir, { recursive: true, force: true });
});

describe("GET /v1.0/secrets/{store}/{key}", () => {
  it("200 with the name/value map, Go-encoded with a trailing newline, and Cache-Control: no-store", async () => {
    const r = await call("GET", "http://127.0.0.1:7071/v1.0/secrets/localsecretstore/demo-secret");
    expect(r.status).toBe(200);
    expect(r.headers["content-type"]).toBe("application/json");
    expect(r.headers["cache-control"]).toBe("no-store");
    expect(r.text).toBe('{"demo-secret":"v1\\u003c\\u0026\\u003e"}\n');
    expect(JSON.parse(r.text)).toEqual({ "demo-secret": "v1<&>" });
  });
  it("answers a cached secret (and a health probe) at once, not through a promise; the first read waits", async () => {
    // A running instance: its runtime is leased without a promise (RuntimeSource.acquireNow).
    let leases = 0;
    const running = testApi({
      runtime: { status: () => ({ state: "ready", runtime }), ready: async () => runtime, acquireNow: () => (leases++, { runtime, release: () => leases-- }) },
    });
    const bodiless = (url: string) => ({ ...request("GET", url), hasBody: false });
    const first = running(bodiless("/v1.0/secrets/localsecretstore/a%20b"));
    expect(first).toBeInstanceOf(Promise);
    expect((await first).status).toBe(200);
    const cached = running(bodiless("/v1.0/secrets/localsecretstore/a%20b"));
    expect(cached).not.toBeInstanceOf(Promise);
    expect(cached).toMatchObject({ status: 200, headers: { "content-type": "application/json", "cache-control": "no-store" }, body: '{"a b":"space"}\n' });
    // Read again, the secret is answered with the same frozen wire answer: marshalled once.
    expect(running(bodiless("/v1.0/secrets/localsecretstore/a%20b"))).toBe(running(bodiless("/v1.0/secrets/localsecretstore/a%20b")));
    expect(Object.isFrozen(cached)).toBe(true);
    expect(running({ ...request("GET", "/v1.0/healthz", {}), hasBody: false })).toMatchObject({ status: 204 });
    // HEAD loses the body on the immediate path too.
    expect(running({ ...request("HEAD", "/v1.0/healthz", {}), hasBody: false })).toEqual({ status: 204, headers: {} });
    // A refusal comes as a promise that resolves to the error answer (the API never throws).
    const denied = running(bodiless("/v1.0/secrets/localsecretstore/internal-only"));
    expect(denied).toBeInstanceOf(Promise);
    expect(await denied).toMatchObject({ status: 403, headers: { "cache-control": "no-store" } });
    // Every lease taken was released, on the immediate and the promised paths alike.
    expect(leases).toBe(0);
  });
  it("decodes path parameters once with PathUnescape: + and %2B are a plus, %20 a space (daprd: + is a space)", async () => {
    expect(JSON.parse((await call("GET", "/v1.0/secrets/localsecretstore/a+b")).text)).toEqual({ "a+b": "plus" });
    expect(JSON.parse((await call("GET", "/v1.0/secrets/localsecretstore/a%2Bb")).text)).toEqual({ "a+b": "plus" });
    expect(JSON.parse((await call("GET", "/v1.0/secrets/localsecretstore/a%20b")).text)).toEqual({ "a b": "space" });
    expect(JSON.parse((await call("GET", "/v1.0/secrets/localsecretstore/%62ulk")).text)).toEqual({ bulk: "named-bulk" });
  });
  it("400 text/plain with Go's message for a bad escape", async () => {
    const r = await call("GET", "/v1.0/secrets/localsecretstore/bad%zzname");
    expect(r.status).toBe(400);
    expect(r.headers["content-type"]).toBe("text/plain; charset=utf-8");
    expect(r.text).toBe('invalid URL escape "%zz"\n');
  });
  it("401 ERR_SECRET_STORE_NOT_FOUND for an unknown store (sic, as daprd)", async () => {
    const r = await call("GET", "/v1.0/secrets/nostore/x");
    expect(r.status).toBe(401);
    expect(r.headers["cache-control"]).toBe("no-store");
    expect(JSON.parse(r.text)).toEqual({ errorCode: "ERR_SECRET_STORE_NOT_FOUND", message: "failed finding secret store with key nostore" });
  });
  it("401 for a store scoped to other app-ids", async () => {
    expect((await call("GET", "/v1.0/secrets/otherstore/PLAIN")).status).toBe(401);
    const asOther = await call("GET", "/v1.0/secrets/otherstore/PLAIN", { "dapr-api-token": "other-token" });
    expect(JSON.parse(asOther.text)).toEqual({ PLAIN: "p" });
  });
  it("403 ERR_PERMISSION_DENIED by secret scope, with Go %q quoting", async () => {
    const r = await call("GET", "/v1.0/secrets/localsecretstore/internal-only");
    expect(r.status).toBe(403);
    expect(JSON.parse(r.text)).toEqual({ errorCode: "ERR_PERMISSION_DENIED", message: 'access denied by policy to get "internal-only" from "localsecretstore"' });
    expect(r.text).not.toContain("hidden-value");
  });
  it("500 ERR_SECRET_GET naming the secret for a missing one, in every store", async () => {
    const file = await call("GET", "/v1.0/secrets/localsecretstore/nope");
    expect(file.status).toBe(500);
    expect(JSON.parse(file.text)).toEqual({ errorCode: "ERR_SECRET_GET", message: "failed getting secret with key nope from secret store localsecretstore: secret nope not found" });
    const env = await call("GET", "/v1.0/secrets/envsecretstore/nope");
    expect(JSON.parse(env.text)).toEqual({ errorCode: "ERR_SECRET_GET", message: "failed getting secret with key nope from secret store envsecretstore: secret nope not found" });
  });
  it("passes metadata.* query parameters to the store and ignores others", async () => {
    const seen: Record<string, string>[] = [];
    const store = runtime.secretStores("demo").get("envsecretstore");
    if (store === undefined) throw new Error("missing store");
    const original = store.getSecret.bind(store);
    store.getSecret = async (req, opts) => {
      seen.push({ ...req.metadata });
      return original(req, opts);
    };
    try {
      await call("GET", "/v1.0/secrets/envsecretstore/greeting?metadata.version_id=3&metadata.version_id=4&other=1");
    } finally {
      store.getSecret = original;
    }
    expect(seen).toEqual([{ version_id: "3" }]);
  });
  it("400 ERR_MALFORMED_REQUEST for a body that is not a JSON object; an empty object is fine", async () => {
    const bad = await call("GET", "/v1.0/secrets/envsecretstore/greeting", undefined, "not json");
    expect(bad.status).toBe(400);
    expect(JSON.parse(bad.text).errorCode).toBe("ERR_MALFORMED_REQUEST");
    expect((await call("GET", "/v1.0/secrets/envsecretstore/greeting", undefined, "{}")).status).toBe(200);
  });
});

describe("GET /v1.0/secrets/{store}/bulk", () => {
  it("returns every allowed secret as name → map and filters denied ones silently", async () => {
    const r = await call("GET", "/v1.0/secrets/localsecretstore/bulk");
    expect(r.status).toBe(200);
    expect(r.headers["cache-control"]).toBe("no-store");
    const body = JSON.parse(r.text);
    expect(body).toEqual({ "demo-secret": { "demo-secret": "v1<&>" }, "a b": { "a b": "space" }, "a+b": { "a+b": "plus" }, bulk: { bulk: "named-bulk" } });
    expect(r.text).not.toContain("hidden-value");
  });
  it("answers {} when every secret is filtered", async () => {
    const denyAll = testApi({
      runtime: source(() => ({ state: "ready", runtime }), async () => ({ ...runtime, configuration: () => ({ file: "f", name: "c", scopes: [], secretScopes: [{ storeName: "envsecretstore", defaultAccess: "deny", allowedSecrets: [], deniedSecrets: [] }] }) })),
    });
    const r = await call("GET", "/v1.0/secrets/envsecretstore/bulk", undefined, undefined, denyAll);
    expect(r.status).toBe(200);
    expect(r.text).toBe("{}\n");
  });
  it("401 for an unknown store", async () => {
    expect((await call("GET", "/v1.0/secrets/nostore/bulk")).status).toBe(401);
  });
});

describe("no secret stores at all", () => {
  it("500 ERR_SECRET_STORES_NOT_CONFIGURED for get and bulk", async () => {
    const r = await call("GET", "/v1.0/secrets/any/x", { "dapr-api-token": "lonely" }, undefined, createApi({
      runtime: source(() => ({ state: "ready", runtime }), async () => ({ ...runtime, secretStores: () => new Map() })),
      authPolicy: () => ({ callers: [{ appId: "x", token: "lonely" }], allowAnonymous: false, anonymousAppId: "x" }),
      logger,
    }));
    expect(r.status).toBe(500);
    expect(JSON.parse(r.text)).toEqual({ errorCode: "ERR_SECRET_STORES_NOT_CONFIGURED", message: "secret store is not configured" });
  });
});

describe("API token", () => {
  it.each([
    ["missing", {}],
    ["empty", { "dapr-api-token": "" }],
    ["wrong", { "dapr-api-token": "dev-tokeN" }],
    ["a prefix", { "dapr-api-token": "dev-" }],
  ])("401 text/plain 'invalid api token' when %s", async (_name, headers) => {
    for (const url of ["/v1.0/secrets/localsecretstore/demo-secret", "/v1.0/metadata", "/v1.0/nothing-here"]) {
      const r = await call("GET", url, headers);
      expect(r.status).toBe(401);
      expect(r.headers["content-type"]).toBe("text/plain; charset=utf-8");
      expect(r.text).toBe("invalid api token\n");
    }
  });
  it("healthz and healthz/outbound need no token (GET and HEAD only)", async () => {
    expect((await call("GET", "/v1.0/healthz", {})).status).toBe(204);
    expect((await call("GET", "/v1.0/healthz/outbound", {})).status).toBe(204);
    expect((await call("HEAD", "/v1.0/healthz", {})).status).toBe(204);
    expect((await call("HEAD", "/v1.0/healthz/outbound", {})).status).toBe(204);
    expect((await call("POST", "/v1.0/healthz", {})).status).toBe(401);
  });
  it("503 ERR_NO_CALLERS_CONFIGURED when no token is configured and anonymous access is off", async () => {
    const open = (allowAnonymous: boolean): ApiHandler =>
      createApi({ runtime: source(() => ({ state: "ready", runtime }), async () => runtime), authPolicy: (rt) => ({ callers: [], allowAnonymous, anonymousAppId: rt.appId }), logger });
    const closed = await call("GET", "/v1.0/metadata", {}, undefined, open(false));
    expect(closed.status).toBe(503);
    expect(JSON.parse(closed.text).errorCode).toBe("ERR_NO_CALLERS_CONFIGURED");
    expect((await call("GET", "/v1.0/healthz", {}, undefined, open(false))).status).toBe(204);
    const anonymous = await open(true)({ ...request("GET", "http://127.0.0.1:7071/v1.0/secrets/envsecretstore/greeting", {}), clientAddress: "127.0.0.1" });
    expect(JSON.parse(String(anonymous.body))).toEqual({ greeting: "hi" });
    // The same request from a connection that is not loopback: 401, whatever the URL says.
    const remote = await open(true)({ ...request("GET", "http://127.0.0.1:7071/v1.0/secrets/envsecretstore/greeting", {}), clientAddress: "192.0.2.2" });
    expect(remote.status).toBe(401);
  });
});

describe("failed sign-in throttling", () => {
  it("keeps one bucket per client address; X-Forwarded-For never picks the bucket; good tokens are unaffected", async () => {
    const limited = testApi({ rateLimit: { ratePerSecond: 1, burst: 3, now: () => 0 } });
    const attempt = (clientAddress: string | undefined, headers: Record<string, string>) =>
      limited({ ...request("GET", "http://127.0.0.1:7071/v1.0/metadata", headers), ...(clientAddress !== undefined ? { clientAddress } : {}) });
    const statuses = async (clientAddress: string | undefined, n: number, headers: Record<string, string>) => {
      const out: number[] = [];
      for (let i = 0; i < n; i++) out.push((await attempt(clientAddress, headers)).status);
      return out;
    };
    // A guesser rotating X-Forwarded-For still spends its own socket's bucket.
    const guesses: number[] = [];
    for (let i = 0; i < 5; i++) guesses.push((await attempt("192.0.2.10", { "dapr-api-token": "guess", "x-forwarded-for": `198.51.100.${i}` })).status);
    expect(guesses).toEqual([401, 401, 401, 429, 429]);
    // Another client has a bucket of its own, and so does a caller with a valid token from the guesser's address.
    expect(await statuses("192.0.2.11", 4, { "dapr-api-token": "guess" })).toEqual([401, 401, 401, 429]);
    expect(await statuses("192.0.2.10", 2, { "dapr-api-token": "dev-token" })).toEqual([200, 200]);
    // Requests whose address the platform does not vouch for share one bucket.
    expect(await statuses(undefined, 4, { "dapr-api-token": "guess", "x-forwarded-for": "203.0.113.9" })).toEqual([401, 401, 401, 429]);
    expect((await attempt(undefined, { "dapr-api-token": "guess", "x-forwarded-for": "203.0.113.10" })).status).toBe(429);
  });
});

describe("fallback", () => {
  it.each([
    ["GET", "/foo"],
    ["GET", "/v1.0/secrets/localsecretstore"],
    ["GET", "/v1.0/secrets/localsecretstore/a/b"],
  ])("%s %s → 404 ERR_DIRECT_INVOKE", async (method, url) => {
    const r = await call(method, url);
    expect(r.status).toBe(404);
    expect(r.headers["content-type"]).toBe("application/json");
    expect(r.text).toBe('{"errorCode":"ERR_DIRECT_INVOKE","message":"failed getting app id either from the URL path or the header dapr-app-id"}');
  });
  it.each([
    ["POST", "/v1.0/secrets/localsecretstore/demo-secret", "GET"],
    ["DELETE", "/v1.0/metadata", "GET"],
    ["HEAD", "/v1.0/metadata", "GET"],
  ])("%s %s → 405 with daprd's fallback body and Allow: %s", async (method, url, allow) => {
    const r = await call(method, url);
    expect(r.status).toBe(405);
    expect(r.headers.allow).toBe(allow);
    // A HEAD response never has a body (the host would drop it anyway).
    expect(r.text).toBe(method === "HEAD" ? "" : '{"errorCode":"ERR_DIRECT_INVOKE","message":"failed getting app id either from the URL path or the header dapr-app-id"}');
  });
  it("cleans the path first: // and dot segments and a trailing slash still route", async () => {
    for (const url of ["/v1.0//secrets/localsecretstore/demo-secret", "/v1.0/x/../secrets/./localsecretstore/demo-secret/", "/v1.0/secrets/localsecretstore/demo-secret?"]) {
      expect((await call("GET", url)).status).toBe(200);
    }
  });
  it("routingPath keeps %2F inside a segment", () => {
    expect(routingPath("/v1.0/secrets/s/a%2Fb/")).toBe("/v1.0/secrets/s/a%2Fb");
  });
});

describe("health and metadata", () => {
  it("healthz ?appid= must match the app-id", async () => {
    expect((await call("GET", "/v1.0/healthz?appid=demo", {})).status).toBe(204);
    const wrong = await call("GET", "/v1.0/healthz?appid=wrong", {});
    expect(wrong.status).toBe(500);
    expect(JSON.parse(wrong.text)).toEqual({ errorCode: "ERR_HEALTH_APPID_NOT_MATCH", message: "dapr app-id does not match" });
  });
  it("while starting or after a failed start: healthz 500, outbound 500, API routes 500 without details", async () => {
    for (const status of [{ state: "starting" }, { state: "failed", reason: "/secret/path.yaml: bad" }] as RuntimeStatus[]) {
      const notReady = createApi({
        runtime: source(() => status, async () => Promise.reject(new Error("x"))),
        authPolicy: () => ({ callers: [], allowAnonymous: true, anonymousAppId: "a" }),
        logger,
      });
      const h = await call("GET", "/v1.0/healthz", {}, undefined, notReady);
      expect(h.status).toBe(500);
      expect(JSON.parse(h.text).errorCode).toBe("ERR_HEALTH_NOT_READY");
      const o = await call("GET", "/v1.0/healthz/outbound", {}, undefined, notReady);
      expect(JSON.parse(o.text)).toEqual({ errorCode: "ERR_OUTBOUND_HEALTH_NOT_READY", message: "dapr outbound is not ready" });
      const m = await call("GET", "/v1.0/metadata", {}, undefined, notReady);
      expect(m.status).toBe(500);
      expect(m.text).not.toContain("/secret/path.yaml");
      // HEAD: the same status and headers, no body, no token.
      const head = await call("HEAD", "/v1.0/healthz", {}, undefined, notReady);
      expect(head.status).toBe(500);
      expect(head.headers["content-type"]).toBe(h.headers["content-type"]);
      expect(head.body).toBeUndefined();
    }
  });
  it("metadata lists the caller's app-id and components with capabilities, and extended numbers", async () => {
    const r = await call("GET", "/v1.0/metadata");
    expect(r.status).toBe(200);
    expect(r.text.endsWith("\n")).toBe(true);
    const body = JSON.parse(r.text);
    expect(body).toEqual({
      id: "demo",
      runtimeVersion: expect.stringMatching(/^\d+\.\d+\.\d+$/),
      components: [
        { name: "localsecretstore", type: "secretstores.local.file", version: "v1" },
        { name: "envsecretstore", type: "secretstores.local.env", version: "v1" },
      ],
      extended: { cacheHits: 3, daprRuntimeVersion: expect.stringMatching(/^\d+\.\d+\.\d+$/) },
      actorRuntime: { runtimeStatus: "DISABLED", hostReady: false },
    });
    const other = JSON.parse((await call("GET", "/v1.0/metadata", { "dapr-api-token": "other-token" })).text);
    expect(other.id).toBe("other");
    expect(other.components.map((c: { name: string }) => c.name)).toContain("otherstore");
  });
});

describe("hygiene", () => {
  it("no secret value reached the log", () => {
    const joined = logLines.join("\n");
    for (const value of [...Object.values(SECRETS), "hi", "dev-token", "other-token"]) expect(joined).not.toContain(value);
  });
});

describe("the request deadline signal", () => {
  it("is made on first read only (a cached read never pays for a timer), once, with the route's deadline, and its timer ends with the request", async () => {
    const seen: AbortSignal[] = [];
    const handler = testApi({
      requestTimeoutInMs: 60_000,
      routes: [
        { method: "GET", pattern: "/v1.0-alpha1/untimed", handle: () => ({ status: 204, headers: {} }) },
        {
          method: "GET",
          pattern: "/v1.0-alpha1/timed",
          handle: (c) => {
            seen.push(c.abortSignal, c.abortSignal);
            return { status: 204, headers: {} };
          },
        },
      ],
    });
    const timers = vi.spyOn(globalThis, "setTimeout");
    const cleared = vi.spyOn(globalThis, "clearTimeout");
    // The request deadline's timers (a cache miss has timers of its own, of 10 s).
    const deadlineTimers = () =>
      timers.mock.calls.flatMap((args, i) => ((args[1] ?? 0) > 50_000 ? [{ ms: args[1] ?? 0, timer: timers.mock.results[i]?.value as unknown }] : []));
    try {
      expect((await call("GET", "/v1.0-alpha1/untimed", undefined, undefined, handler)).status).toBe(204);
      expect((await call("GET", "/v1.0/secrets/localsecretstore/demo-secret", undefined, undefined, handler)).status).toBe(200);
      expect(deadlineTimers()).toEqual([]);
      expect((await call("GET", "/v1.0-alpha1/timed", undefined, undefined, handler)).status).toBe(204);
      const [deadline, ...more] = deadlineTimers();
      expect(more).toEqual([]);
      expect(deadline?.ms).toBeGreaterThan(50_000);
      expect(deadline?.ms).toBeLessThanOrEqual(60_000);
      expect(seen[0]).toBe(seen[1]);
      expect(seen[0]?.aborted).toBe(false);
      // Answered: the timer is gone, not left pending for the rest of the minute.
      expect(cleared.mock.calls.some(([t]) => t === deadline?.timer)).toBe(true);
    } finally {
      timers.mockRestore();
      cleared.mockRestore();
    }
  });
});

describe("a request target seen before", () => {
  const seen: RouteContext[] = [];
  const echo = testApi({
    maxHeaderBytes: 200,
    routes: [
      {
        method: "GET",
        pattern: "/v1.0-alpha1/echo/:name",
        handle: (c) => {
          seen.push(c);
          return { status: 200, headers: {}, body: c.params.name ?? "" };
        },
      },
    ],
  });
  const url = "/v1.0-alpha1/echo/a%20b?metadata.ttl=5&tag=x&tag=y";

  it("is parsed once: requests share its frozen params, query values and metadata", async () => {
    seen.length = 0;
    for (let i = 0; i < 2; i++) expect((await call("GET", url, undefined, undefined, echo)).text).toBe("a b");
    const [first, second] = seen;
    expect(second?.params).toBe(first?.params);
    expect(second?.metadata).toBe(first?.metadata);
    expect(second?.query).toBe(first?.query);
    expect(first?.params).toEqual({ name: "a b" });
    expect(first?.metadata).toEqual({ ttl: "5" });
    expect(first?.query.get("tag")).toEqual(["x", "y"]);
    expect(Object.isFrozen(first?.params)).toBe(true);
    expect(Object.isFrozen(first?.metadata)).toBe(true);
    expect(Object.isFrozen(first?.query.get("tag"))).toBe(true);
    // Each request still gets a context of its own.
    expect(second).not.toBe(first);
  });

  it("still checks every request: token, header size, method, and a malformed escape fails each time", async () => {
    await call("GET", url, undefined, undefined, echo);
    expect((await call("GET", url, { "dapr-api-token": "wrong" }, undefined, echo)).status).toBe(401);
    expect((await call("GET", url, { "dapr-api-token": "dev-token", "x-note": "e".repeat(300) }, undefined, echo)).status).toBe(431);
    // Methods with routes elsewhere and methods no route has answer alike, however many a client invents.
    for (const method of ["POST", "DELETE", "PATCH", ...Array.from({ length: 20 }, (_, i) => `X-INVENTED-${i}`)]) {
      const r = await call(method, url, undefined, undefined, echo);
      expect([method, r.status, r.headers.allow]).toEqual([method, 405, "GET"]);
    }
    seen.length = 0;
    for (let i = 0; i < 2; i++) {
      const r = await call("GET", "/v1.0-alpha1/echo/bad%zz", undefined, undefined, echo);
      expect(r.status).toBe(400);
      expect(r.text).toBe('invalid URL escape "%zz"\n');
    }
    expect(seen).toEqual([]);
    expect((await call("GET", url, undefined, undefined, echo)).text).toBe("a b");
  });

  it("keeps a bounded number of targets, none longer than it keeps, and serves every one", async () => {
    seen.length = 0;
    await call("GET", "/v1.0-alpha1/echo/n0", undefined, undefined, echo);
    for (let i = 1; i <= 600; i++) expect((await call("GET", `/v1.0-alpha1/echo/n${i}`, undefined, undefined, echo)).text).toBe(`n${i}`);
    expect((await call("GET", "/v1.0-alpha1/echo/n0", undefined, undefined, echo)).text).toBe("n0");
    // 600 other targets later, n0's was let go and parsed again.
    expect(seen[601]?.params).not.toBe(seen[0]?.params);
    expect(seen[601]?.params).toEqual({ name: "n0" });
    const long = `x${"y".repeat(3000)}`;
    seen.length = 0;
    for (let i = 0; i < 2; i++) expect((await call("GET", `/v1.0-alpha1/echo/${long}`, undefined, undefined, echo)).text).toBe(long);
    expect(seen[1]?.params).not.toBe(seen[0]?.params);
    expect(seen[1]?.params).toEqual({ name: long });
  });
});

describe("the hot path's shortcuts answer as the general path does", () => {
  it("a request the adapter marks bodyless is never read, and a GET with a body is still checked", async () => {
    const read = vi.fn(async () => new Uint8Array(0));
    const bodyless = { method: "GET", url: "/v1.0/secrets/localsecretstore/demo-secret", headers: new Headers({ "dapr-api-token": "dev-token" }), body: read, hasBody: false };
    const r = await api(bodyless);
    expect(r.status).toBe(200);
    expect(r.headers["cache-control"]).toBe("no-store");
    expect(read).not.toHaveBeenCalled();
    expect((await call("GET", "/v1.0/secrets/localsecretstore/demo-secret", undefined, "[1]")).status).toBe(400);
  });
  it("a runtime source with acquireNow is leased without waiting, and every lease is released", async () => {
    let leases = 0;
    const released = vi.fn();
    const handler = testApi({
      runtime: {
        status: () => ({ state: "ready", runtime }),
        ready: async () => runtime,
        acquire: async () => {
          throw new Error("acquire must not be needed");
        },
        acquireNow: () => {
          leases++;
          return { runtime, release: released };
        },
      },
    });
    expect((await call("GET", "/v1.0/secrets/localsecretstore/demo-secret", undefined, undefined, handler)).status).toBe(200);
    expect((await call("GET", "/v1.0/secrets/localsecretstore/demo-secret", { "dapr-api-token": "wrong" }, undefined, handler)).status).toBe(401);
    expect(leases).toBe(2);
    expect(released).toHaveBeenCalledTimes(2);
  });
  it("headers near the limit are counted in bytes, not characters", async () => {
    const handler = testApi({ maxHeaderBytes: 200 });
    // 100 two-byte letters: within 200 characters, over 200 bytes.
    expect((await call("GET", "/v1.0/secrets/localsecretstore/demo-secret", { "dapr-api-token": "dev-token", "x-note": "é".repeat(100) }, undefined, handler)).status).toBe(431);
    expect((await call("GET", "/v1.0/secrets/localsecretstore/demo-secret", { "dapr-api-token": "dev-token", "x-note": "e".repeat(100) }, undefined, handler)).status).toBe(200);
  });
});
