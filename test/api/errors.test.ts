import { describe, expect, it } from "vitest";
import { ApiError, ERRORS, invalidApiToken, toHttpResponse } from "../../src/api/errors";

describe("the ERR_* catalogue", () => {
  it("is pinned: codes and statuses change only on purpose", () => {
    expect(ERRORS).toEqual({
      ERR_DIRECT_INVOKE: 404,
      ERR_MALFORMED_REQUEST: 400,
      ERR_BODY_READ: 400,
      ERR_BODY_TOO_LARGE: 413,
      ERR_URL_TOO_LONG: 414,
      ERR_HEADERS_TOO_LARGE: 431,
      ERR_TOO_MANY_REQUESTS: 429,
      ERR_PERMISSION_DENIED: 403,
      ERR_NO_CALLERS_CONFIGURED: 503,
      ERR_HEALTH_NOT_READY: 500,
      ERR_HEALTH_APPID_NOT_MATCH: 500,
      ERR_OUTBOUND_HEALTH_NOT_READY: 500,
      ERR_COMPONENT_NOT_READY: 503,
      ERR_SECRET_STORES_NOT_CONFIGURED: 500,
      ERR_SECRET_STORE_NOT_FOUND: 401,
      ERR_SECRET_GET: 500,
      ERR_STATE_STORE_NOT_CONFIGURED: 500,
      ERR_STATE_STORE_NOT_FOUND: 400,
      ERR_STATE_SAVE: 500,
      ERR_STATE_GET: 500,
      ERR_STATE_DELETE: 500,
      ERR_STATE_BULK_GET: 500,
      ERR_STATE_TRANSACTION: 500,
      ERR_NOT_SUPPORTED_STATE_OPERATION: 400,
      ERR_STATE_STORE_NOT_SUPPORTED: 500,
      ERR_STATE_STORE_TOO_MANY_TRANSACTIONS: 400,
      ERR_STATE_QUERY: 500,
      ERR_SECRET_ROTATION: 500,
      ERR_ROTATION_NOT_SUPPORTED: 400,
      ERR_INTERNAL: 500,
    });
  });
});

describe("toHttpResponse", () => {
  const noLog = (): void => {
    throw new Error("must not log catalogued errors");
  };
  it("renders the legacy envelope without a trailing newline, Go-escaped", () => {
    expect(toHttpResponse(new ApiError("ERR_SECRET_STORE_NOT_FOUND", "failed finding secret store with key <x>"), noLog)).toEqual({
      status: 401,
      headers: { "content-type": "application/json" },
      body: '{"errorCode":"ERR_SECRET_STORE_NOT_FOUND","message":"failed finding secret store with key \\u003cx\\u003e"}',
    });
  });
  it("renders details (the rich shape) and status overrides", () => {
    const response = toHttpResponse(new ApiError("ERR_STATE_SAVE", "m", { status: 409, details: [{ "@type": "t", reason: "R" }] }), noLog);
    expect(response.status).toBe(409);
    expect(JSON.parse(String(response.body))).toEqual({ errorCode: "ERR_STATE_SAVE", message: "m", details: [{ "@type": "t", reason: "R" }] });
  });
  it("renders the token rejection as daprd's plain text", () => {
    expect(toHttpResponse(invalidApiToken(), noLog)).toEqual({
      status: 401,
      headers: { "content-type": "text/plain; charset=utf-8", "x-content-type-options": "nosniff" },
      body: "invalid api token\n",
    });
  });
  it("turns anything else into an opaque, logged 500", () => {
    const logged: unknown[] = [];
    const response = toHttpResponse(new TypeError("boom with s3cr3t"), (e) => logged.push(e));
    expect(response.status).toBe(500);
    expect(response.body).toBe('{"errorCode":"ERR_INTERNAL","message":"internal error"}');
    expect(logged).toHaveLength(1);
  });
});
