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

  /** Checks one response against the document; returns what is wrong. */
  function problems(method: string, url: string, response: ApiResponse): string[] {
    const found = operationFor(method, url);
    if (found === undefined) return response.status === 404 ? [] : [`no path for ${url}`];
    const responses = (found.op.responses ?? {}) as Record<string, Json>;
    if (response.status === 405) {
      // A wrong method is documented once per path, on any of its operations.
      const ops = Object.values((resolved.paths as Record<string, Json>)[found.template] ?? {}) as Json[];
      return ops.some((o) => (o.responses as Json | undefined)?.["405"] !== undefined) && response.headers.allow !== undefined ? [] : ["405 not documented or no Allow"];
    }
    const documented = responses[String(response.status)];
    if (documented === undefined) return [`status ${response.status} not documented for ${method} ${found.template}`];
    const body = response.body === undefined ? "" : typeof response.body === "string" ? response.body : Buffer.from(response.body).toString();
    if (body === "") return [];
    const type = (response.headers["content-type"] ?? "").split(";")[0]?.trim() ?? "";
    const content = (documented.content ?? {}) as Record<string, { schema?: unknown }>;
    const media = content[type];
    if (media === undefined) return [`content type ${type} not documented for ${response.status} ${method} ${found.template}`];
    if (type !== "application/json" || media.schema === undefined) return [];
    const validate = ajv.compile(media.schema as object);
    return validate(JSON.parse(body)) ? [] : [`body of ${response.status} ${method} ${found.template}: ${ajv.errorsText(validate.errors)}`];
  }
  return { documentErrors: (result.errors as unknown[] | undefined) ?? [], resolved, problems };
}
