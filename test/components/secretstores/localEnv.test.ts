import { describe, expect, it } from "vitest";
import { createEnvSecretStore, isExposable, parseEnvSecretStoreMetadata } from "../../../src/components/secretstores/local/env/envSecretStore";
import { isSecretNotFoundError } from "../../../src/components/secretstores/secretStore";
import { runSecretStoreConformance } from "../../conformance/secretStore.suite";

runSecretStoreConformance({
  name: "secretstores.local.env",
  features: [],
  create: async () => {
    const store = createEnvSecretStore({ env: { conftestsecret: "abcd", secondsecret: "efgh", PATH: "/bin" } });
    await store.init({});
    return store;
  },
});

describe("env secret store", () => {
  const env = {
    APP_greeting: "hi",
    APP_other: "x",
    OTHER: "y",
    DAPR_API_TOKEN: "t1",
    dapr_lower: "t2",
    APP_API_TOKEN: "t3",
    API_TOKEN: "t4",
    IDENTITY_HEADER: "t5",
    APP_DAPR_X: "t6",
  };

  it("parses the prefix", () => {
    expect(parseEnvSecretStoreMetadata({ PREFIX: "APP_" })).toEqual({ prefix: "APP_" });
    expect(parseEnvSecretStoreMetadata({})).toEqual({ prefix: "" });
  });

  it("strips the prefix and only serves prefixed variables", async () => {
    const store = createEnvSecretStore({ env });
    await store.init({ prefix: "APP_" });
    expect((await store.getSecret({ name: "greeting", metadata: {} })).data).toEqual({ greeting: "hi" });
    expect((await store.bulkGetSecret({ metadata: {} })).data).toEqual({ greeting: { greeting: "hi" }, other: { other: "x" } });
    await expect(store.getSecret({ name: "OTHER", metadata: {} })).rejects.toSatisfy(isSecretNotFoundError);
  });

  it("never exposes DAPR_*, APP_API_TOKEN or the app's own credentials, in get or bulk", async () => {
    const store = createEnvSecretStore({ env });
    await store.init({});
    for (const name of ["DAPR_API_TOKEN", "dapr_lower", "APP_API_TOKEN", "API_TOKEN", "IDENTITY_HEADER"]) {
      await expect(store.getSecret({ name, metadata: {} })).rejects.toSatisfy(isSecretNotFoundError);
    }
    const bulk = JSON.stringify((await store.bulkGetSecret({ metadata: {} })).data);
    for (const value of ["t1", "t2", "t3", "t4", "t5"]) expect(bulk).not.toContain(`"${value}"`);
  });

  it("hides names that become forbidden after the prefix is stripped", async () => {
    const store = createEnvSecretStore({ env });
    await store.init({ prefix: "APP_" });
    await expect(store.getSecret({ name: "DAPR_X", metadata: {} })).rejects.toSatisfy(isSecretNotFoundError);
    expect(Object.keys((await store.bulkGetSecret({ metadata: {} })).data)).not.toContain("DAPR_X");
  });

  it("isExposable compares case-insensitively", () => {
    expect(isExposable("Dapr_Http_Port")).toBe(false);
    expect(isExposable("app_api_token")).toBe(false);
    expect(isExposable("MY_SECRET")).toBe(true);
  });
});
