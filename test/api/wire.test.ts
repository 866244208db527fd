import { describe, expect, it } from "vitest";
import { cleanPath, goMarshal, goMarshalMap, metadataFromQuery, parseQuery, pathUnescape, queryUnescape } from "../../src/api/wire";

describe("cleanPath (Go path.Clean)", () => {
  it.each([
    ["/v1.0//secrets/a", "/v1.0/secrets/a"],
    ["/v1.0/secrets/./a", "/v1.0/secrets/a"],
    ["/v1.0/x/../secrets/a", "/v1.0/secrets/a"],
    ["/../../v1.0", "/v1.0"],
    ["/a/b/", "/a/b"],
    ["/", "/"],
    ["", "."],
    ["/a%2Fb/c", "/a%2Fb/c"],
    ["/v1.0/secrets/a.b", "/v1.0/secrets/a.b"],
    ["/v1.0/state/s/.hidden", "/v1.0/state/s/.hidden"],
    ["/v1.0/state/s/..x/..", "/v1.0/state/s"],
    ["/a/.", "/a"],
    ["//", "/"],
    ["a/./b", "a/b"],
  ])("%s → %s", (input, expected) => {
    expect(cleanPath(input)).toBe(expected);
  });
});

describe("queryUnescape (Go url.QueryUnescape)", () => {
  it("decodes %XX and turns + into a space", () => {
    expect(queryUnescape("a+b%20c%2Fd%e2%82%ac")).toBe("a b c/d€");
  });
  it("keeps non-ASCII characters", () => {
    expect(queryUnescape("naïve")).toBe("naïve");
    // Nothing to decode: the same string; surrogates still go through UTF-8 (a lone one becomes U+FFFD).
    expect(queryUnescape("plain-key_1.2~")).toBe("plain-key_1.2~");
    expect(queryUnescape("emoji-\u{1F600}")).toBe("emoji-\u{1F600}");
    expect(queryUnescape("lone-\uD800")).toBe("lone-\uFFFD");
  });
  it.each([
    ["%zz", 'invalid URL escape "%zz"'],
    ["abc%", 'invalid URL escape "%"'],
    ["abc%4", 'invalid URL escape "%4"'],
  ])("rejects %s with Go's message", (input, message) => {
    expect(() => queryUnescape(input)).toThrow(message);
  });
});

describe("pathUnescape (Go url.PathUnescape)", () => {
  it("decodes %XX once and keeps + as a plus", () => {
    expect(pathUnescape("a+b%20c%2Bd%2520%e2%82%ac")).toBe("a+b c+d%20€");
  });
  it("rejects a malformed escape with Go's message", () => {
    expect(() => pathUnescape("bad%zz")).toThrow('invalid URL escape "%zz"');
  });
});

describe("parseQuery and metadataFromQuery", () => {
  it("keeps the first value of metadata.* parameters, prefix stripped, case-sensitive", () => {
    const q = parseQuery("metadata.version_id=1&metadata.version_id=2&Metadata.x=no&metadata.a+b=c%20d&other=1");
    expect(metadataFromQuery(q)).toEqual({ version_id: "1", "a b": "c d" });
  });
  it("drops pairs with a bad escape or a semicolon, as Go does", () => {
    const q = parseQuery("a=%zz&b=1;c=2&d=4");
    expect([...q.keys()]).toEqual(["d"]);
  });
});

describe("Go JSON encoding", () => {
  it("sorts map keys and escapes <, >, & like encoding/json", () => {
    expect(goMarshalMap({ b: "<x>", a: { d: "&", c: 1 } })).toBe('{"a":{"c":1,"d":"\\u0026"},"b":"\\u003cx\\u003e"}');
  });
  it("keeps struct field order", () => {
    expect(goMarshal({ errorCode: "E", message: "m" })).toBe('{"errorCode":"E","message":"m"}');
  });
});
