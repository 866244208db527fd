/**
 * @module functions-host/responseRecorder: a test aid that appends every response the host writes (status,
 * headers, body) to a JSON Lines file, so a test suite can check all of its traffic at one point (e.g. against
 * an API description) instead of at each call site. Off unless a file is given; bodies are recorded verbatim,
 * so it is for test environments only.
 */

import { appendFileSync } from "node:fs";
import type * as http from "node:http";

/** One recorded exchange. */
export interface RecordedResponse {
  method: string;
  /** The request target as received (path and query, still percent-encoded). */
  url: string;
  status: number;
  /** Header names lower-cased; repeated headers joined with ", ". */
  headers: Record<string, string>;
  /** The body as UTF-8 text (the first {@link MAX_RECORDED_BODY_BYTES}). */
  body: string;
  /** True when the body was longer than what was kept. */
  truncated?: true;
  /** True when the connection was cut before the response was complete (no complete response reached the client). */
  incomplete?: true;
}

/** Bodies are kept up to this size; the API's largest answers (a 1 MB state value) fit. */
export const MAX_RECORDED_BODY_BYTES = 4 * 1024 * 1024;

/** Adds header pairs from any of writeHead's header forms (object, flat list, list of pairs). */
function collectHeaders(into: Record<string, string>, headers: unknown): void {
  const add = (name: unknown, value: unknown): void => {
    if (typeof name !== "string" || value === undefined) return;
    const text = Array.isArray(value) ? value.map(String).join(", ") : String(value);
    const key = name.toLowerCase();
    into[key] = into[key] === undefined ? text : `${into[key]}, ${text}`;
  };
  if (Array.isArray(headers)) {
    if (headers.every((h) => Array.isArray(h))) for (const pair of headers as unknown[][]) add(pair[0], pair[1]);
    else for (let i = 0; i + 1 < headers.length; i += 2) add(headers[i], headers[i + 1]);
  } else if (typeof headers === "object" && headers !== null) {
    for (const [name, value] of Object.entries(headers)) add(name, value);
  }
}

/** Returns a function that records `res` once it finishes (or is cut), appending one line to `file`. */
export function createResponseRecorder(file: string): (req: http.IncomingMessage, res: http.ServerResponse) => void {
  return (req, res) => {
    const chunks: Buffer[] = [];
    let kept = 0;
    let truncated = false;
    let explicitHeaders: unknown;
    const keep = (chunk: unknown, encoding: unknown): void => {
      if (chunk === undefined || chunk === null || typeof chunk === "function") return;
      const buffer = typeof chunk === "string" ? Buffer.from(chunk, typeof encoding === "string" ? (encoding as BufferEncoding) : "utf8") : Buffer.from(chunk as Uint8Array);
      const room = MAX_RECORDED_BODY_BYTES - kept;
      if (buffer.length > room) truncated = true;
      const piece = buffer.length > room ? buffer.subarray(0, room) : buffer;
      chunks.push(piece);
      kept += piece.length;
    };
    const writeHead = res.writeHead.bind(res);
    res.writeHead = ((...args: unknown[]) => {
      // writeHead(status, headers?) or writeHead(status, statusMessage, headers?)
      explicitHeaders = typeof args[1] === "string" ? args[2] : args[1];
      return (writeHead as (...a: unknown[]) => http.ServerResponse)(...args);
    }) as typeof res.writeHead;
    const write = res.write.bind(res);
    res.write = ((chunk: unknown, encoding?: unknown, cb?: unknown) => {
      keep(chunk, encoding);
      return (write as (...a: unknown[]) => boolean)(chunk, encoding, cb);
    }) as typeof res.write;
    const end = res.end.bind(res);
    res.end = ((chunk?: unknown, encoding?: unknown, cb?: unknown) => {
      keep(chunk, encoding);
      return (end as (...a: unknown[]) => http.ServerResponse)(chunk, encoding, cb);
    }) as typeof res.end;
    let done = false;
    const record = (incomplete: boolean): void => {
      if (done) return;
      done = true;
      const headers: Record<string, string> = {};
      collectHeaders(headers, res.getHeaders());
      // writeHead's own headers win (Node merges an object form into getHeaders() too).
      const explicit: Record<string, string> = {};
      collectHeaders(explicit, explicitHeaders);
      Object.assign(headers, explicit);
      const line: RecordedResponse = {
        method: req.method ?? "GET",
        url: req.url ?? "/",
        status: res.statusCode,
        headers,
        body: Buffer.concat(chunks).toString("utf8"),
        ...(truncated ? { truncated: true as const } : {}),
        ...(incomplete ? { incomplete: true as const } : {}),
      };
      // Synchronous, one write per line: several hosts may share a folder but each has its own file, and the
      // line is on disk before the process can be stopped.
      appendFileSync(file, `${JSON.stringify(line)}\n`);
    };
    res.once("finish", () => record(false));
    res.once("close", () => record(!res.writableFinished));
  };
}
