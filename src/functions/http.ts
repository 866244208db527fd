/**
 * @module Shared HTTP adapter: Azure Functions request → API request, API response → Functions response.
 */
import { isIP } from "node:net";
import type { HttpRequest, HttpResponseInit, InvocationContext } from "@azure/functions";
import type { ApiResponse } from "../api/errors";
import { type ApiRequest, bodyTooLarge, clientIpFromHeader } from "../api/request";
import type { App } from "../app";
import { currentApp, startedApp } from "./appHost";

/**
 * Where the project's local Functions host publishes, in its own process, the peer address of the
 * connection behind a running invocation (`@vaultstate/functions-host`, `CLIENT_ADDRESS_LOOKUP`). Only that
 * host sets it; no request content can.
 */
const LOCAL_HOST_CLIENT_ADDRESS = Symbol.for("@vaultstate/functions-host/clientAddress");

/** The socket's peer address the local host vouches for, if the app runs under it. */
export function localHostClientAddress(invocationId: string | undefined): string | undefined {
  const lookup: unknown = (globalThis as Record<symbol, unknown>)[LOCAL_HOST_CLIENT_ADDRESS];
  if (typeof lookup !== "function" || invocationId === undefined) return undefined;
  const address: unknown = lookup(invocationId);
  return typeof address === "string" && isIP(address) !== 0 ? address.toLowerCase() : undefined;
}

/**
 * Converts a Functions request; the body is read lazily, once, and never past the limit. The client
 * address is what the platform vouches for, never a header a client can write: in Azure the front end's
 * `client-ip` (clients cannot set it); under the local host the socket's peer address it publishes for
 * the invocation; anywhere else (Core Tools, the worker outside Azure) it stays unknown, so no request
 * counts as loopback there and rate limiting shares one bucket.
 */
export function toApiRequest(request: HttpRequest, inAzure: boolean, invocationId?: string): ApiRequest {
  return new FunctionsApiRequest(request, inAzure, invocationId);
}

/** A Functions request as the API sees it: one object per request (the body reader is a method). */
class FunctionsApiRequest implements ApiRequest {
  readonly method: string;
  readonly url: string;
  readonly headers: HttpRequest["headers"];
  readonly hasBody: boolean;
  readonly #stream: ReadableStream<Uint8Array> | null;
  /** `null` until first asked. */
  #clientAddress: string | undefined | null = null;

  constructor(
    request: HttpRequest,
    private readonly inAzure: boolean,
    private readonly invocationId: string | undefined,
  ) {
    this.method = request.method;
    this.url = request.url;
    this.headers = request.headers;
    this.#stream = request.body;
    // The library gives a GET or HEAD no body stream at all; a declared body still goes through the
    // read, so one over the limit is refused (413) as daprd does.
    this.hasBody = this.#stream !== null || (this.headers.get("content-length") ?? "0") !== "0" || this.headers.has("transfer-encoding");
  }

  /**
   * Looked up when first asked (a failed sign-in, an anonymous caller): a request that signs in never
   * needs it. Still within the invocation, while the local host publishes the address.
   */
  get clientAddress(): string | undefined {
    if (this.#clientAddress === null) this.#clientAddress = this.inAzure ? clientIpFromHeader(this.headers.get("client-ip")) : localHostClientAddress(this.invocationId);
    return this.#clientAddress;
  }

  body(limit: number): Promise<Uint8Array> {
    return readBounded(this.#stream, limit);
  }
}

/**
 * How much of an oversized body is read and thrown away before the stream is cancelled after all: the
 * Functions host's own request body limit (`DefaultMaxRequestBodySize`, 100 MiB), so any body the host
 * lets through is read to its end.
 */
const DRAIN_BYTES_MAX = 100 * 1024 * 1024;

/**
 * Reads a body stream chunk by chunk; past `limit` bytes it rejects, so a streamed (chunked) body
 * never costs more memory than the limit. The rest is drained and discarded in the background rather
 * than cancelled: the host's proxy (YARP over HttpClient) reads the worker's answer only once it has
 * sent the whole body, so a connection closed before that turns the 413 into a failed invocation (500).
 * The drain costs no memory and is bounded.
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

/** Converts an API response; 204 carries no body. An API response with a body already has the library's shape. */
export function toResponseInit(response: ApiResponse): HttpResponseInit {
  return response.body === undefined ? { status: response.status, headers: response.headers } : response;
}

/**
 * The handler every Dapr route function registers. Once started, the app is taken as it is rather
 * than awaited, and an answer the API gives at once (a cached secret) is returned at once: the
 * Functions library awaits whatever a handler returns, so a promise here would only add turns. A
 * failure before the API (which never throws) is a rejection, as from the async function this was.
 */
export function serveDaprRequest(request: HttpRequest, context?: InvocationContext): HttpResponseInit | Promise<HttpResponseInit> {
  const app = startedApp();
  if (app === undefined) return currentApp().then((started) => serveWith(started, request, context));
  try {
    return serveWith(app, request, context);
  } catch (e) {
    return Promise.reject(e as Error);
  }
}

function serveWith(app: App, request: HttpRequest, context: InvocationContext | undefined): HttpResponseInit | Promise<HttpResponseInit> {
  const answer = app.api(toApiRequest(request, app.settings.azurePlan !== undefined, context?.invocationId));
  return answer instanceof Promise ? answer.then(toResponseInit) : toResponseInit(answer);
}
