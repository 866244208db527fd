/** @module functions-host/test/streaming: app.setup({ enableHttpStream: true }) proxied through the library's HttpUri. */

import { createHash, randomBytes } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import * as http from "node:http";
import { killAllChildren, startFixtureHost, type RunningHost } from "./helpers";

/** Sends a request with the target exactly as given (fetch would normalise it). */
function rawPost(base: string, target: string): Promise<{ status: number; body: string }> {
  const { hostname, port } = new URL(base);
  return new Promise((resolve, reject) => {
    const req = http.request({ hostname, port, method: "POST", path: target, headers: { "content-length": "0" }, agent: false }, (res) => {
      const chunks: Buffer[] = [];
      res.on("data", (c: Buffer) => chunks.push(c));
      res.on("end", () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString("utf8") }));
    });
    req.on("error", reject);
    req.end();
  });
}

describe("stream-app", () => {
  let host: RunningHost;

  beforeAll(async () => {
    host = await startFixtureHost("stream-app");
  });

  afterAll(async () => {
    await host?.stop();
    await killAllChildren();
  });

  it("announces streaming mode", () => {
    expect(host.output()).toContain("(HTTP streaming enabled)");
  });

  it("streams a large request body to the handler with params, query, headers and the raw URL", async () => {
    const payload = randomBytes(1024 * 1024 + 7);
    const res = await fetch(`${host.url}/api/upload/42?tag=a%20b`, {
      method: "POST",
      body: payload,
      headers: { "Content-Type": "application/x-test" },
    });
    expect(res.status).toBe(201);
    expect(res.headers.get("x-upload-id")).toBe("42");
    expect(res.headers.get("x-ms-invocation-id")).toBeNull();
    expect(await res.json()).toEqual({
      id: "42",
      size: payload.length,
      sha256: createHash("sha256").update(payload).digest("hex"),
      url: `${host.url}/api/upload/42?tag=a%20b`,
      query: "a b",
      contentType: "application/x-test",
    });
  });

  it("proxies the path as the real host does: Kestrel's decoding re-escaped by YARP (% included, + kept)", async () => {
    const res = await rawPost(host.url, "/api/upload/p%2520%2Bq%zz%2F%C3%A9?tag=a%20b");
    expect(res.status).toBe(201);
    expect(JSON.parse(res.body)).toMatchObject({ id: "p%20+q%zz%2Fé", url: `${host.url}/api/upload/p%2520+q%25zz%252F%C3%A9?tag=a%20b` });
  });

  it("streams a chunked request body too: the raw request is proxied, whatever its framing", async () => {
    const parts = [randomBytes(1000), randomBytes(70_000), randomBytes(3)];
    const res = await fetch(`${host.url}/api/upload/7`, {
      method: "POST",
      body: new ReadableStream<Uint8Array>({
        start(controller) {
          for (const part of parts) controller.enqueue(part);
          controller.close();
        },
      }),
      duplex: "half",
    } as RequestInit);
    expect(res.status).toBe(201);
    const whole = Buffer.concat(parts);
    expect(await res.json()).toMatchObject({ id: "7", size: whole.length, sha256: createHash("sha256").update(whole).digest("hex") });
  });

  it("relays a streamed response body", async () => {
    const res = await fetch(`${host.url}/api/countdown/3`);
    expect(res.status).toBe(200);
    expect(res.headers.get("content-type")).toBe("text/plain");
    expect(await res.text()).toBe("3\n2\n1\n0\n");
  });

  it("answers 500 when a streaming handler throws, then keeps serving", async () => {
    const res = await fetch(`${host.url}/api/boom`);
    expect(res.status).toBe(500);
    expect(await res.text()).toBe("");
    await host.waitForOutput(/Exception while executing function: Functions\.streamBoom: Error: streaming handler failed/);
    expect(await (await fetch(`${host.url}/api/countdown/1`)).text()).toBe("1\n0\n");
  });

  it("relays the handler's answer even when it reaches the host long after the invocation result", async () => {
    // The real host awaits the forwarded response (YARP), whatever the invocation did; an answer the host made up
    // instead (an empty 200 without the handler's headers) was a lost write for clients that trusted it.
    const res = await fetch(`${host.url}/api/late/2500`);
    expect(res.status).toBe(200);
    expect(res.headers.get("etag")).toBe("late-etag");
    expect(await res.text()).toBe("late");
  });

  it("answers 404 for a path no route matches", async () => {
    expect((await fetch(`${host.url}/api/countdown`)).status).toBe(404);
  });
});
