/**
 * @module Reading Azure SDK `RestError`s structurally, for the providers' small named predicates.
 *
 * The service error code lives in different places: `@azure/storage-blob` sets `code`, while
 * `@azure/data-tables` leaves it undefined outside batches and puts it in `details.errorCode` /
 * `details.odataError.code`. Checking the shape (not `instanceof`) keeps working when several
 * copies of `@azure/core-rest-pipeline` are installed.
 */

/** The status and service error code of an SDK error. */
export interface RestErrorInfo {
  statusCode: number | undefined;
  code: string | undefined;
}

/** Reads status and error code from an Azure SDK `RestError`; `undefined` for anything else. */
export function restErrorInfo(e: unknown): RestErrorInfo | undefined {
  if (!isRecord(e) || e.name !== "RestError") return undefined;
  const statusCode = typeof e.statusCode === "number" ? e.statusCode : undefined;
  let code = typeof e.code === "string" ? e.code : undefined;
  if (code === undefined && isRecord(e.details)) {
    const { errorCode, odataError } = e.details;
    if (typeof errorCode === "string") code = errorCode;
    else if (isRecord(odataError) && typeof odataError.code === "string") code = odataError.code;
  }
  return { statusCode, code };
}

/**
 * True when the error has this service code, or, if the service sent no code at all, this status.
 * @param code - the Azure error code, e.g. `BlobNotFound`
 * @param status - the HTTP status that stands for it when no code is present
 */
export function hasErrorCode(e: unknown, code: string, status: number): boolean {
  const info = restErrorInfo(e);
  if (info === undefined) return false;
  return info.code === undefined ? info.statusCode === status : info.code === code;
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null;
}
