/**
 * @module The secret store contract: one interface every secret store provider implements.
 *
 * Mirrors Dapr's `secretstores.SecretStore` (components-contrib `secretstores/secret_store.go`):
 * single request objects in, single response objects out, Dapr's optional features as `features()`,
 * and vaultstate's optional abilities as interfaces with type guards (like components-contrib's
 * optional interfaces): name listing, version listing, vault identity, rotation.
 */
import type { SecretStoreFeature } from "../features";
import type { ComponentProperties } from "../metadata";

/** Per-call options; every provider call is cancellable. */
export interface OperationOptions {
  abortSignal?: AbortSignal;
  /** Who asked (the caller's app-id), for per-caller budgets; absent for the app's own reads. */
  caller?: string;
}

/** The per-request metadata keys that change what a read returns; all others are ignored. */
export interface RequestMetadataKeys {
  get: readonly string[];
  bulk: readonly string[];
}

/** `GetSecret` request: the secret name and per-request metadata (`metadata.*` query parameters). */
export interface GetSecretRequest {
  name: string;
  metadata: Readonly<Record<string, string>>;
}

/** Which version of a secret a value is, where the store keeps versions (Key Vault). */
export interface SecretVersionInfo {
  version?: string;
  /** When the current version was created or last updated, in ms since the epoch. */
  updatedOn?: number;
}

/** `GetSecret` response: a flat key → value map (name/value stores return `{ [name]: value }`). */
export interface GetSecretResponse {
  data: Record<string, string>;
  /** Set by versioned stores; lets refresh tell a new version from the cached one. */
  version?: SecretVersionInfo;
}

/** `BulkGetSecret` request. */
export interface BulkGetSecretRequest {
  metadata: Readonly<Record<string, string>>;
}

/** `BulkGetSecret` response: secret name → its key/value map. */
export interface BulkGetSecretResponse {
  data: Record<string, Record<string, string>>;
}

/** A secret store provider instance. Built by a factory, initialised once, closed when replaced. */
export interface SecretStore {
  /**
   * Validates metadata and connects.
   * @throws {@link MetadataError} for invalid metadata
   */
  init(properties: ComponentProperties, options?: OperationOptions): Promise<void>;
  features(): readonly SecretStoreFeature[];
  /**
   * Reads one secret.
   * @throws {@link SecretNotFoundError} when the secret does not exist (every provider agrees)
   */
  getSecret(request: GetSecretRequest, options?: OperationOptions): Promise<GetSecretResponse>;
  bulkGetSecret(request: BulkGetSecretRequest, options?: OperationOptions): Promise<BulkGetSecretResponse>;
  close(): Promise<void>;
  /**
   * The `metadata.*` keys the provider reads (Key Vault: `version_id` on get, `maxresults` on bulk).
   * The cache keys entries on these only and passes only these on; absent means none, which is what
   * daprd's local stores read.
   */
  readonly requestMetadataKeys?: RequestMetadataKeys;
  /**
   * Refuses, before any cache or upstream work, a name the store can never hold.
   * @throws {@link InvalidSecretNameError}
   */
  validateSecretName?(name: string): void;
  /**
   * The identity of a name in this store: two names with the same key are one secret (Key Vault's
   * names are case-insensitive, so it folds case). Caches, invalidation, refresh and events compare
   * names through it; absent means names are compared as they are. `currentVersions` is keyed by it.
   */
  secretNameKey?(name: string): string;
}

/**
 * Optional ability: list the names a bulk read returns, without values, so the cache can fetch the
 * values itself, concurrently, sharing its entries and single-flight with single reads.
 */
export interface NameListingSecretStore extends SecretStore {
  /** The names `bulkGetSecret` with the same metadata would return, in its order. */
  listSecretNames(request: BulkGetSecretRequest, options?: OperationOptions): Promise<string[]>;
}

/** Narrows a store to a {@link NameListingSecretStore}. */
export function isNameListingSecretStore(store: SecretStore): store is NameListingSecretStore {
  return typeof (store as Partial<NameListingSecretStore>).listSecretNames === "function";
}

/**
 * Optional ability: answer a read at once when the answer is at hand (a cache's fresh entry), without
 * a promise. The API serves such reads synchronously: the hottest request then costs no promise and no
 * microtask turn.
 */
export interface ImmediateSecretStore extends SecretStore {
  /**
   * The answer `getSecret` would give, if this store has it now (counted as that read), else
   * `undefined`: then call `getSecret`, which also reports any refusal. Never throws. The answer may be
   * frozen and given to other reads of the same value too: a caller that keeps something derived from
   * it may key it on the answer's identity.
   */
  getSecretNow(request: GetSecretRequest): GetSecretResponse | undefined;
}

/** Narrows a store to an {@link ImmediateSecretStore}. */
export function isImmediateSecretStore(store: SecretStore): store is ImmediateSecretStore {
  return typeof (store as Partial<ImmediateSecretStore>).getSecretNow === "function";
}

/**
 * Optional ability: list the current version of every secret without reading values, so refresh can
 * find changed secrets with one cheap call.
 */
export interface VersionedSecretStore extends SecretStore {
  /** Keyed by {@link SecretStore.secretNameKey} where the store has one. */
  currentVersions(options?: OperationOptions): Promise<Map<string, SecretVersionInfo>>;
}

/** Narrows a store to a {@link VersionedSecretStore}. */
export function isVersionedSecretStore(store: SecretStore): store is VersionedSecretStore {
  return typeof (store as Partial<VersionedSecretStore>).currentVersions === "function";
}

/**
 * Optional ability: the store reads one identifiable vault. Events, the shared version table and
 * `@Microsoft.KeyVault(...)` references name a vault, not a component; this is how the runtime finds
 * the stores that serve it.
 */
export interface VaultSecretStore extends SecretStore {
  /** The vault's origin as configured, e.g. `https://myvault.vault.azure.net`. */
  vaultUrl(): string;
}

/** Narrows a store to a {@link VaultSecretStore}. */
export function isVaultSecretStore(store: SecretStore): store is VaultSecretStore {
  return typeof (store as Partial<VaultSecretStore>).vaultUrl === "function";
}

/**
 * A secret the rotation service can write new versions of. Key Vault names are case-insensitive;
 * rotation's lock and audit keys fold case.
 */
export interface RotationTarget {
  /** The vault's URL, e.g. `https://myvault.vault.azure.net` (an emulator's `https://127.0.0.1:port`). */
  vaultUrl: string;
  /** The secret name (1–118 of `0-9a-zA-Z-`, leaving room for the `--pending` companion). */
  secretName: string;
}

/**
 * Optional ability: secrets can be rotated in place (new versions written to the same vault), so the
 * rotate route and the timer's rotation sweep accept the store.
 */
export interface RotatableSecretStore extends VaultSecretStore {
  rotationTarget(secretName: string): RotationTarget;
}

/** Narrows a store to a {@link RotatableSecretStore}. */
export function isRotatableSecretStore(store: SecretStore): store is RotatableSecretStore {
  return isVaultSecretStore(store) && typeof (store as Partial<RotatableSecretStore>).rotationTarget === "function";
}

/**
 * The one defined not-found result for every secret store: the API renders it as
 * 500 `ERR_SECRET_GET` naming the secret. The message never contains a value.
 */
export class SecretNotFoundError extends Error {
  override readonly name = "SecretNotFoundError";
  constructor(readonly secretName: string, options?: { cause?: unknown }) {
    super(`secret ${secretName} not found`, options);
  }
}

/** A secret name the store can never hold (the API answers 400; nothing is called). */
export class InvalidSecretNameError extends Error {
  override readonly name = "InvalidSecretNameError";
  constructor(message: string) {
    super(message);
  }
}

/** Narrows an unknown error to an {@link InvalidSecretNameError}. */
export function isInvalidSecretNameError(e: unknown): e is InvalidSecretNameError {
  return e instanceof Error && e.name === "InvalidSecretNameError";
}

/** Narrows an unknown error to a {@link SecretNotFoundError}. */
export function isSecretNotFoundError(e: unknown): e is SecretNotFoundError {
  return e instanceof Error && e.name === "SecretNotFoundError";
}

/** Why an upstream secret service could not answer: transient conditions a cache may ride out. */
export type UpstreamFailure = "throttled" | "unavailable" | "timeout";

/**
 * Thrown by providers when the upstream service is throttling (429), failing (5xx), unreachable or
 * too slow. The cache serves a stale value for these, never for other errors.
 */
export class SecretStoreUnavailableError extends Error {
  override readonly name = "SecretStoreUnavailableError";
  readonly retryAfterInMs: number | undefined;
  constructor(
    readonly failure: UpstreamFailure,
    message: string,
    options: { retryAfterInMs?: number; cause?: unknown } = {},
  ) {
    super(message, { cause: options.cause });
    this.retryAfterInMs = options.retryAfterInMs;
  }
}

/** Narrows an unknown error to a {@link SecretStoreUnavailableError}. */
export function isSecretStoreUnavailableError(e: unknown): e is SecretStoreUnavailableError {
  return e instanceof Error && e.name === "SecretStoreUnavailableError";
}
