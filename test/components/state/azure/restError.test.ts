/**
 * @module Unit tests of the state stores' predicates and caller-safe error translation.
 */
import { RestError } from "@azure/data-tables";
import { describe, expect, it } from "vitest";
import { isBlobAlreadyExists, isBlobNotFound, isConditionNotMet } from "../../../../src/components/state/azure/blobstorage/blobStateStore";
import { toStateStoreError } from "../../../../src/components/state/azure/restError";
import { ETagError, isStateStoreUnavailableError } from "../../../../src/components/state/stateStore";
import { isEntityAlreadyExists, isEntityNotFound, isUpdateConditionNotSatisfied } from "../../../../src/components/state/azure/tablestorage/tableStateStore";

const blobError = (statusCode: number, code?: string): RestError => new RestError("m", { statusCode, ...(code === undefined ? {} : { code }) });
/** `@azure/data-tables` outside batches: no `code`, the service code in `details`. */
const tableError = (statusCode: number, code: string): RestError => {
  const e = new RestError("m", { statusCode });
  e.details = { errorCode: code, odataError: { code } };
  return e;
};

describe("provider predicates", () => {
  it("blob", () => {
    expect(isBlobNotFound(blobError(404, "BlobNotFound"))).toBe(true);
    expect(isBlobNotFound(blobError(404, "ContainerNotFound"))).toBe(false);
    expect(isConditionNotMet(blobError(412, "ConditionNotMet"))).toBe(true);
    expect(isBlobAlreadyExists(blobError(409, "BlobAlreadyExists"))).toBe(true);
    expect(isBlobAlreadyExists(blobError(409, "ContainerAlreadyExists"))).toBe(false);
  });

  it("table", () => {
    expect(isEntityNotFound(tableError(404, "ResourceNotFound"))).toBe(true);
    expect(isEntityNotFound(tableError(404, "TableNotFound"))).toBe(false);
    expect(isEntityAlreadyExists(tableError(409, "EntityAlreadyExists"))).toBe(true);
    expect(isEntityAlreadyExists(tableError(409, "TableAlreadyExists"))).toBe(false);
    expect(isUpdateConditionNotSatisfied(blobError(412, "UpdateConditionNotSatisfied"))).toBe(true);
  });
});

describe("toStateStoreError: caller-safe messages", () => {
  const live = new AbortController().signal;
  const leaky = /10\.1\.2\.3|127\.0\.0\.1|:10000|https?:|RequestId|secret-body/;

  it("keeps only status and code of a service answer, never its text, URL or request id", () => {
    const e = new RestError("The specified container does not exist.\nRequestId:1234-abcd\nTime:2026 http://10.1.2.3:10000/acct secret-body", {
      statusCode: 404,
      code: "ContainerNotFound",
    });
    const safe = toStateStoreError(e, live, undefined, 10_000) as Error;
    expect(safe.message).toBe("the state store answered HTTP 404 ContainerNotFound");
    expect(safe.cause).toBe(e);
    expect(isStateStoreUnavailableError(safe)).toBe(false);
  });

  it("reports 5xx and 429 as unavailable", () => {
    for (const status of [500, 503, 429]) {
      const safe = toStateStoreError(new RestError("busy at http://10.1.2.3:10000", { statusCode: status }), live, undefined, 10_000);
      expect(isStateStoreUnavailableError(safe) && safe.failure === "unavailable").toBe(true);
      expect((safe as Error).message).not.toMatch(leaky);
    }
  });

  it("names a network failure by its code, never its address", () => {
    const e = new RestError("connect ECONNREFUSED 127.0.0.1:10000", { code: "ECONNREFUSED" });
    const safe = toStateStoreError(e, live, undefined, 10_000) as Error;
    expect(safe.message).toBe("the state store could not be reached (ECONNREFUSED)");
    expect(safe.message).not.toMatch(leaky);
  });

  it("tells the request's deadline from the store's own", () => {
    const fired = AbortSignal.abort();
    const abort = Object.assign(new Error("The operation was aborted. http://127.0.0.1:10000"), { name: "AbortError" });
    expect((toStateStoreError(abort, fired, undefined, 2_000) as Error).message).toBe("the state store did not answer within 2000 ms");
    expect((toStateStoreError(abort, fired, fired, 2_000) as Error).message).toBe("the request's deadline passed before the state store answered");
  });

  it("passes etag and input errors through unchanged", () => {
    const etag = new ETagError("mismatch");
    const range = new RangeError("bad key");
    expect(toStateStoreError(etag, live, undefined, 1)).toBe(etag);
    expect(toStateStoreError(range, live, undefined, 1)).toBe(range);
  });
});
