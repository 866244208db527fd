/** @module functions-host/requestBody: reading a bounded request body, shared by the local host and the emulator. */
import type { IncomingMessage } from "node:http";

/** The request body exceeded the limit. */
export class BodyTooLargeError extends Error {}

/** Whether the request declares (Content-Length) a body longer than `limit`: refused before reading any of it. */
export function declaresBodyOver(req: IncomingMessage, limit: number): boolean {
  const declared = req.headers["content-length"];
  return declared !== undefined && /^\d+$/.test(declared) && Number(declared) > limit;
}

/**
 * Reads the whole request body, never holding more than `limit` bytes.
 * @throws {@link BodyTooLargeError} at once when Content-Length declares more than `limit` (nothing is
 *   read), or as soon as a chunked body passes it (reading stops there: the stream is paused and the
 *   caller answers and closes the connection); other stream errors as they are
 */
export function readRequestBody(req: IncomingMessage, limit: number): Promise<Buffer> {
  if (declaresBodyOver(req, limit)) return Promise.reject(new BodyTooLargeError(`request body larger than ${limit} bytes`));
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    let failed = false;
    req.on("data", (chunk: Buffer) => {
      if (failed) return;
      size += chunk.length;
      if (size > limit) {
        failed = true;
        chunks.length = 0;
        req.pause();
        reject(new BodyTooLargeError(`request body larger than ${limit} bytes`));
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
