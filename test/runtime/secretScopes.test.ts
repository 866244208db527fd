import { describe, expect, it } from "vitest";
import type { SecretScope } from "../../src/runtime/componentFiles";
import { configurationFor, isSecretAllowed } from "../../src/runtime/secretScopes";

const scope = (defaultAccess: "allow" | "deny", allowedSecrets: string[], deniedSecrets: string[]): SecretScope => ({
  storeName: "s",
  defaultAccess,
  allowedSecrets,
  deniedSecrets,
});

describe("isSecretAllowed: Dapr's precedence table", () => {
  it.each([
    ["deny", [], [], "s1", false],
    ["allow", [], [], "s1", true],
    ["deny", ["s1"], [], "s1", true],
    ["deny", ["s1"], [], "s2", false],
    ["allow", [], ["s1"], "s1", false],
    ["allow", [], ["s1"], "s2", true],
    ["allow", ["s1"], [], "s2", false],
    ["deny", [], ["s1"], "s2", false],
    ["allow", ["s1"], ["s2"], "s2", false],
    ["deny", ["s1"], ["s2"], "s1", true],
    // A key in both lists is allowed: allowedSecrets decides alone.
    ["deny", ["s1"], ["s1"], "s1", true],
    // Exact, case-sensitive matches.
    ["deny", ["S1"], [], "s1", false],
  ] as const)("default %s, allowed %j, denied %j: %s → %s", (access, allowed, denied, key, expected) => {
    expect(isSecretAllowed(scope(access, [...allowed], [...denied]), key)).toBe(expected);
  });
  it("a store without a scope entry allows everything", () => {
    expect(isSecretAllowed(undefined, "anything")).toBe(true);
  });
});

describe("configurationFor", () => {
  const general = { file: "f", name: "general", scopes: [], secretScopes: [] };
  const demo = { file: "f", name: "demo", scopes: ["demo"], secretScopes: [] };
  it("prefers the configuration scoped to the app-id, then the unscoped one", () => {
    expect(configurationFor("demo", [general, demo])?.name).toBe("demo");
    expect(configurationFor("other", [general, demo])?.name).toBe("general");
    expect(configurationFor("other", [demo])).toBeUndefined();
  });
});
