/**
 * @module Azure Storage clients: builds the Blob service client and Table client of one storage
 * account from a connection string, an account key, or the app's managed identity.
 *
 * Components call these once, in `init`, and keep the client for their lifetime; credentials for
 * managed identity come from the app's {@link CredentialSource}, the only place credentials are built.
 */
import { AzureNamedKeyCredential, TableClient, type TableServiceClientOptions } from "@azure/data-tables";
import { BlobServiceClient, StorageSharedKeyCredential, type StoragePipelineOptions } from "@azure/storage-blob";
import type { Pipeline } from "@azure/core-rest-pipeline";
import type { CredentialSource } from "./credential";
import { operationDeadlinePolicy } from "./deadline";
import { hasStatus } from "./errors";
import { observeBlobClient, upstreamPolicies } from "./upstreamTelemetry";

/** How to reach and authenticate to a storage account. */
export interface StorageAccountOptions {
  /** Required unless `connectionString` is given. */
  accountName?: string;
  /** Shared key; when neither this nor `connectionString` is set, managed identity is used. */
  accountKey?: string;
  /** Takes precedence over every other field: it names the endpoints and the credential. */
  connectionString?: string;
  /**
   * Service URL override (Azurite, sovereign clouds, private endpoints). A path-style URL without
   * the account, e.g. `http://127.0.0.1:10000`, gets `/<account>` appended.
   */
  endpoint?: string;
  /** Client id of a user-assigned managed identity (Dapr `azureClientId`). */
  clientId?: string;
  /** Retries after the first attempt (Dapr `retryCount`); the SDK default when omitted. */
  retryCount?: number;
  /**
   * A deadline for every operation of the client (tries and retry delays included), for clients whose
   * callers pass no abort signal of their own (the app's version table, metadata table, rotation lock
   * and audit); the earlier of it and the caller's signal wins.
   */
  operationTimeoutInMs?: number;
}

/** Which credential a set of options selects. */
export type StorageAuthKind = "connectionString" | "accountKey" | "managedIdentity";

/** Picks the credential kind: connection string, then account key, then managed identity (pure). */
export function storageAuthKind(options: Pick<StorageAccountOptions, "accountKey" | "connectionString">): StorageAuthKind {
  if (options.connectionString !== undefined && options.connectionString !== "") return "connectionString";
  if (options.accountKey !== undefined && options.accountKey !== "") return "accountKey";
  return "managedIdentity";
}

/** The Azure Storage services these helpers build clients for. */
export type StorageService = "blob" | "table";

/**
 * The service URL of an account (pure). Without `endpoint` it is the public-cloud default
 * (`https://<account>.<service>.core.windows.net`, or Cosmos DB's table endpoint). An endpoint whose
 * host does not start with the account name and whose path does not already end with it is
 * path-style (Azurite, an IP, a proxy), so the account is appended.
 * @throws {@link TypeError} when `endpoint` is not an absolute http(s) URL
 */
export function resolveServiceUrl(
  service: StorageService,
  accountName: string,
  endpoint?: string,
  options: { cosmosDb?: boolean } = {},
): string {
  if (endpoint === undefined || endpoint === "") {
    if (service === "table" && options.cosmosDb === true) return `https://${accountName}.table.cosmos.azure.com`;
    return `https://${accountName}.${service}.core.windows.net`;
  }
  let url: URL;
  try {
    url = new URL(endpoint);
  } catch (error) {
    throw new TypeError(`storage endpoint "${endpoint}" is not an absolute URL`, { cause: error });
  }
  if (url.protocol !== "https:" && url.protocol !== "http:") throw new TypeError(`storage endpoint "${endpoint}" must use http or https`);
  const base = `${url.origin}${url.pathname.replace(/\/+$/, "")}`;
  const account = accountName.toLowerCase();
  const hostNamesAccount = url.hostname.toLowerCase().split(".")[0] === account && url.hostname.includes(".");
  const pathNamesAccount = url.pathname.replace(/\/+$/, "").toLowerCase().endsWith(`/${account}`);
  return hostNamesAccount || pathNamesAccount ? base : `${base}/${accountName}`;
}

/**
 * Whether a connection string points at plain-http endpoints (Azurite); `@azure/data-tables` refuses
 * http unless told so explicitly, `@azure/storage-blob` does not care (pure).
 */
export function connectionStringUsesHttp(connectionString: string): boolean {
  return /(^|;)\s*(DefaultEndpointsProtocol\s*=\s*http\s*(;|$)|UseDevelopmentStorage\s*=\s*true|\w+Endpoint\s*=\s*http:)/i.test(connectionString);
}

/**
 * Builds the Blob service client of an account.
 * @throws {@link TypeError} when neither `connectionString` nor `accountName` is given, or the endpoint is invalid
 */
export function createBlobServiceClient(options: StorageAccountOptions, credentials: CredentialSource): BlobServiceClient {
  const pipeline: StoragePipelineOptions = options.retryCount === undefined ? {} : { retryOptions: { maxTries: options.retryCount + 1 } };
  const kind = storageAuthKind(options);
  if (kind === "connectionString") return withBlobDeadline(observeBlobClient(BlobServiceClient.fromConnectionString(options.connectionString ?? "", pipeline)), options.operationTimeoutInMs);
  const accountName = requireAccountName(options);
  const url = resolveServiceUrl("blob", accountName, options.endpoint);
  const credential =
    kind === "accountKey" ? new StorageSharedKeyCredential(accountName, options.accountKey ?? "") : credentials({ clientId: options.clientId });
  return withBlobDeadline(observeBlobClient(new BlobServiceClient(url, credential, pipeline)), options.operationTimeoutInMs);
}

/**
 * Adds the operation deadline to a Blob client, which takes no `additionalPolicies` (see observeBlobClient):
 * without a phase the policy runs once per operation, before the retry step.
 */
function withBlobDeadline<T extends object>(client: T, timeoutInMs: number | undefined): T {
  if (timeoutInMs === undefined) return client;
  const pipeline = (client as { storageClientContext?: { pipeline?: Pipeline } }).storageClientContext?.pipeline;
  if (pipeline === undefined || typeof pipeline.addPolicy !== "function") throw new Error("the Blob client's pipeline is not reachable: cannot give it a deadline");
  pipeline.addPolicy(operationDeadlinePolicy(timeoutInMs, STORAGE_DEADLINE_POLICY));
  return client;
}

const STORAGE_DEADLINE_POLICY = "vaultstateStorageDeadline";

/**
 * Builds the client of one table.
 * @throws {@link TypeError} when neither `connectionString` nor `accountName` is given, or the endpoint is invalid
 */
export function createTableClient(options: StorageAccountOptions & { tableName: string; cosmosDb?: boolean }, credentials: CredentialSource): TableClient {
  const telemetry = upstreamPolicies("table").additionalPolicies;
  const deadline = options.operationTimeoutInMs === undefined ? [] : [{ policy: operationDeadlinePolicy(options.operationTimeoutInMs, STORAGE_DEADLINE_POLICY), position: "perCall" as const }];
  const clientOptions: TableServiceClientOptions = {
    ...(options.retryCount === undefined ? {} : { retryOptions: { maxRetries: options.retryCount } }),
    additionalPolicies: [...deadline, ...telemetry],
  };
  const kind = storageAuthKind(options);
  if (kind === "connectionString") {
    const connectionString = options.connectionString ?? "";
    return TableClient.fromConnectionString(connectionString, options.tableName, {
      ...clientOptions,
      allowInsecureConnection: connectionStringUsesHttp(connectionString),
    });
  }
  const accountName = requireAccountName(options);
  const url = resolveServiceUrl("table", accountName, options.endpoint, { cosmosDb: options.cosmosDb });
  // An explicit http endpoint is a deliberate choice (Azurite, a local proxy); the SDK would refuse it.
  const insecure = { ...clientOptions, allowInsecureConnection: url.startsWith("http:") };
  return kind === "accountKey"
    ? new TableClient(url, options.tableName, new AzureNamedKeyCredential(accountName, options.accountKey ?? ""), insecure)
    : new TableClient(url, options.tableName, credentials({ clientId: options.clientId }), insecure);
}

/**
 * How long one storage operation (all its tries and retry delays) may take when the caller's own
 * deadline is later or absent. A stalled service (a stopped Azurite, a black-holed endpoint) accepts
 * the connection and never answers; without a deadline a request would wait for the socket to die.
 */
export const DEFAULT_STORAGE_TIMEOUT_IN_MS = 10_000;

/**
 * The abort signal for one storage operation: fires at the caller's deadline or after `timeoutInMs`,
 * whichever comes first. Every call the state stores make passes one, so the SDK stops retrying and
 * releases the socket when the time is up.
 */
export function storageDeadline(callerSignal: AbortSignal | undefined, timeoutInMs: number = DEFAULT_STORAGE_TIMEOUT_IN_MS): AbortSignal {
  const timeout = AbortSignal.timeout(timeoutInMs);
  return callerSignal === undefined ? timeout : AbortSignal.any([callerSignal, timeout]);
}

function requireAccountName(options: StorageAccountOptions): string {
  if (options.accountName === undefined || options.accountName === "") {
    throw new TypeError("a storage account name is required unless a connection string is given");
  }
  return options.accountName;
}

/**
 * Creates a client's table on first use, once: the first call creates it, later calls share that
 * promise; a failure is forgotten so the next call tries again, and 409 (another instance created it
 * first) counts as created.
 */
export function createTableOnFirstUse(client: Pick<TableClient, "createTable">): (abortSignal?: AbortSignal) => Promise<void> {
  let created: Promise<void> | undefined;
  return (abortSignal) => {
    created ??= client.createTable({ abortSignal }).then(
      () => undefined,
      (e: unknown) => {
        if (hasStatus(e, 409)) return;
        created = undefined;
        throw e;
      },
    );
    return created;
  };
}
