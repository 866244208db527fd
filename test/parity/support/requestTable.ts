/**
 * @module The parity request table: requests sent byte for byte the same way to any host (raw path,
 * Content-Length or chunked framing), and the parts of a response that must be identical.
 */
import * as http from "node:http";

/** One request, sent exactly as described. */
export interface RawRequest {
  method: string;
  /** The request target as sent (percent-encoding untouched). */
  target: string;
  headers?: Array<[string, string]>;
  body?: Buffer | string;
  /** Send the body with `Transfer-Encoding: chunked` in pieces of this size instead of Content-Length. */
  chunkSize?: number;
}

/** What is compared between hosts. */
export interface ComparableResponse {
  status: number;
  /** Response headers the app controls (lower-cased, sorted); framing and server headers left out. */
  headers: Record<string, string>;
  body: string;
}

/** Framing, connection and server headers each host sets on its own; everything else must match. */
const HOST_OWNED_HEADERS = new Set(["date", "server", "connection", "keep-alive", "transfer-encoding", "content-length", "x-ms-invocation-id"]);

/** Sends one request over a fresh connection and reads the whole response. */
export function send(baseUrl: string, request: RawRequest): Promise<{ status: number; headers: http.IncomingHttpHeaders; body: Buffer }> {
  const base = new URL(baseUrl);
  const body = request.body === undefined ? undefined : Buffer.isBuffer(request.body) ? request.body : Buffer.from(request.body, "utf8");
  // A header list (rather than an object) keeps repeated headers and their order, but Node then adds no Host.
  const headers: Array<[string, string]> = [["host", base.host], ...(request.headers ?? [])];
  if (body !== undefined && request.chunkSize === undefined) headers.push(["content-length", String(body.length)]);
  if (body !== undefined && request.chunkSize !== undefined) headers.push(["transfer-encoding", "chunked"]);
  return new Promise((resolve, reject) => {
    let responded = false;
    const req = http.request({ host: base.hostname, port: base.port, method: request.method, path: request.target, headers: headers.flat(), agent: false }, (res) => {
      responded = true;
      const chunks: Buffer[] = [];
      res.on("data", (c: Buffer) => chunks.push(c));
      res.once("end", () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks) }));
      res.once("error", reject);
    });
    // A server may answer early (413) and close while the body is still being written: keep its answer.
    req.on("error", (e) => {
      if (!responded) reject(e);
    });
    if (body === undefined) {
      req.end();
    } else if (request.chunkSize === undefined) {
      req.end(body);
    } else {
      for (let i = 0; i < body.length; i += request.chunkSize) req.write(body.subarray(i, i + request.chunkSize));
      req.end();
    }
  });
}

/** The comparable view of a response; `normalize` removes values that legitimately differ per host (keys, ETags). */
export function comparable(response: { status: number; headers: http.IncomingHttpHeaders; body: Buffer }, normalize: (text: string) => string): ComparableResponse {
  const headers: Record<string, string> = {};
  for (const name of Object.keys(response.headers).sort()) {
    if (HOST_OWNED_HEADERS.has(name)) continue;
    const value = response.headers[name];
    headers[name] = name === "etag" ? "<etag>" : normalize(Array.isArray(value) ? value.join(", ") : String(value));
  }
  return { status: response.status, headers, body: normalize(response.body.toString("utf8")) };
}
