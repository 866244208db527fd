/** @module functions-host/test/routes: route template parsing, matching, and the real host's name-ordered first match. */

import { describe, expect, it } from "vitest";
import {
  buildRouteTemplate,
  compareOrdinalIgnoreCase,
  decodePathSegment,
  matchRoute,
  orderRoutes,
  parseRouteTemplate,
  selectRoute,
  splitRequestPath,
  type RouteEntry,
} from "../src/routes";

function match(template: string, path: string): Record<string, string> | undefined {
  return matchRoute(parseRouteTemplate(template), splitRequestPath(path));
}

function entry(functionName: string, template: string, methods?: string[]): RouteEntry<string> {
  return { functionName, route: parseRouteTemplate(template), methods, value: functionName };
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
  it("parses literals, parameters, optional parameters and a catch-all", () => {
    expect(parseRouteTemplate("api/items/{id}/{name?}/{*rest}")).toEqual({
      template: "api/items/{id}/{name?}/{*rest}",
      segments: [
        { kind: "literal", text: "api" },
        { kind: "literal", text: "items" },
        { kind: "parameter", name: "id", optional: false, catchAll: false },
        { kind: "parameter", name: "name", optional: true, catchAll: false },
        { kind: "parameter", name: "rest", optional: false, catchAll: true },
      ],
    });
    expect(parseRouteTemplate("~/")).toEqual({ template: "~/", segments: [] });
  });

  it.each([
    ["items/{id:int}", /not supported by the local host/],
    ["items/{page=1}", /not supported by the local host/],
    ["files/{name}.{ext}", /not supported by the local host/],
    ["items/{id", /not supported by the local host/],
    ["items/{id}/{ID}", /appears more than once/],
    ["{*rest}/items", /must be the last segment/],
    ["{*rest?}", /cannot be marked optional/],
    ["items//x", /consecutively/],
    ["items/x?", /cannot contain '\?'/],
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

  it("gives a missing optional parameter an empty value", () => {
    expect(match("opt/{id?}", "/opt")).toEqual({ id: "" });
    expect(match("opt/{id?}", "/opt/7")).toEqual({ id: "7" });
  });

  it("gives a catch-all the rest of the path, or empty", () => {
    expect(match("files/{*path}", "/files/a/b%20c/d")).toEqual({ path: "a/b c/d" });
    expect(match("files/{*path}", "/files")).toEqual({ path: "" });
  });
});

describe("splitRequestPath / decodePathSegment", () => {
  it("decodes each segment but keeps %2F and malformed escapes", () => {
    expect(splitRequestPath("/a%2Fb/c%20d/")).toEqual(["a%2Fb", "c d"]);
    expect(decodePathSegment("%zz%41")).toBe("%zzA");
    expect(decodePathSegment("%41%2f")).toBe("A%2f");
    expect(splitRequestPath("/")).toEqual([]);
  });
});

describe("route order (the real host: function name, OrdinalIgnoreCase; first match wins)", () => {
  it("compares names like .NET OrdinalIgnoreCase: upper-cased code units", () => {
    const names = ["route_b", "Zeta", "routeA", "alpha", "route-c", "route9", "ALPHA2"];
    expect([...names].sort(compareOrdinalIgnoreCase)).toEqual(["alpha", "ALPHA2", "route-c", "route9", "routeA", "route_b", "Zeta"]);
    expect(compareOrdinalIgnoreCase("Secrets", "secrets")).toBe(0);
  });

  it("tries routes in name order, so a broad route named first shadows a specific one", () => {
    const routes = orderRoutes([entry("secrets", "v1.0/secrets/{store}/{name}"), entry("daprFallback", "v1.0/{*path}"), entry("healthz", "v1.0/healthz")]);
    expect(routes.map((r) => r.functionName)).toEqual(["daprFallback", "healthz", "secrets"]);
    expect(selectRoute(routes, "GET", "/v1.0/secrets/s/n")).toEqual({ entry: expect.objectContaining({ value: "daprFallback" }), params: { path: "secrets/s/n" } });
  });

  it("lets the specific route win only when its name sorts first", () => {
    const routes = orderRoutes([entry("zFallback", "v1.0/{*path}"), entry("secrets", "v1.0/secrets/{store}/{name}")]);
    expect(selectRoute(routes, "GET", "/v1.0/secrets/s/n")).toEqual({ entry: expect.objectContaining({ value: "secrets" }), params: { store: "s", name: "n" } });
    expect(selectRoute(routes, "GET", "/v1.0/other")?.entry.value).toBe("zFallback");
  });

  it("skips a matching route whose methods exclude the request method", () => {
    const routes = orderRoutes([entry("catchAll", "{*rest}", ["GET", "POST"]), entry("aPostOnly", "things/{id}", ["POST"])]);
    expect(selectRoute(routes, "post", "/things/1")?.entry.value).toBe("aPostOnly");
    expect(selectRoute(routes, "GET", "/things/1")?.entry.value).toBe("catchAll");
    expect(selectRoute(routes, "DELETE", "/things/1")).toBeUndefined();
  });

  it("does not depend on registration order", () => {
    const a = entry("alpha", "x/{a}");
    const b = entry("beta", "x/{b}");
    expect(selectRoute(orderRoutes([b, a]), "GET", "/x/1")?.entry.value).toBe("alpha");
    expect(selectRoute(orderRoutes([a, b]), "GET", "/x/1")?.entry.value).toBe("alpha");
  });
});
