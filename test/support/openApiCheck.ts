/**
 * @module Test support: checks HTTP responses against `openapi.yaml` (documented status, content type,
 * and the body against the documented JSON schema with ajv, JSON Schema 2020-12).
 */
import { readFile } from "node:fs/promises";
import * as path from "node:path";
import Ajv2020 from "ajv/dist/2020";
import { parse } from "yaml";
import type { ApiResponse } from "../../src/api/errors";
import { routingPath } from "../../src/api/router";

type Json = Record<string, unknown>;

/** The repository's OpenAPI document. */
export const OPENAPI_DOC_PATH = path.join(__dirname, "..", "..", "openapi.yaml");

/** A validated, dereferenced document and a checker for responses. */
export interface OpenApiChecker {
  /** Validator errors of the document (empty when valid). */
  documentErrors: unknown[];
  resolved: Json;
  /** What is wrong with one response to `method url` (empty when it matches the document). */
  problems(method: string, url: string, response: ApiResponse): string[];
}

/** Loads and validates `openapi.yaml` with @seriousme/openapi-schema-validator. */
export async function loadOpenApiChecker(): Promise<OpenApiChecker> {
  // An ES module: imported dynamically from CommonJS tests.
  const { Validator } = await import("@seriousme/openapi-schema-validator");
  const validator = new Validator();
  const result = await validator.validate(parse(await readFile(OPENAPI_DOC_PATH, "utf8")) as Parameters<typeof validator.validate>[0]);
  const resolved = validator.resolveRefs() as Json;
  const ajv = new Ajv2020({ strict: false, allErrors: true, validateFormats: false });
  /** The documented operation for a concrete request, or undefined. */
  function operationFor(method: string, rawPath: string): { template: string; op: Json } | undefined {
    const paths = resolved.paths as Record<string, Json>;
    const segments = rawPath.split("?")[0]?.split("/") ?? [];
    // `{*rest}`-free templates: a segment of a template matches one raw (still percent-encoded) segment.
    const candidates = Object.keys(paths).filter((template) => {
      const t = template.split("/");
      return t.length === segments.length && t.every((part, i) => part.startsWith("{") || part === segments[i]);
    });
    // Literal segments win over parameters (…/bulk before …/{name}), as in the router.
    candidates.sort((a, b) => b.split("/").filter((p) => !p.startsWith("{")).length - a.split("/").filter((p) => !p.startsWith("{")).length);
    for (const template of candidates) {
      const op = paths[template]?.[method.toLowerCase()] as Json | undefined;
      if (op !== undefined) return { template, op };
    }
    const any = candidates[0];
    return any === undefined ? undefined : { template: any, op: {} };
  }

  const headerValidators = new Map<object, ReturnType<typeof ajv.compile>>();
  /** Documented response headers: each present one matches its schema; a `required` one is present. */
  function headerProblems(documented: Json, headers: Record<string, string | undefined>, where: string): string[] {
    const found: string[] = [];
    for (const [name, spec] of Object.entries((documented.headers ?? {}) as Record<string, { schema?: object; required?: boolean }>)) {
      const value = headers[name.toLowerCase()];
      if (value === undefined) {
        if (spec.required === true) found.push(`header ${name} missing (${where})`);
        continue;
      }
      if (spec.schema === undefined) continue;
      let validate = headerValidators.get(spec.schema);
      if (validate === undefined) headerValidators.set(spec.schema, (validate = ajv.compile(spec.schema)));
      if (!validate(value)) found.push(`header ${name}: ${JSON.stringify(value)} ${ajv.errorsText(validate.errors)} (${where})`);
    }
    return found;
  }

  const hostAnswers = new Set(((resolved["x-host-answers"] ?? []) as unknown[]).map(Number));
  const components = ((resolved.components as Json | undefined)?.responses ?? {}) as Record<string, Json>;

  /** Checks one response against the document; returns what is wrong. */
  function problems(method: string, rawUrl: string, response: ApiResponse): string[] {
    // The Functions host's own empty answers before any function runs (`x-host-answers`: a malformed request,
    // no function at the path — on a timer-only instance, every path —, a body, URL or headers over its limits).
    if (hostAnswers.has(response.status) && bodyText(response) === "" && response.headers["content-type"] === undefined) return [];
    const url = apiPath(rawUrl);
    const found = operationFor(method, url);
    if (found === undefined) return unmatchedProblems(url, response);
    const responses = (found.op.responses ?? {}) as Record<string, Json>;
    // A method the path does not document: the caller's credential is checked before the method.
    if (found.op.responses === undefined && response.status === 401 && components.Unauthorized !== undefined) return bodyProblems(components.Unauthorized, response, `401 ${method} ${found.template}`, method);
    if (response.status === 405) {
      // A wrong method is documented once per path, on any of its operations.
      const ops = Object.values((resolved.paths as Record<string, Json>)[found.template] ?? {}) as Json[];
      const documented = ops.map((o) => (o.responses as Record<string, Json> | undefined)?.["405"]).find((r) => r !== undefined);
      if (documented === undefined) return [`405 not documented for ${found.template}`];
      return [...headerProblems(documented, response.headers, `405 ${found.template}`), ...bodyProblems(documented, response, `405 ${method} ${found.template}`, method)];
    }
    const documented = responses[String(response.status)];
    if (documented === undefined) return [`status ${response.status} not documented for ${method} ${found.template}`];
    return [...headerProblems(documented, response.headers, `${response.status} ${method} ${found.template}`), ...bodyProblems(documented, response, `${response.status} ${method} ${found.template}`, method)];
  }

  /**
   * A path the document does not list: under the API's versions it is daprd's 404 `ERR_DIRECT_INVOKE` (as the
   * document's description says); elsewhere it is the Functions host's own empty 404 (no function there).
   */
  function unmatchedProblems(url: string, response: ApiResponse): string[] {
    const rawPath = url.split("?")[0] ?? "";
    // Functions routes match case-insensitively, so `/V1.0/...` reaches the app too (and is no daprd route).
    const inApi = /^\/v1\.0(-alpha1)?(\/|$)/i.test(rawPath);
    if (inApi && response.status === 401 && components.Unauthorized !== undefined) return bodyProblems(components.Unauthorized, response, `401 ${rawPath}`, "");
    if (response.status !== 404) return [`status ${response.status} for ${url}, a path the document does not list`];
    // Outside the API an empty 404 is the host's; a path that reached the app's catch-all (`/v1.0/../x`) gets daprd's.
    if (!inApi && bodyText(response) === "") return [];
    const notFound = components.NotFound;
    if (notFound === undefined) return ["components.responses.NotFound is not documented"];
    return bodyProblems(notFound, response, `404 ${rawPath}`, "");
  }

  /**
   * The path the API routes on, from the request target as received: an absolute-form target loses its scheme
   * and authority, dot segments (also percent-encoded ones, which the host decodes) are resolved, `//` collapsed
   * and a trailing slash dropped — daprd's `path.Clean`, as the router does it.
   */
  function apiPath(target: string): string {
    const q = target.indexOf("?");
    let rawPath = q >= 0 ? target.slice(0, q) : target;
    const query = q >= 0 ? target.slice(q) : "";
    rawPath = rawPath.replace(/^[a-z][a-z0-9+.-]*:\/\/[^/]*/i, "");
    rawPath = rawPath
      .split("/")
      .map((segment) => (/^(\.|%2e)+$/i.test(segment) ? segment.replace(/%2e/gi, ".") : segment))
      .join("/");
    return routingPath(rawPath) + query;
  }

  function bodyText(response: ApiResponse): string {
    return response.body === undefined ? "" : typeof response.body === "string" ? response.body : Buffer.from(response.body).toString();
  }

  /** The content type is documented for the status and a JSON body validates against its schema. */
  function bodyProblems(documented: Json, response: ApiResponse, where: string, method: string): string[] {
    const body = bodyText(response);
    // A HEAD answer never has a body.
    if (method.toUpperCase() === "HEAD") return body === "" ? [] : [`a body in the answer to HEAD (${where})`];
    if (body === "") return documented.content === undefined ? [] : [`empty body, but ${where} documents content`];
    const type = (response.headers["content-type"] ?? "").split(";")[0]?.trim() ?? "";
    const content = (documented.content ?? {}) as Record<string, { schema?: object }>;
    const media = content[type];
    if (media === undefined) return [`content type "${type}" not documented for ${where}`];
    if (media.schema === undefined) return [];
    let value: unknown = body;
    if (type === "application/json") {
      try {
        value = JSON.parse(body);
      } catch {
        return [`body of ${where} is not JSON: ${body.slice(0, 200)}`];
      }
    }
    let validate = bodyValidators.get(media.schema);
    if (validate === undefined) bodyValidators.set(media.schema, (validate = ajv.compile(media.schema)));
    return validate(value) ? [] : [`body of ${where}: ${ajv.errorsText(validate.errors)}`];
  }
  const bodyValidators = new Map<object, ReturnType<typeof ajv.compile>>();
  return { documentErrors: (result.errors as unknown[] | undefined) ?? [], resolved, problems };
}

/** What a leak scan needs of a response. */
export interface ScannedResponse {
  method: string;
  url: string;
  status: number;
  headers: Record<string, string>;
  body: string;
}

/** Names and shapes upstream services use for their request ids (Azure Storage, Key Vault, Entra, Azurite's error text). */
const REQUEST_ID = /x-ms-(client-)?request-id|x-ms-correlation-request-id|\brequest[-_ ]?id\b|\bcorrelation[-_ ]?id\b|\bclient-request-id\b/i;
/**
 * Azure service host names (account URLs); the local services' URLs are caught by their `host:port`. A bare
 * account name is configuration an admin may see (the rotation report names the account whose key it rotated).
 */
const ACCOUNT_URL = /\.(blob|table|queue|file|dfs)\.core\.windows\.net|\.vault\.azure\.net|login\.microsoftonline\.com|169\.254\.169\.254/i;
/** A UUID: upstream request ids are UUIDs, and no error of the API carries one. */
const UUID = /\b[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}\b/i;

/**
 * Bodies that carry a caller's own data (a secret's value, a stored state value, query results), where an
 * account name or address can legitimately appear because someone stored it: only request ids are looked for.
 */
function carriesCallerData(r: ScannedResponse): boolean {
  const rawPath = r.url.split("?")[0] ?? "";
  return r.status >= 200 && r.status < 300 && /^\/v1\.0(-alpha1)?\/(secrets|state)\//.test(rawPath) && !rawPath.endsWith("/rotate");
}

/**
 * What in a response reveals the upstream: request ids in headers or bodies, and (outside bodies that carry
 * the caller's own data) account URLs, the internal `host:port`s of the services behind the API, and, in
 * error bodies, any UUID.
 */
export function leaksIn(r: ScannedResponse, internalHosts: readonly string[]): string[] {
  const found: string[] = [];
  const headerText = Object.entries(r.headers)
    .map(([name, value]) => `${name}: ${value}`)
    .join("\n");
  const where = (text: string, m: RegExpMatchArray | null): string => (m === null ? "" : JSON.stringify(text.slice(Math.max(0, (m.index ?? 0) - 40), (m.index ?? 0) + m[0].length + 40)));
  // A key the caller chose may be a UUID, and error messages name the key (as daprd's do).
  let requested = r.url;
  try {
    requested = decodeURIComponent(r.url);
  } catch {
    // a malformed escape: the raw target is what the API saw
  }
  const scan = (text: string, part: string, patterns: RegExp[]): void => {
    for (const pattern of patterns) {
      const m = pattern === UUID ? [...text.matchAll(new RegExp(UUID.source, "gi"))].find((x) => !requested.toLowerCase().includes(x[0].toLowerCase())) ?? null : pattern.exec(text);
      if (m !== null) found.push(`${part} reveals ${pattern === REQUEST_ID ? "an upstream request id" : pattern === UUID ? "a UUID (request id?)" : "an account or address"}: ${where(text, m)}`);
    }
    for (const host of internalHosts) {
      const at = text.indexOf(host);
      if (at >= 0 && patterns.includes(ACCOUNT_URL)) found.push(`${part} reveals the internal address ${host}`);
    }
  };
  scan(headerText, "headers", [REQUEST_ID, ACCOUNT_URL]);
  // The API description is served verbatim; it names headers, not values.
  if ((r.url.split("?")[0] ?? "") === "/v1.0-alpha1/openapi.yaml") return found;
  scan(r.body, "body", carriesCallerData(r) ? [REQUEST_ID] : r.status >= 400 ? [REQUEST_ID, ACCOUNT_URL, UUID] : [REQUEST_ID, ACCOUNT_URL]);
  return found;
}
