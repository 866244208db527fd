/**
 * @module Azure clients for secret rotation: the Key Vault client of the rotation identity, the lock
 * container and the audit table in the app's own storage, and the shared-key Blob client that proves a
 * candidate storage account key works.
 *
 * Built here, next to the other factories, so credentials are still made only in `credential.ts`
 * (through the app's {@link AzureClients}); rotation code receives the clients.
 */
import type { TableClient } from "@azure/data-tables";
import type { SecretClient } from "@azure/keyvault-secrets";
import { BlobServiceClient, type ContainerClient, StorageSharedKeyCredential } from "@azure/storage-blob";
import type { AzureClients } from "./clients";
import { operationDeadlinePolicy } from "./deadline";
import { DEFAULT_STORAGE_TIMEOUT_IN_MS, type StorageAccountOptions } from "./storage";
import { observeBlobClient, upstreamPolicies } from "./upstreamTelemetry";

/** Default container of the rotation lease blobs. */
export const DEFAULT_ROTATION_LOCK_CONTAINER = "vaultstate-locks";
/** Default table of rotation audit rows. */
export const DEFAULT_ROTATION_AUDIT_TABLE = "vaultstaterotations";

/**
 * The shared `SecretClient` rotation uses for a vault. Pass the client id of an identity with
 * "Key Vault Secrets Officer" (rotation writes versions); the app's read path can keep an identity
 * that is only "Key Vault Secrets User". Challenge verification and the Key Vault–only token rules
 * are those of the app's {@link AzureClients.secretClient}.
 * @param vaultUrl - e.g. `https://myvault.vault.azure.net`
 * @param options.clientId - a user-assigned identity; the system-assigned one when omitted
 * @throws {@link TypeError} when `vaultUrl` is not a URL
 */
export function getRotationSecretClient(clients: AzureClients, vaultUrl: string, options: { clientId?: string } = {}): SecretClient {
  if (!URL.canParse(vaultUrl)) throw new TypeError("vaultUrl is not a URL");
  return clients.secretClient(vaultUrl, options.clientId === undefined ? {} : { clientId: options.clientId });
}

/**
 * The container that holds one lease blob per rotated secret. Use the app's storage account (for a
 * Functions app, the `AzureWebJobsStorage` account) with managed identity: the identity needs
 * "Storage Blob Data Contributor" on it (leases are writes).
 * @param options - account and credential, as for the state stores
 * @param containerName - default {@link DEFAULT_ROTATION_LOCK_CONTAINER}
 * @throws {@link TypeError} when neither a connection string nor an account name is given
 */
export function createRotationLockContainerClient(clients: AzureClients, options: StorageAccountOptions, containerName: string = DEFAULT_ROTATION_LOCK_CONTAINER): ContainerClient {
  return clients.blobService(options).getContainerClient(containerName);
}

/**
 * The table rotation attempts are audited in. The identity needs "Storage Table Data Contributor".
 * @param options - account and credential, as for the state stores
 * @param tableName - default {@link DEFAULT_ROTATION_AUDIT_TABLE}
 * @throws {@link TypeError} when neither a connection string nor an account name is given
 */
export function createRotationAuditTableClient(clients: AzureClients, options: StorageAccountOptions, tableName: string = DEFAULT_ROTATION_AUDIT_TABLE): TableClient {
  return clients.table({ ...options, tableName });
}

/**
 * A Blob service client that signs with one account key, for checking that a candidate key
 * authenticates. No retries: a refused key is refused again, and a check must answer quickly.
 * @param accountName - the storage account
 * @param accountKey - the candidate key (base64)
 * @param blobServiceUrl - the account's Blob service URL, including the account for path-style endpoints
 */
export function createSharedKeyBlobServiceClient(accountName: string, accountKey: string, blobServiceUrl: string): BlobServiceClient {
  return observeBlobClient(
    new BlobServiceClient(blobServiceUrl, new StorageSharedKeyCredential(accountName, accountKey), {
      retryOptions: { maxTries: 1, tryTimeoutInMs: 10_000 },
      userAgentOptions: { userAgentPrefix: "vaultstate-rotation" },
    }),
  );
}

/** The slice of `@azure/arm-storage`'s `storageAccounts` operations the `arm` key-pair source uses. */
export interface StorageAccountKeysClient {
  listKeys(resourceGroupName: string, accountName: string, options?: { abortSignal?: AbortSignal }): Promise<{ keys?: readonly { keyName?: string; value?: string }[] }>;
  regenerateKey(resourceGroupName: string, accountName: string, parameters: { keyName: string }, options?: { abortSignal?: AbortSignal }): Promise<{ keys?: readonly { keyName?: string; value?: string }[] }>;
}

/**
 * The ARM client the `arm` key-pair source lists and regenerates storage account keys with, as the
 * rotation identity (it needs "Storage Account Key Operator Service Role" on the accounts).
 * @param subscriptionId - the subscription of the storage accounts
 */
export function createStorageAccountKeysClient(clients: AzureClients, subscriptionId: string, options: { clientId?: string; operationTimeoutInMs?: number } = {}): StorageAccountKeysClient {
  // Loaded on first use: most deployments never rotate through ARM, and the ARM SDK is a large share
  // of the start-up module graph.
  const load = () =>
    import("@azure/arm-storage").then(
      ({ StorageManagementClient }) =>
        new StorageManagementClient(clients.credential(options.clientId === undefined ? {} : { clientId: options.clientId }), subscriptionId, {
          additionalPolicies: [{ policy: operationDeadlinePolicy(options.operationTimeoutInMs ?? DEFAULT_STORAGE_TIMEOUT_IN_MS), position: "perCall" }, ...upstreamPolicies("arm").additionalPolicies],
        }),
    );
  let client: ReturnType<typeof load> | undefined;
  const armClient = (): ReturnType<typeof load> => (client ??= load());
  return {
    listKeys: async (resourceGroup, accountName, callOptions) => (await armClient()).storageAccounts.listKeys(resourceGroup, accountName, { abortSignal: callOptions?.abortSignal }),
    regenerateKey: async (resourceGroup, accountName, parameters, callOptions) =>
      (await armClient()).storageAccounts.regenerateKey(resourceGroup, accountName, { keyName: parameters.keyName }, { abortSignal: callOptions?.abortSignal }),
  };
}
