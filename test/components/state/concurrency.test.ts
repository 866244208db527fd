/**
 * @module Unit tests of the shared etag / first-write write algorithm, against a scripted writer.
 */
import { describe, expect, it } from "vitest";
import {
  type ConditionalWriter,
  type StoredItemHead,
  isSendableETag,
  normalizeETag,
  writeWithConditions,
} from "../../../src/components/state/concurrency";
import { isETagError } from "../../../src/components/state/stateStore";

/** A one-key store in memory that records which primitive was used. */
function fakeWriter(initial: StoredItemHead | undefined): ConditionalWriter & { calls: string[]; stored: () => StoredItemHead | undefined } {
  let current = initial;
  let version = 0;
  const calls: string[] = [];
  const write = (): void => {
    current = { etag: `e${++version}`, expired: false };
  };
  return {
    calls,
    stored: () => current,
    async put() {
      calls.push("put");
      write();
    },
    async putIfMatch(etag) {
      calls.push(`putIfMatch(${etag})`);
      if (current?.etag !== etag) return false;
      write();
      return true;
    },
    async putIfAbsent() {
      calls.push("putIfAbsent");
      if (current !== undefined) return false;
      write();
      return true;
    },
    async head() {
      calls.push("head");
      return current;
    },
  };
}

const anyEtag = (): boolean => true;
const never = (): boolean => false;
const issuedByFake = (etag: string): boolean => /^e\d+$/.test(etag) || etag === "old" || etag === "leftover";
const mismatch = (e: unknown): boolean => isETagError(e) && e.kind === "mismatch";

describe("writeWithConditions", () => {
  it("writes unconditionally without etag or first-write", async () => {
    const writer = fakeWriter({ etag: "old", expired: false });
    await writeWithConditions(writer, { firstWrite: false, canMatch: anyEtag, isIssued: never });
    expect(writer.calls).toEqual(["put"]);
  });

  it("treats an empty etag as none", async () => {
    const writer = fakeWriter({ etag: "old", expired: false });
    await writeWithConditions(writer, { etag: "", firstWrite: false, canMatch: anyEtag, isIssued: never });
    expect(writer.calls).toEqual(["put"]);
  });

  it("replaces when the etag matches", async () => {
    const writer = fakeWriter({ etag: "old", expired: false });
    await writeWithConditions(writer, { etag: "old", firstWrite: false, canMatch: anyEtag, isIssued: never });
    expect(writer.calls).toEqual(["head", "putIfMatch(old)"]);
  });

  it("is a mismatch when the etag differs from a live item", async () => {
    const writer = fakeWriter({ etag: "old", expired: false });
    await expect(writeWithConditions(writer, { etag: "other", firstWrite: false, canMatch: anyEtag, isIssued: never })).rejects.toSatisfy(mismatch);
    expect(writer.stored()?.etag).toBe("old");
  });

  it("accepts an etag on a missing key by creating it", async () => {
    const writer = fakeWriter(undefined);
    await writeWithConditions(writer, { etag: "1234", firstWrite: true, canMatch: anyEtag, isIssued: never });
    expect(writer.calls).toEqual(["head", "putIfAbsent"]);
    expect(writer.stored()).toBeDefined();
  });

  it("accepts an etag on an expired item by replacing exactly that item", async () => {
    const writer = fakeWriter({ etag: "leftover", expired: true });
    await writeWithConditions(writer, { etag: "whatever", firstWrite: false, canMatch: anyEtag, isIssued: never });
    expect(writer.calls).toEqual(["head", "putIfAbsent", "head", "putIfMatch(leftover)"]);
  });

  it("never sends an etag the store could not have issued, but still creates a missing key", async () => {
    const writer = fakeWriter(undefined);
    await writeWithConditions(writer, { etag: "bad\u00e9", firstWrite: false, canMatch: isSendableETag, isIssued: never });
    expect(writer.calls).toEqual(["head", "putIfAbsent"]);
  });

  it("is a mismatch for an etag of the store's own form on a missing key, and writes nothing", async () => {
    const writer = fakeWriter(undefined);
    await expect(writeWithConditions(writer, { etag: "e7", firstWrite: false, canMatch: anyEtag, isIssued: issuedByFake })).rejects.toSatisfy(mismatch);
    expect(writer.calls).toEqual(["head"]);
    expect(writer.stored()).toBeUndefined();
  });

  it("is a mismatch for the etag of an expired item: expired counts as deleted", async () => {
    const writer = fakeWriter({ etag: "leftover", expired: true });
    await expect(writeWithConditions(writer, { etag: "leftover", firstWrite: false, canMatch: anyEtag, isIssued: issuedByFake })).rejects.toSatisfy(
      mismatch,
    );
    expect(writer.calls).toEqual(["head"]);
  });

  it("is a mismatch when the item is deleted between the look and the conditional write", async () => {
    const inner = fakeWriter({ etag: "old", expired: false });
    const writer: ConditionalWriter = { ...inner, putIfMatch: async () => false };
    await expect(writeWithConditions(writer, { etag: "old", firstWrite: false, canMatch: anyEtag, isIssued: issuedByFake })).rejects.toSatisfy(mismatch);
  });

  it("does not send the body when the etag already differs from the live item", async () => {
    const writer = fakeWriter({ etag: "e1", expired: false });
    await expect(writeWithConditions(writer, { etag: "e0", firstWrite: false, canMatch: anyEtag, isIssued: issuedByFake })).rejects.toSatisfy(mismatch);
    expect(writer.calls).toEqual(["head"]);
  });

  it("first-write without etag creates a missing key and is a mismatch on a live one", async () => {
    const missing = fakeWriter(undefined);
    await writeWithConditions(missing, { firstWrite: true, canMatch: anyEtag, isIssued: never });
    expect(missing.calls).toEqual(["putIfAbsent"]);
    const live = fakeWriter({ etag: "x", expired: false });
    const error = await writeWithConditions(live, { firstWrite: true, canMatch: anyEtag, isIssued: never }).catch((e: unknown) => e);
    expect(mismatch(error)).toBe(true);
    expect((error as Error).message).toContain("first-write");
  });

  it("gives up with a mismatch when other writers keep winning", async () => {
    // The item vanishes on every head and reappears on every create: a pathological race.
    const writer: ConditionalWriter = {
      put: async () => undefined,
      putIfMatch: async () => false,
      putIfAbsent: async () => false,
      head: async () => undefined,
    };
    await expect(writeWithConditions(writer, { firstWrite: true, canMatch: anyEtag, isIssued: never })).rejects.toSatisfy(mismatch);
  });
});

describe("etag helpers", () => {
  it("normalizes empty etags to none", () => {
    expect(normalizeETag(undefined)).toBeUndefined();
    expect(normalizeETag("")).toBeUndefined();
    expect(normalizeETag("x")).toBe("x");
  });

  it.each([
    ['"0x8DB1234"', true],
    ["bad-etag", true],
    ['W/"datetime\'2024\'"', true],
    ["*", false],
    ["", false],
    ["été", false],
    ["a\nb", false],
  ])("isSendableETag(%j) = %s", (etag, expected) => {
    expect(isSendableETag(etag)).toBe(expected);
  });
});
