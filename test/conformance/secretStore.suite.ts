/**
 * @module The shared secret store conformance suite (Dapr `tests/conformance/secretstores`), run
 * against every provider. The provider is seeded with `conftestsecret=abcd` and `secondsecret=efgh`.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { isSecretNotFoundError, type SecretStore } from "../../src/components/secretstores/secretStore";
import type { SecretStoreFeature } from "../../src/components/features";

/** How a provider joins the suite. */
export interface SecretStoreConformanceOptions {
  name: string;
  /** Returns an initialised store holding the two fixture secrets. */
  create: () => Promise<SecretStore>;
  features: readonly SecretStoreFeature[];
}

/** Registers the conformance tests for one provider. */
export function runSecretStoreConformance(options: SecretStoreConformanceOptions): void {
  describe(`secret store conformance: ${options.name}`, () => {
    let store: SecretStore;
    beforeAll(async () => {
      store = await options.create();
    });
    afterAll(async () => {
      await store.close();
    });

    it("get returns exactly the name/value pair", async () => {
      const response = await store.getSecret({ name: "conftestsecret", metadata: {} });
      expect(response.data).toEqual({ conftestsecret: "abcd" });
    });

    it("bulkGet contains both fixture secrets", async () => {
      const response = await store.bulkGetSecret({ metadata: {} });
      expect(response.data).toMatchObject({ conftestsecret: { conftestsecret: "abcd" }, secondsecret: { secondsecret: "efgh" } });
    });

    it("a missing secret is SecretNotFoundError naming the secret and no value", async () => {
      const error = await store.getSecret({ name: "doesnotexist", metadata: {} }).then(
        () => undefined,
        (e: unknown) => e,
      );
      expect(isSecretNotFoundError(error)).toBe(true);
      expect((error as Error).message).toBe("secret doesnotexist not found");
    });

    it("advertises exactly its features", () => {
      expect([...store.features()].sort()).toEqual([...options.features].sort());
    });
  });
}
