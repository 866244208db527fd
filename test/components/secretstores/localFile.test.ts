import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import * as path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { isMetadataError } from "../../../src/components/metadata";
import {
  createFileSecretStore,
  flattenSecrets,
  parseFileSecretStoreMetadata,
} from "../../../src/components/secretstores/local/file/fileSecretStore";
import { runSecretStoreConformance } from "../../conformance/secretStore.suite";

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(path.join(tmpdir(), "vs-file-"));
  await writeFile(path.join(dir, "secrets.json"), JSON.stringify({ conftestsecret: "abcd", secondsecret: "efgh" }));
  await writeFile(path.join(dir, "nested.json"), JSON.stringify({ db: { user: "u", port: 5432, tls: true, none: null }, list: ["x", "y"], top: "t" }));
  await writeFile(path.join(dir, "broken.json"), "{ not json: hunter2");
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

runSecretStoreConformance({
  name: "secretstores.local.file",
  features: [],
  create: async () => {
    const store = createFileSecretStore({ baseDir: dir });
    await store.init({ secretsFile: "secrets.json" });
    return store;
  },
});

describe("parseFileSecretStoreMetadata", () => {
  it("resolves the file against the base dir and applies defaults", () => {
    expect(parseFileSecretStoreMetadata({ SecretsFile: "a.json" }, "/app")).toEqual({ secretsFile: "/app/a.json", nestedSeparator: ":", multiValued: false });
  });
  it("reads nestedSeparator and multiValued", () => {
    expect(parseFileSecretStoreMetadata({ secretsFile: "/x.json", nestedSeparator: ".", multiValued: "true" }, "/app")).toEqual({
      secretsFile: "/x.json",
      nestedSeparator: ".",
      multiValued: true,
    });
  });
  it("names the missing field", () => {
    let caught: unknown;
    try {
      parseFileSecretStoreMetadata({}, "/app");
    } catch (e) {
      caught = e;
    }
    expect(isMetadataError(caught) && caught.field).toBe("secretsFile");
  });
  it("rejects a multiValued that is not a boolean", () => {
    expect(() => parseFileSecretStoreMetadata({ secretsFile: "a", multiValued: "maybe" }, "/app")).toThrow(/multiValued/);
  });
});

describe("flattenSecrets", () => {
  const json = { db: { user: "u", port: 5432, tls: true, none: null }, list: ["x", "y"], top: "t", n: 7 };
  it("flattens nested keys and array indexes; non-strings are their JSON text, not Go's %!s", () => {
    expect(Object.fromEntries(flattenSecrets(json, { nestedSeparator: ":", multiValued: false }))).toEqual({
      "db:user": { "db:user": "u" },
      "db:port": { "db:port": "5432" },
      "db:tls": { "db:tls": "true" },
      "db:none": { "db:none": "null" },
      "list:0": { "list:0": "x" },
      "list:1": { "list:1": "y" },
      top: { top: "t" },
      n: { n: "7" },
    });
  });
  it("multiValued keeps top-level objects as one secret and drops other non-string top-level values", () => {
    expect(Object.fromEntries(flattenSecrets(json, { nestedSeparator: ".", multiValued: true }))).toEqual({
      db: { user: "u", port: "5432", tls: "true", none: "null" },
      top: { top: "t" },
    });
  });
});

describe("file store behaviour", () => {
  it("multiValued stores advertise MULTIPLE_KEY_VALUES_PER_SECRET and return all keys", async () => {
    const store = createFileSecretStore({ baseDir: dir });
    await store.init({ secretsFile: "nested.json", multiValued: "true" });
    expect(store.features()).toEqual(["MULTIPLE_KEY_VALUES_PER_SECRET"]);
    expect((await store.getSecret({ name: "db", metadata: {} })).data).toEqual({ user: "u", port: "5432", tls: "true", none: "null" });
  });
  it("a file that is not JSON fails init without quoting its content", async () => {
    const store = createFileSecretStore({ baseDir: dir });
    const error = await store.init({ secretsFile: "broken.json" }).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(isMetadataError(error)).toBe(true);
    expect(String((error as Error).message)).toMatch(/not valid JSON/);
    expect(String((error as Error).message)).not.toContain("hunter2");
  });
  it("a missing file fails init naming secretsFile", async () => {
    const store = createFileSecretStore({ baseDir: dir });
    await expect(store.init({ secretsFile: "nope.json" })).rejects.toThrow(/cannot read secretsFile .*nope\.json: ENOENT/);
  });
  it("returns copies, so callers cannot change the store", async () => {
    const store = createFileSecretStore({ baseDir: dir });
    await store.init({ secretsFile: "secrets.json" });
    const first = await store.getSecret({ name: "conftestsecret", metadata: {} });
    first.data.conftestsecret = "changed";
    expect((await store.getSecret({ name: "conftestsecret", metadata: {} })).data).toEqual({ conftestsecret: "abcd" });
  });
});
