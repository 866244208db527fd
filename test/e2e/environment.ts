/**
 * @module Shared end-to-end environment: one local topology (Azurite, Key Vault emulator, local
 * Functions host with the sample components) per test file, with the host's output captured.
 */
import { CommunicationProtocolEnum, DaprClient } from "@dapr/dapr";
import { type DevEnvironmentOptions, startDevEnvironment, type DevEnvironment } from "../../tools/devEnvironment";

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
}

/** Starts the environment on a free port. */
export async function startE2eEnvironment(
  env: DevEnvironmentOptions["env"] = {},
  options: { seedFile?: string; eventWebhooks?: boolean } = {},
): Promise<E2eEnvironment> {
  let output = "";
  const started = await startDevEnvironment({
    port: 0,
    seedFile: options.seedFile,
    eventWebhooks: options.eventWebhooks,
    env: (services) => ({ ...E2E_ENV, ...(typeof env === "function" ? env(services) : env) }),
    onHostOutput: (chunk) => {
      output += chunk;
    },
  });
  return { ...started, output: () => output };
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
