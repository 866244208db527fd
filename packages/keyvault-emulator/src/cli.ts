#!/usr/bin/env node
/**
 * @module keyvault-emulator/cli: command line entry of the Key Vault emulator.
 *
 * `vaultstate-kv-emulator --seed FILE [--port N] [--admin-port N] [--identity-port N] ...`
 * prints the vault URIs, identity endpoint and header, and admin URL, then serves until SIGINT/SIGTERM.
 */
import { parseArgs } from "node:util";
import * as path from "node:path";
import { type EventDeliveryOptions, parseWebhookSpec } from "./eventGrid";
import { startKeyVaultEmulator, type KeyVaultEmulatorOptions, type VaultOptions } from "./server";

/** Usage text. */
export const USAGE = `Usage: vaultstate-kv-emulator [options]

  --seed FILE             seed file (.json/.yaml/.yml): vaults, secrets, principals and roles
  --vault NAME[:PORT]     create a vault (repeatable); seed vaults are created too
  --port N                HTTPS port of the first vault, next vaults use N+1, N+2, ... (0 = ephemeral, default)
  --identity-port N       managed identity endpoint port (0 = ephemeral, default)
  --admin-port N          admin API port (0 = ephemeral, default)
  --identity-header VAL   X-IDENTITY-HEADER value (default: random)
  --tenant-id GUID        tenant id
  --persist FILE          keep secrets in FILE across restarts
  --state-file FILE       write URIs/ports/header as JSON to FILE (removed on exit)
  --cert-dir DIR          certificate folder (default <repo>/.vaultstate/certs)
  --token-lifetime SECS   lifetime of issued tokens (default 3600)
  --expired-token-challenge plain|cae
                          401 challenge for an expired token: the service's plain one (default) or CAE claims
  --host 127.0.0.1|localhost|vault.localhost  host name used in vault URIs (default 127.0.0.1; vault.localhost: https://<name>.vault.localhost:<port>, challenge resource https://vault.localhost)
  --webhook URL[,SCHEMA]  Event Grid webhook (repeatable; loopback http(s) only); SCHEMA is EventGridSchema
                          (default) or CloudEventSchemaV1_0 (also: eventgrid, cloudevents), e.g.
                          http://127.0.0.1:7071/runtime/webhooks/eventgrid?functionName=onKeyVaultEvent
  --validate-webhooks     run the subscription validation handshake when webhooks are registered
  --event-retry-delays MS[,MS...]  waits between delivery attempts (default 1000,3000,6000,30000)
  --event-max-attempts N  delivery attempts per event and webhook (default 5)
  --expiry-check-interval MS  near-expiry/expiry check interval (default 1000)
  --quiet                 do not log requests
  --json                  print the startup information as one JSON line
  --help
`;

function port(value: string | undefined, flag: string): number | undefined {
  if (value === undefined) return undefined;
  const n = Number(value);
  if (!Number.isInteger(n) || n < 0 || n > 65535) throw new RangeError(`${flag} must be a port number (0-65535)`);
  return n;
}

/**
 * Turns command line arguments into emulator options.
 * @param argv - arguments after the script name
 * @throws RangeError / TypeError for bad flags
 */
export function parseCliArgs(argv: string[]): { options: KeyVaultEmulatorOptions; json: boolean; help: boolean } {
  const { values } = parseArgs({
    args: argv,
    options: {
      seed: { type: "string" },
      vault: { type: "string", multiple: true },
      port: { type: "string" },
      "identity-port": { type: "string" },
      "admin-port": { type: "string" },
      "identity-header": { type: "string" },
      "tenant-id": { type: "string" },
      persist: { type: "string" },
      "state-file": { type: "string" },
      "cert-dir": { type: "string" },
      "token-lifetime": { type: "string" },
      "expired-token-challenge": { type: "string" },
      host: { type: "string" },
      webhook: { type: "string", multiple: true },
      "validate-webhooks": { type: "boolean" },
      "event-retry-delays": { type: "string" },
      "event-max-attempts": { type: "string" },
      "expiry-check-interval": { type: "string" },
      quiet: { type: "boolean" },
      json: { type: "boolean" },
      help: { type: "boolean" },
    },
    strict: true,
    allowPositionals: false,
  });
  const basePort = port(values.port, "--port");
  const vaults: VaultOptions[] = (values.vault ?? []).map((spec, i) => {
    const [name = "", p] = spec.split(":");
    const explicit = port(p, `--vault ${spec}`);
    const vaultPort = explicit ?? (basePort ? basePort + i : undefined);
    return { name, ...(vaultPort === undefined ? {} : { port: vaultPort }) };
  });
  if (vaults.length === 0 && basePort) vaults.push({ name: "vaultstate-dev", port: basePort });
  const host = values.host;
  if (host !== undefined && host !== "127.0.0.1" && host !== "localhost" && host !== "vault.localhost") throw new RangeError("--host must be 127.0.0.1, localhost or vault.localhost");
  const expiredChallenge = values["expired-token-challenge"];
  if (expiredChallenge !== undefined && expiredChallenge !== "plain" && expiredChallenge !== "cae") {
    throw new RangeError("--expired-token-challenge must be plain or cae");
  }
  const lifetime = values["token-lifetime"] === undefined ? undefined : Number(values["token-lifetime"]);
  if (lifetime !== undefined && !(lifetime > 0)) throw new RangeError("--token-lifetime must be a positive number of seconds");
  const eventWebhooks = (values.webhook ?? []).map((spec) => {
    try {
      return parseWebhookSpec(spec);
    } catch (e) {
      throw new TypeError(`--webhook ${spec}: ${e instanceof Error ? e.message.replace(/^webhooks\[0\]\./, "") : String(e)}`);
    }
  });
  const eventDelivery: EventDeliveryOptions = {};
  if (values["validate-webhooks"]) eventDelivery.validateWebhooks = true;
  if (values["event-retry-delays"] !== undefined) {
    const delays = values["event-retry-delays"].split(",").map((d) => Number(d.trim()));
    if (delays.length === 0 || !delays.every((d) => Number.isFinite(d) && d >= 0)) throw new RangeError("--event-retry-delays must be non-negative ms, comma-separated");
    eventDelivery.retryDelaysMs = delays;
  }
  const positive = (v: string | undefined, flag: string): number | undefined => {
    if (v === undefined) return undefined;
    const n = Number(v);
    if (!Number.isInteger(n) || n < 1) throw new RangeError(`${flag} must be a positive integer`);
    return n;
  };
  const maxAttempts = positive(values["event-max-attempts"], "--event-max-attempts");
  if (maxAttempts !== undefined) eventDelivery.maxAttempts = maxAttempts;
  const checkInterval = positive(values["expiry-check-interval"], "--expiry-check-interval");
  if (checkInterval !== undefined) eventDelivery.expiryCheckIntervalMs = checkInterval;
  const identityPort = port(values["identity-port"], "--identity-port");
  const adminPort = port(values["admin-port"], "--admin-port");
  const options: KeyVaultEmulatorOptions = {
    ...(vaults.length > 0 ? { vaults } : {}),
    ...(values.seed ? { seedFile: path.resolve(values.seed) } : {}),
    ...(identityPort === undefined ? {} : { identityPort }),
    ...(adminPort === undefined ? {} : { adminPort }),
    ...(values["identity-header"] ? { identityHeader: values["identity-header"] } : {}),
    ...(values["tenant-id"] ? { tenantId: values["tenant-id"] } : {}),
    ...(values.persist ? { persistenceFile: path.resolve(values.persist) } : {}),
    ...(values["state-file"] ? { stateFile: path.resolve(values["state-file"]) } : {}),
    ...(values["cert-dir"] ? { certDir: path.resolve(values["cert-dir"]) } : {}),
    ...(lifetime === undefined ? {} : { tokenLifetimeSeconds: lifetime }),
    ...(expiredChallenge === undefined ? {} : { expiredTokenChallenge: expiredChallenge }),
    ...(host === undefined ? {} : { vaultHost: host }),
    ...(eventWebhooks.length > 0 ? { eventWebhooks } : {}),
    ...(Object.keys(eventDelivery).length > 0 ? { eventDelivery } : {}),
    ...(values.quiet ? {} : { logger: (line: string) => console.log(line) }),
  };
  return { options, json: values.json ?? false, help: values.help ?? false };
}

async function main(): Promise<void> {
  let parsed: ReturnType<typeof parseCliArgs>;
  try {
    parsed = parseCliArgs(process.argv.slice(2));
  } catch (e) {
    console.error(`${e instanceof Error ? e.message : String(e)}\n\n${USAGE}`);
    process.exitCode = 2;
    return;
  }
  if (parsed.help) {
    console.log(USAGE);
    return;
  }
  const emulator = await startKeyVaultEmulator(parsed.options);
  const info = emulator.stateInfo();
  if (parsed.json) console.log(JSON.stringify(info));
  else {
    for (const [name, uri] of Object.entries(info.vaults)) console.log(`vault ${name}: ${uri}`);
    console.log(`IDENTITY_ENDPOINT=${info.identityEndpoint}`);
    console.log(`IDENTITY_HEADER=${info.identityHeader}`);
    console.log(`AZURE_POD_IDENTITY_AUTHORITY_HOST=${info.imdsAuthorityHost}`);
    console.log(`NODE_EXTRA_CA_CERTS=${info.caCertPath}`);
    console.log(`admin: ${info.adminUrl}`);
    console.log(`tenant: ${info.tenantId}; OIDC issuer: ${info.oidcIssuer}`);
    for (const w of info.eventWebhooks) console.log(`event webhook (${w.schema ?? "EventGridSchema"}): ${w.url}`);
    console.log("clients: new SecretClient(<vault uri>, credential, { disableChallengeResourceVerification: true })");
  }
  let stopping = false;
  const stop = (signal: string): void => {
    if (stopping) return;
    stopping = true;
    console.log(`[kv-emulator] ${signal}: shutting down`);
    emulator.close().then(
      () => process.exit(0),
      (e: unknown) => {
        console.error(`[kv-emulator] shutdown failed: ${e instanceof Error ? e.message : String(e)}`);
        process.exit(1);
      },
    );
  };
  process.on("SIGINT", () => stop("SIGINT"));
  process.on("SIGTERM", () => stop("SIGTERM"));
}

if (require.main === module) {
  main().catch((e: unknown) => {
    console.error(`[kv-emulator] failed to start: ${e instanceof Error ? e.message : String(e)}`);
    process.exit(1);
  });
}
