/** @module functions-host/routes: ASP.NET-style route templates (parse, match, precedence) for HTTP-triggered functions. */

/** A constraint on a route parameter, e.g. `int` or `length(2,5)`. */
export interface RouteConstraint {
  readonly name: string;
  readonly args: readonly string[];
}

/** A literal piece of a segment (matched case-insensitively). */
export interface LiteralPart {
  readonly kind: "literal";
  readonly text: string;
}

/** A `{name...}` parameter piece of a segment. */
export interface ParameterPart {
  readonly kind: "parameter";
  readonly name: string;
  readonly optional: boolean;
  readonly catchAll: boolean;
  readonly defaultValue?: string;
  readonly constraints: readonly RouteConstraint[];
}

/** One piece of a segment. */
export type RoutePart = LiteralPart | ParameterPart;

/** One `/`-separated segment of a template; more than one part makes it a "complex" segment like `{name}.{ext}`. */
export interface RouteSegment {
  readonly parts: readonly RoutePart[];
}

/** A parsed route template. */
export interface RouteTemplate {
  readonly template: string;
  readonly segments: readonly RouteSegment[];
}

/** Thrown for a template the host would refuse to register. */
export class RouteTemplateError extends Error {
  constructor(template: string, reason: string) {
    super(`Invalid route template "${template}": ${reason}`);
    this.name = "RouteTemplateError";
  }
}

/** Constraint names understood by {@link parseRouteTemplate}; unknown names fail registration like ASP.NET does. */
export const KNOWN_CONSTRAINTS: readonly string[] = [
  "int",
  "long",
  "bool",
  "guid",
  "alpha",
  "decimal",
  "double",
  "float",
  "datetime",
  "minlength",
  "maxlength",
  "length",
  "min",
  "max",
  "range",
  "regex",
];

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

/** Parses an ASP.NET route template; throws {@link RouteTemplateError} on syntax the host rejects. */
export function parseRouteTemplate(template: string): RouteTemplate {
  const body = stripTemplateRoot(template);
  if (body === "") return { template, segments: [] };
  const rawSegments = splitTemplateSegments(template, body);
  const segments = rawSegments.map((raw) => parseSegment(template, raw));
  validateTemplate(template, segments);
  return { template, segments };
}

// Splits on "/" outside of parameters, because a regex constraint may contain a slash.
function splitTemplateSegments(template: string, body: string): string[] {
  const segments: string[] = [];
  let current = "";
  let depth = 0;
  for (let i = 0; i < body.length; i++) {
    const ch = body[i];
    if (depth === 0 && ch === "{" && body[i + 1] === "{") {
      current += "{{";
      i++;
    } else if (depth === 0 && ch === "}" && body[i + 1] === "}") {
      current += "}}";
      i++;
    } else if (ch === "{") {
      depth++;
      current += ch;
    } else if (ch === "}" && depth > 0 && body[i + 1] === "}") {
      current += "}}";
      i++;
    } else if (ch === "}") {
      depth = Math.max(0, depth - 1);
      current += ch;
    } else if (ch === "/" && depth === 0) {
      segments.push(current);
      current = "";
    } else {
      current += ch;
    }
  }
  segments.push(current);
  if (segments.some((s) => s === "")) {
    throw new RouteTemplateError(template, "the separator '/' cannot appear consecutively or at the end");
  }
  return segments;
}

function parseSegment(template: string, raw: string): RouteSegment {
  const parts: RoutePart[] = [];
  let literal = "";
  let i = 0;
  const flushLiteral = (): void => {
    if (literal !== "") {
      if (literal.includes("?")) throw new RouteTemplateError(template, `the literal '${literal}' cannot contain '?'`);
      parts.push({ kind: "literal", text: literal });
      literal = "";
    }
  };
  while (i < raw.length) {
    const ch = raw[i];
    if (ch === "{" && raw[i + 1] === "{") {
      literal += "{";
      i += 2;
    } else if (ch === "}" && raw[i + 1] === "}") {
      literal += "}";
      i += 2;
    } else if (ch === "{") {
      flushLiteral();
      const { text, end } = readParameterText(template, raw, i + 1);
      parts.push(parseParameter(template, text));
      i = end;
    } else if (ch === "}") {
      throw new RouteTemplateError(template, "unmatched '}'");
    } else {
      literal += ch;
      i++;
    }
  }
  flushLiteral();
  for (let p = 1; p < parts.length; p++) {
    if (parts[p - 1].kind === "parameter" && parts[p].kind === "parameter") {
      throw new RouteTemplateError(template, "two parameters in one segment must be separated by a literal");
    }
  }
  return { parts };
}

// Reads a parameter body up to its closing brace; "}}" and "{{" inside are escaped braces (used by regex constraints).
function readParameterText(template: string, raw: string, start: number): { text: string; end: number } {
  let text = "";
  let i = start;
  while (i < raw.length) {
    const ch = raw[i];
    if ((ch === "}" || ch === "{") && raw[i + 1] === ch) {
      text += ch;
      i += 2;
    } else if (ch === "}") {
      return { text, end: i + 1 };
    } else if (ch === "{") {
      throw new RouteTemplateError(template, "a parameter cannot contain an unescaped '{'");
    } else {
      text += ch;
      i++;
    }
  }
  throw new RouteTemplateError(template, "unclosed '{'");
}

function parseParameter(template: string, text: string): ParameterPart {
  let rest = text;
  let catchAll = false;
  if (rest.startsWith("**")) {
    catchAll = true;
    rest = rest.slice(2);
  } else if (rest.startsWith("*")) {
    catchAll = true;
    rest = rest.slice(1);
  }
  const nameMatch = /^[^:=?{}/*]+/.exec(rest);
  if (!nameMatch) throw new RouteTemplateError(template, `parameter '{${text}}' has no name`);
  const name = nameMatch[0];
  rest = rest.slice(name.length);

  const constraints: RouteConstraint[] = [];
  while (rest.startsWith(":")) {
    const { constraint, remaining } = readConstraint(template, rest.slice(1));
    constraints.push(constraint);
    rest = remaining;
  }

  let optional = false;
  let defaultValue: string | undefined;
  if (rest === "?") {
    optional = true;
  } else if (rest.startsWith("=")) {
    defaultValue = rest.slice(1);
    if (defaultValue.endsWith("?")) {
      throw new RouteTemplateError(template, `optional parameter '${name}' cannot have a default value`);
    }
  } else if (rest !== "") {
    throw new RouteTemplateError(template, `unexpected '${rest}' in parameter '${name}'`);
  }
  if (catchAll && optional) {
    throw new RouteTemplateError(template, `catch-all parameter '${name}' cannot be marked optional`);
  }
  return { kind: "parameter", name, optional, catchAll, defaultValue, constraints };
}

function readConstraint(template: string, text: string): { constraint: RouteConstraint; remaining: string } {
  const nameMatch = /^[A-Za-z]+/.exec(text);
  if (!nameMatch) throw new RouteTemplateError(template, `empty constraint in '${text}'`);
  const name = nameMatch[0].toLowerCase();
  if (!KNOWN_CONSTRAINTS.includes(name)) {
    throw new RouteTemplateError(template, `the constraint '${nameMatch[0]}' could not be resolved`);
  }
  let rest = text.slice(nameMatch[0].length);
  let args: string[] = [];
  if (rest.startsWith("(")) {
    // A regex argument may contain parentheses of its own, so the list ends at the first ")" that is
    // followed by another constraint, the optional marker, a default value or the end of the parameter.
    let close = -1;
    for (let i = 1; i < rest.length; i++) {
      const next = rest[i + 1];
      if (rest[i] === ")" && (next === undefined || next === ":" || next === "?" || next === "=")) {
        close = i;
        break;
      }
    }
    if (close < 0) throw new RouteTemplateError(template, `unclosed '(' in constraint '${name}'`);
    const inner = rest.slice(1, close);
    args = name === "regex" ? [inner] : inner.split(",").map((a) => a.trim());
    rest = rest.slice(close + 1);
  }
  validateConstraintArgs(template, name, args);
  return { constraint: { name, args }, remaining: rest };
}

function validateConstraintArgs(template: string, name: string, args: readonly string[]): void {
  const expected: Record<string, number[]> = {
    minlength: [1],
    maxlength: [1],
    length: [1, 2],
    min: [1],
    max: [1],
    range: [2],
    regex: [1],
  };
  const counts = expected[name] ?? [0];
  if (!counts.includes(args.length)) {
    throw new RouteTemplateError(template, `constraint '${name}' takes ${counts.join(" or ")} argument(s)`);
  }
  if (name !== "regex" && args.some((a) => !/^-?\d+$/.test(a))) {
    throw new RouteTemplateError(template, `constraint '${name}' needs integer arguments`);
  }
  if (name === "regex") {
    try {
      new RegExp(args[0], "i");
    } catch (err) {
      throw new RouteTemplateError(template, `invalid regex '${args[0]}': ${err instanceof Error ? err.message : String(err)}`);
    }
  }
}

function validateTemplate(template: string, segments: readonly RouteSegment[]): void {
  const seen = new Set<string>();
  segments.forEach((segment, index) => {
    for (const part of segment.parts) {
      if (part.kind !== "parameter") continue;
      const key = part.name.toLowerCase();
      if (seen.has(key)) throw new RouteTemplateError(template, `the parameter '${part.name}' appears more than once`);
      seen.add(key);
      if (part.catchAll && (index !== segments.length - 1 || segment.parts.length > 1)) {
        throw new RouteTemplateError(template, `catch-all parameter '${part.name}' must be the whole last segment`);
      }
      if ((part.optional || part.defaultValue !== undefined) && segment.parts.length > 1) {
        throw new RouteTemplateError(template, `optional parameter '${part.name}' must be a whole segment`);
      }
    }
  });
}

/**
 * Precedence digits, one per segment; lower sorts first. The order is literal, constrained parameter
 * (or complex segment), parameter, optional parameter, catch-all, with constrained variants ahead of
 * unconstrained ones inside each kind.
 */
export function routePrecedence(route: RouteTemplate): number[] {
  return route.segments.map((segment) => {
    if (segment.parts.length > 1) return 2;
    const part = segment.parts[0];
    if (part.kind === "literal") return 1;
    const constrained = part.constraints.length > 0;
    if (part.catchAll) return constrained ? 6 : 7;
    if (part.optional || part.defaultValue !== undefined) return constrained ? 4 : 5;
    return constrained ? 2 : 3;
  });
}

/**
 * Compares two templates segment by segment by {@link routePrecedence}. A template that has run out of
 * segments counts as 0 (most specific), so `items` sorts before `items/{id?}` as in ASP.NET inbound precedence.
 */
export function compareRoutePrecedence(a: RouteTemplate, b: RouteTemplate): number {
  const pa = routePrecedence(a);
  const pb = routePrecedence(b);
  const length = Math.max(pa.length, pb.length);
  for (let i = 0; i < length; i++) {
    const diff = (pa[i] ?? 0) - (pb[i] ?? 0);
    if (diff !== 0) return diff;
  }
  return 0;
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

/** Percent-decodes one path segment, keeping `%2F` encoded and leaving malformed escapes as sent. */
export function decodePathSegment(segment: string): string {
  if (!segment.includes("%")) return segment;
  return segment
    .split(/(%2F)/i)
    .map((piece) => {
      if (/^%2F$/i.test(piece)) return piece;
      try {
        return decodeURIComponent(piece);
      } catch {
        return piece;
      }
    })
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
    const parts = segments[i].parts;
    const single = parts.length === 1 ? parts[0] : undefined;
    if (single?.kind === "parameter" && single.catchAll) {
      const rest = pathSegments.slice(i).join("/");
      const value = rest === "" ? single.defaultValue ?? "" : rest;
      if (rest !== "" && !satisfiesConstraints(single.constraints, value)) return undefined;
      values[single.name] = value;
      return values;
    }
    if (i >= pathSegments.length) {
      if (single?.kind === "parameter" && (single.optional || single.defaultValue !== undefined)) {
        values[single.name] = single.defaultValue ?? "";
        continue;
      }
      return undefined;
    }
    const segmentValue = pathSegments[i];
    if (single?.kind === "literal") {
      if (single.text.toLowerCase() !== segmentValue.toLowerCase()) return undefined;
    } else if (single?.kind === "parameter") {
      if (segmentValue === "" || !satisfiesConstraints(single.constraints, segmentValue)) return undefined;
      values[single.name] = segmentValue;
    } else if (!matchComplexSegment(parts, segmentValue, values)) {
      return undefined;
    }
  }
  return pathSegments.length > segments.length ? undefined : values;
}

function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
}

// Greedy captures reproduce ASP.NET's right-to-left literal search for segments like "{name}.{ext}".
function matchComplexSegment(parts: readonly RoutePart[], value: string, into: Record<string, string>): boolean {
  const pattern = parts.map((p) => (p.kind === "literal" ? escapeRegExp(p.text) : "(.+)")).join("");
  const match = new RegExp(`^${pattern}$`, "is").exec(value);
  if (!match) return false;
  const params = parts.filter((p): p is ParameterPart => p.kind === "parameter");
  for (let i = 0; i < params.length; i++) {
    const captured = match[i + 1];
    if (!satisfiesConstraints(params[i].constraints, captured)) return false;
    into[params[i].name] = captured;
  }
  return true;
}

/** True when `value` satisfies every constraint (ASP.NET invariant-culture semantics, approximated). */
export function satisfiesConstraints(constraints: readonly RouteConstraint[], value: string): boolean {
  return constraints.every((c) => satisfiesConstraint(c, value));
}

const INTEGER = /^\s*[+-]?\d+\s*$/;
const FLOAT = /^\s*[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?\s*$/;
const DECIMAL = /^\s*[+-]?(\d{1,3}(,\d{3})+|\d+)?(\.\d+)?\s*$/;
const GUID_D = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
const GUID_N = /^[0-9a-f]{32}$/i;

function parseBigInt(value: string): bigint | undefined {
  if (!INTEGER.test(value)) return undefined;
  return BigInt(value.trim());
}

function inRange(value: string, min: bigint, max: bigint): boolean {
  const n = parseBigInt(value);
  return n !== undefined && n >= min && n <= max;
}

function isGuid(value: string): boolean {
  const v = value.trim();
  if (GUID_D.test(v) || GUID_N.test(v)) return true;
  const wrapped = /^\{(.*)\}$/.exec(v) ?? /^\((.*)\)$/.exec(v);
  return wrapped !== null && GUID_D.test(wrapped[1]);
}

function satisfiesConstraint(constraint: RouteConstraint, value: string): boolean {
  const [a, b] = constraint.args;
  const len = [...value].length;
  switch (constraint.name) {
    case "int":
      return inRange(value, -(2n ** 31n), 2n ** 31n - 1n);
    case "long":
      return inRange(value, -(2n ** 63n), 2n ** 63n - 1n);
    case "bool":
      return /^\s*(true|false)\s*$/i.test(value);
    case "guid":
      return isGuid(value);
    case "alpha":
      return /^[a-z]*$/i.test(value);
    case "decimal":
      return DECIMAL.test(value) && /\d/.test(value);
    case "double":
    case "float":
      return FLOAT.test(value) || /^\s*(NaN|[+-]?Infinity)\s*$/.test(value);
    case "datetime":
      return value.trim() !== "" && !Number.isNaN(Date.parse(value));
    case "minlength":
      return len >= Number(a);
    case "maxlength":
      return len <= Number(a);
    case "length":
      return b === undefined ? len === Number(a) : len >= Number(a) && len <= Number(b);
    case "min":
      return inRange(value, BigInt(a), 2n ** 63n - 1n);
    case "max":
      return inRange(value, -(2n ** 63n), BigInt(a));
    case "range":
      return inRange(value, BigInt(a), BigInt(b));
    case "regex":
      return new RegExp(a, "i").test(value);
    default:
      return false;
  }
}

/** One routable function: its parsed template, allowed methods (undefined = all) and a payload. */
export interface RouteEntry<T> {
  readonly route: RouteTemplate;
  readonly methods: readonly string[] | undefined;
  readonly value: T;
}

/** Orders entries by precedence; ties keep registration order (Array.prototype.sort is stable). */
export function sortRoutes<T>(entries: readonly RouteEntry<T>[]): RouteEntry<T>[] {
  return [...entries].sort((x, y) => compareRoutePrecedence(x.route, y.route));
}

/**
 * Picks the first entry (in precedence order) whose template matches the path and whose methods allow the
 * request method. A path match with the wrong method is skipped so a less specific route can take it.
 */
export function selectRoute<T>(
  sortedEntries: readonly RouteEntry<T>[],
  method: string,
  rawPath: string,
): { entry: RouteEntry<T>; params: Record<string, string> } | undefined {
  const segments = splitRequestPath(rawPath);
  const upperMethod = method.toUpperCase();
  for (const entry of sortedEntries) {
    if (entry.methods !== undefined && !entry.methods.some((m) => m.toUpperCase() === upperMethod)) continue;
    const params = matchRoute(entry.route, segments);
    if (params) return { entry, params };
  }
  return undefined;
}
