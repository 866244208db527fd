/**
 * @module vitest global setup: runs once in the main process before any test worker is forked.
 */
import { ensureDevCertificates } from "@vaultstate/keyvault-emulator";

// NODE_EXTRA_CA_CERTS is read only when a Node process starts, so it must be in the environment
// before vitest forks its workers; every child process (host, emulator clients) inherits it too.
export default async function setup(): Promise<void> {
  const { caCertPath } = await ensureDevCertificates();
  // Children that reach the npm registry (the parity tier's worker install) need the machine's own CAs back.
  process.env.VAULTSTATE_MACHINE_NODE_EXTRA_CA_CERTS = process.env.NODE_EXTRA_CA_CERTS ?? "";
  process.env.NODE_EXTRA_CA_CERTS = caCertPath;
}
