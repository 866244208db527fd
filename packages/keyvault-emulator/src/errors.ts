/**
 * @module keyvault-emulator/errors: Key Vault error bodies and the catalogue of errors the emulator returns.
 *
 * Messages marked "observed" in the reference (/work/shared/reference/keyvault-and-events.md §1.5) are the
 * service's own wording; the others are the emulator's, in the same style.
 */

/** The service's error body: `{"error":{"code","message","innererror"?}}`. */
export interface KeyVaultErrorBody {
  error: { code: string; message: string; innererror?: { code: string } };
}

/** An error the emulator turns into a Key Vault error response. */
export class KeyVaultError extends Error {
  override readonly name = "KeyVaultError";

  /**
   * @param status - HTTP status
   * @param code - `error.code`
   * @param message - `error.message`
   * @param innerCode - `error.innererror.code`, when the service sends one
   * @param headers - extra response headers (for example `Retry-After` or `WWW-Authenticate`)
   */
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly innerCode?: string,
    readonly headers: Readonly<Record<string, string>> = {},
  ) {
    super(message);
  }

  /** The JSON body the service would send for this error. */
  toBody(): KeyVaultErrorBody {
    return {
      error: {
        code: this.code,
        message: this.message,
        ...(this.innerCode === undefined ? {} : { innererror: { code: this.innerCode } }),
      },
    };
  }
}

/**
 * Type guard for {@link KeyVaultError}.
 * @param e - anything thrown
 */
export function isKeyVaultError(e: unknown): e is KeyVaultError {
  return e instanceof KeyVaultError;
}

const NOT_FOUND_HELP =
  "If you recently deleted this secret you may be able to recover it using the correct recovery command. " +
  "For help resolving this issue, please see https://go.microsoft.com/fwlink/?linkid=2125182";

/** The latest api-version the emulator knows; quoted in the "not recognized" message like the service does. */
export const LATEST_API_VERSION = "2026-04-01";

/** Factories for every error the vault endpoints produce. */
export const kvErrors = {
  /** 404 for a missing (or soft-deleted) secret or version; observed wording. */
  secretNotFound(name: string, version?: string): KeyVaultError {
    const id = version ? `${name}/${version}` : name;
    return new KeyVaultError(404, "SecretNotFound", `A secret with (name/id) ${id} was not found in this key vault. ${NOT_FOUND_HELP}`);
  },
  /** 404 from the deleted-secrets collection; observed wording. */
  deletedSecretNotFound(name: string): KeyVaultError {
    return new KeyVaultError(404, "SecretNotFound", `Deleted Secret not found: ${name}`);
  },
  /** 403 for reading the value of a disabled version; observed wording. */
  secretDisabled(): KeyVaultError {
    return new KeyVaultError(403, "Forbidden", "Operation get is not allowed on a disabled secret.", "SecretDisabled");
  },
  /** 409 for re-using the name of a deleted-but-recoverable secret; observed wording. */
  deletedButRecoverable(name: string): KeyVaultError {
    return new KeyVaultError(
      409,
      "Conflict",
      `Secret ${name} is currently in a deleted but recoverable state, and its name cannot be reused; in this state, the secret can only be recovered or purged.`,
      "ObjectIsDeletedButRecoverable",
    );
  },
  /** 409 while a delete is still in progress (the "being deleted" window); observed message, inner code as Lowkey uses. */
  beingDeleted(): KeyVaultError {
    return new KeyVaultError(409, "Conflict", "Secret is currently being deleted.", "ObjectIsBeingDeleted");
  },
  /** 409 for restoring a backup over a name that is in use. */
  restoreConflict(name: string): KeyVaultError {
    return new KeyVaultError(409, "Conflict", `Secret ${name} already exists in this key vault or is in a deleted state.`);
  },
  /** 400 with a free-form message. */
  badParameter(message: string): KeyVaultError {
    return new KeyVaultError(400, "BadParameter", message);
  },
  /** 400 for an object name outside `^[0-9a-zA-Z-]{1,127}$`. */
  invalidName(name: string): KeyVaultError {
    return new KeyVaultError(400, "BadParameter", `The request URI contains an invalid name: ${name}`);
  },
  /** 400 for an api-version the service does not know; observed wording. */
  unknownApiVersion(version: string): KeyVaultError {
    return new KeyVaultError(
      400,
      "BadParameter",
      `The specified version (${version}) is not recognized. Consider using the latest supported version (${LATEST_API_VERSION}).`,
    );
  },
  /** 400 when the api-version query parameter is missing. */
  missingApiVersion(): KeyVaultError {
    return new KeyVaultError(400, "BadParameter", "The api-version query parameter is required.");
  },
  /** 429; observed wording (the real service sends no Retry-After; pass one to model other throttles). */
  throttled(retryAfterSeconds?: number): KeyVaultError {
    return new KeyVaultError(
      429,
      "Throttled",
      "Request was not processed because too many requests were received. Reason: VaultRequestTypeLimitReached",
      undefined,
      retryAfterSeconds === undefined ? {} : { "Retry-After": String(retryAfterSeconds) },
    );
  },
  /** Any other injected status (500, 503, ...). */
  injected(status: number, retryAfterSeconds?: number): KeyVaultError {
    const headers: Record<string, string> = retryAfterSeconds === undefined ? {} : { "Retry-After": String(retryAfterSeconds) };
    if (status === 429) return kvErrors.throttled(retryAfterSeconds);
    if (status === 503) {
      return new KeyVaultError(503, "ServiceUnavailable", "The service is temporarily unavailable. Please retry.", undefined, headers);
    }
    if (status >= 500) {
      return new KeyVaultError(status, "InternalServerError", "An internal server error occurred (injected by the emulator).", undefined, headers);
    }
    return new KeyVaultError(status, "BadParameter", `Injected status ${status}.`, undefined, headers);
  },
  /** 404 for a path that is not part of the secrets API. */
  unknownRoute(method: string, path: string): KeyVaultError {
    return new KeyVaultError(404, "NotFound", `The requested resource ${method} ${path} is not supported by the Key Vault emulator.`);
  },
  /** 405 for a known path with the wrong method. */
  methodNotAllowed(method: string, path: string): KeyVaultError {
    return new KeyVaultError(405, "MethodNotAllowed", `The method ${method} is not allowed on ${path}.`);
  },
};
