/** @module functions-host/hostConfig: the parts of host.json the local host honours (route prefix, log levels). */

import { fromDotnetLevel, type LogLevel, type LogThresholds } from "./logging";

/** Settings read from host.json. */
export interface HostConfig {
  /** `extensions.http.routePrefix`; "api" when missing, "" allowed. */
  readonly routePrefix: string;
  readonly logThresholds: LogThresholds;
}

/** Defaults used when host.json is absent. */
export const DEFAULT_HOST_CONFIG: HostConfig = {
  routePrefix: "api",
  logThresholds: { perFunction: {}, user: "information", system: "information" },
};

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

/**
 * Removes // and /* *\/ comments outside strings: the host reads host.json with Newtonsoft, which tolerates
 * them, so a file with comments must not break the local host.
 */
export function stripJsonComments(text: string): string {
  let out = "";
  let inString = false;
  for (let i = 0; i < text.length; i++) {
    const ch = text[i];
    if (inString) {
      out += ch;
      if (ch === "\\") {
        out += text[i + 1] ?? "";
        i++;
      } else if (ch === '"') {
        inString = false;
      }
    } else if (ch === '"') {
      inString = true;
      out += ch;
    } else if (ch === "/" && text[i + 1] === "/") {
      while (i < text.length && text[i] !== "\n") i++;
      out += "\n";
    } else if (ch === "/" && text[i + 1] === "*") {
      const end = text.indexOf("*/", i + 2);
      i = end < 0 ? text.length : end + 1;
    } else {
      out += ch;
    }
  }
  return out;
}

function levelOrThrow(key: string, value: unknown): LogLevel {
  const level = typeof value === "string" ? fromDotnetLevel(value) : undefined;
  if (!level) throw new Error(`host.json: logging.logLevel.${key} must be a log level name, got ${JSON.stringify(value)}`);
  return level;
}

/** Parses host.json text into a {@link HostConfig}; throws with the reason for malformed content. */
export function parseHostJson(text: string): HostConfig {
  let json: unknown;
  try {
    json = JSON.parse(stripJsonComments(text.replace(/^\uFEFF/, "")));
  } catch (err) {
    throw new Error(`host.json is not valid JSON: ${err instanceof Error ? err.message : String(err)}`);
  }
  if (!isRecord(json)) throw new Error("host.json must contain a JSON object");

  let routePrefix = DEFAULT_HOST_CONFIG.routePrefix;
  const extensions = json.extensions;
  if (isRecord(extensions) && isRecord(extensions.http) && extensions.http.routePrefix !== undefined) {
    const prefix = extensions.http.routePrefix;
    if (typeof prefix !== "string") throw new Error("host.json: extensions.http.routePrefix must be a string");
    routePrefix = prefix;
  }

  const levels = isRecord(json.logging) && isRecord(json.logging.logLevel) ? json.logging.logLevel : {};
  const perFunction: Record<string, LogLevel> = {};
  let defaultLevel: LogLevel = DEFAULT_HOST_CONFIG.logThresholds.user;
  let functionLevel: LogLevel | undefined;
  let hostLevel: LogLevel | undefined;
  for (const [key, value] of Object.entries(levels)) {
    if (key === "default") defaultLevel = levelOrThrow(key, value);
    else if (key === "Function") functionLevel = levelOrThrow(key, value);
    else if (key.startsWith("Function.")) perFunction[key.slice("Function.".length)] = levelOrThrow(key, value);
    else if (key === "Host") hostLevel = levelOrThrow(key, value);
  }
  return {
    routePrefix,
    logThresholds: {
      perFunction,
      user: functionLevel ?? defaultLevel,
      // Host.Results/Host.Aggregator are telemetry categories; only "Host" as a whole tunes our system lines.
      system: hostLevel ?? defaultLevel,
    },
  };
}
