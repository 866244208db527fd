/**
 * @module keyvault-emulator/test/helpers: raw HTTP(S) calls to the emulator for wire-level assertions.
 */
import { readFileSync } from "node:fs";
import { KeyVaultError } from "../src/errors";
import { request as httpRequest } from "node:http";
import { request as httpsRequest } from "node:https";

/** A raw response. */
export interface RawResponse {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  text: string;
  json: unknown;
}

/**
 * Sends one request and reads the whole response.
 * @param url - absolute URL (http or https on 127.0.0.1)
 * @param init - method, headers, body and the CA file for https
 */
export function rawRequest(
  url: string,
  init: { method?: string; headers?: Record<string, string>; body?: string; caCertPath?: string } = {},
): Promise<RawResponse> {
  const u = new URL(url);
  const isHttps = u.protocol === "https:";
  const send = isHttps ? httpsRequest : httpRequest;
  return new Promise((resolve, reject) => {
    const req = send(
      u,
      {
        method: init.method ?? "GET",
        headers: { ...(init.body === undefined ? {} : { "Content-Type": "application/json" }), ...init.headers },
        ...(isHttps && init.caCertPath ? { ca: readFileSync(init.caCertPath) } : {}),
        agent: false,
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on("data", (c: Buffer) => chunks.push(c));
        res.on("end", () => {
          const text = Buffer.concat(chunks).toString("utf8");
          let json: unknown;
          try {
            json = text.length > 0 ? (JSON.parse(text) as unknown) : undefined;
          } catch {
            json = undefined;
          }
          resolve({ status: res.statusCode ?? 0, headers: res.headers, text, json });
        });
      },
    );
    req.on("error", reject);
    if (init.body !== undefined) req.write(init.body);
    req.end();
  });
}

/**
 * Calls the admin API.
 * @param adminUrl - the emulator's admin URL
 * @param method - HTTP method
 * @param path - route, e.g. "/faults"
 * @param body - JSON body
 */
export async function admin(adminUrl: string, method: string, path: string, body?: unknown): Promise<RawResponse> {
  return rawRequest(`${adminUrl}${path}`, { method, ...(body === undefined ? {} : { body: JSON.stringify(body) }) });
}

/** Request counts as returned by `GET /requests`. */
export interface CountsBody {
  counts: { total: number; byOperation: Record<string, number>; byOperationAndStatus: Record<string, Record<string, number>> };
  entries: Array<{ operation: string; status: number; fault?: string; secretName?: string; principalId?: string }>;
}

/**
 * Reads the request log through the admin API.
 * @param adminUrl - the emulator's admin URL
 * @param operation - optional filter
 */
export async function requestLog(adminUrl: string, operation?: string): Promise<CountsBody> {
  const res = await admin(adminUrl, "GET", `/requests${operation ? `?operation=${operation}` : ""}`);
  return res.json as CountsBody;
}

/**
 * The error details `@azure/keyvault-secrets` attaches to its RestError: the service body deserialised, with
 * `innererror` renamed `innerError` (the raw body is not kept; wire-level tests use {@link rawRequest}).
 * @param e - the thrown error
 */
export function restErrorDetails(e: unknown): unknown {
  return (e as { details?: unknown }).details;
}

/**
 * Runs `fn` and returns what it threw (fails if it did not throw).
 * @param fn - an async function expected to reject
 */
export async function catchError(fn: () => Promise<unknown>): Promise<Error & { statusCode?: number; code?: string }> {
  try {
    await fn();
  } catch (e) {
    return e as Error & { statusCode?: number; code?: string };
  }
  throw new Error("expected the call to fail");
}

/** Runs `fn` and returns the {@link KeyVaultError} it throws (anything else is rethrown). */
export function thrown(fn: () => unknown): KeyVaultError {
  try {
    fn();
  } catch (e) {
    if (e instanceof KeyVaultError) return e;
    throw e;
  }
  throw new Error("expected a KeyVaultError");
}
