/** @module functions-host/test/routes: route template parsing, matching and precedence. */

import { describe, expect, it } from "vitest";
import {
  buildRouteTemplate,
  decodePathSegment,
  matchRoute,
  parseRouteTemplate,
  routePrecedence,
  selectRoute,
  sortRoutes,
  splitRequestPath,
  type RouteEntry,
} from "../src/routes";

function match(template: string, path: string): Record<string, string> | undefined {
  return matchRoute(parseRouteTemplate(template), splitRequestPath(path));
}

describe("buildRouteTemplate", () => {
  it("joins prefix and route, defaulting the route to the function name", () => {
    expect(buildRouteTemplate("api", "items/{id}", "getItem")).toBe("api/items/{id}");
    expect(buildRouteTemplate("api", undefined, "getItem")).toBe("api/getItem");
    expect(buildRouteTemplate("api", "", "getItem")).toBe("api/getItem");
    expect(buildRouteTemplate("", "v1.0/state/{store}", "x")).toBe("v1.0/state/{store}");
    expect(buildRouteTemplate("/api/", "/items", "x")).toBe("api/items");
  });
});

describe("parseRouteTemplate", () => {
  it("parses literals, parameters, constraints, optional, defaults and catch-all", () => {
    expect(parseRouteTemplate("api/items/{id:int}/{name?}/{*rest}")).toEqual({
      template: "api/items/{id:int}/{name?}/{*rest}",
      segments: [
        { parts: [{ kind: "literal", text: "api" }] },
        { parts: [{ kind: "literal", text: "items" }] },
        { parts: [{ kind: "parameter", name: "id", optional: false, catchAll: false, defaultValue: undefined, constraints: [{ name: "int", args: [] }] }] },
        { parts: [{ kind: "parameter", name: "name", optional: true, catchAll: false, defaultValue: undefined, constraints: [] }] },
        { parts: [{ kind: "parameter", name: "rest", optional: false, catchAll: true, defaultValue: undefined, constraints: [] }] },
      ],
    });
  });

  it("parses constraint arguments, defaults and complex segments", () => {
    const parsed = parseRouteTemplate("files/{name:length(2,5):alpha}.{ext}/{page=1}");
    expect(parsed.segments.slice(1)).toEqual([
      {
        parts: [
          { kind: "parameter", name: "name", optional: false, catchAll: false, defaultValue: undefined, constraints: [{ name: "length", args: ["2", "5"] }, { name: "alpha", args: [] }] },
          { kind: "literal", text: "." },
          { kind: "parameter", name: "ext", optional: false, catchAll: false, defaultValue: undefined, constraints: [] },
        ],
      },
      { parts: [{ kind: "parameter", name: "page", optional: false, catchAll: false, defaultValue: "1", constraints: [] }] },
    ]);
  });

  it("keeps regex constraint arguments with escaped braces and parentheses", () => {
    const parsed = parseRouteTemplate("codes/{code:regex(^(ab|cd)\\d{{2}}$)}");
    expect(parsed.segments[1].parts[0]).toEqual({
      kind: "parameter",
      name: "code",
      optional: false,
      catchAll: false,
      defaultValue: undefined,
      constraints: [{ name: "regex", args: ["^(ab|cd)\\d{2}$"] }],
    });
  });

  it.each([
    ["items/{id:nope}", /could not be resolved/],
    ["items/{id}/{ID}", /appears more than once/],
    ["{*rest}/items", /catch-all/],
    ["items//x", /consecutively/],
    ["items/{id", /unclosed/],
    ["items/{a}{b}", /separated by a literal/],
    ["items/{id?=3}", /unexpected|default/],
    ["items/x?", /cannot contain '\?'/],
    ["items/{id:length(a)}", /integer arguments/],
    ["files/{name}.{ext?}", /must be a whole segment/],
  ])("rejects %s", (template, message) => {
    expect(() => parseRouteTemplate(template)).toThrow(message);
  });
});

describe("matchRoute", () => {
  it("matches literals case-insensitively and decodes parameter values", () => {
    expect(match("api/Items/{name}", "/API/items/a%20b")).toEqual({ name: "a b" });
  });

  it("ignores one trailing slash and rejects extra or empty segments", () => {
    expect(match("api/items", "/api/items/")).toEqual({});
    expect(match("api/items", "/api/items/x")).toBeUndefined();
    expect(match("api/{a}/{b}", "/api//x")).toBeUndefined();
  });

  it("gives missing optional parameters an empty value and defaults their default", () => {
    expect(match("opt/{id?}", "/opt")).toEqual({ id: "" });
    expect(match("opt/{id?}", "/opt/7")).toEqual({ id: "7" });
    expect(match("page/{n=1}", "/page")).toEqual({ n: "1" });
  });

  it("gives a catch-all the rest of the path, or empty", () => {
    expect(match("files/{*path}", "/files/a/b%20c/d")).toEqual({ path: "a/b c/d" });
    expect(match("files/{*path}", "/files")).toEqual({ path: "" });
  });

  it("splits complex segments with the last literal", () => {
    expect(match("files/{name}.{ext}", "/files/archive.tar.gz")).toEqual({ name: "archive.tar", ext: "gz" });
    expect(match("files/{name}.{ext}", "/files/noext")).toBeUndefined();
  });

  it.each([
    ["{v:int}", "42", true],
    ["{v:int}", "-7", true],
    ["{v:int}", "2147483648", false],
    ["{v:int}", "4.2", false],
    ["{v:long}", "2147483648", true],
    ["{v:alpha}", "abcXYZ", true],
    ["{v:alpha}", "abc1", false],
    ["{v:bool}", "TRUE", true],
    ["{v:bool}", "yes", false],
    ["{v:guid}", "0f8fad5b-d9cb-469f-a165-70867728950e", true],
    ["{v:guid}", "0f8fad5bd9cb469fa16570867728950e", true],
    ["{v:guid}", "{0f8fad5b-d9cb-469f-a165-70867728950e}", true],
    ["{v:guid}", "not-a-guid", false],
    ["{v:minlength(3)}", "ab", false],
    ["{v:maxlength(3)}", "abc", true],
    ["{v:length(2,3)}", "abcd", false],
    ["{v:range(1,10)}", "10", true],
    ["{v:range(1,10)}", "11", false],
    ["{v:min(5)}", "4", false],
    ["{v:max(5)}", "5", true],
    ["{v:double}", "1.5e3", true],
    ["{v:decimal}", "1,000.25", true],
    ["{v:regex(^[a-c]+$)}", "ABC", true],
    ["{v:regex(^[a-c]+$)}", "abd", false],
  ])("%s on %s -> %s", (template, value, expected) => {
    expect(match(template, `/${value}`) !== undefined).toBe(expected);
  });
});

describe("splitRequestPath / decodePathSegment", () => {
  it("decodes each segment but keeps %2F and malformed escapes", () => {
    expect(splitRequestPath("/a%2Fb/c%20d/")).toEqual(["a%2Fb", "c d"]);
    expect(decodePathSegment("%zz%41")).toBe("%zz%41");
    expect(decodePathSegment("%41%2f")).toBe("A%2f");
    expect(splitRequestPath("/")).toEqual([]);
  });
});

describe("precedence", () => {
  it("ranks literal < constrained < parameter < optional < catch-all per segment", () => {
    expect(routePrecedence(parseRouteTemplate("api/{id:int}/{name}/{x?}/{*rest}"))).toEqual([1, 2, 3, 5, 7]);
    expect(routePrecedence(parseRouteTemplate("{a:int?}/{b}.{c}/{*r:alpha}"))).toEqual([4, 2, 6]);
  });

  const names = ["catchAll", "optional", "param", "constrained", "literal", "short"];
  const templates = ["api/{*rest}", "api/items/{id?}", "api/items/{name}", "api/items/{id:int}", "api/items/special", "api/items"];
  // Registered worst-first so the order cannot come from registration.
  const entries: RouteEntry<string>[] = templates.map((t, i) => ({ route: parseRouteTemplate(t), methods: undefined, value: names[i] }));
  const sorted = sortRoutes(entries);

  it("sorts by precedence, shorter templates first on a common prefix", () => {
    expect(sorted.map((e) => e.value)).toEqual(["short", "literal", "constrained", "param", "optional", "catchAll"]);
  });

  it.each([
    ["/api/items/special", "literal", {}],
    ["/api/items/5", "constrained", { id: "5" }],
    ["/api/items/abc", "param", { name: "abc" }],
    ["/api/items", "short", {}],
    ["/api/other/thing", "catchAll", { rest: "other/thing" }],
  ])("%s -> %s", (path, expected, params) => {
    expect(selectRoute(sorted, "GET", path)).toEqual({ entry: expect.objectContaining({ value: expected }), params });
  });

  it("skips a matching route whose methods exclude the request method", () => {
    const withMethods: RouteEntry<string>[] = [
      { route: parseRouteTemplate("things/{id}"), methods: ["POST"], value: "postOnly" },
      { route: parseRouteTemplate("{*rest}"), methods: ["GET", "POST"], value: "catchAll" },
    ];
    const routes = sortRoutes(withMethods);
    expect(selectRoute(routes, "post", "/things/1")?.entry.value).toBe("postOnly");
    expect(selectRoute(routes, "GET", "/things/1")?.entry.value).toBe("catchAll");
    expect(selectRoute(routes, "DELETE", "/things/1")).toBeUndefined();
  });

  it("keeps registration order between equal templates", () => {
    const twins: RouteEntry<string>[] = [
      { route: parseRouteTemplate("x/{a}"), methods: undefined, value: "first" },
      { route: parseRouteTemplate("x/{b}"), methods: undefined, value: "second" },
    ];
    expect(selectRoute(sortRoutes(twins), "GET", "/x/1")?.entry.value).toBe("first");
  });
});
