/**
 * @module The rotation lock: one blob lease per vault + secret in the app's storage, so exactly one
 * instance of the Functions app rotates a given secret at a time (Key Vault has no compare-and-set on
 * writes, so the guard has to live outside it).
 */
import type { BlobLeaseClient, ContainerClient } from "@azure/storage-blob";
import { azureErrorFacts, describeAzureFailure, hasStatus } from "../azure/errors";
import type { Logger } from "../observability/logger";
import type { RotationTarget } from "./types";

/** A held lock. */
export interface RotationLease {
  /** Aborted once the lease is known to be lost (taken over, broken, or expired unrenewed). */
  readonly signal: AbortSignal;
  /**
   * Renews the lease now; call right before an irreversible step (promotion).
   * @throws {@link LeaseLostError} when the lease is gone or cannot be confirmed
   */
  confirm(options?: { abortSignal?: AbortSignal }): Promise<void>;
  /** Stops renewing and releases the lease (errors are logged; an unreleased lease expires by itself). */
  release(): Promise<void>;
}

/** Serialises rotations of the same secret across instances. */
export interface RotationLock {
  /**
   * Tries to take the lock of a secret without waiting.
   * @returns the lease, or `undefined` when another holder has it
   * @throws storage errors other than "lease already present"
   */
  tryAcquire(target: RotationTarget, options?: { abortSignal?: AbortSignal }): Promise<RotationLease | undefined>;
}

/** The lease was lost or could not be confirmed before promotion. */
export class LeaseLostError extends Error {
  override readonly name = "LeaseLostError";
}

/** Options of {@link createBlobLeaseLock}. */
export interface BlobLeaseLockOptions {
  /** Lease duration, 15–60 s (Blob storage's range for finite leases). Default 60. */
  leaseDurationInSeconds?: number;
  /** How often a held lease is renewed. Default a third of the duration. */
  renewIntervalInMs?: number;
  logger?: Logger;
}

/**
 * The lock blob of a secret (pure): `<vault host>/<secret name>`, lower-cased because Key Vault names
 * are case-insensitive and two spellings must share one lock.
 * @throws {@link TypeError} when `vaultUrl` is not a URL
 */
export function lockBlobName(target: RotationTarget): string {
  return `${new URL(target.vaultUrl).host.toLowerCase()}/${target.secretName.toLowerCase()}`;
}

/**
 * A lock on blob leases. The container and the (empty) lock blobs are created on first use.
 * @param container - from `createRotationLockContainerClient` (src/azure/rotationClients.ts)
 * @throws {@link RangeError} for a lease duration outside 15–60 s
 * @example
 * const lock = createBlobLeaseLock(createRotationLockContainerClient({ accountName, clientId }));
 * const lease = await lock.tryAcquire({ vaultUrl, secretName });
 * if (lease) try { ... await lease.confirm(); ... } finally { await lease.release(); }
 */
export function createBlobLeaseLock(container: ContainerClient, options: BlobLeaseLockOptions = {}): RotationLock {
  const durationInSeconds = options.leaseDurationInSeconds ?? 60;
  if (!Number.isInteger(durationInSeconds) || durationInSeconds < 15 || durationInSeconds > 60) {
    throw new RangeError("leaseDurationInSeconds must be a whole number from 15 to 60");
  }
  const renewIntervalInMs = options.renewIntervalInMs ?? (durationInSeconds * 1000) / 3;
  let containerReady: Promise<void> | undefined;

  const ensureContainer = (abortSignal?: AbortSignal): Promise<void> => {
    containerReady ??= container.createIfNotExists({ abortSignal }).then(
      () => undefined,
      (e: unknown) => {
        containerReady = undefined;
        throw e;
      },
    );
    return containerReady;
  };

  function hold(leaseClient: BlobLeaseClient, name: string): RotationLease {
    const controller = new AbortController();
    let renewedAt = Date.now();
    let released = false;
    const lose = (reason: string): void => {
      if (controller.signal.aborted) return;
      controller.abort(new LeaseLostError(`the rotation lease on ${name} was lost: ${reason}`));
    };
    const renew = async (abortSignal?: AbortSignal): Promise<void> => {
      await leaseClient.renewLease({ abortSignal });
      renewedAt = Date.now();
    };
    const timer = setInterval(() => {
      renew().catch((e: unknown) => {
        // 409/412: someone broke or took the lease. Other errors are transient, and the lease is still
        // ours until its duration has passed without a successful renewal.
        if (hasStatus(e, 409, 412) || Date.now() - renewedAt >= durationInSeconds * 1000) {
          lose(`renewal failed (${describeAzureFailure(e)})`);
        }
      });
    }, renewIntervalInMs);
    timer.unref();
    return {
      signal: controller.signal,
      async confirm(confirmOptions) {
        if (controller.signal.aborted) throw controller.signal.reason instanceof Error ? controller.signal.reason : new LeaseLostError(`the rotation lease on ${name} was lost`);
        try {
          await renew(confirmOptions?.abortSignal);
        } catch (e) {
          lose(`renewal failed (${describeAzureFailure(e)})`);
          throw new LeaseLostError(`the rotation lease on ${name} could not be confirmed (${describeAzureFailure(e)})`, { cause: e });
        }
      },
      async release() {
        if (released) return;
        released = true;
        clearInterval(timer);
        if (controller.signal.aborted) return;
        try {
          await leaseClient.releaseLease();
        } catch (e) {
          options.logger?.warn(`rotation lock ${name}: release failed (${describeAzureFailure(e)}); the lease expires within ${durationInSeconds} s`);
        }
      },
    };
  }

  return {
    async tryAcquire(target, acquireOptions) {
      const name = lockBlobName(target);
      const blob = container.getBlockBlobClient(name);
      const abortSignal = acquireOptions?.abortSignal;
      // At most: container missing, then blob missing, then the real attempt.
      for (let attempt = 0; attempt < 3; attempt++) {
        const leaseClient = blob.getBlobLeaseClient();
        try {
          await leaseClient.acquireLease(durationInSeconds, { abortSignal });
          return hold(leaseClient, name);
        } catch (e) {
          const failed = azureErrorFacts(e);
          if (failed?.status === 409 && failed.code === "LeaseAlreadyPresent") return undefined;
          if (failed?.status === 404 && failed.code === "ContainerNotFound") {
            await ensureContainer(abortSignal);
          } else if (failed?.status === 404 && failed.code === "BlobNotFound") {
            try {
              await blob.upload("", 0, { conditions: { ifNoneMatch: "*" }, abortSignal });
            } catch (createError) {
              // Another instance created (and maybe leased) it first: fine, acquire again.
              if (!hasStatus(createError, 409, 412)) throw createError;
            }
          } else {
            throw e;
          }
        }
      }
      throw new Error(`rotation lock ${name}: the lock blob could not be created`);
    },
  };
}
