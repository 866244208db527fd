/** @module functions-host/requestBody: reading a bounded request body, shared by the local host and the emulator. */
import type { IncomingMessage } from "node:http";

/** The request body exceeded the limit. */
export class BodyTooLargeError extends Error {}

/**
 * Reads the whole request body.
 * @throws {@link BodyTooLargeError} past `limit` bytes (the rest of the stream is ignored); other
 *   stream errors as they are
 */
export function readRequestBody(req: IncomingMessage, limit: number): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    let failed = false;
    req.on("data", (chunk: Buffer) => {
      if (failed) return;
      size += chunk.length;
      if (size > limit) {
        failed = true;
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
