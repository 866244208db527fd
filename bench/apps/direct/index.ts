/**
 * @module bench/apps/direct: the P4 baseline, the least an app can do to serve a Key Vault secret: on
 * the first request it builds a `SecretClient` with the same managed identity and calls `getSecret`.
 * Same local host, same host settings as the app.
 */
import { app } from "@azure/functions";
import { ManagedIdentityCredential } from "@azure/identity";
import { SecretClient } from "@azure/keyvault-secrets";

let client: SecretClient | undefined;

if (process.env.BENCH_HTTP_STREAM === "true") app.setup({ enableHttpStream: true });

app.http("healthz", { methods: ["GET"], route: "v1.0/healthz/{probe?}", authLevel: "anonymous", handler: async () => ({ status: 204 }) });
app.http("secrets", {
  methods: ["GET"],
  route: "v1.0/secrets/{store}/{name}",
  authLevel: "anonymous",
  handler: async (request) => {
    const vaultUrl = process.env.KEYVAULT_URI ?? "";
    // Like the app: a vault outside *.vault.azure.net (the emulator) cannot match the challenge resource.
    client ??= new SecretClient(vaultUrl, new ManagedIdentityCredential(), { disableChallengeResourceVerification: !new URL(vaultUrl).hostname.endsWith(".vault.azure.net") });
    const name = request.params.name ?? "";
    const secret = await client.getSecret(name);
    return { status: 200, headers: { "content-type": "application/json", "cache-control": "no-store" }, body: JSON.stringify({ [name]: secret.value ?? "" }) };
  },
});
