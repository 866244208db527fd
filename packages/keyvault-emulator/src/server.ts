/**
 * @module keyvault-emulator/server: starts the Key Vault emulator (vault listeners, identity endpoint, admin API).
 *
 * Vault addressing: one HTTPS listener per vault on 127.0.0.1, vault URI `https://127.0.0.1:<port>`. The port
 * tells vaults apart, so no name resolution is needed (`*.localhost` does not resolve here, and Node refuses
 * a `*.localhost` wildcard certificate anyway). The challenge advertises `resource="https://vault.azure.net"`
 * like the real service, so the credential asks for the production scope; because the host is not under
 * `vault.azure.net`, clients must set `disableChallengeResourceVerification: true` — unless the emulator runs
 * with `vaultHost: "vault.localhost"`, where vaults are `<name>.vault.localhost` and the challenge names
 * `https://vault.localhost`, so verification stays on.
 */
import { createServer as createHttpServer, type Server } from "node:http";
import { createServer as createHttpsServer } from "node:https";
import { promises as fs } from "node:fs";
import { randomBytes } from "node:crypto";
import { createAdminHandler, type CreateVaultRequest, type EmulatorControl, type MintTokenRequest } from "./adminApi";
import { backupKeyFor } from "./backup";
import { ensureDevCertificates } from "./certs";
import { type Clock, createShiftableClock, type ShiftableClock, systemClock } from "./clock";
import {
  type DeliveryFilter,
  type DeliveryRecord,
  type EventDeliveryOptions,
  EventGridPublisher,
  type EventWebhookConfig,
  parseWebhooks,
  type PublishedEvent,
  resolveDeliveryOptions,
} from "./eventGrid";
import { FaultInjector, RequestLog } from "./faults";
import { closeServer, listen } from "./http";
import { createIdentityHandler, IMDS_TOKEN_PATH, MSI_TOKEN_PATH } from "./identityEndpoint";
import { isValidVaultName } from "./model";
import { CoalescingWriter, PERSISTENCE_FORMAT, type PersistedState, readPersistedState, writeJsonAtomic } from "./persistence";
import { guidFromName, PrincipalDirectory, type PrincipalInput } from "./principals";
import type { PermissionModel } from "./rbac";
import { loadSeedFile, parseSeedDocument, type SeedDocument } from "./seed";
import { type SecretChangeEvent, type SoftDeleteOptions, VaultStore } from "./store";
import { type MintedToken, TokenIssuer } from "./tokens";
import { type AzureContext, createVaultHandler } from "./vaultApi";

/** A vault to create. */
export interface VaultOptions {
  /** Vault name: 3–24 letters, digits and hyphens, starting with a letter. */
  name: string;
  /** HTTPS port; 0 or absent = ephemeral. */
  port?: number;
  /** Default "rbac". */
  permissionModel?: PermissionModel;
  softDelete?: SoftDeleteOptions;
}

/** Options of {@link startKeyVaultEmulator}. Everything is optional. */
export interface KeyVaultEmulatorOptions {
  /** Vaults to create (names or full options); vaults named in the seed or persistence file are added. Default: one vault, "vaultstate-dev". */
  vaults?: Array<string | VaultOptions>;
  /** Identity endpoint port (HTTP); 0/absent = ephemeral. */
  identityPort?: number;
  /** Admin API port (HTTP); 0/absent = ephemeral. */
  adminPort?: number;
  /**
   * Host name used in vault URIs: "127.0.0.1" (default) or "localhost" (both are in the certificate), or
   * "vault.localhost": each vault at `https://<name>.vault.localhost:<port>` with the challenge resource
   * `https://vault.localhost` (unless `challengeResource` says otherwise), the local mirror of
   * `<name>.vault.azure.net` and `https://vault.azure.net`. The SDK's challenge-resource verification (the
   * vault host must end in "." + the resource's host) then passes with verification on. `*.localhost` names
   * are loopback (RFC 6761) but most resolvers do not know that: clients connect to 127.0.0.1 for them.
   */
  vaultHost?: "127.0.0.1" | "localhost" | "vault.localhost";
  /** Seed file (.json, .yaml, .yml); see the seed module for the format. */
  seedFile?: string;
  /** An inline seed document (same format), applied after `seedFile`. */
  seed?: unknown;
  /** JSON file to keep secrets across restarts (written atomically after each change). Seeds apply only to vaults it does not hold. */
  persistenceFile?: string;
  /** JSON file where the URIs, ports and identity header are written once listening (for other processes). */
  stateFile?: string;
  /** `X-IDENTITY-HEADER` value the identity endpoint expects; default random. */
  identityHeader?: string;
  /** Tenant id; default a fixed GUID. */
  tenantId?: string;
  /** Principals and their roles (added to the seed file's). Default when none at all: a system-assigned identity with Key Vault Secrets Officer on every vault. */
  principals?: PrincipalInput[];
  /**
   * Event Grid webhooks (loopback http(s) URLs only); the seed file's `webhooks` are added. Each gets
   * SecretNewVersionCreated, SecretNearExpiry and SecretExpired events in its schema.
   */
  eventWebhooks?: EventWebhookConfig[];
  /** Event Grid delivery settings: retries, timeouts, expiry scheduling, validation handshake. */
  eventDelivery?: EventDeliveryOptions;
  /** `resource` advertised in the challenge and expected as token audience. Default "https://vault.azure.net". */
  challengeResource?: string;
  /**
   * How expired tokens are challenged: "plain" (default) is what the real service sends, the ordinary
   * challenge with a `[TokenExpired]` body; "cae" sends a CAE claims challenge instead. See vaultApi.
   */
  expiredTokenChallenge?: "cae" | "plain";
  /** Lifetime of issued tokens. Default 3600. */
  tokenLifetimeSeconds?: number;
  /** Certificate folder; default `<repo>/.vaultstate/certs`. */
  certDir?: string;
  /** Base clock (the shift is applied on top); default the system clock. */
  clock?: Clock;
  /** RSA private key (PKCS#8 PEM) for signing tokens; default a fresh key per start. */
  signingKeyPem?: string;
  /** ARM names used in 403 messages and resource ids. */
  azure?: Partial<AzureContext>;
  /** Log sink for one line per request (operation, names, versions; never values). Default: silent. */
  logger?: (line: string) => void;
}

/** What the state file and `GET /config` contain. */
export interface EmulatorStateInfo {
  pid: number;
  vaults: Record<string, string>;
  identityEndpoint: string;
  identityHeader: string;
  /** Value for `AZURE_POD_IDENTITY_AUTHORITY_HOST` (IMDS protocol). */
  imdsAuthorityHost: string;
  tenantId: string;
  adminUrl: string;
  caCertPath: string;
  oidcIssuer: string;
  jwksUri: string;
  challengeResource: string;
  eventWebhooks: EventWebhookConfig[];
}

/** A running emulator. */
export interface KeyVaultEmulator {
  /**
   * The URI of a vault, e.g. `https://127.0.0.1:49152`.
   * @throws RangeError for an unknown vault
   */
  vaultUri(name: string): string;
  /** Vault name → URI. */
  readonly vaults: Readonly<Record<string, string>>;
  /** `IDENTITY_ENDPOINT` for the App Service protocol: `http://127.0.0.1:<port>/msi/token`. */
  readonly identityEndpoint: string;
  /** `IDENTITY_HEADER`. */
  readonly identityHeader: string;
  /** `AZURE_POD_IDENTITY_AUTHORITY_HOST` for the IMDS protocol. */
  readonly imdsAuthorityHost: string;
  readonly tenantId: string;
  /** `http://127.0.0.1:<port>` of the admin API. */
  readonly adminUrl: string;
  /** The CA certificate clients must trust. */
  readonly caCertPath: string;
  /** v2.0 issuer of admin-minted tokens, with OIDC discovery under it. */
  readonly oidcIssuer: string;
  readonly jwksUri: string;
  readonly challengeResource: string;
  /** The emulator clock (shift it to make time pass). */
  readonly clock: ShiftableClock;
  readonly faults: FaultInjector;
  readonly requestLog: RequestLog;
  readonly principals: PrincipalDirectory;
  /** Configured webhooks. */
  readonly eventWebhooks: readonly EventWebhookConfig[];
  /**
   * Replaces the webhooks (loopback URLs only); runs the validation handshake first where enabled.
   * @throws TypeError for an invalid list, WebhookValidationError when a handshake fails
   */
  setWebhooks(webhooks: EventWebhookConfig[]): Promise<void>;
  /** The Event Grid delivery log, oldest first (names, versions, statuses; never values). */
  deliveries(filter?: DeliveryFilter): DeliveryRecord[];
  /** Event Grid events published so far, oldest first (up to 1000). */
  publishedEvents(): PublishedEvent[];
  /**
   * Delivers a published event again with the same event id (Event Grid is at-least-once).
   * @param eventId - a published event id
   * @param webhook - only this webhook (URL or subscription name); default the webhooks that got it
   * @throws RangeError for an unknown event id or no matching webhook
   */
  redeliver(eventId: string, webhook?: string): DeliveryRecord[];
  /** Runs the near-expiry/expiry check now (it also runs on an interval and after clock shifts). */
  checkExpiry(): PublishedEvent[];
  /** Resolves once no Event Grid delivery is pending (retries included). */
  deliveriesSettled(): Promise<void>;
  /** A vault's store, for direct seeding and assertions in tests. */
  store(vault: string): VaultStore;
  /** Creates a vault at run time; resolves to its URI. */
  createVault(options: VaultOptions): Promise<string>;
  /** Subscribes to secret changes in every vault. */
  onChange(listener: (event: SecretChangeEvent) => void): () => void;
  /** Recent change events (up to 1000). */
  recentEvents(): SecretChangeEvent[];
  /** Signs a token for a principal (name/object id/client id) or raw ids; audience defaults to the challenge resource. */
  mintToken(request: MintTokenRequest): MintedToken;
  /** `IDENTITY_ENDPOINT` and `IDENTITY_HEADER` for a child process or `process.env`. */
  identityEnvironment(): Record<string, string>;
  /** What the state file holds. */
  stateInfo(): EmulatorStateInfo;
  /** Stops every listener, flushes persistence and removes the state file. */
  close(): Promise<void>;
}

/** Default tenant id. */
export const DEFAULT_TENANT_ID = "8f2a4c1e-0b6d-4e7a-9c3f-5d1b2a6e7f80";
/** Default vault name. */
export const DEFAULT_VAULT_NAME = "vaultstate-dev";
/** Key Vault's first-party application id, also accepted as token audience (as the service does). */
const KEY_VAULT_APP_ID = "cfa8b339-82a2-471a-a3c9-0fc0be7a4093";
/** The challenge resource of `vaultHost: "vault.localhost"` vaults (see {@link KeyVaultEmulatorOptions.vaultHost}). */
export const LOCAL_VAULT_RESOURCE = "https://vault.localhost";
const MAX_EVENTS = 1000;

interface VaultRuntime {
  name: string;
  store: VaultStore;
  server: Server;
  uri: string;
}

/**
 * Starts the emulator. Every listener binds 127.0.0.1 only.
 * @param options - see {@link KeyVaultEmulatorOptions}
 * @returns a handle; call `close()` when done
 * @throws Error for invalid options, seed or persistence files, or ports in use
 * @example
 * ```ts
 * const kv = await startKeyVaultEmulator({ seed: { vaults: { "my-vault": { secrets: { a: "1" } } } } });
 * process.env.IDENTITY_ENDPOINT = kv.identityEndpoint;
 * process.env.IDENTITY_HEADER = kv.identityHeader;
 * const client = new SecretClient(kv.vaultUri("my-vault"), new ManagedIdentityCredential(), {
 *   disableChallengeResourceVerification: true,
 * });
 * ```
 */
export async function startKeyVaultEmulator(options: KeyVaultEmulatorOptions = {}): Promise<KeyVaultEmulator> {
  const clock = createShiftableClock(options.clock ?? systemClock);
  const logger = options.logger;

  // Seeds first: they may name the tenant, vaults and principals.
  const seeds: SeedDocument[] = [];
  if (options.seedFile) seeds.push(await loadSeedFile(options.seedFile, clock.now()));
  if (options.seed !== undefined) seeds.push(parseSeedDocument(options.seed, clock.now()));
  const persisted = options.persistenceFile ? await readPersistedState(options.persistenceFile) : undefined;

  const tenantId = (options.tenantId ?? seeds.find((s) => s.tenantId)?.tenantId ?? DEFAULT_TENANT_ID).toLowerCase();
  const azure: AzureContext = {
    subscriptionId: options.azure?.subscriptionId ?? guidFromName(`subscription/${tenantId}`),
    resourceGroup: options.azure?.resourceGroup ?? "vaultstate-local",
    location: options.azure?.location ?? "westeurope",
  };
  const challengeResource = (options.challengeResource ?? (options.vaultHost === "vault.localhost" ? LOCAL_VAULT_RESOURCE : "https://vault.azure.net")).replace(/\/+$/, "");
  const identityHeader = options.identityHeader ?? randomBytes(16).toString("hex");
  let tokenLifetimeSeconds = options.tokenLifetimeSeconds ?? 3600;
  if (!(tokenLifetimeSeconds > 0)) throw new RangeError("tokenLifetimeSeconds must be positive");
  const initialWebhooks = mergeWebhooks([], [...parseWebhooks(options.eventWebhooks ?? []), ...seeds.flatMap((d) => d.webhooks ?? [])]);
  resolveDeliveryOptions(options.eventDelivery); // fail on bad settings before anything listens

  const certs = await ensureDevCertificates(options.certDir);
  const [tlsCert, tlsKey] = await Promise.all([fs.readFile(certs.certPath), fs.readFile(certs.keyPath)]);

  const issuer = new TokenIssuer({ tenantId, clock, ...(options.signingKeyPem ? { privateKeyPem: options.signingKeyPem } : {}) });
  const faults = new FaultInjector();
  const requestLog = new RequestLog();
  const principals = new PrincipalDirectory(azure);
  const backupKey = backupKeyFor(azure.subscriptionId);
  const vaults = new Map<string, VaultRuntime>();
  const listeners = new Set<(event: SecretChangeEvent) => void>();
  let events: SecretChangeEvent[] = [];
  const servers: Server[] = [];
  // Assigned once the startup seed is in: seeding at startup is setup, not a change to announce.
  let publisher: EventGridPublisher | undefined = undefined;

  const writer = options.persistenceFile ? new CoalescingWriter((data) => writeJsonAtomic(options.persistenceFile as string, data)) : undefined;
  const snapshotAll = (): PersistedState => ({
    format: PERSISTENCE_FORMAT,
    savedAt: new Date(clock.now()).toISOString(),
    vaults: Object.fromEntries([...vaults.values()].map((v) => [v.name, v.store.snapshot()])),
    eventGrid: { published: publisher ? publisher.publishedKeys() : (persisted?.eventGrid?.published ?? []) },
  });
  const onStoreChange = (event: SecretChangeEvent): void => {
    events.push(event);
    if (events.length > MAX_EVENTS) events = events.slice(-MAX_EVENTS);
    writer?.schedule(snapshotAll);
    try {
      publisher?.handleChange(event);
    } catch (e) {
      logger?.(`[kv-emulator] event publishing failed: ${e instanceof Error ? e.message : String(e)}`);
    }
    for (const l of listeners) {
      try {
        l(event);
      } catch (e) {
        logger?.(`[kv-emulator] change listener failed: ${e instanceof Error ? e.message : String(e)}`);
      }
    }
  };

  const findVault = (name: string): VaultRuntime | undefined => vaults.get(name.toLowerCase());

  async function createVault(v: VaultOptions): Promise<string> {
    if (!isValidVaultName(v.name)) throw new RangeError(`invalid vault name '${v.name}' (3-24 letters, digits, hyphens; starts with a letter)`);
    if (findVault(v.name)) throw new RangeError(`vault '${v.name}' already exists`);
    const store = new VaultStore({ name: v.name, clock, ...(v.softDelete ? { softDelete: v.softDelete } : {}), onChange: onStoreChange });
    const server = createHttpsServer({ cert: tlsCert, key: tlsKey });
    const port = await listen(server, v.port ?? 0);
    servers.push(server);
    const uri = options.vaultHost === "vault.localhost" ? `https://${v.name.toLowerCase()}.vault.localhost:${port}` : `https://${options.vaultHost ?? "127.0.0.1"}:${port}`;
    server.on(
      "request",
      createVaultHandler({
        vaultName: v.name,
        store,
        permissionModel: v.permissionModel ?? "rbac",
        issuer,
        challenge: {
          authorization: `https://login.microsoftonline.com/${tenantId}`,
          resource: challengeResource,
          audiences: [challengeResource, `${challengeResource}/`, KEY_VAULT_APP_ID],
          expiredTokenChallenge: options.expiredTokenChallenge ?? "plain",
        },
        principals,
        faults,
        requestLog,
        clock,
        azure,
        backupKey,
        fallbackOrigin: uri,
        ...(logger ? { logger } : {}),
      }),
    );
    vaults.set(v.name.toLowerCase(), { name: v.name, store, server, uri });
    logger?.(`[kv-emulator] vault ${v.name} at ${uri}`);
    return uri;
  }

  function applySeed(doc: SeedDocument, skipVaultsWithState: ReadonlySet<string> = new Set()): void {
    for (const p of doc.principals) principals.add(p);
    for (const [name, v] of Object.entries(doc.vaults)) {
      const runtime = findVault(name);
      if (!runtime) throw new RangeError(`seed names vault '${name}', which does not exist`);
      if (skipVaultsWithState.has(name.toLowerCase())) continue;
      for (const [secretName, versions] of Object.entries(v.secrets)) {
        for (const version of versions) runtime.store.set(secretName, version);
      }
    }
  }

  try {
    // Vault list: options, then seeds, then persisted vaults; first definition of a name wins.
    const wanted = new Map<string, VaultOptions>();
    const want = (v: VaultOptions): void => {
      if (!wanted.has(v.name.toLowerCase())) wanted.set(v.name.toLowerCase(), v);
    };
    for (const v of options.vaults ?? []) want(typeof v === "string" ? { name: v } : v);
    for (const s of seeds) {
      for (const [name, v] of Object.entries(s.vaults)) {
        want({
          name,
          ...(v.port === undefined ? {} : { port: v.port }),
          ...(v.permissionModel ? { permissionModel: v.permissionModel } : {}),
          ...(v.softDelete ? { softDelete: v.softDelete } : {}),
        });
      }
    }
    for (const name of Object.keys(persisted?.vaults ?? {})) want({ name });
    if (wanted.size === 0) want({ name: DEFAULT_VAULT_NAME });
    for (const v of wanted.values()) await createVault(v);

    const restored = new Set<string>();
    for (const [name, snapshot] of Object.entries(persisted?.vaults ?? {})) {
      findVault(name)?.store.load(snapshot);
      restored.add(name.toLowerCase());
    }
    for (const s of seeds) applySeed(s, restored);
    for (const p of options.principals ?? []) principals.add(p);
    if (principals.list().length === 0) {
      principals.add({ name: "system", type: "systemAssigned", roles: { "*": ["Key Vault Secrets Officer"] } });
    }
  } catch (e) {
    await Promise.all(servers.map(closeServer));
    throw e;
  }

  let adminUrl = "";
  const eventGrid = new EventGridPublisher({
    clock,
    vaults: () => [...vaults.values()].map((v) => ({ name: v.name, uri: v.uri, store: v.store })),
    vaultUri: (name) => findVault(name)?.uri,
    topicFor: (name) =>
      `/subscriptions/${azure.subscriptionId}/resourceGroups/${azure.resourceGroup}/providers/Microsoft.KeyVault/vaults/${findVault(name)?.name ?? name}`,
    validationUrlBase: () => `${adminUrl}/webhooks/validate`,
    ...(options.eventDelivery ? { options: options.eventDelivery } : {}),
    ...(persisted?.eventGrid ? { published: persisted.eventGrid.published } : {}),
    onPublished: () => writer?.schedule(snapshotAll),
    ca: await fs.readFile(certs.caCertPath),
    ...(logger ? { logger } : {}),
  });
  publisher = eventGrid;

  // Identity endpoint and OIDC issuer.
  const identityServer = createHttpServer();
  let identityBase = "";
  identityServer.on(
    "request",
    createIdentityHandler({
      identityHeader,
      principals,
      issuer,
      clock,
      tokenLifetimeSeconds: () => tokenLifetimeSeconds,
      faults,
      requestLog,
      baseUrl: () => identityBase,
      ...(logger ? { logger } : {}),
    }),
  );
  let identityPort: number;
  try {
    identityPort = await listen(identityServer, options.identityPort ?? 0);
  } catch (e) {
    await Promise.all(servers.map(closeServer));
    throw e;
  }
  servers.push(identityServer);
  identityBase = `http://127.0.0.1:${identityPort}`;
  issuer.v2Issuer = `${identityBase}/${tenantId}/v2.0`;

  const vaultUri = (name: string): string => {
    const v = findVault(name);
    if (!v) throw new RangeError(`no vault named '${name}'`);
    return v.uri;
  };
  const vaultMap = (): Record<string, string> => Object.fromEntries([...vaults.values()].map((v) => [v.name, v.uri]));
  /** Addresses and ids, read once every listener is up (the admin URL comes last): for the state file and the handle. */
  const endpoints = () => ({
    identityEndpoint: `${identityBase}${MSI_TOKEN_PATH}`,
    identityHeader,
    imdsAuthorityHost: identityBase,
    tenantId,
    adminUrl,
    caCertPath: certs.caCertPath,
    oidcIssuer: issuer.v2Issuer ?? "",
    jwksUri: `${identityBase}/${tenantId}/discovery/v2.0/keys`,
    challengeResource,
  });
  const stateInfo = (): EmulatorStateInfo => ({ pid: process.pid, vaults: vaultMap(), ...endpoints(), eventWebhooks: eventGrid.webhooks() });

  const mintToken: KeyVaultEmulator["mintToken"] = (request) => {
    let objectId = request.objectId;
    let clientId = request.clientId;
    let resourceId: string | undefined;
    if (request.principalRef !== undefined) {
      const p = principals.findByRef(request.principalRef);
      if (!p) throw new RangeError(`no principal '${request.principalRef}'`);
      objectId = p.objectId;
      clientId = p.clientId;
      resourceId = p.resourceId;
    }
    if (!objectId) throw new RangeError("a token needs a principal or an objectId");
    return issuer.mint({
      audience: request.audience ?? challengeResource,
      subject: { objectId: objectId.toLowerCase(), clientId: (clientId ?? objectId).toLowerCase(), ...(resourceId ? { resourceId } : {}) },
      lifetimeSeconds: request.lifetimeSeconds ?? tokenLifetimeSeconds,
      version: request.version ?? "2.0",
      ...(request.claims ? { extraClaims: request.claims } : {}),
    });
  };

  const control: EmulatorControl = {
    clock,
    faults,
    requestLog,
    principals,
    config: () => ({ ...stateInfo() }),
    vaultNames: () => [...vaults.values()].map((v) => v.name),
    vaultUri,
    store: (name) => findVault(name)?.store,
    createVault: async (r: CreateVaultRequest) => {
      const uri = await createVault(r);
      if (options.stateFile) await writeJsonAtomic(options.stateFile, stateInfo(), 0o600);
      return uri;
    },
    applySeed: async (doc) => {
      for (const [name, v] of Object.entries(doc.vaults)) {
        if (findVault(name)) continue;
        await createVault({
          name,
          ...(v.port === undefined ? {} : { port: v.port }),
          ...(v.permissionModel ? { permissionModel: v.permissionModel } : {}),
          ...(v.softDelete ? { softDelete: v.softDelete } : {}),
        });
      }
      applySeed(doc);
      if (doc.webhooks && doc.webhooks.length > 0) await eventGrid.setWebhooks(mergeWebhooks(eventGrid.webhooks(), doc.webhooks));
      if (options.stateFile) await writeJsonAtomic(options.stateFile, stateInfo(), 0o600);
    },
    parseSeed: (input) => parseSeedDocument(input, clock.now()),
    mintToken,
    tokenLifetimeSeconds: () => tokenLifetimeSeconds,
    setTokenLifetimeSeconds: (s) => {
      tokenLifetimeSeconds = s;
    },
    events: () => [...events],
    clearEvents: () => {
      events = [];
    },
    webhooks: () => eventGrid.webhooks(),
    setWebhooks: (w) => eventGrid.setWebhooks(w),
    eventGrid,
  };

  const adminServer = createHttpServer();
  adminServer.on("request", createAdminHandler(control));
  try {
    const adminPort = await listen(adminServer, options.adminPort ?? 0);
    servers.push(adminServer);
    adminUrl = `http://127.0.0.1:${adminPort}`;
    // Handshakes (when enabled) need the admin URL for their validationUrl.
    await eventGrid.setWebhooks(initialWebhooks);
    if (writer) await writeJsonAtomic(options.persistenceFile as string, snapshotAll());
    if (options.stateFile) await writeJsonAtomic(options.stateFile, stateInfo(), 0o600);
  } catch (e) {
    await eventGrid.close();
    await Promise.all([...servers, adminServer].map(closeServer));
    throw e;
  }
  eventGrid.start();

  let closed: Promise<void> | undefined;
  const handle: KeyVaultEmulator = {
    vaultUri,
    get vaults() {
      return vaultMap();
    },
    ...endpoints(),
    clock,
    faults,
    requestLog,
    principals,
    get eventWebhooks() {
      return eventGrid.webhooks();
    },
    setWebhooks: async (w) => eventGrid.setWebhooks(parseWebhooks(w)),
    deliveries: (filter) => eventGrid.deliveries(filter),
    publishedEvents: () => eventGrid.published(),
    redeliver: (eventId, webhook) => eventGrid.redeliver(eventId, webhook),
    checkExpiry: () => eventGrid.checkExpiry(),
    deliveriesSettled: () => eventGrid.settled(),
    store(name) {
      const v = findVault(name);
      if (!v) throw new RangeError(`no vault named '${name}'`);
      return v.store;
    },
    createVault: async (v) => {
      const uri = await createVault(v);
      if (options.stateFile) await writeJsonAtomic(options.stateFile, stateInfo(), 0o600);
      return uri;
    },
    onChange(listener) {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
    recentEvents: () => [...events],
    mintToken,
    identityEnvironment: () => ({ IDENTITY_ENDPOINT: `${identityBase}${MSI_TOKEN_PATH}`, IDENTITY_HEADER: identityHeader }),
    stateInfo,
    close() {
      closed ??= (async () => {
        await eventGrid.close();
        await Promise.all(servers.map(closeServer));
        await writer?.flush();
        if (options.stateFile) await removeStateFile(options.stateFile);
      })();
      return closed;
    },
  };
  logger?.(`[kv-emulator] identity endpoint ${handle.identityEndpoint} (IMDS ${identityBase}${IMDS_TOKEN_PATH}); admin ${adminUrl}`);
  return handle;
}

/** `current` plus the webhooks of `added` whose (URL, schema) is not there yet. */
function mergeWebhooks(current: EventWebhookConfig[], added: EventWebhookConfig[]): EventWebhookConfig[] {
  const key = (w: EventWebhookConfig): string => `${w.schema ?? "EventGridSchema"} ${w.url}`;
  const out = [...current];
  for (const w of added) if (!out.some((x) => key(x) === key(w))) out.push(w);
  return out;
}

/** Removes the state file only if it is still ours (another emulator may have replaced it). */
async function removeStateFile(file: string): Promise<void> {
  try {
    const parsed: unknown = JSON.parse(await fs.readFile(file, "utf8"));
    if (typeof parsed === "object" && parsed !== null && (parsed as { pid?: unknown }).pid === process.pid) await fs.rm(file, { force: true });
  } catch {
    // Already gone or unreadable: nothing to clean up.
  }
}
