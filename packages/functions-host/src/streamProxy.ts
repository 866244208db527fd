/** @module functions-host/streamProxy: forward a client request to the library's HTTP stream proxy (HttpUri) and relay its answer. */

import * as http from "node:http";
import { forwardableRawHeaders } from "./httpMapping";
import { closeAfterAnswer, sendSimple } from "./httpServer";
import { describeError } from "./invocation";

/** Where and how to forward one request. */
export interface StreamProxyOptions {
  /** The `HttpUri` capability returned by the programming model. */
  readonly httpUri: string;
  readonly agent: http.Agent;
  readonly invocationId: string;
  /** `host[:port]` the client addressed, sent as x-forwarded-host. */
  readonly authority: string;
  /** The request target exactly as the client sent it. */
  readonly rawTarget: string;
  readonly onError: (message: string) => void;
}

/** Progress of one forwarded request. */
export interface StreamProxy {
  /** Resolves when the library starts answering (its response headers arrived). */
  readonly responseStarted: Promise<void>;
  /** Resolves when the client response is finished or closed. */
  readonly done: Promise<void>;
  /** Resolves if the forwarded request failed (the client already got a 502). */
  readonly failed: Promise<void>;
  /** Cancels the forwarded request without answering the client. */
  abort(): void;
}

/**
 * Streams `req` to the library's proxy server with the headers it pairs requests by (x-ms-invocation-id,
 * x-forwarded-host, x-forwarded-proto) and pipes the library's response back to `res`.
 */
export function proxyToLibrary(req: http.IncomingMessage, res: http.ServerResponse, options: StreamProxyOptions): StreamProxy {
  const { invocationId, authority, rawTarget, onError } = options;
  const target = new URL(options.httpUri);
  let aborted = false;
  let markStarted: () => void = () => undefined;
  const responseStarted = new Promise<void>((resolve) => (markStarted = resolve));
  let markDone: () => void = () => undefined;
  const done = new Promise<void>((resolve) => (markDone = resolve));
  let markFailed: () => void = () => undefined;
  const failed = new Promise<void>((resolve) => (markFailed = resolve));
  res.once("close", markDone);

  // With headers given as a raw array Node adds no Host header, and Node servers reject requests without one.
  const headers = ["Host", target.host];
  headers.push(...forwardableRawHeaders(req.rawHeaders, new Set(["x-ms-invocation-id", "x-forwarded-host", "x-forwarded-proto"])));
  // The library rebuilds the URL as `${x-forwarded-proto}://${x-forwarded-host}${path}`, so the raw target is
  // sent unchanged as the path.
  headers.push("x-ms-invocation-id", invocationId, "x-forwarded-host", authority, "x-forwarded-proto", "http");
  let proxyReq: http.ClientRequest;
  try {
    proxyReq = http.request({
      hostname: target.hostname,
      port: target.port,
      method: req.method,
      path: rawTarget,
      headers,
      agent: options.agent,
    });
  } catch (err) {
    onError(`Cannot forward the request to the HTTP stream proxy: ${describeError(err)}`);
    sendSimple(res, 502);
    markDone();
    markFailed();
    return { responseStarted, done, failed, abort: () => undefined };
  }
  proxyReq.on("response", (proxyRes) => {
    markStarted();
    // Answered before the body fully arrived (a refusal such as 401 or 413): the connection closes after the
    // answer, so the rest of the upload is dropped with the socket rather than read and thrown away.
    if (!req.complete) closeAfterAnswer(req, res);
    const outHeaders = forwardableRawHeaders(proxyRes.rawHeaders, new Set(["x-ms-invocation-id"]));
    try {
      res.writeHead(proxyRes.statusCode ?? 500, outHeaders);
    } catch (err) {
      onError(`Invalid streamed response: ${describeError(err)}`);
      proxyRes.resume();
      sendSimple(res, 500);
      return;
    }
    if ((req.method ?? "").toUpperCase() === "HEAD") {
      proxyRes.resume();
      res.end();
    } else {
      proxyRes.pipe(res);
    }
    proxyRes.on("error", () => res.destroy());
  });
  proxyReq.on("error", (err) => {
    if (!aborted) {
      onError(`HTTP stream proxy error: ${err.message}`);
      sendSimple(res, 502);
      markFailed();
    }
    markDone();
  });
  res.on("close", () => {
    if (!res.writableFinished) proxyReq.destroy();
    else if (!req.complete) {
      // Answered and closed; the library's side of the dropped upload goes too, without an error to report.
      aborted = true;
      proxyReq.destroy();
    }
  });
  req.pipe(proxyReq);
  return {
    responseStarted,
    done,
    failed,
    abort: () => {
      aborted = true;
      proxyReq.destroy();
    },
  };
}
