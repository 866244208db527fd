/**
 * @module keyvault-emulator/http: small node:http helpers shared by the emulator's listeners.
 */
import type { IncomingMessage, Server, ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";

/** Raised when a request body is larger than allowed or cannot be read. */
export class BodyError extends Error {
  override readonly name = "BodyError";
}

/**
 * Reads the whole request body.
 * @param req - the request
 * @param limitBytes - maximum size
 * @throws BodyError when the body is larger than `limitBytes`
 */
export function readBody(req: IncomingMessage, limitBytes: number): Promise<Buffer> {
  // Past the limit the rest is drained, not destroyed, so the caller can still answer on this socket.
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    const onData = (chunk: Buffer): void => {
      size += chunk.length;
      if (size <= limitBytes) return void chunks.push(chunk);
      req.off("data", onData).resume();
      reject(new BodyError(`request body larger than ${limitBytes} bytes`));
    };
    req.on("data", onData);
    req.once("end", () => resolve(Buffer.concat(chunks)));
    req.once("error", (e) => reject(new BodyError(e.message)));
  });
}

/**
 * Parses a JSON body; an empty body is `undefined`.
 * @param body - raw bytes
 * @throws SyntaxError for invalid JSON
 */
export function parseJsonBody(body: Buffer): unknown {
  if (body.length === 0) return undefined;
  return JSON.parse(body.toString("utf8")) as unknown;
}

/**
 * Sends a JSON response (or no body for 204).
 * @param res - the response
 * @param status - HTTP status
 * @param body - serialised with JSON.stringify
 * @param headers - extra headers
 */
export function sendJson(res: ServerResponse, status: number, body: unknown, headers: Readonly<Record<string, string>> = {}): void {
  if (res.headersSent || res.destroyed) return;
  if (status === 204 || body === undefined) {
    res.writeHead(status, { ...headers, "Content-Length": "0" });
    res.end();
    return;
  }
  const text = JSON.stringify(body);
  res.writeHead(status, {
    ...headers,
    "Content-Type": "application/json; charset=utf-8",
    "Content-Length": String(Buffer.byteLength(text)),
  });
  res.end(text);
}

/**
 * Starts listening on 127.0.0.1.
 * @param server - an http or https server
 * @param port - 0 for an ephemeral port
 * @returns the bound port
 */
export function listen(server: Server, port: number): Promise<number> {
  return new Promise((resolve, reject) => {
    const onError = (e: Error): void => reject(e);
    server.once("error", onError);
    server.listen(port, "127.0.0.1", () => {
      server.off("error", onError);
      resolve((server.address() as AddressInfo).port);
    });
  });
}

/**
 * Stops a server and drops its connections (keep-alive clients would otherwise hold it open).
 * @param server - a listening server
 */
export function closeServer(server: Server): Promise<void> {
  return new Promise((resolve) => {
    if (!server.listening) {
      resolve();
      return;
    }
    server.close(() => resolve());
    server.closeAllConnections();
  });
}

/**
 * Whether a socket address is the loopback interface.
 * @param address - `req.socket.remoteAddress`
 */
export function isLoopback(address: string | undefined): boolean {
  return address === "127.0.0.1" || address === "::1" || address === "::ffff:127.0.0.1";
}

/** Waits `ms` milliseconds. */
export function delay(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
