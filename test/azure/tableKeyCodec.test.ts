import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { decodeTableKey, encodeTableKey } from "../../src/azure/tableKeyCodec";

// eslint-disable-next-line no-control-regex
const FORBIDDEN = /[/\\#?\u0000-\u001f\u007f-\u009f]/;

describe("table key codec", () => {
  it("leaves keys that need no encoding unchanged (rows written before the codec keep their names)", () => {
    for (const key of ["", "plain", "demo", "a b", "é✓", "100%", "50% off", "%zz", "a%2", "order-1:2;3", "'quoted'", "a||b"]) expect(encodeTableKey(key)).toBe(key);
  });
  it("escapes the characters Azure forbids, and % only before two hex digits", () => {
    expect(encodeTableKey("a/b")).toBe("a%2Fb");
    expect(encodeTableKey("a\\b#c?d")).toBe("a%5Cb%23c%3Fd");
    expect(encodeTableKey("tab\there\u007f\u0085")).toBe("tab%09here%7F%85");
    expect(encodeTableKey("a%2Fb")).toBe("a%252Fb");
    expect(encodeTableKey("%%41")).toBe("%%2541");
  });
  it("decodes what it encoded", () => {
    for (const key of ["a/b", "a%2Fb", "%%41", "/\\#?", "x%", "%", "%%", "%2", "%25", "\u0000\u001f"]) expect(decodeTableKey(encodeTableKey(key))).toBe(key);
  });
  it("round-trips any string and never emits a forbidden character", () => {
    fc.assert(
      fc.property(fc.string({ unit: "grapheme-composite" }), fc.string({ unit: fc.constantFrom("%", "/", "\\", "#", "?", "2", "F", "a", "\u0001", "\u0090", "é") }), (a, b) => {
        for (const key of [a, b, a + b]) {
          const encoded = encodeTableKey(key);
          expect(FORBIDDEN.test(encoded)).toBe(false);
          expect(decodeTableKey(encoded)).toBe(key);
        }
      }),
    );
  });
});
