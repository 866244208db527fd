/**
 * @module The Azure client factories of one app: credentials and SDK clients, cached per app (never per
 * process), so two apps in one process (tests) keep their own identities and connections.
 */
import type { TableClient } from "@azure/data-tables";
import type { BlobServiceClient } from "@azure/storage-blob";
import { azurePlan } from "../config/settings";
import { createCredentialSource, type CredentialSource } from "./credential";
import { createSecretClientSource, type KeyVaultTimeouts, type SecretClientSource } from "./keyvault";
import { createBlobServiceClient, createTableClient, type StorageAccountOptions } from "./storage";

/** What components, rotation and the app use to reach Azure. */
export interface AzureClients {
  /** The credential of an identity (shared per identity). */
  credential: CredentialSource;
  /** The Key Vault client of a vault and identity (shared). */
  secretClient: SecretClientSource;
  /** A Blob service client of a storage account (a new one per call: components keep theirs). */
  blobService(options: StorageAccountOptions): BlobServiceClient;
  /** A client of one table (a new one per call). */
  table(options: StorageAccountOptions & { tableName: string; cosmosDb?: boolean }): TableClient;
}

/**
 * Builds the factories; nothing connects until a client is used.
 * @param environment - the settings' environment snapshot (identity endpoint, Azure detection)
 * @param options.keyVaultTimeouts - Key Vault deadlines (defaults in src/azure/keyvault.ts)
 */
export function createAzureClients(environment: Readonly<Record<string, string>>, options: { keyVaultTimeouts?: Partial<KeyVaultTimeouts> } = {}): AzureClients {
  const credential = createCredentialSource(environment);
  return {
    credential,
    secretClient: createSecretClientSource(credential, { inAzure: azurePlan(environment) !== undefined, timeouts: options.keyVaultTimeouts }),
    blobService: (options) => createBlobServiceClient(options, credential),
    table: (options) => createTableClient(options, credential),
  };
}
