/**
 * The one reader of Azure SDK errors (src/azure/errors.ts): codes wherever each SDK puts them,
 * network failures, throttling and Retry-After.
 */
import { RestError } from "@azure/core-rest-pipeline";
import { describe, expect, it } from "vitest";
import {
  azureErrorFacts,
  describeAzureFailure,
  hasErrorCode,
  hasStatus,
  isNetworkError,
  isTransientAzureError,
  parseRetryAfter,
  ThrottledError,
  throttling,
} from "../../src/azure/errors";

const rest = (statusCode: number | undefined, init: { code?: string; details?: unknown; headers?: Record<string, string> } = {}): RestError => {
  const e = new RestError("m", { ...(statusCode === undefined ? {} : { statusCode }), ...(init.code === undefined ? {} : { code: init.code }) });
  if (init.details !== undefined) e.details = init.details;
  if (init.headers !== undefined) Object.assign(e, { response: { headers: { get: (n: string) => init.headers?.[n] } } });
  return e;
};

describe("azureErrorFacts", () => {
  it("reads the code from code (Blob), details.errorCode / odataError.code (Tables) and Key Vault's inner error", () => {
    expect(azureErrorFacts(rest(404, { code: "BlobNotFound" }))).toEqual({ status: 404, code: "BlobNotFound", innerCode: undefined });
    expect(azureErrorFacts(rest(409, { details: { errorCode: "EntityAlreadyExists" } }))?.code).toBe("EntityAlreadyExists");
    expect(azureErrorFacts(rest(404, { details: { odataError: { code: "TableNotFound" } } }))?.code).toBe("TableNotFound");
    expect(azureErrorFacts(rest(403, { code: "Forbidden", details: { error: { code: "Forbidden", innerError: { code: "SecretDisabled" } } } }))).toEqual({ status: 403, code: "Forbidden", innerCode: "SecretDisabled" });
  });

  it("is structural (a RestError from another copy of the SDK counts) and ignores everything else", () => {
    const foreign = Object.assign(new Error("m"), { name: "RestError", statusCode: 412 });
    expect(hasStatus(foreign, 409, 412)).toBe(true);
    expect(azureErrorFacts(new Error("x"))).toBeUndefined();
    expect(azureErrorFacts({ statusCode: 404 })).toBeUndefined();
    expect(hasErrorCode("404", "BlobNotFound", 404)).toBe(false);
  });

  it("falls back to the status only when the service sent no code", () => {
    expect(hasErrorCode(rest(404), "BlobNotFound", 404)).toBe(true);
    expect(hasErrorCode(rest(404, { code: "ContainerNotFound" }), "BlobNotFound", 404)).toBe(false);
  });
});

describe("transient failures", () => {
  it("network codes without an answer, 408, 5xx, throttling and credential errors are transient; 4xx are not", () => {
    expect(isNetworkError(Object.assign(new Error("socket hang up"), { code: "ECONNRESET" }))).toBe(true);
    expect(isNetworkError(rest(undefined, { code: "REQUEST_SEND_ERROR" }))).toBe(true);
    expect(isNetworkError(rest(500, { code: "ECONNRESET" }))).toBe(false);
    for (const e of [rest(408), rest(500), rest(503), rest(429), Object.assign(new Error("no token"), { name: "CredentialUnavailableError" })]) expect(isTransientAzureError(e)).toBe(true);
    for (const e of [rest(400), rest(403), rest(404), rest(412), new Error("x")]) expect(isTransientAzureError(e)).toBe(false);
  });

  it("throttling is 429, or 503 with Retry-After, with the wait in ms (also from our own ThrottledError)", () => {
    expect(throttling(rest(429, { headers: { "retry-after": "2" } }))).toEqual({ status: 429, retryAfterInMs: 2000 });
    expect(throttling(rest(503, { headers: { "retry-after-ms": "150" } }))).toEqual({ status: 503, retryAfterInMs: 150 });
    expect(throttling(rest(503))).toBeUndefined();
    expect(throttling(new ThrottledError(429, 20_000, "Key Vault"))).toEqual({ status: 429, retryAfterInMs: 20_000 });
  });

  it("parses Retry-After in seconds and as a date", () => {
    expect(parseRetryAfter("3")).toBe(3000);
    expect(parseRetryAfter("Thu, 01 Jan 2026 00:00:10 GMT", Date.parse("Thu, 01 Jan 2026 00:00:00 GMT"))).toBe(10_000);
    expect(parseRetryAfter(undefined)).toBeUndefined();
  });

  it("describes a failure by status and code only", () => {
    expect(describeAzureFailure(rest(409, { code: "LeaseAlreadyPresent" }))).toBe("409 LeaseAlreadyPresent");
    expect(describeAzureFailure(Object.assign(new Error("connect ECONNREFUSED 10.0.0.1:443"), { code: "ECONNREFUSED" }))).toBe("no status ECONNREFUSED");
  });
});
