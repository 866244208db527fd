/**
 * @module Unit tests of the shared TTL rules.
 */
import { describe, expect, it } from "vitest";
import {
  MAX_TTL_IN_SECONDS,
  TtlError,
  expiryFromMetadata,
  formatExpiryForStorage,
  formatTtlExpireTime,
  isExpired,
  parseStoredExpiry,
  parseTtlInSeconds,
  ttlResponseMetadata,
} from "../../../src/components/state/ttl";

describe("parseTtlInSeconds", () => {
  it.each([
    [{}, undefined],
    [{ ttlInSeconds: "" }, undefined],
    [{ ttlInSeconds: "-1" }, undefined],
    [{ ttlInSeconds: "0" }, undefined],
    [{ ttlInSeconds: "1" }, 1],
    [{ ttlInSeconds: "+7" }, 7],
    [{ ttlInSeconds: "3600" }, 3600],
    [{ ttlInSeconds: "2147483647" }, MAX_TTL_IN_SECONDS],
    // Case-sensitive like Dapr's ParseTTL: another spelling is not the TTL.
    [{ TTLINSECONDS: "5" }, undefined],
  ])("%j → %s", (metadata, expected) => {
    expect(parseTtlInSeconds(metadata)).toBe(expected);
  });

  it.each(["foo", "-2", "1.5", "1e3", " 5", "5 ", "2147483648", "99999999999999999999", "0x10"])("rejects %j", (ttl) => {
    expect(() => parseTtlInSeconds({ ttlInSeconds: ttl })).toThrow(TtlError);
    expect(() => parseTtlInSeconds({ ttlInSeconds: ttl })).toThrow("incorrect value for metadata 'ttlInSeconds'");
  });

  it("is a RangeError so the API treats it as a plain store error", () => {
    expect(() => parseTtlInSeconds({ ttlInSeconds: "foo" })).toThrow(RangeError);
  });
});

describe("expiry helpers", () => {
  const now = Date.UTC(2024, 4, 1, 12, 0, 0, 250);

  it("computes the expiry from metadata", () => {
    expect(expiryFromMetadata({ ttlInSeconds: "10" }, now)).toBe(now + 10_000);
    expect(expiryFromMetadata({ ttlInSeconds: "-1" }, now)).toBeUndefined();
    expect(expiryFromMetadata({}, now)).toBeUndefined();
  });

  it("treats the expiry instant itself as expired", () => {
    expect(isExpired(undefined, now)).toBe(false);
    expect(isExpired(now + 1, now)).toBe(false);
    expect(isExpired(now, now)).toBe(true);
    expect(isExpired(now - 1, now)).toBe(true);
  });

  it("reports ttlExpireTime as RFC 3339 UTC in whole seconds, like Go's time.RFC3339", () => {
    expect(formatTtlExpireTime(now)).toBe("2024-05-01T12:00:00Z");
    expect(ttlResponseMetadata(now)).toEqual({ ttlExpireTime: "2024-05-01T12:00:00Z" });
    expect(ttlResponseMetadata(undefined)).toBeUndefined();
  });

  it("stores expiries with millisecond precision and reads them back", () => {
    expect(formatExpiryForStorage(now)).toBe("2024-05-01T12:00:00.250Z");
    expect(parseStoredExpiry("2024-05-01T12:00:00.250Z")).toBe(now);
    expect(parseStoredExpiry(undefined)).toBeUndefined();
    expect(parseStoredExpiry("")).toBeUndefined();
    expect(parseStoredExpiry("not a date")).toBeUndefined();
  });
});
