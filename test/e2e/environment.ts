/**
 * @module Shared end-to-end environment: one local topology (Azurite, Key Vault emulator, local
 * Functions host with the sample components) per test file, with the host's output captured.
 */
import { mkdtemp, readdir, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import * as path from "node:path";
import { CommunicationProtocolEnum, DaprClient } from "@dapr/dapr";
import type { RecordedResponse } from "@vaultstate/functions-host/dist/responseRecorder";
import { RECORD_RESPONSES_DIR_SETTING } from "@vaultstate/functions-host/dist/cli";
import { type DevEnvironmentOptions, startDevEnvironment, type DevEnvironment } from "../../tools/devEnvironment";
import { leaksIn, loadOpenApiChecker } from "../support/openApiCheck";

/** The sample caller. */
export const TOKEN = "dev-token";
/** Environment the e2e host gets on top of the sample's own settings. */
export const E2E_ENV = {
  APP_ID: "demo",
  API_TOKEN: `demo=${TOKEN}`,
  DEMO_SECRET_greeting: "hello-from-env",
  ALLOW_ANONYMOUS: "false",
  // Load tests below send hundreds of requests a second from one caller.
  RATE_LIMIT_PER_SECOND: "0",
};

/** A started environment plus everything the host printed. */
export interface E2eEnvironment extends DevEnvironment {
  output(): string;
  /** Every response any of the environment's hosts has written so far (recorded by the hosts themselves). */
  responses(): Promise<RecordedResponse[]>;
  /** The folder the hosts record their responses in (removed by `stop()`). */
  recordDir: string;
  /** Stops every host and service but keeps the recorded responses (for {@link stopAndCheckResponses}). */
  stopHosts(): Promise<void>;
}

/** Starts the environment on a free port. */
export async function startE2eEnvironment(
  env: DevEnvironmentOptions["env"] = {},
  options: { seedFile?: string; eventWebhooks?: boolean } = {},
): Promise<E2eEnvironment> {
  let output = "";
  const recordDir = await mkdtemp(path.join(tmpdir(), "vaultstate-e2e-responses-"));
  const started = await startDevEnvironment({
    port: 0,
    seedFile: options.seedFile,
    eventWebhooks: options.eventWebhooks,
    // Every host of the environment (the first, startAnotherHost, Flex instances) inherits the setting.
    env: (services) => ({ ...E2E_ENV, [RECORD_RESPONSES_DIR_SETTING]: recordDir, ...(typeof env === "function" ? env(services) : env) }),
    onHostOutput: (chunk) => {
      output += chunk;
    },
  }).catch(async (e: unknown) => {
    await rm(recordDir, { recursive: true, force: true });
    throw e;
  });
  const responses = async (): Promise<RecordedResponse[]> => {
    const files = (await readdir(recordDir)).filter((f) => f.endsWith(".jsonl"));
    const lines = (await Promise.all(files.map((f) => readFile(path.join(recordDir, f), "utf8")))).flatMap((text) => text.split("\n").filter((l) => l !== ""));
    return lines.map((l) => JSON.parse(l) as RecordedResponse);
  };
  return {
    ...started,
    output: () => output,
    responses,
    recordDir,
    stopHosts: () => started.stop(),
    // A plain stop (files that do not check their traffic) leaves no recording behind.
    stop: async () => {
      try {
        await started.stop();
      } finally {
        await rm(recordDir, { recursive: true, force: true });
      }
    },
  };
}

/**
 * Stops the environment, then checks every response its hosts wrote during the file — the SDK's calls, raw
 * fetches, Event Grid deliveries — against openapi.yaml (status, content type, documented headers, body
 * schema) and scans each for upstream request ids, account URLs and internal addresses. Prints the count;
 * throws listing every mismatch. Call it in the file's afterAll instead of `env.stop()`.
 */
export async function stopAndCheckResponses(env: E2eEnvironment | undefined, file: string): Promise<void> {
  if (env === undefined) return;
  await env.stopHosts();
  try {
    const recorded = await env.responses();
    const checker = await loadOpenApiChecker();
    const internal = internalAddresses(env);
    const problems: string[] = checker.documentErrors.map((e) => `openapi.yaml is not a valid OpenAPI 3.1 document: ${JSON.stringify(e)}`);
    let checked = 0;
    for (const r of recorded) {
      if (r.incomplete === true) continue;
      checked++;
      const response = { status: r.status, headers: r.headers, ...(r.body === "" ? {} : { body: r.body }) };
      const found = [...checker.problems(r.method, r.url, response), ...leaksIn(r, internal)];
      const target = r.url.length > 160 ? `${r.url.slice(0, 160)}…(${r.url.length} characters)` : r.url;
      problems.push(...found.map((p) => `${r.method} ${target} → ${r.status}: ${p.length > 600 ? `${p.slice(0, 600)}…` : p}`));
    }
    const cut = recorded.length - checked;
    process.stdout.write(`[openapi] ${path.basename(file)}: ${checked} responses checked against openapi.yaml and scanned for upstream ids/addresses (${cut} cut before completion), ${problems.length} problems\n`);
    if (checked === 0) throw new Error(`${path.basename(file)}: no response was recorded — the hosts' response recording is not working`);
    if (problems.length > 0) throw new Error(`${problems.length} recorded responses do not match openapi.yaml or leak upstream details:\n${[...new Set(problems)].join("\n")}`);
  } finally {
    await rm(env.recordDir, { recursive: true, force: true });
  }
}

/** `host:port` of everything behind the API a caller must never learn: Azurite's services and the Key Vault emulator. */
function internalAddresses(env: DevEnvironment): string[] {
  const found = new Set<string>();
  if (env.azurite !== undefined) for (const m of env.azurite.connectionString.matchAll(/https?:\/\/([^/;]+)/g)) if (m[1] !== undefined) found.add(m[1]);
  if (env.emulator !== undefined) {
    for (const url of [...Object.values(env.emulator.vaults), env.emulator.identityEndpoint, env.emulator.adminUrl]) found.add(new URL(url).host);
  }
  return [...found];
}

/**
 * Every secret value and token the sample environment holds, for log-redaction checks: the file
 * store's values, the Key Vault seed, the env secret, the caller tokens and the identity header.
 */
export function knownSecretValues(env: E2eEnvironment, fileSecrets: Record<string, unknown>): string[] {
  const values = new Set<string>([TOKEN, "reader-token", "ops-token", "hello-from-env", "hello-from-key-vault"]);
  const walk = (v: unknown): void => {
    if (typeof v === "string") values.add(v);
    else if (typeof v === "object" && v !== null) Object.values(v).forEach(walk);
  };
  walk(fileSecrets);
  if (env.azurite !== undefined) values.add(env.azurite.accountKey);
  if (env.hostEnv.IDENTITY_HEADER !== undefined) values.add(env.hostEnv.IDENTITY_HEADER);
  // Short or generic strings would match unrelated text; every sample secret is longer than this.
  return [...values].filter((v) => v.length >= 8);
}

/** The official client, unmodified, pointed at the environment's host as a caller with `token`. */
export function daprClient(env: DevEnvironment, token: string = TOKEN): DaprClient {
  return new DaprClient({ daprHost: "127.0.0.1", daprPort: String(env.port), daprApiToken: token, communicationProtocol: CommunicationProtocolEnum.HTTP });
}
