/** @module functions-host/httpServer: small helpers for the host's HTTP server (body reading, plain responses). */

import type * as http from "node:http";

export { BodyTooLargeError, readRequestBody } from "./requestBody";

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
