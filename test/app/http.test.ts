/** The Functions HTTP adapter: bounded body reads and the client address used for throttling. */
import { HttpRequest } from "@azure/functions";
import { describe, expect, it, vi } from "vitest";
import { clientIpFromHeader } from "../../src/api/request";
import { readBounded, toApiRequest } from "../../src/functions/http";

function streamOf(chunks: Uint8Array[], pulled: { count: number; cancelled?: boolean }): ReadableStream<Uint8Array> {
  let i = 0;
  return new ReadableStream<Uint8Array>({
    cancel() {
      pulled.cancelled = true;
    },
    pull(controller) {
      pulled.count++;
      const chunk = chunks[i++];
      if (chunk === undefined) controller.close();
      else controller.enqueue(chunk);
    },
  });
}

describe("readBounded", () => {
  it("reads a chunked body whole when it fits", async () => {
    const pulled = { count: 0 };
    const body = await readBounded(streamOf([new Uint8Array([1, 2]), new Uint8Array([3])], pulled), 3);
    expect([...body]).toEqual([1, 2, 3]);
  });

  it("answers 413 as soon as the limit is passed, then drains the rest without cancelling the socket", async () => {
    const pulled: { count: number; cancelled?: boolean } = { count: 0 };
    const chunks = Array.from({ length: 100 }, () => new Uint8Array(1024));
    await expect(readBounded(streamOf(chunks, pulled), 4096)).rejects.toMatchObject({ status: 413, code: "ERR_BODY_TOO_LARGE" });
    await vi.waitFor(() => expect(pulled.count).toBe(101));
    expect(pulled.cancelled).toBeUndefined();
  });

  it("cancels an oversized body after all once the drain bound is passed", async () => {
    const pulled: { count: number; cancelled?: boolean } = { count: 0 };
    const chunks = Array.from({ length: 1000 }, () => new Uint8Array(1024));
    await expect(readBounded(streamOf(chunks, pulled), 4096, 16 * 1024)).rejects.toMatchObject({ status: 413 });
    await vi.waitFor(() => expect(pulled.cancelled).toBe(true));
    expect(pulled.count).toBeLessThan(40);
  });

  it("reads no body as empty", async () => {
    expect((await readBounded(null, 10)).length).toBe(0);
  });
});

describe("client address", () => {
  it.each([
    ["203.0.113.7:51234", "203.0.113.7"],
    ["203.0.113.7", "203.0.113.7"],
    ["[2001:db8::1]:443", "2001:db8::1"],
    ["[2001:DB8::1]", "2001:db8::1"],
    ["2001:db8::1", "2001:db8::1"],
    ["::ffff:203.0.113.7", "::ffff:203.0.113.7"],
    ["not-an-ip:80", undefined],
    ["", undefined],
  ])("client-ip %j is %j", (header, address) => {
    expect(clientIpFromHeader(header)).toBe(address);
  });

  it("comes from client-ip in Azure only, and never from X-Forwarded-For", () => {
    const request = new HttpRequest({ method: "GET", url: "http://127.0.0.1/v1.0/metadata", headers: { "client-ip": "203.0.113.7:5000", "x-forwarded-for": "198.51.100.1" } });
    expect(toApiRequest(request, true).clientAddress).toBe("203.0.113.7");
    expect(toApiRequest(request, false).clientAddress).toBeUndefined();
    const spoofed = new HttpRequest({ method: "GET", url: "http://127.0.0.1/v1.0/metadata", headers: { "x-forwarded-for": "198.51.100.1" } });
    expect(toApiRequest(spoofed, true).clientAddress).toBeUndefined();
  });

  it("outside Azure comes from the local host's per-invocation record of the socket, never from headers", () => {
    const key = Symbol.for("@vaultstate/functions-host/clientAddress");
    const request = new HttpRequest({ method: "GET", url: "http://127.0.0.1/v1.0/metadata", headers: { "client-ip": "127.0.0.1:1", "x-forwarded-for": "127.0.0.1", host: "127.0.0.1" } });
    expect(toApiRequest(request, false, "inv-1").clientAddress).toBeUndefined();
    const globals = globalThis as Record<symbol, unknown>;
    globals[key] = (id: string) => (id === "inv-1" ? "192.0.2.2" : id === "inv-2" ? "::1" : id === "inv-3" ? "not an address" : undefined);
    try {
      expect(toApiRequest(request, false, "inv-1").clientAddress).toBe("192.0.2.2");
      expect(toApiRequest(request, false, "inv-2").clientAddress).toBe("::1");
      expect(toApiRequest(request, false, "inv-3").clientAddress).toBeUndefined();
      expect(toApiRequest(request, false, "other").clientAddress).toBeUndefined();
      expect(toApiRequest(request, false).clientAddress).toBeUndefined();
      // In Azure the front end's client-ip wins, whatever is in the process.
      expect(toApiRequest(request, true, "inv-1").clientAddress).toBe("127.0.0.1");
    } finally {
      delete globals[key];
    }
  });
});
