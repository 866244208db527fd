/**
 * @module The app's logger. Messages are built by our own code from names, codes and counts; secret
 * values and tokens are never passed in (tests capture every line and search for known values).
 */

/** A minimal leveled logger. */
export interface Logger {
  info(message: string): void;
  warn(message: string): void;
  error(message: string): void;
}

/** Logs through `console`, which Azure Functions captures as worker logs. */
export const consoleLogger: Logger = {
  info: (m) => console.info(`[vaultstate] ${m}`),
  warn: (m) => console.warn(`[vaultstate] ${m}`),
  error: (m) => console.error(`[vaultstate] ${m}`),
};

/**
 * Describes an unexpected error for a log line: its name, code and message. Upstream SDK messages can
 * echo request content, so callers only log errors that originate from I/O, never from values.
 */
export function describeError(e: unknown): string {
  if (e instanceof Error) {
    const code = (e as { code?: unknown }).code;
    return `${e.name}${typeof code === "string" ? ` (${code})` : ""}: ${e.message}`;
  }
  return typeof e === "string" ? e : "non-error value thrown";
}
