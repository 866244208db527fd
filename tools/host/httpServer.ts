/** @module tools/host/httpServer: small helpers for the host's HTTP server (body reading, plain responses). */

import type * as http from "node:http";

/** The request body exceeded the host's limit. */
export class BodyTooLargeError extends Error {}

/** Reads the whole request body, rejecting with {@link BodyTooLargeError} past `limit` bytes. */
export function readRequestBody(req: http.IncomingMessage, limit: number): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    let failed = false;
    req.on("data", (chunk: Buffer) => {
      if (failed) return;
      size += chunk.length;
      if (size > limit) {
        failed = true;
        reject(new BodyTooLargeError(`Request body larger than ${limit} bytes`));
        return;
      }
      chunks.push(chunk);
    });
    req.on("end", () => {
      if (!failed) resolve(Buffer.concat(chunks));
    });
    req.on("error", (err) => {
      if (!failed) reject(err);
    });
  });
}

/**
 * Writes a complete small response; once headers are out (a failure mid-stream) the only honest signal left
 * is to cut the connection.
 */
export function sendSimple(res: http.ServerResponse, status: number, body = "", contentType?: string, extraHeaders: [string, string][] = []): void {
  if (res.headersSent) {
    res.destroy();
    return;
  }
  const payload = Buffer.from(body, "utf8");
  const headers: string[] = [];
  for (const [name, value] of extraHeaders) headers.push(name, value);
  if (contentType && payload.length > 0) headers.push("Content-Type", contentType);
  headers.push("Content-Length", String(payload.length));
  res.writeHead(status, headers);
  res.end(payload);
}

/** Resolves after `ms` without keeping the process alive. */
export function delay(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms).unref());
}

/**
 * Waits for the promises to settle, or `ms` at most. The timer is cleared when they settle first and is not
 * unref'd, so pending work cannot let the process exit halfway through a shutdown.
 */
export async function settleWithin(promises: readonly Promise<unknown>[], ms: number): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<void>((resolve) => (timer = setTimeout(resolve, ms)));
  try {
    await Promise.race([Promise.allSettled(promises), timeout]);
  } finally {
    clearTimeout(timer);
  }
}
