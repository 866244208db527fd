/**
 * @module keyvault-emulator/test/auth.integration: challenge auth, token validation, managed identity
 * (system- and user-assigned), role checks and the OIDC issuer, with the real SDK and credential.
 *
 * Tokens are issued for 240 s here: the managed identity credential ignores CAE claims (identity 4.14.1 passes
 * only `resource` to MSAL), so after a server-side clock jump the SDK can only get a new token when MSAL's
 * cache no longer serves the old one, which is the case for tokens under MSAL's 5-minute renewal margin.
 */
import { execFile } from "node:child_process";
import { promisify } from "node:util";
import { ManagedIdentityCredential } from "@azure/identity";
import { SecretClient } from "@azure/keyvault-secrets";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type KeyVaultEmulator, startKeyVaultEmulator } from "../src/server";
import { TokenIssuer } from "../src/tokens";
import { createShiftableClock } from "../src/clock";
import { guidFromName } from "../src/principals";
import { admin, catchError, rawRequest, requestLog, restErrorDetails } from "./helpers";

// jose is ESM-only and this project compiles to CommonJS, so it is loaded with a dynamic import.
const jose = import("jose");
const execFileAsync = promisify(execFile);
const VAULT = "auth-vault";
const POLICY_VAULT = "policy-vault";
const READER_CLIENT_ID = "0a0a0a0a-1111-4222-8333-444444444444";
const NOROLE_CLIENT_ID = "0b0b0b0b-1111-4222-8333-444444444444";

describe("Key Vault emulator with the real SDK: authentication and authorization", () => {
  let kv: KeyVaultEmulator;
  const opts = { disableChallengeResourceVerification: true };

  beforeAll(async () => {
    kv = await startKeyVaultEmulator({
      vaults: [VAULT, { name: POLICY_VAULT, permissionModel: "accessPolicy" }],
      tokenLifetimeSeconds: 240,
      identityHeader: "local-identity-header",
      seed: {
        vaults: { [VAULT]: { secrets: { shared: "shared-value" } }, [POLICY_VAULT]: { secrets: { shared: "policy-value" } } },
        principals: [
          { name: "app", type: "systemAssigned", roles: { "*": "Key Vault Secrets Officer" } },
          { name: "reader", clientId: READER_CLIENT_ID, roles: { [VAULT]: "Key Vault Secrets User" } },
          { name: "nobody", clientId: NOROLE_CLIENT_ID },
        ],
      },
    });
    process.env.IDENTITY_ENDPOINT = kv.identityEndpoint;
    process.env.IDENTITY_HEADER = kv.identityHeader;
  });

  afterAll(async () => {
    await kv?.close();
  });

  const vaultUrl = (path: string): string => `${kv.vaultUri(VAULT)}${path}`;

  it("challenges a request without a token before reading its body", async () => {
    const res = await rawRequest(vaultUrl("/secrets/x?api-version=2026-04-01"), {
      method: "PUT",
      body: JSON.stringify({ value: "never stored" }),
      caCertPath: kv.caCertPath,
    });
    expect(res.status).toBe(401);
    expect(res.headers["www-authenticate"]).toBe(`Bearer authorization="https://login.microsoftonline.com/${kv.tenantId}", resource="https://vault.azure.net"`);
    expect(res.json).toEqual({ error: { code: "Unauthorized", message: "AKV10000: Request is missing a Bearer or PoP token." } });
    expect(kv.store(VAULT).list().map((s) => s.name)).not.toContain("x");
  });

  it("refuses tokens for another audience or signed by another key with 401 and a challenge", async () => {
    const storageToken = kv.mintToken({ principalRef: "app", audience: "https://storage.azure.com", version: "1.0" }).token;
    const wrongAudience = await rawRequest(vaultUrl("/secrets/shared/?api-version=7.5"), {
      headers: { Authorization: `Bearer ${storageToken}` },
      caCertPath: kv.caCertPath,
    });
    expect(wrongAudience.status).toBe(401);
    expect(wrongAudience.json).toEqual({
      error: { code: "Unauthorized", message: "AKV10022: Invalid audience. Expected https://vault.azure.net, found: https://storage.azure.com." },
    });
    expect(wrongAudience.headers["www-authenticate"]).toContain('resource="https://vault.azure.net"');

    const foreign = new TokenIssuer({ tenantId: kv.tenantId, clock: createShiftableClock() }).mint({
      audience: "https://vault.azure.net",
      subject: { objectId: "x", clientId: "y" },
      lifetimeSeconds: 60,
    });
    const forged = await rawRequest(vaultUrl("/secrets/shared/?api-version=7.5"), {
      headers: { Authorization: `Bearer ${foreign.token}` },
      caCertPath: kv.caCertPath,
    });
    expect(forged.status).toBe(401);
    expect((forged.json as { error: { message: string } }).error.message).toMatch(/^AKV10046: Unable to resolve the key used for signature validation/);
  });

  it("issues App Service managed identity tokens with the claims and JSON shape MSAL expects", async () => {
    const res = await rawRequest(`${kv.identityEndpoint}?api-version=2019-08-01&resource=${encodeURIComponent("https://vault.azure.net")}`, {
      headers: { "X-IDENTITY-HEADER": "local-identity-header" },
    });
    expect(res.status).toBe(200);
    const body = res.json as Record<string, string>;
    const app = kv.principals.findByRef("app");
    expect(body).toMatchObject({ resource: "https://vault.azure.net", token_type: "Bearer", client_id: app?.clientId });
    expect(body.expires_on).toMatch(/^\d+$/);
    expect(Number(body.expires_on) - Date.now() / 1000).toBeGreaterThan(200);
    const { decodeJwt } = await jose;
    const claims = decodeJwt(body.access_token ?? "");
    expect(claims).toMatchObject({
      aud: "https://vault.azure.net",
      iss: `https://sts.windows.net/${kv.tenantId}/`,
      oid: app?.objectId,
      tid: kv.tenantId,
      appid: app?.clientId,
    });
    expect((claims.exp ?? 0) - (claims.iat ?? 0)).toBe(240);
    expect(claims.nbf).toBe(claims.iat);
  });

  it("rejects a missing or wrong X-IDENTITY-HEADER, and the credential reports it", async () => {
    const url = `${kv.identityEndpoint}?api-version=2019-08-01&resource=https%3A%2F%2Fvault.azure.net`;
    const missing = await rawRequest(url);
    const wrong = await rawRequest(url, { headers: { "X-IDENTITY-HEADER": "guess" } });
    expect([missing.status, wrong.status]).toEqual([401, 401]);
    expect(wrong.json).toMatchObject({ statusCode: 401, message: expect.stringContaining("X-IDENTITY-HEADER") });

    // MSAL caches the managed identity source (endpoint and header) in a static field on the first token
    // request of a process, so the credential with a wrong header runs in a child process.
    const script = `
      const { ManagedIdentityCredential } = require("@azure/identity");
      new ManagedIdentityCredential().getToken("https://vault.azure.net/.default").then(
        () => console.log(JSON.stringify({ ok: true })),
        (e) => console.log(JSON.stringify({ ok: false, name: e.name, message: e.message })));`;
    const { stdout } = await execFileAsync(process.execPath, ["-e", script], {
      cwd: process.cwd(),
      env: { ...process.env, IDENTITY_ENDPOINT: kv.identityEndpoint, IDENTITY_HEADER: "guess" },
    });
    const outcome = JSON.parse(stdout.trim()) as { ok: boolean; name?: string; message?: string };
    expect(outcome).toMatchObject({ ok: false, name: "CredentialUnavailableError" });
    expect(outcome.message).toContain("X-IDENTITY-HEADER");
    const unknown = await rawRequest(`${url}&client_id=99999999-0000-4000-8000-000000000000`, { headers: { "X-IDENTITY-HEADER": "local-identity-header" } });
    expect(unknown.json).toMatchObject({ statusCode: 400, message: "Unable to load the proper Managed Identity." });
  });

  it("uses a user-assigned identity selected by client_id, limited to its role", async () => {
    const reader = kv.principals.findByRef("reader");
    const client = new SecretClient(kv.vaultUri(VAULT), new ManagedIdentityCredential({ clientId: READER_CLIENT_ID }), opts);
    expect((await client.getSecret("shared")).value).toBe("shared-value");
    const names: string[] = [];
    for await (const p of client.listPropertiesOfSecrets()) names.push(p.name);
    expect(names).toContain("shared");

    const e = await catchError(() => client.setSecret("shared", "overwrite"));
    expect(e.statusCode).toBe(403);
    expect(restErrorDetails(e)).toMatchObject({ error: { code: "Forbidden", innerError: { code: "ForbiddenByRbac" } } });
    const tokenRequests = (await requestLog(kv.adminUrl, "getManagedIdentityToken")).entries;
    expect(tokenRequests.some((r) => r.principalId === reader?.objectId)).toBe(true);

    // The exact wire body, with a token for the same principal.
    const token = kv.mintToken({ principalRef: "reader", version: "1.0" }).token;
    const wire = await rawRequest(vaultUrl("/secrets/shared?api-version=2026-04-01"), {
      method: "PUT",
      headers: { Authorization: `Bearer ${token}` },
      body: JSON.stringify({ value: "overwrite" }),
      caCertPath: kv.caCertPath,
    });
    expect(wire.status).toBe(403);
    expect(wire.json).toEqual({
      error: {
        code: "Forbidden",
        message:
          "Caller is not authorized to perform action on resource.\r\n" +
          "If role assignments, deny assignments or role definitions were changed recently, please observe propagation time.\r\n" +
          `Caller: appid=${reader?.clientId};oid=${reader?.objectId};iss=https://sts.windows.net/${kv.tenantId}/\r\n` +
          "Action: 'Microsoft.KeyVault/vaults/secrets/setSecret/action'\r\n" +
          `Resource: '/subscriptions/${guidFromName(`subscription/${kv.tenantId}`)}/resourcegroups/vaultstate-local/providers/microsoft.keyvault/vaults/${VAULT}/secrets/shared'\r\n` +
          "Assignment: (not found)\r\n" +
          "DenyAssignmentId: null\r\n" +
          "DecisionReason: 'DeniedWithNoValidRBAC' \r\n" +
          `Vault: ${VAULT};location=westeurope\r\n`,
        innererror: { code: "ForbiddenByRbac" },
      },
    });
  });

  it("gives a principal without a role the real 403, and admin role changes take effect", async () => {
    const client = new SecretClient(kv.vaultUri(VAULT), new ManagedIdentityCredential({ clientId: NOROLE_CLIENT_ID }), opts);
    const denied = await catchError(() => client.getSecret("shared"));
    expect(denied.statusCode).toBe(403);
    const details = restErrorDetails(denied) as { error: { message: string } };
    expect(details.error.message).toContain("Action: 'Microsoft.KeyVault/vaults/secrets/getSecret/action'");
    expect(details.error.message).toContain(`/providers/microsoft.keyvault/vaults/${VAULT}/secrets/shared'`);

    const grant = await admin(kv.adminUrl, "PUT", "/principals/nobody/roles", { vault: VAULT, role: "Key Vault Secrets User" });
    expect(grant.status).toBe(200);
    expect((await client.getSecret("shared")).value).toBe("shared-value");
    const revoke = await admin(kv.adminUrl, "DELETE", `/principals/nobody/roles?vault=${VAULT}`);
    expect(revoke.json).toEqual({ removed: 1 });
    expect((await catchError(() => client.getSecret("shared"))).statusCode).toBe(403);
  });

  it("answers with the access-policy 403 on a vault that uses access policies", async () => {
    const client = new SecretClient(kv.vaultUri(POLICY_VAULT), new ManagedIdentityCredential({ clientId: READER_CLIENT_ID }), opts);
    const e = await catchError(() => client.getSecret("shared"));
    expect(e.statusCode).toBe(403);
    const reader = kv.principals.findByRef("reader");
    expect(restErrorDetails(e)).toMatchObject({
      error: {
        code: "Forbidden",
        message: `The user, group or application 'appid=${reader?.clientId};oid=${reader?.objectId};iss=https://sts.windows.net/${kv.tenantId}/' does not have secrets get permission on key vault '${POLICY_VAULT};location=westeurope'. For help resolving this issue, please see https://go.microsoft.com/fwlink/?linkid=2125287`,
        innerError: { code: "AccessDenied" },
      },
    });
    const app = new SecretClient(kv.vaultUri(POLICY_VAULT), new ManagedIdentityCredential(), opts);
    expect((await app.getSecret("shared")).value).toBe("policy-value");
  });

  it("refuses a token the emulator clock finds expired with the real service's plain challenge and [TokenExpired]", async () => {
    const stale = kv.mintToken({ principalRef: "app", version: "1.0", lifetimeSeconds: 60 }).token;
    const read = (): ReturnType<typeof rawRequest> =>
      rawRequest(vaultUrl("/secrets/shared/?api-version=2026-04-01"), { headers: { Authorization: `Bearer ${stale}` }, caCertPath: kv.caCertPath });
    expect((await read()).status).toBe(200);
    const shifted = await admin(kv.adminUrl, "POST", "/clock", { advanceSeconds: 3600 });
    expect(shifted.json).toMatchObject({ shiftSeconds: 3600 });
    try {
      const res = await read();
      expect(res.status).toBe(401);
      expect(res.json).toEqual({ error: { code: "Unauthorized", message: "[TokenExpired] Error validating token: 'S2S12086'." } });
      expect(res.headers["www-authenticate"]).toBe(`Bearer authorization="https://login.microsoftonline.com/${kv.tenantId}", resource="https://vault.azure.net"`);
    } finally {
      await admin(kv.adminUrl, "POST", "/clock", { reset: true });
    }
  });

  it("offers the CAE claims challenge for expired tokens as an option", async () => {
    const cae = await startKeyVaultEmulator({ vaults: ["cae-vault"], expiredTokenChallenge: "cae", seed: { principals: [{ name: "app", type: "systemAssigned", roles: { "*": "Key Vault Secrets User" } }] } });
    try {
      const stale = cae.mintToken({ principalRef: "app", version: "1.0", lifetimeSeconds: 60 }).token;
      await admin(cae.adminUrl, "POST", "/clock", { advanceSeconds: 3600 });
      const res = await rawRequest(`${cae.vaultUri("cae-vault")}/secrets/x/?api-version=2026-04-01`, { headers: { Authorization: `Bearer ${stale}` }, caCertPath: cae.caCertPath });
      expect(res.status).toBe(401);
      expect(res.json).toEqual({ error: { code: "Unauthorized", message: "[TokenExpired] Error validating token: 'S2S12086'." } });
      expect(res.headers["www-authenticate"]).toMatch(/^Bearer realm="", authorization_uri="[^"]+", error="insufficient_claims", claims="[A-Za-z0-9+/=]+"$/);
    } finally {
      await cae.close();
    }
  });

  it("serves IMDS-style tokens with the Metadata header", async () => {
    const url = `${kv.imdsAuthorityHost}/metadata/identity/oauth2/token/?api-version=2018-02-01&resource=https%3A%2F%2Fvault.azure.net&client_id=${READER_CLIENT_ID}`;
    expect((await rawRequest(url)).json).toEqual({ error: "invalid_request", error_description: "Required metadata header not specified" });
    const ok = await rawRequest(url, { headers: { Metadata: "true" } });
    expect(ok.status).toBe(200);
    const { decodeJwt } = await jose;
    expect(decodeJwt((ok.json as { access_token: string }).access_token).appid).toBe(READER_CLIENT_ID);
  });

  it("publishes an OIDC issuer whose JWKS verifies admin-minted v2.0 tokens", async () => {
    const discovery = await rawRequest(`${kv.oidcIssuer}/.well-known/openid-configuration`);
    const config = discovery.json as { issuer: string; jwks_uri: string };
    expect(config.issuer).toBe(kv.oidcIssuer);
    expect(config.jwks_uri).toBe(kv.jwksUri);
    const minted = await admin(kv.adminUrl, "POST", "/tokens", {
      objectId: "11111111-2222-4333-8444-555555555555",
      clientId: "66666666-7777-4888-8999-000000000000",
      audience: "api://vaultstate",
      claims: { roles: ["Secrets.Read"] },
    });
    const token = (minted.json as { access_token: string }).access_token;
    const { createRemoteJWKSet, jwtVerify } = await jose;
    const { payload } = await jwtVerify(token, createRemoteJWKSet(new URL(config.jwks_uri)), { issuer: config.issuer, audience: "api://vaultstate" });
    expect(payload).toMatchObject({ oid: "11111111-2222-4333-8444-555555555555", azp: "66666666-7777-4888-8999-000000000000", ver: "2.0", roles: ["Secrets.Read"] });
  });
});
