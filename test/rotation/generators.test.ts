/**
 * Generators' shapes and checks, the storage-account-key alternation with a fake key-pair source and a
 * fake Blob client, and the Azurite key-pair source's configuration (no I/O).
 */
import { RestError } from "@azure/core-rest-pipeline";
import { describe, expect, it } from "vitest";
import type { GeneratorContext, SharedKeyBlobClientFactory } from "../../src/rotation/generators/generator";
import { CHARSETS, generatePassword, randomPasswordGenerator, randomTokenGenerator, requiredClasses } from "../../src/rotation/generators/random";
import { activeKeyName, storageAccountKeyGenerator } from "../../src/rotation/generators/storageAccountKey";
import { createAzuriteKeyPairSource, type KeyPairSource, KeyPairSourceError, parseDualKeyAccounts } from "../../src/rotation/keyPairSources";
import { isRotationPolicyError } from "../../src/rotation/tags";

const KEY1 = Buffer.alloc(64, 1).toString("base64");
const KEY2 = Buffer.alloc(64, 2).toString("base64");
const FRESH = Buffer.alloc(64, 3).toString("base64");
const target = { vaultUrl: "https://v.vault.azure.net", secretName: "s" };

function context(sources: Record<string, KeyPairSource>, createBlobClient: SharedKeyBlobClientFactory = () => ({ getProperties: async () => ({}) })): GeneratorContext {
  return { target, keyPairSources: sources, createBlobClient };
}

describe("random-token", () => {
  it("defaults to 43 base64url characters, each draw different", async () => {
    const options = randomTokenGenerator.parseOptions({});
    const values = new Set<string>();
    for (let i = 0; i < 200; i++) {
      const { value } = await randomTokenGenerator.generate(options, { version: "v", value: "", tags: {} }, context({}));
      expect(value).toMatch(/^[A-Za-z0-9_-]{43}$/);
      values.add(value);
    }
    expect(values.size).toBe(200);
  });

  it("honours length and charset, and its check accepts its own output", async () => {
    const options = randomTokenGenerator.parseOptions({ "rotation-length": "64", "rotation-charset": "hex" });
    const generated = await randomTokenGenerator.generate(options, { version: "v", value: "", tags: {} }, context({}));
    expect(generated.value).toMatch(/^[0-9a-f]{64}$/);
    expect(generated.description).toBe("64-character hex token");
    await expect(randomTokenGenerator.check(generated, options, context({}))).resolves.toEqual({ ok: true });
  });

  it("its check refuses a wrong length or a character outside the set, without quoting the value", async () => {
    const options = randomTokenGenerator.parseOptions({ "rotation-length": "16", "rotation-charset": "hex" });
    const short = await randomTokenGenerator.check({ value: "abc123", description: "t" }, options, context({}));
    expect(short).toEqual({ ok: false, reason: "token check failed: expected 16 characters, got 6" });
    const outside = await randomTokenGenerator.check({ value: "ABCDEF0123456789", description: "t" }, options, context({}));
    expect(outside).toEqual({ ok: false, reason: "token check failed: 6 character(s) outside the hex set" });
  });

  it("spreads draws over the whole charset (no modulo bias towards the start)", async () => {
    const options = { length: 4096, charset: "hex" as const };
    const { value } = await randomTokenGenerator.generate(options, { version: "v", value: "", tags: {} }, context({}));
    const counts = new Map<string, number>();
    for (const ch of value) counts.set(ch, (counts.get(ch) ?? 0) + 1);
    expect(counts.size).toBe(16);
    // 256 expected per symbol; 6 standard deviations either side.
    for (const n of counts.values()) expect(Math.abs(n - 256)).toBeLessThan(96);
  });
});

describe("random-password", () => {
  it("always contains every class of its charset, even at the minimum length", () => {
    for (let i = 0; i < 500; i++) {
      const value = generatePassword({ length: 12, charset: "ascii-safe" });
      expect(value).toHaveLength(12);
      expect(value).toMatch(/[a-z]/);
      expect(value).toMatch(/[A-Z]/);
      expect(value).toMatch(/[0-9]/);
      expect(value).toMatch(/[!#$%&*+\-.?@^_~]/);
      expect([...value].every((ch) => CHARSETS["ascii-safe"].includes(ch))).toBe(true);
    }
  });

  it("never produces characters that break shells or connection strings", () => {
    const joined = Array.from({ length: 200 }, () => generatePassword({ length: 64, charset: "ascii-safe" })).join("");
    expect(joined).not.toMatch(/["'`\\/ ;=]/);
  });

  it("requires only the classes a charset has", () => {
    expect(requiredClasses("hex").map((c) => c.name)).toEqual(["lower-case letter", "digit"]);
    expect(requiredClasses("alphanumeric").map((c) => c.name)).toEqual(["lower-case letter", "upper-case letter", "digit"]);
  });

  it("its check names the missing class", async () => {
    const options = randomPasswordGenerator.parseOptions({ "rotation-length": "12", "rotation-charset": "alphanumeric" });
    await expect(randomPasswordGenerator.check({ value: "abcdefghijk1", description: "p" }, options, context({}))).resolves.toEqual({
      ok: false,
      reason: "password check failed: no upper-case letter",
    });
    const generated = await randomPasswordGenerator.generate(options, { version: "v", value: "", tags: {} }, context({}));
    await expect(randomPasswordGenerator.check(generated, options, context({}))).resolves.toEqual({ ok: true });
  });
});

describe("storage-account-key", () => {
  const options = { accountName: "acct1", keySource: "fake" };
  const fixed: KeyPairSource = { kind: "fake", blobServiceUrl: (a) => `http://127.0.0.1:1/${a}`, getKeys: async () => ({ key1: KEY1, key2: KEY2 }) };

  it("finds the active key from the tag first, then by value", () => {
    expect(activeKeyName({ version: "v", value: KEY1, tags: { "rotation-active-key": "key2" } }, { key1: KEY1, key2: KEY2 })).toBe("key2");
    expect(activeKeyName({ version: "v", value: KEY2, tags: {} }, { key1: KEY1, key2: KEY2 })).toBe("key2");
    expect(activeKeyName({ version: "v", value: KEY1, tags: { "rotation-active-key": "key9" } }, { key1: KEY1, key2: KEY2 })).toBe("key1");
    expect(activeKeyName({ version: "v", value: "something-else", tags: {} }, { key1: KEY1, key2: KEY2 })).toBeUndefined();
  });

  it("switches to the other key and records which one it is", async () => {
    const fromKey1 = await storageAccountKeyGenerator.generate(options, { version: "v", value: KEY1, tags: {} }, context({ fake: fixed }));
    expect(fromKey1).toEqual({ value: KEY2, tags: { "rotation-active-key": "key2" }, description: "key2 of storage account acct1" });
    const fromKey2 = await storageAccountKeyGenerator.generate(options, { version: "v", value: KEY2, tags: { "rotation-active-key": "key2" } }, context({ fake: fixed }));
    expect(fromKey2.value).toBe(KEY1);
    const fromNeither = await storageAccountKeyGenerator.generate(options, { version: "v", value: "old", tags: {} }, context({ fake: fixed }));
    expect(fromNeither.tags).toEqual({ "rotation-active-key": "key1" });
  });

  it("regenerates the key about to become active when the source can (the ARM shape)", async () => {
    const regenerated: string[] = [];
    const arm: KeyPairSource = {
      ...fixed,
      kind: "arm-fake",
      regenerateKey: async (_account, keyName) => {
        regenerated.push(keyName);
        return FRESH;
      },
    };
    const generated = await storageAccountKeyGenerator.generate(options, { version: "v", value: KEY1, tags: {} }, context({ fake: arm }));
    expect(regenerated).toEqual(["key2"]);
    expect(generated.value).toBe(FRESH);
  });

  it("names rotation-key-source when the source is not configured", async () => {
    const error = await storageAccountKeyGenerator.generate(options, { version: "v", value: KEY1, tags: {} }, context({ azurite: fixed })).catch((e: unknown) => e);
    expect(isRotationPolicyError(error) && error.tag).toBe("rotation-key-source");
    expect((error as Error).message).toMatch(/no key-pair source named "fake" is configured \(configured: azurite\)/);
  });

  it("checks with a real-shaped Blob call and reports a refusal by status and code only", async () => {
    const calls: { account: string; key: string; url: string }[] = [];
    const refusing: SharedKeyBlobClientFactory = (account, key, url) => {
      calls.push({ account, key, url });
      return {
        getProperties: async () => {
          throw new RestError(`Server failed to authenticate the request. Signature used key ${key}`, { statusCode: 403, code: "AuthorizationFailure" });
        },
      };
    };
    const verdict = await storageAccountKeyGenerator.check({ value: KEY2, description: "key2 of storage account acct1" }, options, context({ fake: fixed }, refusing));
    expect(calls).toEqual([{ account: "acct1", key: KEY2, url: "http://127.0.0.1:1/acct1" }]);
    expect(verdict).toEqual({ ok: false, reason: "key2 of storage account acct1 did not authenticate at http://127.0.0.1:1/acct1: 403 AuthorizationFailure" });
    const ok = await storageAccountKeyGenerator.check({ value: KEY2, description: "key2" }, options, context({ fake: fixed }));
    expect(ok).toEqual({ ok: true });
  });

  it("refuses a candidate that is not base64 before any call", async () => {
    const verdict = await storageAccountKeyGenerator.check({ value: "not base64!", description: "key2" }, options, context({ fake: fixed }, () => {
      throw new Error("must not be called");
    }));
    expect(verdict).toEqual({ ok: false, reason: "key2 is not base64" });
  });
});

describe("the Azurite key-pair source", () => {
  it("parses AZURITE_ACCOUNTS with one or two keys", () => {
    expect(parseDualKeyAccounts(`devstoreaccount1:${KEY1}; rotacct:${KEY1}:${KEY2};`)).toEqual([
      { name: "devstoreaccount1", key1: KEY1, key2: undefined },
      { name: "rotacct", key1: KEY1, key2: KEY2 },
    ]);
    expect(() => parseDualKeyAccounts("nokey")).toThrow(RangeError);
    expect(() => parseDualKeyAccounts(`a:${KEY1}:${KEY2}:${KEY1}`)).toThrow(/at most two keys/);
  });

  it("serves both keys of a dual-key account and builds path-style URLs", async () => {
    const source = createAzuriteKeyPairSource({ accounts: `devstoreaccount1:${KEY1};rotacct:${KEY1}:${KEY2}`, blobEndpoint: "http://127.0.0.1:10000/" });
    await expect(source.getKeys("rotacct")).resolves.toEqual({ key1: KEY1, key2: KEY2 });
    expect(source.blobServiceUrl("rotacct")).toBe("http://127.0.0.1:10000/rotacct");
  });

  it("refuses unknown and single-key accounts without quoting keys", async () => {
    const source = createAzuriteKeyPairSource({ accounts: `devstoreaccount1:${KEY1}`, blobEndpoint: "http://127.0.0.1:10000" });
    await expect(source.getKeys("devstoreaccount1")).rejects.toThrow(KeyPairSourceError);
    const error: unknown = await source.getKeys("devstoreaccount1").catch((e: unknown) => e);
    expect(error instanceof KeyPairSourceError && error.message).toMatch(/has one key/);
    expect((error as Error).message).not.toContain(KEY1);
    expect(() => source.blobServiceUrl("other")).toThrow(/has no account "other"/);
  });
});
