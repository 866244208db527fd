/**
 * Rotation policy parsing from Key Vault tags, durations and the due computation (pure).
 */
import { describe, expect, it } from "vitest";
import { isRotationDue, nextRotationAt, parseDuration, parseRotationPolicy } from "../../src/rotation/policy";
import { isRotationPolicyError, RotationPolicyError } from "../../src/rotation/tags";

const DAY = 86_400_000;
const HOUR = 3_600_000;

/** The policy error a call throws, so tests can assert the tag it names. */
function policyError(run: () => unknown): RotationPolicyError {
  try {
    run();
  } catch (e) {
    if (isRotationPolicyError(e)) return e;
    throw e;
  }
  throw new Error("expected a RotationPolicyError");
}

describe("parseDuration", () => {
  it.each([
    ["P30D", 30 * DAY],
    ["PT1H", HOUR],
    ["P1DT12H", DAY + 12 * HOUR],
    ["P2W", 14 * DAY],
    ["PT90M", 90 * 60_000],
    ["PT1.5S", 1500],
    ["p7d", 7 * DAY],
    ["30d", 30 * DAY],
    ["12h", 12 * HOUR],
    ["45m", 45 * 60_000],
    ["2w", 14 * DAY],
    [" 10 s ", 10_000],
  ])("%s is %i ms", (text, ms) => {
    expect(parseDuration(text)).toEqual({ ms });
  });

  it.each(["P1M", "P1Y", "P1Y2D", "P", "PT", "30x", "", "-5d", "P1DT", "1.5d", "thirty days"])("%j is refused with an explanation", (text) => {
    const parsed = parseDuration(text);
    expect("problem" in parsed).toBe(true);
  });

  it("explains why months are refused", () => {
    expect(parseDuration("P3M")).toEqual({ problem: expect.stringMatching(/years or months/) });
  });
});

describe("parseRotationPolicy", () => {
  it("is undefined without rotation tags, including a secret that only carries bookkeeping tags", () => {
    expect(parseRotationPolicy(undefined)).toBeUndefined();
    expect(parseRotationPolicy({})).toBeUndefined();
    expect(parseRotationPolicy({ owner: "team-a", CredentialId: "key1" })).toBeUndefined();
    expect(parseRotationPolicy({ "rotation-last": "2026-01-01T00:00:00.000Z", "rotated-from": "abc", "rotation-active-key": "key1" })).toBeUndefined();
  });

  it("reads a random-token policy with defaults", () => {
    expect(parseRotationPolicy({ "rotation-interval": "P30D", "rotation-generator": "random-token", owner: "a" })).toEqual({
      intervalInMs: 30 * DAY,
      generator: "random-token",
      options: { length: 43, charset: "base64url" },
    });
  });

  it("reads generator options, validity, and matches tag names case-insensitively", () => {
    expect(
      parseRotationPolicy({
        "Rotation-Interval": "12h",
        "ROTATION-GENERATOR": "Random-Password",
        "rotation-length": "20",
        "rotation-charset": "alphanumeric",
        "rotation-validity": "P2D",
      }),
    ).toEqual({ intervalInMs: 12 * HOUR, generator: "random-password", options: { length: 20, charset: "alphanumeric" }, validityInMs: 2 * DAY });
  });

  it("reads a storage-account-key policy", () => {
    expect(
      parseRotationPolicy({
        "rotation-interval": "P30D",
        "rotation-generator": "storage-account-key",
        "rotation-storage-account": "rotacct",
        "rotation-key-source": "azurite",
        "rotation-active-key": "key1",
      }),
    ).toEqual({ intervalInMs: 30 * DAY, generator: "storage-account-key", options: { accountName: "rotacct", keySource: "azurite" } });
  });

  it.each<[string, Record<string, string>, string, RegExp]>([
    ["a bad interval", { "rotation-interval": "monthly", "rotation-generator": "random-token" }, "rotation-interval", /not an ISO 8601 duration/],
    ["months", { "rotation-interval": "P1M", "rotation-generator": "random-token" }, "rotation-interval", /years or months/],
    ["a too-short interval", { "rotation-interval": "PT30S", "rotation-generator": "random-token" }, "rotation-interval", /shorter than the minimum/],
    ["a too-long interval", { "rotation-interval": "P4000D", "rotation-generator": "random-token" }, "rotation-interval", /longer than 3650 days/],
    ["no interval", { "rotation-generator": "random-token" }, "rotation-interval", /required/],
    ["no generator", { "rotation-interval": "P30D" }, "rotation-generator", /required/],
    ["an unknown generator", { "rotation-interval": "P30D", "rotation-generator": "magic" }, "rotation-generator", /unknown generator "magic"; use one of random-token, random-password, storage-account-key/],
    ["a typo in a tag name", { "rotation-interval": "P30D", "rotation-generator": "random-token", "rotation-lenght": "20" }, "rotation-lenght", /unknown rotation tag/],
    ["another generator's tag", { "rotation-interval": "P30D", "rotation-generator": "storage-account-key", "rotation-storage-account": "acct1", "rotation-key-source": "azurite", "rotation-length": "20" }, "rotation-length", /does not apply to the storage-account-key generator/],
    ["a length out of range", { "rotation-interval": "P30D", "rotation-generator": "random-token", "rotation-length": "8" }, "rotation-length", /outside 16–4096/],
    ["a non-numeric length", { "rotation-interval": "P30D", "rotation-generator": "random-password", "rotation-length": "twenty" }, "rotation-length", /not a whole number/],
    ["a short password", { "rotation-interval": "P30D", "rotation-generator": "random-password", "rotation-length": "8" }, "rotation-length", /outside 12–1024/],
    ["an unknown charset", { "rotation-interval": "P30D", "rotation-generator": "random-token", "rotation-charset": "emoji" }, "rotation-charset", /unknown character set "emoji"/],
    ["a validity not longer than the interval", { "rotation-interval": "P30D", "rotation-generator": "random-token", "rotation-validity": "P30D" }, "rotation-validity", /must be longer than rotation-interval/],
    ["no storage account", { "rotation-interval": "P30D", "rotation-generator": "storage-account-key", "rotation-key-source": "azurite" }, "rotation-storage-account", /required/],
    ["a bad storage account", { "rotation-interval": "P30D", "rotation-generator": "storage-account-key", "rotation-storage-account": "Bad_Name", "rotation-key-source": "azurite" }, "rotation-storage-account", /not a storage account name/],
    ["no key source", { "rotation-interval": "P30D", "rotation-generator": "storage-account-key", "rotation-storage-account": "acct1" }, "rotation-key-source", /required/],
    ["a tag set twice in two cases", { "rotation-interval": "P30D", "Rotation-Interval": "P10D", "rotation-generator": "random-token" }, "rotation-interval", /set twice/],
  ])("refuses %s, naming the tag", (_name, tags, tag, message) => {
    const error = policyError(() => parseRotationPolicy(tags));
    expect(error).toBeInstanceOf(RotationPolicyError);
    expect(error.tag).toBe(tag);
    expect(error.message.startsWith(`${tag}:`)).toBe(true);
    expect(error.message).toMatch(message);
  });

  it("does not echo a long tag value (it may be a pasted credential)", () => {
    const pasted = "x".repeat(60);
    const error = policyError(() => parseRotationPolicy({ "rotation-interval": pasted, "rotation-generator": "random-token" }));
    expect(error.message).not.toContain(pasted);
    expect(error.message).toContain("60-character value");
  });
});

describe("isRotationDue", () => {
  const policy = { intervalInMs: 30 * DAY };
  const created = new Date("2026-01-01T00:00:00Z");

  it("is due once the interval has passed since the basis, not a millisecond earlier", () => {
    expect(isRotationDue(policy, created, new Date(created.getTime() + 30 * DAY - 1))).toBe(false);
    expect(isRotationDue(policy, created, new Date(created.getTime() + 30 * DAY))).toBe(true);
    expect(isRotationDue(policy, created, new Date(created.getTime() + 90 * DAY))).toBe(true);
  });

  it("is not due for a basis in the future (clock skew)", () => {
    expect(isRotationDue(policy, new Date(created.getTime() + DAY), created)).toBe(false);
  });

  it("nextRotationAt is the basis plus the interval", () => {
    expect(nextRotationAt(policy, created).toISOString()).toBe("2026-01-31T00:00:00.000Z");
  });
});
