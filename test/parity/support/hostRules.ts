/**
 * @module What azure-functions-host does to an HTTP request before the Node worker sees it, as pure
 * functions: Kestrel's path decoding, `PathString.ToUriComponent`, header and query folding, the
 * name-ordered first-match routing of `WebJobsRouteBuilder`, and route template matching for the
 * template syntax this app uses. Written from the host's behaviour, independently of the project's
 * own local host, so the parity tests compare two implementations rather than one with itself.
 */

/** A function's HTTP route as the host registers it. */
export interface HttpRoute<T> {
  functionName: string;
  /** Full template (route prefix included), no leading slash. */
  template: string;
  /** Upper-case methods; empty means all. */
  methods: string[];
  value: T;
}

/** One parsed template segment. */
type Segment = { kind: "literal"; text: string } | { kind: "param"; name: string; optional: boolean; catchAll: boolean };

/**
 * Kestrel decodes the request path once, except `%2F`, which stays encoded so it never becomes a
 * separator; malformed escapes stay as sent.
 */
export function kestrelDecodePath(rawPath: string): string {
  return rawPath
    .split(/(%2F)/i)
    .map((piece) => {
      if (/^%2F$/i.test(piece)) return piece;
      return decodeLenient(piece);
    })
    .join("");
}

function decodeLenient(text: string): string {
  try {
    return decodeURIComponent(text);
  } catch {
    // Decode every well-formed UTF-8 run and keep the rest literally.
    return text.replace(/(?:%[0-9A-Fa-f]{2})+/g, (run) => {
      try {
        return decodeURIComponent(run);
      } catch {
        return run;
      }
    });
  }
}

const PATH_SAFE = /[A-Za-z0-9\-._~!$&'()*+,;=:@/]/;

/**
 * ASP.NET Core's `PathString.ToUriComponent`: characters that are not valid in a path are
 * percent-encoded as UTF-8, but a `%` followed by two hex digits is taken as already encoded and kept.
 * This is why a literal `%2520` in a request reaches the worker as `%20`.
 */
export function pathToUriComponent(decodedPath: string): string {
  let out = "";
  const chars = [...decodedPath];
  for (let i = 0; i < chars.length; i++) {
    const c = chars[i] ?? "";
    if (PATH_SAFE.test(c)) out += c;
    else if (c === "%" && /^[0-9A-Fa-f]{2}$/.test((chars[i + 1] ?? "") + (chars[i + 2] ?? ""))) out += c;
    else out += encodeURIComponent(c);
  }
  return out;
}

/**
 * YARP's `RequestUtilities.EncodePath`, which builds the path the host proxies to the worker's HttpUri in
 * streaming mode: unlike `PathString.ToUriComponent` it escapes `%` too (`Uri.EscapeDataString` on every
 * run of characters that are not valid in a path), so escapes round-trip and nothing is decoded twice.
 */
export function yarpEncodePath(decodedPath: string): string {
  let out = "";
  for (const c of decodedPath) out += PATH_SAFE.test(c) ? c : encodeURIComponent(c);
  return out;
}

/** Request headers as `HttpRequest.Headers` holds them: names lower-cased, repeated values joined with ",". */
export function foldHeaders(rawHeaders: readonly string[]): Record<string, string> {
  const headers: Record<string, string> = {};
  for (let i = 0; i + 1 < rawHeaders.length; i += 2) {
    const name = (rawHeaders[i] ?? "").toLowerCase();
    const value = rawHeaders[i + 1] ?? "";
    headers[name] = name in headers ? `${headers[name]},${value}` : value;
  }
  return headers;
}

/** `HttpRequest.Query`: keys case-insensitive in .NET; repeated values joined with ",". */
export function foldQuery(rawQuery: string): Record<string, string> {
  const query: Record<string, string> = {};
  for (const [key, value] of new URLSearchParams(rawQuery)) query[key] = key in query ? `${query[key]},${value}` : value;
  return query;
}

/** Parses the subset of ASP.NET templates this app uses; anything else fails loudly so the harness is never silently wrong. */
export function parseTemplate(template: string): Segment[] {
  if (template === "") return [];
  return template.split("/").map((raw) => {
    const param = /^\{(\*{1,2})?([A-Za-z_][A-Za-z0-9_]*)(\?)?\}$/.exec(raw);
    if (param !== null) return { kind: "param", name: param[2] ?? "", optional: param[3] === "?", catchAll: param[1] !== undefined };
    if (/[{}]/.test(raw)) throw new Error(`the parity host does not model the route segment "${raw}" of "${template}"`);
    return { kind: "literal", text: raw };
  });
}

/** Matches a decoded path against a template; returns the route values (absent optional values omitted). */
export function matchTemplate(template: string, decodedPath: string): Record<string, string> | undefined {
  const segments = parseTemplate(template);
  let pathText = decodedPath.startsWith("/") ? decodedPath.slice(1) : decodedPath;
  if (pathText.endsWith("/")) pathText = pathText.slice(0, -1);
  const parts = pathText === "" ? [] : pathText.split("/");
  const values: Record<string, string> = {};
  for (let i = 0; i < segments.length; i++) {
    const segment = segments[i];
    if (segment === undefined) break;
    if (segment.kind === "param" && segment.catchAll) {
      const rest = parts.slice(i).join("/");
      if (rest !== "") values[segment.name] = rest;
      return values;
    }
    const part = parts[i];
    if (part === undefined) {
      if (segment.kind === "param" && segment.optional) continue;
      return undefined;
    }
    if (segment.kind === "literal") {
      if (segment.text.toLowerCase() !== part.toLowerCase()) return undefined;
    } else {
      if (part === "") return undefined;
      values[segment.name] = part;
    }
  }
  return parts.length > segments.length ? undefined : values;
}

/** `host.json` routePrefix + route (or the function name), as the host joins them. */
export function fullTemplate(routePrefix: string, route: string | undefined, functionName: string): string {
  const prefix = routePrefix.replace(/^\/+|\/+$/g, "");
  const own = (route === undefined || route === "" ? functionName : route).replace(/^\/+/, "");
  return prefix === "" ? own : own === "" ? prefix : `${prefix}/${own}`;
}

/** Functions ordered by name, case-insensitively (`FunctionMetadataManager`), the order routes are added in. */
export function orderRoutes<T>(routes: readonly HttpRoute<T>[]): HttpRoute<T>[] {
  return [...routes].sort((a, b) => {
    const x = a.functionName.toUpperCase();
    const y = b.functionName.toUpperCase();
    return x < y ? -1 : x > y ? 1 : 0;
  });
}

/** The first route (in the given order) whose template and method match; not the most specific one. */
export function firstMatch<T>(ordered: readonly HttpRoute<T>[], method: string, decodedPath: string): { route: HttpRoute<T>; params: Record<string, string> } | undefined {
  for (const route of ordered) {
    if (route.methods.length > 0 && !route.methods.includes(method.toUpperCase())) continue;
    const params = matchTemplate(route.template, decodedPath);
    if (params !== undefined) return { route, params };
  }
  return undefined;
}
