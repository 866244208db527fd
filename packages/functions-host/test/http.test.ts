/** @module functions-host/test/http: HTTP triggers served by the host CLI (routing, request and response mapping). */

import { request as httpRequest } from "node:http";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { killAllChildren, startFixtureHost, type RunningHost } from "./helpers";

interface Described {
  fn: string;
  params: Record<string, string>;
  url: string;
  method: string;
  query: Record<string, string>;
}

function isDescribed(value: unknown): value is Described {
  return typeof value === "object" && value !== null && "fn" in value && "params" in value;
}

async function describeCall(host: RunningHost, path: string, method = "GET"): Promise<{ status: number; body: Described }> {
  const res = await fetch(`${host.url}${path}`, { method });
  const body: unknown = await res.json();
  if (!isDescribed(body)) throw new Error(`unexpected body ${JSON.stringify(body)}`);
  return { status: res.status, body };
}

/** A raw request, so the path reaches the host byte for byte (fetch would normalise it). */
function rawRequest(host: RunningHost, method: string, path: string, headers: [string, string][], body?: Buffer): Promise<{ status: number; body: Buffer }> {
  return new Promise((resolve, reject) => {
    // Raw header arrays get no automatic Host header, and Node servers reject HTTP/1.1 requests without one.
    const raw = [["Host", `127.0.0.1:${host.port}`], ...headers].flat();
    const req = httpRequest({ host: "127.0.0.1", port: host.port, method, path, headers: raw }, (res) => {
      const chunks: Buffer[] = [];
      res.on("data", (c: Buffer) => chunks.push(c));
      res.on("end", () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks) }));
    });
    req.on("error", reject);
    req.end(body);
  });
}

describe("http-app (default route prefix)", () => {
  let host: RunningHost;

  beforeAll(async () => {
    host = await startFixtureHost("http-app");
  });

  afterAll(async () => {
    await host?.stop();
    await killAllChildren();
  });

  it("lists the functions it indexed", () => {
    expect(host.stdout()).toContain(`anyItem: [GET] ${host.url}/api/items/{name}`);
    expect(host.stdout()).toContain(`ZCatchAll: [GET,POST,PUT,PATCH,DELETE,HEAD,OPTIONS] ${host.url}/api/{*rest}`);
    expect(host.stdout()).toContain(`defaultRoute: [GET] ${host.url}/api/defaultRoute`);
  });

  it.each([
    ["/api/items/special", "anyItem", { name: "special" }],
    ["/api/items/42", "anyItem", { name: "42" }],
    ["/api/ITEMS/Special", "anyItem", { name: "Special" }],
    ["/api/order/1", "routeA", { a: "1" }],
    ["/api/opt", "optionalId", { id: "" }],
    ["/api/opt/7", "optionalId", { id: "7" }],
    ["/api/defaultroute", "defaultRoute", {}],
    ["/api/some/deep/path", "ZCatchAll", { rest: "some/deep/path" }],
  ])("routes GET %s to %s with params %j: function-name order, first match wins", async (path, fn, params) => {
    const { status, body } = await describeCall(host, path);
    expect(status).toBe(200);
    expect(body.fn).toBe(fn);
    expect(body.params).toEqual(params);
  });

  it("skips a path match with the wrong method so a later route can take it", async () => {
    expect((await describeCall(host, "/api/items/special", "POST")).body.fn).toBe("itemSpecial");
    expect((await describeCall(host, "/api/things/1", "POST")).body.fn).toBe("postThing");
    expect((await describeCall(host, "/api/things/1", "GET")).body).toMatchObject({ fn: "ZCatchAll", params: { rest: "things/1" } });
  });

  it("answers 404 with an empty body when nothing matches", async () => {
    for (const path of ["/", "/nope", "/apix/items/1"]) {
      const res = await fetch(`${host.url}${path}`);
      expect(res.status).toBe(404);
      expect(await res.text()).toBe("");
    }
  });

  it("hands the function a literal %2520 as %20, one decoding more than the raw path, as the real host does", async () => {
    const res = await rawRequest(host, "POST", "/api/echo/pct%2520x", [["Content-Length", "0"]]);
    expect(JSON.parse(res.body.toString("utf8"))).toMatchObject({ url: `http://127.0.0.1:${host.port}/api/echo/pct%20x`, params: { path: "pct%20x" } });
  });

  it("passes the URL, joined repeated headers and the body bytes to the function", async () => {
    const path = "/api/echo/A%2fb/%7e%20x?q=%41&q=b+c&empty=";
    const body = Buffer.from([0, 1, 2, 254, 255]);
    const res = await rawRequest(host, "POST", path, [["X-Multi", "one"], ["X-Multi", "two"], ["Content-Type", "application/octet-stream"], ["Content-Length", String(body.length)]], body);
    expect(res.status).toBe(200);
    const echoed: unknown = JSON.parse(res.body.toString("utf8"));
    expect(echoed).toMatchObject({
      // Kestrel's decoding and PathString.ToUriComponent: "%7e" becomes "~", "%2f" stays, the query as sent.
      url: `http://127.0.0.1:${host.port}/api/echo/A%2fb/~%20x?q=%41&q=b+c&empty=`,
      method: "POST",
      params: { path: "A%2fb/~ x" },
      bodyHex: "000102feff",
      preHook: "ran",
      headers: { "x-multi": "one,two", "content-type": "application/octet-stream", "content-length": "5", host: `127.0.0.1:${host.port}` },
    });
  });

  it("forwards a body only with Content-Length > 0 and drops a chunked one, as the real host's ToRpcHttp does", async () => {
    const bytes = Buffer.from("hello body");
    const sized = await rawRequest(host, "POST", "/api/echo/x", [["Content-Length", String(bytes.length)]], bytes);
    expect(JSON.parse(sized.body.toString("utf8"))).toMatchObject({ bodyHex: bytes.toString("hex") });
    const chunked = await rawRequest(host, "POST", "/api/echo/x", [["Transfer-Encoding", "chunked"]], bytes);
    expect(chunked.status).toBe(200);
    expect(JSON.parse(chunked.body.toString("utf8"))).toMatchObject({ bodyHex: "", headers: { "transfer-encoding": "chunked" } });
    // The connection stays usable: the dropped body was drained, not left in the socket.
    expect((await describeCall(host, "/api/opt/1")).body.fn).toBe("optionalId");
  });

  it("answers 500 with an empty body when the handler throws, logs it, and keeps serving", async () => {
    const res = await fetch(`${host.url}/api/boom`);
    expect(res.status).toBe(500);
    expect(await res.text()).toBe("");
    await host.waitForOutput(/\[error\] \[Function\.boom\] Exception while executing function: Functions\.boom: Error: kaboom from handler/);
    expect(host.output()).toMatch(/\[error\] \[Function\.boom\.User\] about to fail/);
    expect((await describeCall(host, "/api/items/1")).status).toBe(200);
  });

  it("returns binary bodies unchanged", async () => {
    const res = await fetch(`${host.url}/api/binary`);
    expect(res.status).toBe(200);
    expect(res.headers.get("content-type")).toBe("application/octet-stream");
    const bytes = new Uint8Array(await res.arrayBuffer());
    expect(bytes.length).toBe(256);
    expect([...bytes]).toEqual(Array.from({ length: 256 }, (_, i) => i));
  });

  it("returns 204 without a body but with the function's headers", async () => {
    const res = await fetch(`${host.url}/api/things/0f8fad5b`, { method: "DELETE" });
    expect(res.status).toBe(204);
    expect(res.headers.get("x-deleted")).toBe("yes");
    expect(await res.text()).toBe("");
  });

  it("maps status, headers and cookies of an HttpResponse", async () => {
    const res = await fetch(`${host.url}/api/headers`);
    expect(res.status).toBe(201);
    expect(res.headers.get("x-custom-header")).toBe("Custom-Value");
    expect(res.headers.get("cache-control")).toBe("no-store");
    expect(res.headers.getSetCookie()).toEqual(["session=abc123; path=/; samesite=strict; httponly", "theme=dark; max-age=60"]);
    expect(await res.text()).toBe("created");
  });

  it("answers 200 with an empty body when the handler returns nothing", async () => {
    const res = await fetch(`${host.url}/api/nothing`);
    expect(res.status).toBe(200);
    expect(await res.text()).toBe("");
  });

  it("routes context.log/warn/error through the log with function name and level", async () => {
    expect(await (await fetch(`${host.url}/api/logs`)).text()).toBe("logged");
    await host.waitForOutput(/\[error\] \[Function\.logs\.User\] error line from fixture/);
    expect(host.output()).toMatch(/\[information\] \[Function\.logs\.User\] info line from fixture/);
    expect(host.output()).toMatch(/\[warning\] \[Function\.logs\.User\] warning line from fixture/);
    expect(host.output()).toMatch(/\[information\] \[Function\.logs\] Executed 'Functions\.logs' \(Succeeded, Id=[0-9a-f-]+, Duration=\d+ms\)/);
  });

  it("runs appTerminate hooks and exits 0 on SIGINT", async () => {
    const exit = await host.stop("SIGINT");
    expect(exit).toEqual({ code: 0, signal: null });
    expect(host.stdout()).toContain("fixture: appTerminate hook ran after appStart");
  });
});

describe("esm-app", () => {
  afterAll(killAllChildren);

  it('loads a "type": "module" entry point with import()', async () => {
    const host = await startFixtureHost("esm-app");
    try {
      const res = await fetch(`${host.url}/api/esm`);
      expect(await res.text()).toBe("esm true");
    } finally {
      await host.stop();
    }
  });
});
