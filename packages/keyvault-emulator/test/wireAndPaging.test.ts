/**
 * @module keyvault-emulator/test/wireAndPaging: unit tests of routing, api-versions, paging, wire shapes, backups and request bodies.
 */
import { describe, expect, it } from "vitest";
import { backupKeyFor, decodeBackup, encodeBackup } from "../src/backup";
import { thrown } from "./helpers";
import { isLoopback } from "../src/http";
import { parseSetSecretBody, parseUpdateSecretBody } from "../src/model";
import { decodeSkipToken, encodeSkipToken, paginate, parseMaxResults } from "../src/paging";
import { checkApiVersion, matchRoute } from "../src/vaultApi";
import { toDeletedSecretBundle, toSecretBundle, toSecretItem, type WireContext } from "../src/wire";

describe("matchRoute", () => {
  it.each([
    ["PUT", "/secrets/db", { operation: "setSecret", secretName: "db" }],
    ["GET", "/secrets/db/", { operation: "getSecret", secretName: "db", version: "" }],
    ["GET", "/secrets/db", { operation: "getSecret", secretName: "db", version: "" }],
    ["GET", "/secrets/db/0123456789abcdef0123456789abcdef", { operation: "getSecret", secretName: "db", version: "0123456789abcdef0123456789abcdef" }],
    ["PATCH", "/secrets/db/0123456789abcdef0123456789abcdef", { operation: "updateSecret", secretName: "db", version: "0123456789abcdef0123456789abcdef" }],
    ["GET", "/secrets", { operation: "listSecrets" }],
    ["GET", "/secrets/db/versions", { operation: "listSecretVersions", secretName: "db" }],
    ["DELETE", "/secrets/db", { operation: "deleteSecret", secretName: "db" }],
    ["POST", "/secrets/db/backup", { operation: "backupSecret", secretName: "db" }],
    ["POST", "/secrets/restore", { operation: "restoreSecret" }],
    ["PUT", "/secrets/restore", { operation: "setSecret", secretName: "restore" }],
    ["GET", "/deletedsecrets", { operation: "listDeletedSecrets" }],
    ["GET", "/deletedsecrets/db", { operation: "getDeletedSecret", secretName: "db" }],
    ["DELETE", "/deletedsecrets/db", { operation: "purgeDeletedSecret", secretName: "db" }],
    ["POST", "/deletedsecrets/db/recover", { operation: "recoverDeletedSecret", secretName: "db" }],
  ])("%s %s", (method, path, expected) => {
    expect(matchRoute(method, path)).toEqual({ ok: true, ...expected });
  });

  it("rejects unknown paths with 404 and wrong methods with 405", () => {
    const unknown = matchRoute("GET", "/keys/k");
    const wrong = matchRoute("POST", "/secrets/db");
    expect(unknown.ok || unknown.error.status).toBe(404);
    expect(wrong.ok || wrong.error.status).toBe(405);
  });
});

describe("checkApiVersion", () => {
  it("accepts every version the SDK can send, decoded from api%2Dversion", () => {
    for (const v of ["7.0", "7.4", "7.5", "7.6", "2025-07-01", "2026-04-01", "7.6-preview.2", "7.5-preview.1", "2025-06-01-preview", "2026-01-01-preview"]) {
      expect(checkApiVersion(new URLSearchParams(`api%2Dversion=${v}`))).toBe(v);
    }
  });

  it("refuses unknown and missing versions with the service's 400 body", () => {
    expect(thrown(() => checkApiVersion(new URLSearchParams("api-version=7.99"))).toBody()).toEqual({
      error: { code: "BadParameter", message: "The specified version (7.99) is not recognized. Consider using the latest supported version (2026-04-01)." },
    });
    expect(thrown(() => checkApiVersion(new URLSearchParams(""))).status).toBe(400);
  });
});

describe("paging", () => {
  it("parses maxresults 1-25 with a default of 25", () => {
    expect(parseMaxResults(null)).toBe(25);
    expect(parseMaxResults("1")).toBe(1);
    expect(parseMaxResults("25")).toBe(25);
    for (const bad of ["0", "26", "-1", "2.5", "abc", ""]) expect(thrown(() => parseMaxResults(bad)).status).toBe(400);
  });

  it("pages by marker and survives the marker item disappearing", () => {
    const items = ["a", "b", "c", "d", "e"];
    const first = paginate(items, (x) => x, undefined, 2, true);
    expect(first).toEqual({ items: ["a", "b"], nextMarker: "b" });
    expect(paginate(items, (x) => x, "b", 2, true)).toEqual({ items: ["c", "d"], nextMarker: "d" });
    expect(paginate(items, (x) => x, "d", 2, true)).toEqual({ items: ["e"] });
    expect(paginate(["a", "c", "d"], (x) => x, "b", 2, true)).toEqual({ items: ["c", "d"] });
    expect(thrown(() => paginate(["v1", "v2"], (x) => x, "v9", 1, false)).status).toBe(400);
  });

  it("ties skip tokens to one listing", () => {
    const token = encodeSkipToken("versions:db", "abc");
    expect(decodeSkipToken("versions:db", token)).toBe("abc");
    expect(thrown(() => decodeSkipToken("secrets", token)).status).toBe(400);
    expect(thrown(() => decodeSkipToken("secrets", "not-a-token")).status).toBe(400);
  });
});

describe("wire shapes", () => {
  const ctx: WireContext = { origin: "https://127.0.0.1:8443", recoveryLevel: "Recoverable+Purgeable", recoverableDays: 90 };
  const view = {
    name: "db",
    version: { version: "0123456789abcdef0123456789abcdef", value: "v", enabled: true, created: 1, updated: 2, exp: 3, contentType: "ct", tags: { a: "b" } },
  };

  it("renders SecretBundle, SecretItem and DeletedSecretBundle like the service", () => {
    expect(toSecretBundle(ctx, view, true)).toEqual({
      value: "v",
      id: "https://127.0.0.1:8443/secrets/db/0123456789abcdef0123456789abcdef",
      contentType: "ct",
      tags: { a: "b" },
      attributes: { enabled: true, exp: 3, created: 1, updated: 2, recoveryLevel: "Recoverable+Purgeable", recoverableDays: 90 },
    });
    expect(toSecretBundle(ctx, view, false)).not.toHaveProperty("value");
    expect(toSecretItem(ctx, view, false).id).toBe("https://127.0.0.1:8443/secrets/db");
    expect(toSecretItem(ctx, view, true).id).toBe("https://127.0.0.1:8443/secrets/db/0123456789abcdef0123456789abcdef");
    expect(toDeletedSecretBundle(ctx, { ...view, deletedDate: 10, scheduledPurgeDate: 20 })).toMatchObject({
      recoveryId: "https://127.0.0.1:8443/deletedsecrets/db",
      deletedDate: 10,
      scheduledPurgeDate: 20,
      id: "https://127.0.0.1:8443/secrets/db/0123456789abcdef0123456789abcdef",
    });
  });
});

describe("request bodies", () => {
  it("parses SecretSetParameters", () => {
    expect(parseSetSecretBody({ value: "x", contentType: "ct", tags: { a: "b" }, attributes: { enabled: false, nbf: 10, exp: 20.7 } })).toEqual({
      value: "x",
      contentType: "ct",
      tags: { a: "b" },
      enabled: false,
      nbf: 10,
      exp: 20,
    });
    expect(parseSetSecretBody({ value: "", tags: null })).toEqual({ value: "" });
  });

  it("refuses bad bodies with 400 BadParameter", () => {
    const tooManyTags = Object.fromEntries(Array.from({ length: 16 }, (_, i) => [`t${i}`, "v"]));
    for (const body of [undefined, {}, { value: 1 }, { value: "x", tags: tooManyTags }, { value: "x", tags: { a: 1 } }, { value: "x", contentType: "c".repeat(256) }, { value: "x", attributes: { exp: "soon" } }]) {
      expect(thrown(() => parseSetSecretBody(body)).code).toBe("BadParameter");
    }
    expect(parseUpdateSecretBody({ attributes: { enabled: true } })).toEqual({ enabled: true });
    expect(thrown(() => parseUpdateSecretBody({ attributes: { enabled: "yes" } })).status).toBe(400);
  });
});

describe("backup blobs", () => {
  const key = backupKeyFor("sub-a");
  const payload = { name: "db", versions: [{ version: "0123456789abcdef0123456789abcdef", value: "top-secret", enabled: true, created: 1, updated: 1 }] };

  it("round-trips and does not expose the value", () => {
    const blob = encodeBackup(payload, key);
    expect(blob).toMatch(/^[A-Za-z0-9_-]+$/);
    expect(Buffer.from(blob, "base64url").toString("latin1")).not.toContain("top-secret");
    expect(decodeBackup(blob, key)).toEqual(payload);
  });

  it("refuses tampered blobs and blobs from another subscription", () => {
    const blob = encodeBackup(payload, key);
    const tampered = Buffer.from(blob, "base64url");
    tampered[tampered.length - 1] = (tampered[tampered.length - 1] ?? 0) ^ 1;
    expect(thrown(() => decodeBackup(tampered.toString("base64url"), key)).status).toBe(400);
    expect(thrown(() => decodeBackup(blob, backupKeyFor("sub-b"))).status).toBe(400);
    expect(thrown(() => decodeBackup("garbage", key)).message).toBe("Backup blob contains invalid or corrupt version.");
  });
});

describe("isLoopback (admin API guard)", () => {
  it("accepts only loopback peers", () => {
    expect(["127.0.0.1", "::1", "::ffff:127.0.0.1"].map(isLoopback)).toEqual([true, true, true]);
    expect(["10.0.0.5", "::ffff:192.168.1.2", undefined].map(isLoopback)).toEqual([false, false, false]);
  });
});
