/**
 * @module functions-host/routes: the route templates the app's HTTP functions use (literals, `{name}`, `{name?}`,
 * `{*rest}`) and the real host's route order: functions sorted by name, first match wins.
 *
 * Constraints (`{id:int}`), defaults (`{page=1}`) and several parameters in one segment are ASP.NET template
 * features no function here uses; they fail registration with a clear message instead of being half-modelled.
 */

/** A literal segment (matched case-insensitively). */
export interface LiteralSegment {
  readonly kind: "literal";
  readonly text: string;
}

/** A `{name}`, `{name?}` or `{*name}` segment. */
export interface ParameterSegment {
  readonly kind: "parameter";
  readonly name: string;
  readonly optional: boolean;
  readonly catchAll: boolean;
}

/** One `/`-separated segment of a template. */
export type RouteSegment = LiteralSegment | ParameterSegment;

/** A parsed route template. */
export interface RouteTemplate {
  readonly template: string;
  readonly segments: readonly RouteSegment[];
}

/** Thrown for a template the host refuses to register. */
export class RouteTemplateError extends Error {
  constructor(template: string, reason: string) {
    super(`Invalid route template "${template}": ${reason}`);
    this.name = "RouteTemplateError";
  }
}

/**
 * Joins the host.json `routePrefix` and a function's route the way the WebJobs route builder does
 * (`prefix + "/" + route`), defaulting the route to the function name when it is missing or empty.
 */
export function buildRouteTemplate(routePrefix: string, route: string | undefined, functionName: string): string {
  const prefix = trimSlashes(routePrefix);
  const own = stripTemplateRoot(route === undefined || route === "" ? functionName : route);
  if (prefix === "") return own;
  return own === "" ? prefix : `${prefix}/${own}`;
}

function trimSlashes(value: string): string {
  return value.replace(/^\/+/, "").replace(/\/+$/, "");
}

// ASP.NET accepts an app-relative "~/" or a leading "/" and ignores both.
function stripTemplateRoot(template: string): string {
  if (template.startsWith("~/")) return template.slice(2);
  if (template.startsWith("/")) return template.slice(1);
  return template;
}

const PARAMETER = /^\{(\*{1,2})?([^{}:=?*/]+)(\?)?\}$/;

/** Parses a route template; throws {@link RouteTemplateError} on syntax the host rejects or does not model. */
export function parseRouteTemplate(template: string): RouteTemplate {
  const body = stripTemplateRoot(template);
  if (body === "") return { template, segments: [] };
  const rawSegments = body.split("/");
  if (rawSegments.some((s) => s === "")) {
    throw new RouteTemplateError(template, "the separator '/' cannot appear consecutively or at the end");
  }
  const seen = new Set<string>();
  const segments = rawSegments.map((raw, index): RouteSegment => {
    if (!raw.includes("{") && !raw.includes("}")) {
      if (raw.includes("?")) throw new RouteTemplateError(template, `the literal '${raw}' cannot contain '?'`);
      return { kind: "literal", text: raw };
    }
    const match = PARAMETER.exec(raw);
    if (!match) {
      throw new RouteTemplateError(
        template,
        `'${raw}' is not supported by the local host: a segment is a literal, {name}, {name?} or {*name} (no constraints, defaults or several parameters in one segment)`,
      );
    }
    const [, star, name, question] = match;
    const catchAll = star !== undefined;
    if (catchAll && question !== undefined) throw new RouteTemplateError(template, `catch-all parameter '${name}' cannot be marked optional`);
    if (catchAll && index !== rawSegments.length - 1) throw new RouteTemplateError(template, `catch-all parameter '${name}' must be the last segment`);
    if (seen.has(name.toLowerCase())) throw new RouteTemplateError(template, `the parameter '${name}' appears more than once`);
    seen.add(name.toLowerCase());
    return { kind: "parameter", name, optional: question !== undefined, catchAll };
  });
  return { template, segments };
}

/**
 * Splits a raw request path (still percent-encoded, no query) into decoded segments. A trailing slash is
 * ignored like ASP.NET does; "%2F" stays encoded so it never acts as a separator.
 */
export function splitRequestPath(rawPath: string): string[] {
  let path = rawPath.startsWith("/") ? rawPath.slice(1) : rawPath;
  if (path.endsWith("/")) path = path.slice(0, -1);
  if (path === "") return [];
  return path.split("/").map(decodePathSegment);
}

/**
 * Percent-decodes one path segment as Kestrel does: `%2F` stays encoded, every run of well-formed escapes
 * is decoded as UTF-8, and malformed escapes (or runs that are not UTF-8) stay as sent.
 */
export function decodePathSegment(segment: string): string {
  if (!segment.includes("%")) return segment;
  return segment
    .split(/(%2F)/i)
    .map((piece) =>
      /^%2F$/i.test(piece)
        ? piece
        : piece.replace(/(?:%[0-9A-Fa-f]{2})+/g, (run) => {
            try {
              return decodeURIComponent(run);
            } catch {
              return run;
            }
          }),
    )
    .join("");
}

/**
 * Matches decoded path segments against a template. Returns the route values, or undefined. Optional
 * parameters that got no value are present as "" (the Functions host sends them as null, which the
 * library turns into an empty string).
 */
export function matchRoute(route: RouteTemplate, pathSegments: readonly string[]): Record<string, string> | undefined {
  const values: Record<string, string> = {};
  const segments = route.segments;
  for (let i = 0; i < segments.length; i++) {
    const segment = segments[i];
    if (segment.kind === "parameter" && segment.catchAll) {
      values[segment.name] = pathSegments.slice(i).join("/");
      return values;
    }
    if (i >= pathSegments.length) {
      if (segment.kind === "parameter" && segment.optional) {
        values[segment.name] = "";
        continue;
      }
      return undefined;
    }
    const value = pathSegments[i];
    if (segment.kind === "literal") {
      if (segment.text.toLowerCase() !== value.toLowerCase()) return undefined;
    } else {
      if (value === "") return undefined;
      values[segment.name] = value;
    }
  }
  return pathSegments.length > segments.length ? undefined : values;
}

/** One routable function: its name, parsed template, allowed methods (undefined = all) and a payload. */
export interface RouteEntry<T> {
  readonly functionName: string;
  readonly route: RouteTemplate;
  readonly methods: readonly string[] | undefined;
  readonly value: T;
}

/**
 * .NET's `StringComparison.OrdinalIgnoreCase`: code units compared after upper-casing, so "_" sorts after
 * letters and "-" and digits before them.
 */
export function compareOrdinalIgnoreCase(a: string, b: string): number {
  const x = a.toUpperCase();
  const y = b.toUpperCase();
  return x < y ? -1 : x > y ? 1 : 0;
}

/**
 * The real host's route order: functions sorted by name (`FunctionMetadataManager`, OrdinalIgnoreCase), routes
 * added in that order (`WebJobsRouteBuilder`), so the first match wins however specific a later route is.
 */
export function orderRoutes<T>(entries: readonly RouteEntry<T>[]): RouteEntry<T>[] {
  return [...entries].sort((x, y) => compareOrdinalIgnoreCase(x.functionName, y.functionName));
}

/**
 * Picks the first entry (in {@link orderRoutes} order) whose template matches the path and whose methods
 * allow the request method. A path match with the wrong method is skipped (the HTTP method route constraint),
 * so a later route can take it.
 */
export function selectRoute<T>(
  orderedEntries: readonly RouteEntry<T>[],
  method: string,
  rawPath: string,
): { entry: RouteEntry<T>; params: Record<string, string> } | undefined {
  const segments = splitRequestPath(rawPath);
  const upperMethod = method.toUpperCase();
  for (const entry of orderedEntries) {
    if (entry.methods !== undefined && !entry.methods.some((m) => m.toUpperCase() === upperMethod)) continue;
    const params = matchRoute(entry.route, segments);
    if (params) return { entry, params };
  }
  return undefined;
}
