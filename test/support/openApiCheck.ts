/**
 * @module Test support: checks HTTP responses against `openapi.yaml` (documented status, content type,
 * and the body against the documented JSON schema with ajv, JSON Schema 2020-12).
 */
import { readFile } from "node:fs/promises";
import * as path from "node:path";
import Ajv2020 from "ajv/dist/2020";
import { parse } from "yaml";
import type { ApiResponse } from "../../src/api/errors";

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

  /** Checks one response against the document; returns what is wrong. */
  function problems(method: string, url: string, response: ApiResponse): string[] {
    // The Functions host's own "no function here" answer, on any path of an instance that runs no HTTP function
    // (a Flex Consumption timer-only instance), as the document's description says.
    if (response.status === 404 && bodyText(response) === "" && response.headers["content-type"] === undefined) return [];
    const found = operationFor(method, url);
    if (found === undefined) return unmatchedProblems(url, response);
    const responses = (found.op.responses ?? {}) as Record<string, Json>;
    if (response.status === 405) {
      // A wrong method is documented once per path, on any of its operations.
      const ops = Object.values((resolved.paths as Record<string, Json>)[found.template] ?? {}) as Json[];
      const documented = ops.map((o) => (o.responses as Record<string, Json> | undefined)?.["405"]).find((r) => r !== undefined);
      if (documented === undefined) return [`405 not documented for ${found.template}`];
      return [...headerProblems(documented, response.headers, `405 ${found.template}`), ...bodyProblems(documented, response, `405 ${method} ${found.template}`)];
    }
    const documented = responses[String(response.status)];
    if (documented === undefined) return [`status ${response.status} not documented for ${method} ${found.template}`];
    return [...headerProblems(documented, response.headers, `${response.status} ${method} ${found.template}`), ...bodyProblems(documented, response, `${response.status} ${method} ${found.template}`)];
  }

  /**
   * A path the document does not list: under the API's versions it is daprd's 404 `ERR_DIRECT_INVOKE` (as the
   * document's description says); elsewhere it is the Functions host's own empty 404 (no function there).
   */
  function unmatchedProblems(url: string, response: ApiResponse): string[] {
    if (response.status !== 404) return [`status ${response.status} for ${url}, a path the document does not list`];
    const rawPath = url.split("?")[0] ?? "";
    const body = bodyText(response);
    if (!/^\/v1\.0(-alpha1)?\//.test(rawPath)) return body === "" ? [] : [`404 outside the API with a body: ${body.slice(0, 200)}`];
    const documented = (resolved.components as Json | undefined)?.responses as Record<string, Json> | undefined;
    const notFound = documented?.NotFound;
    if (notFound === undefined) return ["components.responses.NotFound is not documented"];
    return bodyProblems(notFound, response, `404 ${rawPath}`);
  }

  function bodyText(response: ApiResponse): string {
    return response.body === undefined ? "" : typeof response.body === "string" ? response.body : Buffer.from(response.body).toString();
  }

  /** The content type is documented for the status and a JSON body validates against its schema. */
  function bodyProblems(documented: Json, response: ApiResponse, where: string): string[] {
    const body = bodyText(response);
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
