/**
 * @module functions-host/test/bodyLimits: refused uploads cost the host nothing. The key gate answers
 * before a body is read, a body declared over the limit is refused before it is read, a chunked one stops
 * at the limit, and a refusal closes the connection so the rest of the upload is never read. Host memory is
 * measured from /proc while eight 100 MB uploads run at once.
 */
import { readFileSync } from "node:fs";
import * as http from "node:http";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { killAllChildren, startFixtureHost, type RunningHost } from "./helpers";

const MiB = 1024 * 1024;
const LIMIT = 100 * MiB;
const KEY = "host-master-key-for-tests";
const CHUNK = Buffer.alloc(MiB, 0x61);

interface UploadResult {
  status: number | undefined;
  /** Bytes the client had handed to its socket when the answer arrived. */
  sentWhenAnswered: number | undefined;
  /** Whether the client managed to send the whole body. */
  completed: boolean;
}

/** Sends `size` bytes (declared, or chunked when `chunked`) and stops sending once the connection closes. */
function upload(url: string, size: number, headers: Record<string, string> = {}, chunked = false): Promise<UploadResult> {
  return new Promise((resolve) => {
    const req = http.request(url, { method: "POST", headers: { "content-type": "application/json", ...(chunked ? {} : { "content-length": String(size) }), ...headers } });
    let sent = 0;
    let completed = false;
    let status: number | undefined;
    let sentWhenAnswered: number | undefined;
    req.on("response", (res) => {
      status = res.statusCode;
      sentWhenAnswered = sent;
      res.resume();
    });
    req.on("error", () => undefined);
    req.on("close", () => resolve({ status, sentWhenAnswered, completed }));
    const pump = (): void => {
      while (sent < size && !req.destroyed) {
        const piece = size - sent >= CHUNK.length ? CHUNK : CHUNK.subarray(0, size - sent);
        sent += piece.length;
        if (!req.write(piece)) {
          req.once("drain", pump);
          return;
        }
      }
      if (!req.destroyed) req.end(() => (completed = true));
    };
    pump();
  });
}

function rssMiB(pid: number): number {
  const match = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, "utf8"));
  return match === null ? 0 : Number(match[1]) / 1024;
}

/** Runs `work` while sampling the host's resident memory; returns the peak growth over the level before. */
async function peakGrowth(pid: number, work: () => Promise<unknown>): Promise<number> {
  const before = rssMiB(pid);
  let peak = before;
  const timer = setInterval(() => (peak = Math.max(peak, rssMiB(pid))), 10);
  try {
    await work();
  } finally {
    clearInterval(timer);
  }
  return Math.max(peak, rssMiB(pid)) - before;
}

const pidOf = (host: RunningHost): number => {
  const pid = host.child.pid;
  if (pid === undefined) throw new Error("host has no pid");
  return pid;
};

describe("key gate and body limit (buffered host, master key set)", () => {
  let host: RunningHost;
  beforeAll(async () => {
    host = await startFixtureHost("keyed-app", { FUNCTIONS_HOST_MASTER_KEY: KEY });
  });
  afterAll(async () => {
    await host?.stop();
    await killAllChildren();
  });

  it("eight unauthenticated 100 MB uploads (function route and webhook) get 401 before their bodies are read", async () => {
    let results: UploadResult[] = [];
    const growth = await peakGrowth(pidOf(host), async () => {
      results = await Promise.all(
        Array.from({ length: 8 }, (_, i) =>
          upload(i % 2 === 0 ? `${host.url}/api/keyed` : `${host.url}/runtime/webhooks/eventgrid?functionName=onEvent`, LIMIT, { "aeg-event-type": "Notification" }),
        ),
      );
    });
    console.log(`8 unauthenticated 100 MB uploads: host RSS grew ${growth.toFixed(1)} MiB; client had sent ${results.map((r) => ((r.sentWhenAnswered ?? 0) / MiB).toFixed(0)).join(", ")} MiB when answered`);
    for (const r of results) {
      expect(r.status).toBe(401);
      expect(r.completed).toBe(false);
      expect(r.sentWhenAnswered ?? LIMIT).toBeLessThan(LIMIT / 2);
    }
    expect(growth).toBeLessThan(100);
  });

  it("a body declared over the limit gets 413 before it is read, with or without a key", async () => {
    let results: UploadResult[] = [];
    const growth = await peakGrowth(pidOf(host), async () => {
      results = await Promise.all(Array.from({ length: 8 }, () => upload(`${host.url}/api/keyed`, LIMIT + MiB, { "x-functions-key": KEY })));
    });
    console.log(`8 authenticated uploads declaring 101 MiB: host RSS grew ${growth.toFixed(1)} MiB`);
    for (const r of results) {
      expect(r.status).toBe(413);
      expect(r.completed).toBe(false);
    }
    expect(growth).toBeLessThan(100);
  });

  it("a chunked body stops being read at the limit: 413, and the rest of the upload is never read", async () => {
    const r = await upload(`${host.url}/runtime/webhooks/eventgrid?functionName=onEvent&code=${KEY}`, LIMIT + 20 * MiB, { "aeg-event-type": "Notification" }, true);
    expect(r).toMatchObject({ status: 413, completed: false });
  });

  it("a chunked body to a buffered function is not read at all (the real host forwards none) and the connection closes", async () => {
    const r = await upload(`${host.url}/api/keyed?code=${KEY}`, LIMIT + 20 * MiB, {}, true);
    expect(r.status).toBe(200);
    expect(r.completed).toBe(false);
  });

  it("the key opens function- and admin-level routes and the webhook; anonymous routes need none", async () => {
    const post = (p: string, headers: Record<string, string> = {}) => fetch(`${host.url}${p}`, { method: "POST", headers, body: "[]" });
    expect(await (await post("/api/keyed", { "x-functions-key": KEY })).json()).toEqual({ size: 2 });
    expect((await post(`/api/keyed?code=${KEY}`)).status).toBe(200);
    expect((await post("/api/keyed", { "x-functions-key": `${KEY}x` })).status).toBe(401);
    expect((await post("/api/keyed?code=")).status).toBe(401);
    expect((await post("/api/admin-only")).status).toBe(401);
    expect((await post("/api/admin-only", { "x-functions-key": KEY })).status).toBe(200);
    expect((await post("/api/open")).status).toBe(200);
    expect((await post("/runtime/webhooks/eventgrid?functionName=onEvent", { "aeg-event-type": "Notification" })).status).toBe(401);
    expect((await post(`/runtime/webhooks/eventgrid?functionName=onEvent&code=${KEY}`, { "aeg-event-type": "Notification" })).status).toBe(202);
  });

  it("publishes the socket's peer address to the invocation, whatever Host or X-Forwarded-For say", async () => {
    const res = await fetch(`${host.url}/api/whoami`, { headers: { "x-forwarded-for": "10.1.2.3", "x-forwarded-host": "example.com" } });
    expect(await res.json()).toEqual({ address: "127.0.0.1" });
    const viaRaw = await new Promise<string>((resolve, reject) => {
      const req = http.request(`${host.url}/api/whoami`, { headers: { host: "10.9.9.9" } }, (r) => {
        let text = "";
        r.setEncoding("utf8").on("data", (c: string) => (text += c)).on("end", () => resolve(text));
      });
      req.on("error", reject);
      req.end();
    });
    expect(JSON.parse(viaRaw)).toEqual({ address: "127.0.0.1" });
  });
});

describe("a streaming app that refuses before reading", () => {
  let host: RunningHost;
  beforeAll(async () => {
    host = await startFixtureHost("stream-app");
  });
  afterAll(async () => {
    await host?.stop();
    await killAllChildren();
  });

  it("eight 100 MB uploads get the app's 401 and the connection closes without reading the rest", async () => {
    let results: UploadResult[] = [];
    const growth = await peakGrowth(pidOf(host), async () => {
      results = await Promise.all(Array.from({ length: 8 }, () => upload(`${host.url}/api/refuse`, LIMIT)));
    });
    console.log(`8 uploads refused by a streaming app: host RSS grew ${growth.toFixed(1)} MiB; client had sent ${results.map((r) => ((r.sentWhenAnswered ?? 0) / MiB).toFixed(0)).join(", ")} MiB when answered`);
    for (const r of results) {
      expect(r.status).toBe(401);
      expect(r.completed).toBe(false);
    }
    expect(growth).toBeLessThan(100);
  });
});
