/**
 * @module keyvault-emulator: public entry of the Key Vault emulator (server, certificates, seed format, Event Grid events).
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
export type { MintTokenRequest } from "./adminApi";
export {
  SECRET_EVENT_TYPES,
  WebhookValidationError,
  parseWebhooks,
  toCloudEvent,
  toEventGridSchema,
  type CloudEventSchemaEvent,
  type DeliveryFilter,
  type DeliveryRecord,
  type DeliveryStatus,
  type EventDeliveryOptions,
  type EventDeliverySchema,
  type EventGridSchemaEvent,
  type EventWebhookConfig,
  type KeyVaultSecretEventData,
  type PublishedEvent,
  type SecretEventType,
} from "./eventGrid";
export type { SecretChangeEvent, SecretChangeType, VaultStore } from "./store";
export type { SeedDocument } from "./seed";
export type { PrincipalInput } from "./principals";
export type { FaultRuleInput } from "./faults";
