/**
 * In-memory stand-ins for unit tests of the runtime manager, planner and holder: a Key Vault SDK
 * client (the real provider and cache run over it), a version table, and a runtime built from
 * component YAML through the real `buildRuntime`.
 */
import type { SecretClient } from "@azure/keyvault-secrets";
import type { VersionRow, VersionTable } from "../../../src/azure/versionTable";
import { createAzureClients } from "../../../src/azure/clients";
import type { Logger } from "../../../src/observability/logger";
import { parseResourceDocuments } from "../../../src/runtime/componentFiles";
import { buildRuntime, type Runtime } from "../../../src/runtime/runtime";
import type { SecretCacheOptions } from "../../../src/runtime/secretCache";

export const VAULT = "https://unitvault.vault.azure.net";

export const quietLogger: Logger = { info: () => undefined, warn: () => undefined, error: () => undefined };

/** A vault of versioned secrets; `down` makes every call fail like an unreachable service. */
export function fakeVault(secrets: Record<string, string>) {
  const store = new Map(Object.entries(secrets).map(([name, value]) => [name.toLowerCase(), { name, value, version: "v1", updatedOn: new Date(1_000) }]));
  const reads: string[] = [];
  let listings = 0;
  let down = false;
  /** Secrets whose reads fail (lower-case names). */
  const failing = new Set<string>();
  const unreachable = (): Error => Object.assign(new Error("connect ECONNREFUSED"), { code: "ECONNREFUSED" });
  const client = {
    async getSecret(name: string) {
      reads.push(name);
      if (down || failing.has(name.toLowerCase())) throw unreachable();
      const secret = store.get(name.toLowerCase());
      if (secret === undefined) throw Object.assign(new Error("SecretNotFound"), { name: "RestError", statusCode: 404, code: "SecretNotFound" });
      return { name: secret.name, value: secret.value, properties: { name: secret.name, version: secret.version, updatedOn: secret.updatedOn, vaultUrl: VAULT } };
    },
    async *listPropertiesOfSecrets() {
      listings++;
      if (down) throw unreachable();
      for (const s of store.values()) yield { name: s.name, version: s.version, updatedOn: s.updatedOn, enabled: true, vaultUrl: VAULT };
    },
  } as unknown as SecretClient;
  return {
    client,
    /** Names read with getSecret, in order. */
    reads,
    listings: () => listings,
    setDown(value: boolean) {
      down = value;
    },
    /** Reads of this one secret fail (or work again). */
    setFailing(name: string, value: boolean) {
      if (value) failing.add(name.toLowerCase());
      else failing.delete(name.toLowerCase());
    },
    /** Deletes a secret (reads answer 404 SecretNotFound). */
    remove(name: string) {
      store.delete(name.toLowerCase());
    },
    /** A new version of a secret. */
    update(name: string, value: string, version: string, updatedOn: number) {
      const secret = store.get(name.toLowerCase());
      if (secret === undefined) throw new Error(`no secret ${name}`);
      Object.assign(secret, { value, version, updatedOn: new Date(updatedOn) });
    },
  };
}

export type FakeVault = ReturnType<typeof fakeVault>;

/** The Key Vault store `kv`, and the in-memory state store `db` whose `password` is read through it. */
export const KV_AND_DEPENDENT = `apiVersion: dapr.io/v1alpha1
kind: Component
metadata: {name: kv}
spec: {type: secretstores.azure.keyvault, version: v1, metadata: [{name: vaultName, value: unitvault}]}
---
apiVersion: dapr.io/v1alpha1
kind: Component
metadata: {name: db}
spec:
  type: state.in-memory
  version: v1
  metadata: [{name: password, secretKeyRef: {name: db-password, key: db-password}}]
auth: {secretStore: kv}
---
apiVersion: dapr.io/v1alpha1
kind: Component
metadata: {name: memstore}
spec: {type: state.in-memory, version: v1, metadata: []}
`;

/** Builds a real runtime over the fake vault. */
export function buildOver(vault: FakeVault, yaml = KV_AND_DEPENDENT, apiTokens: string[] = ["t0ken-value"], cache?: Partial<SecretCacheOptions>): () => Promise<Runtime> {
  const azure = { ...createAzureClients({}), secretClient: () => vault.client };
  return () =>
    buildRuntime({
      appId: "demo",
      resources: parseResourceDocuments("c.yaml", yaml),
      apiTokens,
      providerContext: { azure, appRoot: "/", environment: {} },
      logger: quietLogger,
      ...(cache === undefined ? {} : { secretCache: { options: cache } }),
    });
}

/** One read of {@link memoryVersionTable}: the `changedSince` it asked for and how many rows it returned. */
export interface MemoryTableRead {
  changedSince: number | undefined;
  rows: number;
}

/**
 * A version table in memory, keeping the newest row per secret; `registrations` has the size of each
 * {@link VersionTable.register} call. Like Table storage, it stamps each write with its own clock
 * (`serverTime`, moved by `advance`; the row objects stay plain rows, the stamps are kept beside them)
 * and answers a read with that clock and, given `changedSince`, only the rows stamped at or after it. A
 * row pushed into `rows` directly counts as written at the time of each read.
 */
export function memoryVersionTable(): VersionTable & {
  rows: VersionRow[];
  reads: () => number;
  /** Every read, in order. */
  readLog: MemoryTableRead[];
  registrations: number[];
  serverTime: () => number;
  advance(ms: number): void;
  /** Writes a row as publish would, stamped `stampedAt` (a write that committed late). */
  publishAt(row: VersionRow, stampedAt: number): Promise<void>;
} {
  const rows: VersionRow[] = [];
  const stamps = new WeakMap<VersionRow, number>();
  const registrations: number[] = [];
  const readLog: MemoryTableRead[] = [];
  let clock = 1_000_000;
  const write = (row: VersionRow, stampedAt: number): Promise<void> => {
    const i = rows.findIndex((r) => r.vaultUrl === row.vaultUrl && r.secretName.toLowerCase() === row.secretName.toLowerCase());
    const copy = { ...row };
    if (i < 0) rows.push(copy);
    else if ((rows[i]?.updatedOn ?? 0) < row.updatedOn) rows[i] = copy;
    else return Promise.resolve();
    stamps.set(copy, stampedAt);
    return Promise.resolve();
  };
  const publish = (row: VersionRow): Promise<void> => write(row, clock);
  return {
    rows,
    registrations,
    readLog,
    reads: () => readLog.length,
    serverTime: () => clock,
    advance(ms) {
      clock += ms;
    },
    publishAt: write,
    async *pages(changedSince) {
      const answer = rows.filter((r) => changedSince === undefined || (stamps.get(r) ?? clock) >= changedSince).map((r) => ({ ...r }));
      readLog.push({ changedSince, rows: answer.length });
      yield { rows: answer, serverTime: clock };
    },
    publish,
    async register(batch) {
      registrations.push(batch.length);
      for (const row of batch) await publish(row);
    },
  };
}
