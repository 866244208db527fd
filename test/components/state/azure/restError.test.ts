/**
 * @module Unit tests of the structural RestError reader behind the providers' predicates.
 */
import { RestError } from "@azure/data-tables";
import { describe, expect, it } from "vitest";
import { isBlobAlreadyExists, isBlobNotFound, isConditionNotMet } from "../../../../src/components/state/azure/blobstorage/blobStateStore";
import { hasErrorCode, restErrorInfo } from "../../../../src/components/state/azure/restError";
import { isEntityAlreadyExists, isEntityNotFound, isUpdateConditionNotSatisfied } from "../../../../src/components/state/azure/tablestorage/tableStateStore";

const blobError = (statusCode: number, code?: string): RestError => new RestError("m", { statusCode, ...(code === undefined ? {} : { code }) });
/** `@azure/data-tables` outside batches: no `code`, the service code in `details`. */
const tableError = (statusCode: number, code: string): RestError => {
  const e = new RestError("m", { statusCode });
  e.details = { errorCode: code, odataError: { code } };
  return e;
};

describe("restErrorInfo", () => {
  it("reads the code from code, details.errorCode or details.odataError.code", () => {
    expect(restErrorInfo(blobError(404, "BlobNotFound"))).toEqual({ statusCode: 404, code: "BlobNotFound" });
    expect(restErrorInfo(tableError(409, "EntityAlreadyExists"))).toEqual({ statusCode: 409, code: "EntityAlreadyExists" });
    const odataOnly = new RestError("m", { statusCode: 404 });
    odataOnly.details = { odataError: { code: "TableNotFound" } };
    expect(restErrorInfo(odataOnly)).toEqual({ statusCode: 404, code: "TableNotFound" });
  });

  it("ignores anything that is not a RestError", () => {
    expect(restErrorInfo(new Error("x"))).toBeUndefined();
    expect(restErrorInfo({ statusCode: 404 })).toBeUndefined();
    expect(hasErrorCode("404", "BlobNotFound", 404)).toBe(false);
  });

  it("falls back to the status only when the service sent no code", () => {
    expect(hasErrorCode(blobError(404), "BlobNotFound", 404)).toBe(true);
    expect(hasErrorCode(blobError(404, "ContainerNotFound"), "BlobNotFound", 404)).toBe(false);
  });
});

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
