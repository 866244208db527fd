import { describe, expect, it } from "vitest";
import { authenticate } from "../../src/api/auth";

describe("authenticate", () => {
  const policy = {
    callers: [
      { appId: "a", token: "current-token" },
      { appId: "a", token: "previous-token", notAfter: 2_000 },
      { appId: "b", token: "other" },
    ],
    allowAnonymous: false,
    anonymousAppId: "x",
  };
  it("maps a token to its app-id", () => {
    expect(authenticate(policy, "other", 1_000)).toEqual({ appId: "b", via: "token" });
  });
  it("accepts a rotated-out token until its notAfter, then rejects it as daprd rejects any bad token", () => {
    expect(authenticate(policy, "previous-token", 1_999).appId).toBe("a");
    expect(() => authenticate(policy, "previous-token", 2_000)).toThrow("invalid api token");
  });
  it("rejects missing, empty and partial tokens", () => {
    for (const t of [null, "", "current", "current-token "]) expect(() => authenticate(policy, t, 0)).toThrow("invalid api token");
  });
});
