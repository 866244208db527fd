/**
 * @module functions-host/requestChecks: what Kestrel (the server in front of the Functions host) checks on the
 * request line before anything is routed, so the local host answers malformed or unusual request lines the
 * same way instead of failing inside the invocation with a 500; and how a request whose body never fully
 * arrived is told apart from a host failure.
 */

/** The outcome: the origin-form target (`/path?query`) to route, or the status to answer right away. */
export type RequestTargetCheck = { readonly ok: true; readonly target: string } | { readonly ok: false; readonly status: 400 | 505 };

const ABSOLUTE_FORM = /^([a-zA-Z][a-zA-Z0-9+.-]*):\/\/[^/?#]*/;

/**
 * Checks the request line and returns the origin-form target to route (RFC 9112 §3.2, §2.3, §3.2.2):
 * - only HTTP/1.x is served here: anything else (Node also parses `HTTP/2.0` and HTTP/0.9-style lines) → 505;
 * - more than one `Host` header → 400 (RFC 9112 §3.2: a server MUST answer 400);
 * - absolute-form `http(s)://authority/path?query` (proxies send it; servers MUST accept it) → `/path?query`,
 *   where the host used to glue it after its own authority and fail parsing the URL (500); other schemes → 400;
 * - asterisk-form `*` → `/` for OPTIONS (server-wide OPTIONS), 400 for any other method.
 * @param method - the request method as received
 * @param target - Node's `req.url`, the request target as sent
 * @param httpVersion - Node's `req.httpVersion`, e.g. `1.1`
 * @param rawHeaders - Node's `req.rawHeaders` (name, value, ...)
 */
export function checkRequestLine(method: string, target: string, httpVersion: string, rawHeaders: readonly string[]): RequestTargetCheck {
  if (!/^1\.\d$/.test(httpVersion)) return { ok: false, status: 505 };
  let hosts = 0;
  for (let i = 0; i < rawHeaders.length; i += 2) if (rawHeaders[i]?.toLowerCase() === "host") hosts++;
  if (hosts > 1) return { ok: false, status: 400 };
  if (target.startsWith("/")) return { ok: true, target };
  if (target === "*") return method.toUpperCase() === "OPTIONS" ? { ok: true, target: "/" } : { ok: false, status: 400 };
  const absolute = ABSOLUTE_FORM.exec(target);
  if (absolute === null) return { ok: false, status: 400 };
  const scheme = (absolute[1] ?? "").toLowerCase();
  if (scheme !== "http" && scheme !== "https") return { ok: false, status: 400 };
  const rest = target.slice(absolute[0].length);
  return { ok: true, target: rest.startsWith("/") ? rest : `/${rest}` };
}

/**
 * Whether reading a request body failed because the client went away or sent a body Node's parser refused
 * (e.g. a bad chunk size: Node has already answered 400 and closes the connection). Such a request has
 * nothing to run and is not a host error to log.
 */
export function isClientAbortError(err: unknown): boolean {
  if (!(err instanceof Error)) return false;
  const code = (err as NodeJS.ErrnoException).code;
  return code === "ECONNRESET" || code === "ERR_STREAM_PREMATURE_CLOSE" || err.message === "aborted";
}
