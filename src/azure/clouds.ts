/**
 * @module Azure clouds: names Dapr accepts for `azureEnvironment` and each cloud's endpoints.
 */

/** One Azure cloud's endpoints that vaultstate uses. */
export interface AzureCloud {
  name: "AzurePublicCloud" | "AzureChinaCloud" | "AzureUSGovernmentCloud";
  keyVaultSuffix: string;
  authorityHost: string;
}

const CLOUDS: readonly AzureCloud[] = [
  { name: "AzurePublicCloud", keyVaultSuffix: "vault.azure.net", authorityHost: "https://login.microsoftonline.com" },
  { name: "AzureChinaCloud", keyVaultSuffix: "vault.azure.cn", authorityHost: "https://login.chinacloudapi.cn" },
  { name: "AzureUSGovernmentCloud", keyVaultSuffix: "vault.usgovcloudapi.net", authorityHost: "https://login.microsoftonline.us" },
];

/** Dapr's accepted spellings (`common/authentication/azure/auth.go`), compared case-insensitively. */
const ALIASES: Readonly<Record<string, AzureCloud["name"]>> = {
  azurepubliccloud: "AzurePublicCloud",
  azurepublic: "AzurePublicCloud",
  azurechinacloud: "AzureChinaCloud",
  azurechina: "AzureChinaCloud",
  azureusgovernmentcloud: "AzureUSGovernmentCloud",
  azureusgovernment: "AzureUSGovernmentCloud",
};

/** Finds a cloud by a Dapr `azureEnvironment` value; `undefined` for unknown names. */
export function cloudByName(name: string): AzureCloud | undefined {
  const canonical = ALIASES[name.trim().toLowerCase()];
  return CLOUDS.find((c) => c.name === canonical);
}

/** Every known cloud. */
export function allClouds(): readonly AzureCloud[] {
  return CLOUDS;
}

/** Finds the cloud whose Key Vault DNS suffix a host name ends with. */
export function cloudByVaultHost(host: string): AzureCloud | undefined {
  const lowered = host.toLowerCase();
  return CLOUDS.find((c) => lowered.endsWith(`.${c.keyVaultSuffix}`));
}
