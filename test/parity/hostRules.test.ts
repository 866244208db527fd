/**
 * Unit tests of the parity host's model of azure-functions-host request handling (pure functions).
 */
import { describe, expect, it } from "vitest";
import { firstMatch, foldHeaders, foldQuery, fullTemplate, kestrelDecodePath, matchTemplate, orderRoutes, pathToUriComponent, yarpEncodePath } from "./support/hostRules";

describe("Kestrel path decoding + PathString.ToUriComponent", () => {
  it("decodes once but keeps %2F encoded", () => {
    expect(kestrelDecodePath("/v1.0/state/s/a%2Fb%20c")).toBe("/v1.0/state/s/a%2Fb c");
    expect(kestrelDecodePath("/caf%C3%A9")).toBe("/café");
    expect(kestrelDecodePath("/bad%zz%41")).toBe("/bad%zzA");
  });

  it("re-encodes what a path cannot hold, but takes %XX as already encoded", () => {
    expect(pathToUriComponent("/a b/café")).toBe("/a%20b/caf%C3%A9");
    // A literal "%20" in a key (sent as %2520) reaches the worker as %20: decoded once more than sent.
    expect(pathToUriComponent(kestrelDecodePath("/k/pct%2520"))).toBe("/k/pct%20");
    expect(pathToUriComponent("/100%")).toBe("/100%25");
  });
});

describe("Kestrel path decoding + YARP's EncodePath (the streaming proxy)", () => {
  it("escapes % too, so escapes round-trip; + stays a plus", () => {
    expect(yarpEncodePath(kestrelDecodePath("/k/pct%2520"))).toBe("/k/pct%2520");
    expect(yarpEncodePath(kestrelDecodePath("/k/plus%2B/raw+"))).toBe("/k/plus+/raw+");
    expect(yarpEncodePath(kestrelDecodePath("/k/bad%zz"))).toBe("/k/bad%25zz");
    expect(yarpEncodePath(kestrelDecodePath("/k/a%2Fb"))).toBe("/k/a%252Fb");
    expect(yarpEncodePath(kestrelDecodePath("/k/caf%C3%A9 x"))).toBe("/k/caf%C3%A9%20x");
  });
});

describe("headers and query", () => {
  it("lower-cases header names and joins repeats with a bare comma", () => {
    expect(foldHeaders(["Dapr-Api-Token", "a", "dapr-api-token", "b", "Host", "h"])).toEqual({ "dapr-api-token": "a,b", host: "h" });
  });

  it("joins repeated query values with a comma", () => {
    expect(foldQuery("?a=1&a=2&b=x%20y")).toEqual({ a: "1,2", b: "x y" });
  });
});

describe("routing", () => {
  const route = (functionName: string, template: string, methods: string[] = []) => ({ functionName, template, methods, value: functionName });

  it("joins the route prefix like the host", () => {
    expect(fullTemplate("", "v1.0/metadata", "metadata")).toBe("v1.0/metadata");
    expect(fullTemplate("api", undefined, "fn")).toBe("api/fn");
    expect(fullTemplate("/api/", "/x", "fn")).toBe("api/x");
  });

  it("matches literals case-insensitively, optional and catch-all parameters", () => {
    expect(matchTemplate("v1.0/state/{store}/{key?}", "/V1.0/State/s")).toEqual({ store: "s" });
    expect(matchTemplate("v1.0/state/{store}/{key?}", "/v1.0/state/s/k/")).toEqual({ store: "s", key: "k" });
    expect(matchTemplate("v1.0/state/{store}/{key?}", "/v1.0/state/s/k/extra")).toBeUndefined();
    expect(matchTemplate("v1.0/{*path}", "/v1.0/a/b")).toEqual({ path: "a/b" });
    expect(matchTemplate("v1.0/{*path}", "/v1.0")).toEqual({});
    expect(() => matchTemplate("v1.0/{id:int}", "/v1.0/1")).toThrow(/does not model/);
  });

  it("takes the first match in name order, not the most specific route, and skips routes whose methods differ", () => {
    const ordered = orderRoutes([route("secrets", "v1.0/secrets/{store}/{name}", ["GET"]), route("daprFallback", "v1.0/{*path}"), route("Alpha", "v1.0/secrets/{store}/{name}", ["POST"])]);
    expect(ordered.map((r) => r.functionName)).toEqual(["Alpha", "daprFallback", "secrets"]);
    expect(firstMatch(ordered, "GET", "/v1.0/secrets/s/n")?.route.functionName).toBe("daprFallback");
    expect(firstMatch(ordered, "POST", "/v1.0/secrets/s/n")?.route.functionName).toBe("Alpha");
    expect(firstMatch(ordered.filter((r) => r.functionName !== "daprFallback"), "GET", "/v1.0/secrets/s/n")?.params).toEqual({ store: "s", name: "n" });
    expect(firstMatch(ordered, "GET", "/other")).toBeUndefined();
  });
});
