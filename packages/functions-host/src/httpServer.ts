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

/** How long a refused upload's connection stays half-closed before it is cut; see {@link closeAfterAnswer}. */
const LINGER_MS = 5_000;

/**
 * Makes the connection close after this answer without reading whatever the client is still sending.
 * Node would destroy the socket as soon as the answer is flushed, and closing a socket with unread data
 * sends a reset, which can make the client's TCP stack discard the answer before the client reads it. So
 * the write side is shut (the client sees the answer and its end), nothing more is read, and the socket is
 * destroyed when the client closes or after a bounded linger.
 */
export function closeAfterAnswer(req: http.IncomingMessage, res: http.ServerResponse, lingerMs = LINGER_MS): void {
  res.shouldKeepAlive = false;
  // A body nobody started reading would be drained (read and thrown away) by Node after the answer; taking
  // it, without a consumer, leaves it unread: at most one buffer's worth arrives before reading stops.
  if (req.readableFlowing !== true && !req.complete) req.read(0);
  const socket = res.socket;
  if (socket === null) return;
  socket.destroySoon = function lingeringClose(this: typeof socket): void {
    this.end();
    setTimeout(() => this.destroy(), lingerMs).unref();
  };
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
