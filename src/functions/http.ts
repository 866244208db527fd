/**
 * @module Shared HTTP adapter: Azure Functions request → API request, API response → Functions response.
 */
import type { HttpRequest, HttpResponseInit } from "@azure/functions";
import type { ApiResponse } from "../api/errors";
import { type ApiRequest, bodyTooLarge, clientIpFromHeader } from "../api/request";
import { currentApp } from "./appHost";

/**
 * Converts a Functions request; the body is read lazily, once, and never past the limit. In Azure the
 * client address is the front end's `client-ip` (clients cannot set it); elsewhere the Functions
 * programming model does not expose the socket, so it stays unknown (one shared throttling bucket).
 */
export function toApiRequest(request: HttpRequest, inAzure: boolean): ApiRequest {
  const clientAddress = inAzure ? clientIpFromHeader(request.headers.get("client-ip")) : undefined;
  return {
    method: request.method,
    url: request.url,
    headers: request.headers,
    body: (limit) => readBounded(request.body, limit),
    ...(clientAddress !== undefined ? { clientAddress } : {}),
  };
}

/** How much of an oversized body is read and thrown away before the stream is cancelled after all. */
const DRAIN_BYTES_MAX = 64 * 1024 * 1024;

/**
 * Reads a body stream chunk by chunk; past `limit` bytes it rejects, so a streamed (chunked) body
 * never costs more memory than the limit. The rest is drained and discarded in the background rather
 * than cancelled: cancelling destroys the proxied socket before the 413 is written, and the client
 * (or the host's proxy) then sees a reset instead of the answer. The drain itself is bounded.
 * @throws {@link ApiError} 413 `ERR_BODY_TOO_LARGE`
 */
export async function readBounded(stream: ReadableStream<Uint8Array> | null, limit: number, drainBytesMax = DRAIN_BYTES_MAX): Promise<Uint8Array> {
  if (stream === null) return new Uint8Array(0);
  const reader = stream.getReader();
  const chunks: Uint8Array[] = [];
  let total = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    total += value.byteLength;
    if (total > limit) {
      void drainDiscarding(reader, drainBytesMax);
      throw bodyTooLarge(limit);
    }
    chunks.push(value);
  }
  return chunks.length === 1 && chunks[0] !== undefined ? chunks[0] : new Uint8Array(Buffer.concat(chunks));
}

async function drainDiscarding(reader: ReadableStreamDefaultReader<Uint8Array>, maxBytes: number): Promise<void> {
  let drained = 0;
  try {
    for (;;) {
      const { done, value } = await reader.read();
      if (done) return;
      drained += value.byteLength;
      if (drained > maxBytes) break;
    }
  } catch {
    return;
  }
  await reader.cancel().catch(() => undefined);
}

/** Converts an API response; 204 carries no body. */
export function toResponseInit(response: ApiResponse): HttpResponseInit {
  return response.body === undefined ? { status: response.status, headers: response.headers } : { status: response.status, headers: response.headers, body: response.body };
}

/** The handler every Dapr route function registers. */
export async function serveDaprRequest(request: HttpRequest): Promise<HttpResponseInit> {
  const app = await currentApp();
  return toResponseInit(await app.api(toApiRequest(request, app.settings.azurePlan !== undefined)));
}
