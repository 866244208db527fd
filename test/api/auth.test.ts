import { describe, expect, it } from "vitest";
import { authenticate, authenticateEntraId, authenticateNow, authorize, isLoopbackRequest, presentedCredential } from "../../src/api/auth";
import { allowedAlgorithms, looksLikeJwt } from "../../src/api/entraId";
import { createRateLimiter } from "../../src/api/rateLimit";

const req = (headers: Record<string, string>, url = "http://127.0.0.1:7071/v1.0/metadata", clientAddress?: string) => ({
  headers: new Headers(headers),
  url,
  ...(clientAddress !== undefined ? { clientAddress } : {}),
});

describe("authenticate", () => {
  const policy = {
    callers: [
      { appId: "a", role: "writer" as const, token: "current-token" },
      { appId: "a", role: "writer" as const, token: "previous-token", notAfter: 2_000 },
      { appId: "b", role: "reader" as const, token: "other" },
    ],
    allowAnonymous: false,
    anonymousAppId: "x",
  };
  it("maps a token to its app-id and role, from dapr-api-token or a bearer header", async () => {
    expect(await authenticate(policy, req({ "dapr-api-token": "other" }), 1_000)).toEqual({ appId: "b", role: "reader", via: "token" });
    expect(await authenticate(policy, req({ authorization: "Bearer other" }), 1_000)).toEqual({ appId: "b", role: "reader", via: "token" });
  });
  it("accepts a rotated-out token until its notAfter, then rejects it as daprd rejects any bad token", async () => {
    expect((await authenticate(policy, req({ "dapr-api-token": "previous-token" }), 1_999)).appId).toBe("a");
    await expect(authenticate(policy, req({ "dapr-api-token": "previous-token" }), 2_000)).rejects.toThrow("invalid api token");
  });
  it("remembers a credential only once it matched, per caller list, and still checks it every time", async () => {
    const list = { ...policy, callers: [{ appId: "a", role: "writer" as const, token: "t1", notAfter: 5 }] };
    for (let i = 0; i < 3; i++) expect((await authenticate(list, req({ "dapr-api-token": "t1" }), 0)).appId).toBe("a");
    await expect(authenticate(list, req({ "dapr-api-token": "t1x" }), 0)).rejects.toThrow("invalid api token");
    await expect(authenticate(list, req({ "dapr-api-token": "t1" }), 5)).rejects.toThrow("invalid api token");
    // A rebuilt runtime's list (another array) with another token: the remembered credential counts for nothing.
    const rebuilt = { ...list, callers: [{ appId: "a", role: "writer" as const, token: "t2" }] };
    await expect(authenticate(rebuilt, req({ "dapr-api-token": "t1" }), 0)).rejects.toThrow("invalid api token");
    expect((await authenticate(rebuilt, req({ "dapr-api-token": "t2" }), 0)).appId).toBe("a");
  });
  it("rejects missing, empty and partial tokens", async () => {
    const cases: Record<string, string>[] = [{}, { "dapr-api-token": "" }, { "dapr-api-token": "current" }, { authorization: "Basic current-token" }];
    for (const headers of cases) {
      await expect(authenticate(policy, req(headers), 0)).rejects.toThrow("invalid api token");
    }
  });
  it("anonymous access is for loopback connections without credentials, and only when no caller exists", async () => {
    const open = { callers: [], allowAnonymous: true, anonymousAppId: "dev" };
    const anonymous = { appId: "dev", role: "writer", via: "anonymous" };
    expect(await authenticate(open, req({}, "http://127.0.0.1:7071/v1.0/metadata", "127.0.0.1"))).toEqual(anonymous);
    expect(await authenticate(open, req({}, "http://vaultstate.example.com/v1.0/metadata", "::1"))).toEqual(anonymous);
    expect(await authenticate(open, req({}, "http://localhost/v1.0/metadata", "::ffff:127.0.0.1"))).toEqual(anonymous);
    // The connection decides, never what the client wrote: Host, the URL or X-Forwarded-For.
    await expect(authenticate(open, req({ host: "127.0.0.1" }, "http://127.0.0.1:7071/v1.0/metadata", "192.0.2.2"))).rejects.toMatchObject({ status: 401 });
    await expect(authenticate(open, req({ "x-forwarded-for": "127.0.0.1" }, "http://localhost/v1.0/metadata", "203.0.113.9"))).rejects.toMatchObject({ status: 401 });
    // No address vouched for (Core Tools, the worker outside Azure): never loopback.
    await expect(authenticate(open, req({}, "http://127.0.0.1:7071/v1.0/metadata"))).rejects.toMatchObject({ status: 401 });
    await expect(authenticate({ ...open, allowAnonymous: false }, req({}, undefined, "127.0.0.1"))).rejects.toThrow(/no caller is configured/);
  });
});

describe("authorize", () => {
  it("lets higher roles do what lower ones may, and refuses the rest with 403", () => {
    expect(() => authorize({ appId: "a", role: "admin", via: "token" }, "writer", "save state")).not.toThrow();
    expect(() => authorize({ appId: "r", role: "reader", via: "token" }, "writer", "save state")).toThrow("caller r (role reader) may not save state: it needs role writer");
  });
});

describe("helpers", () => {
  it("presentedCredential prefers dapr-api-token", () => {
    expect(presentedCredential(new Headers({ "dapr-api-token": "a", authorization: "Bearer b" }))).toBe("a");
    expect(presentedCredential(new Headers({ authorization: "bearer  b " }))).toBe("b");
  });
  it("isLoopbackRequest judges the connection's address only", () => {
    for (const address of ["127.0.0.1", "127.10.0.3", "::1", "0:0:0:0:0:0:0:1", "::ffff:127.0.0.1"]) expect(isLoopbackRequest({ clientAddress: address })).toBe(true);
    for (const address of ["192.0.2.2", "10.0.0.1", "::", "::2", "fe80::1", "::ffff:10.0.0.1", "localhost", "128.0.0.1", ""]) expect(isLoopbackRequest({ clientAddress: address })).toBe(false);
    expect(isLoopbackRequest(req({ host: "127.0.0.1" }, "http://localhost:7071/"))).toBe(false);
  });
  it("only asymmetric algorithms are ever allowed; JWT shape detection", () => {
    expect(allowedAlgorithms(["RS256", "HS256", "none", "ES384", "PS512"])).toEqual(["RS256", "ES384", "PS512"]);
    expect(allowedAlgorithms(undefined)).toEqual(["RS256"]);
    expect(looksLikeJwt("aaa.bbb.ccc")).toBe(true);
    expect(looksLikeJwt("dev-token")).toBe(false);
  });
});

describe("rate limiter", () => {
  it("allows a burst, then refills at the rate and says when to retry", () => {
    let now = 0;
    const limiter = createRateLimiter({ ratePerSecond: 2, burst: 3, now: () => now });
    expect([1, 2, 3].map(() => limiter.take("a").allowed)).toEqual([true, true, true]);
    expect(limiter.take("a")).toEqual({ allowed: false, retryAfterSeconds: 1 });
    expect(limiter.take("b").allowed).toBe(true);
    now = 500;
    expect(limiter.take("a").allowed).toBe(true);
    expect(limiter.take("a").allowed).toBe(false);
  });
  it("a rate of 0 turns limiting off", () => {
    const limiter = createRateLimiter({ ratePerSecond: 0, burst: 0 });
    expect(Array.from({ length: 100 }, () => limiter.take("a").allowed).every(Boolean)).toBe(true);
  });
});

describe("authenticateNow", () => {
  const policy = { callers: [{ appId: "a", role: "writer" as const, token: "t" }], allowAnonymous: false, anonymousAppId: "x" };
  it("decides API tokens without a promise, with the errors authenticate rejects with", () => {
    expect(authenticateNow(policy, req({ "dapr-api-token": "t" }), 0)).toEqual({ appId: "a", role: "writer", via: "token" });
    expect(() => authenticateNow(policy, req({ "dapr-api-token": "u" }), 0)).toThrow("invalid api token");
  });
  it("hands an Entra ID token on to authenticateEntraId, which validates it", async () => {
    const jwt = "eyJhbGciOiJSUzI1NiJ9.eyJvaWQiOiJvIn0.c2ln";
    const entra = { ...policy, entraCallers: [{ appId: "e", role: "reader" as const, objectIds: ["o"], clientIds: [] as string[] }], entraId: { validate: async () => ({ objectId: "o", clientId: undefined, tenantId: undefined }) } };
    expect(authenticateNow(entra, req({ authorization: `Bearer ${jwt}` }), 0)).toEqual({ entraToken: jwt });
    expect(await authenticateEntraId(entra, jwt)).toEqual({ appId: "e", role: "reader", via: "entraId" });
    expect(await authenticate(entra, req({ authorization: `Bearer ${jwt}` }), 0)).toEqual({ appId: "e", role: "reader", via: "entraId" });
  });
});
