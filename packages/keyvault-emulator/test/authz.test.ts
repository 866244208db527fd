/**
 * @module keyvault-emulator/test/authz: unit tests of roles, 403 bodies, principals, tokens, faults and seed parsing.
 */
import { describe, expect, it } from "vitest";
import { createShiftableClock } from "../src/clock";
import { FaultInjector, parseFaultRule, RequestLog } from "../src/faults";
import { guidFromName, PrincipalDirectory } from "../src/principals";
import { forbiddenError, isAuthorized, parseRole, roleAllows, SECRET_OPERATIONS } from "../src/rbac";
import { parseSeedDate, parseSeedText } from "../src/seed";
import { TokenIssuer } from "../src/tokens";

// jose is ESM-only and this project compiles to CommonJS, so it is loaded with a dynamic import.
const jose = import("jose");
const T0 = Date.UTC(2030, 0, 1);

describe("roles", () => {
  it("Secrets User may get and list, Secrets Officer may do everything", () => {
    const userOps = SECRET_OPERATIONS.filter((op) => roleAllows("Key Vault Secrets User", op));
    expect(userOps).toEqual(["getSecret", "listSecrets", "listSecretVersions", "getDeletedSecret", "listDeletedSecrets"]);
    expect(SECRET_OPERATIONS.every((op) => roleAllows("Key Vault Secrets Officer", op))).toBe(true);
    expect(roleAllows("Key Vault Reader", "getSecret")).toBe(false);
    expect(roleAllows("Key Vault Reader", "listSecrets")).toBe(true);
  });

  it("resolves roles by name or id and rejects unknown ones", () => {
    expect(parseRole("key vault secrets user")).toBe("Key Vault Secrets User");
    expect(parseRole("b86a8fe4-44ce-4948-aee5-eccb2c155cd7")).toBe("Key Vault Secrets Officer");
    expect(() => parseRole("Owner")).toThrow(RangeError);
  });

  it("scopes assignments to a vault or every vault", () => {
    const a = [
      { principalId: "P1", vault: "vault-a", role: "Key Vault Secrets User" as const },
      { principalId: "p2", vault: "*", role: "Key Vault Secrets Officer" as const },
    ];
    expect(isAuthorized(a, "p1", "VAULT-A", "getSecret")).toBe(true);
    expect(isAuthorized(a, "p1", "vault-b", "getSecret")).toBe(false);
    expect(isAuthorized(a, "p1", "vault-a", "setSecret")).toBe(false);
    expect(isAuthorized(a, "p2", "anything", "purgeDeletedSecret")).toBe(true);
  });
});

describe("403 bodies", () => {
  const base = {
    operation: "getSecret" as const,
    caller: { appId: "app-1", objectId: "oid-1", issuer: "https://sts.windows.net/tid/" },
    vault: "My-Vault",
    location: "westeurope",
    subscriptionId: "sub-1",
    resourceGroup: "RG",
    secretName: "Db",
  };

  it("RBAC: Forbidden / ForbiddenByRbac with the service's multi-line message", () => {
    expect(forbiddenError({ ...base, model: "rbac" }).toBody()).toEqual({
      error: {
        code: "Forbidden",
        message:
          "Caller is not authorized to perform action on resource.\r\n" +
          "If role assignments, deny assignments or role definitions were changed recently, please observe propagation time.\r\n" +
          "Caller: appid=app-1;oid=oid-1;iss=https://sts.windows.net/tid/\r\n" +
          "Action: 'Microsoft.KeyVault/vaults/secrets/getSecret/action'\r\n" +
          "Resource: '/subscriptions/sub-1/resourcegroups/rg/providers/microsoft.keyvault/vaults/my-vault/secrets/db'\r\n" +
          "Assignment: (not found)\r\n" +
          "DenyAssignmentId: null\r\n" +
          "DecisionReason: 'DeniedWithNoValidRBAC' \r\n" +
          "Vault: my-vault;location=westeurope\r\n",
        innererror: { code: "ForbiddenByRbac" },
      },
    });
  });

  it("access policies: Forbidden / AccessDenied naming the missing permission", () => {
    const e = forbiddenError({ ...base, model: "accessPolicy", operation: "listSecrets" });
    expect(e.status).toBe(403);
    expect(e.toBody()).toEqual({
      error: {
        code: "Forbidden",
        message:
          "The user, group or application 'appid=app-1;oid=oid-1;iss=https://sts.windows.net/tid/' does not have secrets list permission on key vault 'my-vault;location=westeurope'. For help resolving this issue, please see https://go.microsoft.com/fwlink/?linkid=2125287",
        innererror: { code: "AccessDenied" },
      },
    });
  });
});

describe("PrincipalDirectory", () => {
  it("derives stable ids, selects user-assigned identities and manages roles", () => {
    const dir = new PrincipalDirectory({ subscriptionId: "sub", resourceGroup: "rg" });
    const sys = dir.add({ name: "app", type: "systemAssigned", roles: { "*": "Key Vault Secrets User" } });
    const ua = dir.add({ name: "rotator", clientId: "AAAAAAAA-0000-0000-0000-000000000001", roles: { v1: ["Key Vault Secrets Officer"] } });
    expect(sys.objectId).toBe(guidFromName("object/app"));
    expect(guidFromName("x")).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    expect(dir.systemAssigned()).toBe(sys);
    expect(dir.findUserAssigned({ clientId: "aaaaaaaa-0000-0000-0000-000000000001" })).toBe(ua);
    expect(dir.findUserAssigned({ resourceId: "/subscriptions/sub/resourcegroups/rg/providers/Microsoft.ManagedIdentity/userAssignedIdentities/rotator" })).toBe(ua);
    expect(dir.findUserAssigned({ clientId: sys.clientId })).toBeUndefined();
    expect(dir.roleAssignments()).toHaveLength(2);
    expect(dir.revoke(ua, "v1")).toBe(1);
    expect(() => dir.add({ name: "second", type: "systemAssigned" })).toThrow(RangeError);
  });
});

describe("TokenIssuer", () => {
  it("mints v1 managed identity tokens that jose verifies against the JWKS", async () => {
    const clock = createShiftableClock({ now: () => T0 });
    const issuer = new TokenIssuer({ tenantId: "tid-1", clock, v2Issuer: "http://127.0.0.1:1/tid-1/v2.0" });
    const { token, claims } = issuer.mint({ audience: "https://vault.azure.net", subject: { objectId: "oid", clientId: "cid" }, lifetimeSeconds: 600 });
    const { createLocalJWKSet, decodeJwt, jwtVerify } = await jose;
    expect(decodeJwt(token)).toMatchObject({ aud: "https://vault.azure.net", iss: "https://sts.windows.net/tid-1/", oid: "oid", tid: "tid-1", appid: "cid", ver: "1.0" });
    expect([claims.iat, claims.nbf, claims.exp]).toEqual([T0 / 1000, T0 / 1000, T0 / 1000 + 600]);
    const verified = await jwtVerify(token, createLocalJWKSet(issuer.jwks() as Parameters<typeof createLocalJWKSet>[0]), {
      currentDate: new Date(T0),
      audience: "https://vault.azure.net",
    });
    expect(verified.protectedHeader).toMatchObject({ alg: "RS256", kid: issuer.kid });
  });

  it("validates audience, issuer, signature and lifetime on the emulator clock", () => {
    const clock = createShiftableClock({ now: () => T0 });
    const issuer = new TokenIssuer({ tenantId: "tid-1", clock });
    const other = new TokenIssuer({ tenantId: "tid-1", clock });
    const mint = (aud: string, i = issuer) => i.mint({ audience: aud, subject: { objectId: "o", clientId: "c" }, lifetimeSeconds: 60 }).token;
    const token = mint("https://vault.azure.net");
    expect(issuer.verify(token, ["https://vault.azure.net"]).ok).toBe(true);
    expect(issuer.verify(mint("https://storage.azure.com"), ["https://vault.azure.net"])).toMatchObject({ ok: false, reason: "audience" });
    expect(issuer.verify(mint("https://vault.azure.net", other), ["https://vault.azure.net"])).toMatchObject({ ok: false, reason: "unknownKey" });
    const [h, p] = token.split(".");
    expect(issuer.verify(`${h}.${p}.AAAA`, ["https://vault.azure.net"])).toMatchObject({ ok: false, reason: "signature" });
    expect(issuer.verify("nope", ["https://vault.azure.net"])).toMatchObject({ ok: false, reason: "malformed" });
    clock.advance((60 + 299) * 1000);
    expect(issuer.verify(token, ["https://vault.azure.net"]).ok).toBe(true);
    clock.advance(1000);
    expect(issuer.verify(token, ["https://vault.azure.net"])).toMatchObject({ ok: false, reason: "expired" });
    clock.setShift(-301_000);
    expect(issuer.verify(token, ["https://vault.azure.net"])).toMatchObject({ ok: false, reason: "notYetValid" });
  });
});

describe("faults and request log", () => {
  it("applies the first matching rule for N requests, then stops", () => {
    const faults = new FaultInjector();
    faults.add(parseFaultRule({ operation: "getSecret", status: 429, retryAfterSeconds: 1, count: 2 }));
    faults.add(parseFaultRule({ operation: "*", vault: "v1", latencyMs: 5 }));
    expect(faults.take("getSecret", "v1")).toEqual({ status: 429, retryAfterSeconds: 1 });
    expect(faults.take("getSecret", "v2")).toEqual({ status: 429, retryAfterSeconds: 1 });
    expect(faults.take("getSecret", "v1")).toEqual({ latencyMs: 5 });
    expect(faults.take("getSecret", "v2")).toBeUndefined();
    expect(faults.take("getManagedIdentityToken")).toBeUndefined();
    expect(faults.clear()).toBe(1);
  });

  it("validates rules", () => {
    expect(() => parseFaultRule({ operation: "getSecrets", status: 500 })).toThrow(RangeError);
    expect(() => parseFaultRule({ operation: "getSecret" })).toThrow(/needs status, reset or latencyMs/);
    expect(() => parseFaultRule({ operation: "getSecret", status: 200 })).toThrow(RangeError);
    expect(() => parseFaultRule({ operation: "getSecret", status: 500, reset: true })).toThrow(RangeError);
    expect(parseFaultRule({ operation: "getManagedIdentityToken", reset: true, count: 1 })).toEqual({ operation: "getManagedIdentityToken", reset: true, count: 1 });
  });

  it("counts per operation and status and resets", () => {
    const log = new RequestLog(2);
    for (const status of [401, 200, 200]) log.record({ time: "", listener: "vault", method: "GET", path: "/secrets/a", operation: "getSecret", status, durationMs: 1 });
    expect(log.list()).toHaveLength(2);
    expect(log.summary()).toEqual({ total: 3, byOperation: { getSecret: 3 }, byOperationAndStatus: { getSecret: { "200": 2, "401": 1 } } });
    log.reset();
    expect(log.summary().total).toBe(0);
  });
});

describe("seed files", () => {
  it("parses YAML with shorthand values, versions, relative dates and principals", () => {
    const doc = parseSeedText(
      [
        "vaults:",
        "  seed-vault:",
        "    permissionModel: accessPolicy",
        "    secrets:",
        "      plain: hello",
        "      rich: { value: v, contentType: text/plain, tags: { a: b }, enabled: false, exp: now+30d, nbf: '2030-01-01T00:00:00Z' }",
        "      rotated: { versions: [ { value: old }, new ] }",
        "principals:",
        "  - { name: app, type: systemAssigned, roles: { seed-vault: Key Vault Secrets User } }",
      ].join("\n"),
      "seed.yaml",
      T0,
    );
    expect(doc.vaults["seed-vault"]).toEqual({
      permissionModel: "accessPolicy",
      secrets: {
        plain: [{ value: "hello" }],
        rich: [{ value: "v", contentType: "text/plain", tags: { a: "b" }, enabled: false, exp: T0 / 1000 + 30 * 86_400, nbf: T0 / 1000 }],
        rotated: [{ value: "old" }, { value: "new" }],
      },
    });
    expect(doc.principals).toEqual([{ name: "app", type: "systemAssigned", roles: { "seed-vault": ["Key Vault Secrets User"] } }]);
  });

  it("reports the bad field", () => {
    expect(() => parseSeedText('{"vaults":{"x":{}}}', "s.json", T0)).toThrow(/invalid vault name/);
    expect(() => parseSeedText('{"vaults":{"good-vault":{"secrets":{"bad_name":"v"}}}}', "s.json", T0)).toThrow(/bad_name: invalid secret name/);
    expect(() => parseSeedText('{"principals":[{"name":"p","roles":{"*":"Owner"}}]}', "s.json", T0)).toThrow(/unknown role/);
    expect(() => parseSeedDate("tomorrow", "exp", T0)).toThrow(TypeError);
    expect(parseSeedDate("now-1h", "exp", T0)).toBe(T0 / 1000 - 3600);
    expect(parseSeedDate(1_900_000_000, "exp", T0)).toBe(1_900_000_000);
  });
});
