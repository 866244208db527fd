/**
 * @module tools/keyvault-emulator: public entry of the Key Vault emulator (server, certificates, seed format).
 */
export { ensureDevCertificates, type DevCertificatePaths } from "./certs";
export {
  startKeyVaultEmulator,
  DEFAULT_TENANT_ID,
  DEFAULT_VAULT_NAME,
  type KeyVaultEmulator,
  type KeyVaultEmulatorOptions,
  type VaultOptions,
  type EmulatorStateInfo,
} from "./server";
export type { EventWebhookConfig, MintTokenRequest } from "./adminApi";
export type { SecretChangeEvent, SecretChangeType } from "./store";
export type { SeedDocument } from "./seed";
export type { PrincipalInput } from "./principals";
export type { FaultRuleInput } from "./faults";
