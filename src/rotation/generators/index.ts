/**
 * @module The generator registry: `rotation-generator` name → generator, one line each.
 */
import type { GeneratorRegistry } from "./generator";
import { randomPasswordGenerator, randomTokenGenerator } from "./random";
import { storageAccountKeyGenerator } from "./storageAccountKey";

/**
 * The built-in generators. Pass a registry of your own (spread this one) to add generators.
 * @example
 * createRotationService({ ..., generators: { ...DEFAULT_GENERATORS, "sql-password": sqlPasswordGenerator } });
 */
export const DEFAULT_GENERATORS: GeneratorRegistry = {
  "random-token": randomTokenGenerator,
  "random-password": randomPasswordGenerator,
  "storage-account-key": storageAccountKeyGenerator,
};
