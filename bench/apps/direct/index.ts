/**
 * @module bench/apps/direct: the P4 baseline, the least an app can do to serve a Key Vault secret: on
 * the first request it builds a `SecretClient` with the same managed identity and calls `getSecret`.
 * Same local host, same host settings as the app.
 */
import { app } from "@azure/functions";
import { ManagedIdentityCredential } from "@azure/identity";
import { SecretClient } from "@azure/keyvault-secrets";
import * as https from "node:https";

let client: SecretClient | undefined;
const loopback = new https.Agent({
  keepAlive: true,
  lookup: (_host, options, callback) => {
    if (options.all === true) (callback as unknown as (err: null, addresses: { address: string; family: number }[]) => void)(null, [{ address: "127.0.0.1", family: 4 }]);
    else callback(null, "127.0.0.1", 4);
  },
});

if (process.env.BENCH_HTTP_STREAM === "true") app.setup({ enableHttpStream: true });

app.http("healthz", { methods: ["GET"], route: "v1.0/healthz/{probe?}", authLevel: "anonymous", handler: async () => ({ status: 204 }) });
app.http("secrets", {
  methods: ["GET"],
  route: "v1.0/secrets/{store}/{name}",
  authLevel: "anonymous",
  handler: async (request) => {
    const vaultUrl = process.env.KEYVAULT_URI ?? "";
    // Like the app: challenge-resource verification on, and the emulator's `*.vault.localhost` name
    // connected to loopback (RFC 6761), which the system resolver does not know.
    client ??= new SecretClient(vaultUrl, new ManagedIdentityCredential(), {
      additionalPolicies: [{ policy: { name: "loopback", sendRequest: (req, next) => next(Object.assign(req, { agent: new URL(req.url).hostname.endsWith(".localhost") ? loopback : req.agent })) }, position: "perRetry" }],
    });
    const name = request.params.name ?? "";
    const secret = await client.getSecret(name);
    return { status: 200, headers: { "content-type": "application/json", "cache-control": "no-store" }, body: JSON.stringify({ [name]: secret.value ?? "" }) };
  },
});
