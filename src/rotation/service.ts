/**
 * @module The rotation service: what the timer, the Event Grid function and the admin route call.
 *
 * One attempt, AWS Secrets Manager–style staging mapped onto Key Vault (where a newly set version is at
 * once "latest", and a disabled latest version makes versionless reads fail):
 * 1. read the current version; skip as `stale-trigger`, `no-policy` or `not-due` (no lock taken). A
 *    near-expiry event is only a hint: it rotates when Key Vault's own `expiresOn` of the current
 *    version is within the near-expiry window (or the interval has passed), never on the event's word;
 * 2. take the secret's blob lease (held elsewhere → `locked`), re-read, and skip as `stale-trigger` if
 *    another instance rotated meanwhile;
 * 3. generate, and stage the value as a new version of the companion secret `<name>--pending`
 *    (AWSPENDING), so the current version of `<name>` is never touched before the check;
 * 4. read the staged value back and run the generator's check (testSecret); on failure disable the
 *    staged version, audit `check-failed`, and `<name>` keeps serving;
 * 5. confirm the lease and that `<name>` is still at the version we started from, then promote: set the
 *    checked value as the new version of `<name>` with its tags copied plus `rotation-last` and
 *    `rotated-from` (finishSecret);
 * 6. disable the staged version, tagged `promoted` (disabled, so it is neither served nor listed);
 * 7. write one audit row. Values never reach logs, audit rows or results.
 */
import type { SecretClient } from "@azure/keyvault-secrets";
import { v7 as uuidv7 } from "uuid";
import { azureErrorFacts, isAbortError, isTransientAzureError } from "../azure/errors";
import { createSharedKeyBlobServiceClient } from "../azure/rotationClients";
import { consoleLogger, describeError, type Logger } from "../observability/logger";
import type { RotationAudit } from "./audit";
import { DEFAULT_GENERATORS } from "./generators";
import type { CurrentSecret, GeneratorContext, GeneratorRegistry, SecretGenerator, SharedKeyBlobClientFactory } from "./generators/generator";
import { KeyPairSourceError, type KeyPairSource } from "./keyPairSources";
import { LeaseLostError, type RotationLease, type RotationLock } from "./lock";
import { isRotationDue, nextRotationAt, parseRotationPolicy, type RotationPolicy } from "./policy";
import {
  BOOKKEEPING_TAGS,
  isRotationPolicyError,
  MAX_TAGS_PER_SECRET,
  normalizeTags,
  PENDING_SUFFIX,
  PENDING_TAGS,
  type PendingState,
  RotationPolicyError,
} from "./tags";
import type { RotateOptions, RotationErrorCode, RotationOutcome, RotationResult, RotationTarget, RotationTrigger, RotationTriggerKind } from "./types";

/** The Key Vault operations rotation uses (a `SecretClient` fits; tests may pass a fake). */
export type RotationSecretClient = Pick<SecretClient, "getSecret" | "setSecret" | "updateSecretProperties" | "listPropertiesOfSecrets">;

/** What the service needs; everything with I/O is injected. */
export interface RotationServiceDeps {
  /**
   * The client of a vault, authenticated as an identity with "Key Vault Secrets Officer" on it
   * (e.g. `getRotationSecretClient(vaultUrl, { clientId: <rotation identity> })` from src/azure/rotationClients.ts).
   */
  getSecretClient(vaultUrl: string): RotationSecretClient;
  /** Usually `createBlobLeaseLock(createRotationLockContainerClient(...))`. */
  lock: RotationLock;
  /** Usually `createTableRotationAudit(createRotationAuditTableClient(...))`. */
  audit: RotationAudit;
  /** Key-pair sources by the name `rotation-key-source` uses. Default none. */
  keyPairSources?: Readonly<Record<string, KeyPairSource>>;
  /** Default {@link DEFAULT_GENERATORS}. */
  generators?: GeneratorRegistry;
  /** Shared-key Blob clients for the storage-account-key check. Default from src/azure/rotationClients.ts. */
  createBlobClient?: SharedKeyBlobClientFactory;
  /** Default the system clock. */
  now?: () => Date;
  /** Default the console logger. */
  logger?: Logger;
  /** Default UUID v7 (time-ordered, so audit rows sort by attempt start). */
  newAttemptId?: () => string;
  /**
   * How close to its Key Vault `expiresOn` a version must be for a near-expiry event to rotate it.
   * Default {@link NEAR_EXPIRY_WINDOW_IN_MS}, Key Vault's own window for `SecretNearExpiry`.
   */
  nearExpiryWindowInMs?: number;
}

/** Key Vault publishes `SecretNearExpiry` 30 days before a version's `expiresOn`. */
export const NEAR_EXPIRY_WINDOW_IN_MS = 30 * 24 * 60 * 60 * 1000;

/** A trigger, or just its kind. */
export type RotationTriggerInput = RotationTrigger | RotationTriggerKind;

/** Rotation entry points. None of them rejects: failures are outcomes. */
export interface RotationService {
  /**
   * Rotates the secret when its policy says it is due (timer, Event Grid `SecretNewVersionCreated` follow-ups).
   * @example
   * const r = await rotation.rotateIfDue({ vaultUrl, secretName: "api-token" }, "timer");
   * if (r.outcome === "rotated") logger.info(`rotated to ${r.newVersion}`);
   */
  rotateIfDue(target: RotationTarget, trigger: RotationTriggerInput, options?: RotateOptions): Promise<RotationResult>;
  /**
   * Rotates now whatever the interval says, if the secret has a valid policy (Event Grid
   * `SecretNearExpiry` with `observedVersion`, the admin route).
   * @example
   * await rotation.rotateNow(target, { kind: "event", observedVersion: event.data.Version, source: event.id });
   */
  rotateNow(target: RotationTarget, trigger: RotationTriggerInput, options?: RotateOptions): Promise<RotationResult>;
  /**
   * Rotates when Key Vault says the current version is near expiry (its `expiresOn` is within the
   * near-expiry window) or due by its interval; otherwise `not-due`. For Event Grid `SecretNearExpiry`,
   * whose content is not trusted: a forged or early event costs one read and changes nothing.
   * @example
   * await rotation.rotateIfNearExpiry(target, { kind: "event", observedVersion: event.version, source: event.id });
   */
  rotateIfNearExpiry(target: RotationTarget, trigger: RotationTriggerInput, options?: RotateOptions): Promise<RotationResult>;
  /**
   * Lists a vault's secrets and calls {@link RotationService.rotateIfDue} for each whose listed policy is
   * due or invalid (one at a time; secrets not due get no audit row).
   * @throws Key Vault errors from the listing itself
   */
  rotateDueSecrets(vaultUrl: string, trigger: RotationTriggerInput, options?: RotateOptions): Promise<RotationResult[]>;
}

/** Leaves room for the `--pending` suffix within Key Vault's 127 characters. */
const SECRET_NAME = /^[0-9a-zA-Z-]{1,118}$/;

type Service = "Key Vault" | "storage" | "generator";

/** A failed step: which one, against what, and the original error. */
class StepError extends Error {
  override readonly name = "StepError";
  constructor(
    readonly step: string,
    readonly service: Service,
    cause: unknown,
  ) {
    super(step, { cause });
  }
}

/** A failure the service decides itself, with its code. */
class RotationFailure extends Error {
  override readonly name = "RotationFailure";
  constructor(
    readonly code: RotationErrorCode,
    message: string,
  ) {
    super(message);
  }
}

async function step<T>(name: string, service: Service, run: () => Promise<T>): Promise<T> {
  try {
    return await run();
  } catch (e) {
    throw new StepError(name, service, e);
  }
}

const ROLE_HINT = 'rotation needs the "Key Vault Secrets Officer" role on the vault ("Key Vault Secrets User" only reads)';

/** Turns any error into a code and a message (which the caller redacts). */
function classify(e: unknown, leaseLost: boolean): { code: RotationErrorCode; message: string } {
  const where = e instanceof StepError ? e : undefined;
  const inner = where !== undefined ? where.cause : e;
  const prefix = where !== undefined ? `${where.step}: ` : "";
  if (inner instanceof RotationFailure) return { code: inner.code, message: inner.message };
  if (isRotationPolicyError(inner)) return { code: "invalid-policy", message: inner.message };
  if (inner instanceof LeaseLostError || leaseLost) return { code: "lease-lost", message: `${prefix}${inner instanceof Error ? inner.message : "the rotation lease was lost"}; nothing was promoted` };
  if (inner instanceof KeyPairSourceError) return { code: "generator", message: `${prefix}${inner.message}` };
  const facts = azureErrorFacts(inner);
  const status = facts?.status;
  const service = where?.service ?? "Key Vault";
  const answered = `${service} answered ${status ?? ""}${facts?.code !== undefined ? ` ${facts.code}` : ""}`;
  const firstLine = (inner instanceof Error ? inner.message : "").split(/\r?\n/)[0]?.trim() ?? "";
  if (isAbortError(inner)) return { code: "unavailable", message: `${prefix}cancelled or timed out` };
  if (status === 404) return { code: "not-found", message: `${prefix}${answered}` };
  if (status === 403 && service === "Key Vault" && (facts?.innerCode === "SecretDisabled" || /disabled secret/i.test(firstLine))) {
    return { code: "current-disabled", message: `${prefix}the version is disabled; enable it or set a new one before rotating` };
  }
  if (status === 401 || status === 403) {
    const hint = service === "Key Vault" ? ROLE_HINT : "the app identity needs Storage Blob Data Contributor / Storage Table Data Contributor on the rotation storage";
    return { code: "forbidden", message: `${prefix}${answered}: ${firstLine}; ${hint}` };
  }
  if (isTransientAzureError(inner)) return { code: "unavailable", message: `${prefix}${status !== undefined ? answered : describeError(inner)}` };
  if (status !== undefined) return { code: "unknown", message: `${prefix}${answered}: ${firstLine}` };
  return { code: where?.service === "generator" ? "generator" : "unknown", message: `${prefix}${describeError(inner)}` };
}

/** Replaces every occurrence of the attempt's values (defence in depth: no message should hold one). */
function redact(text: string, values: readonly string[]): string {
  let out = text;
  for (const v of values) if (v.length >= 4) out = out.split(v).join("[redacted]");
  return out;
}

function normalizeTrigger(input: RotationTriggerInput): RotationTrigger {
  return typeof input === "string" ? { kind: input } : input;
}

/** Why a target cannot be rotated, or `undefined` (pure). */
export function rotationTargetProblem(target: RotationTarget): string | undefined {
  let url: URL;
  try {
    url = new URL(target.vaultUrl);
  } catch {
    return "vaultUrl is not a URL";
  }
  if (url.protocol !== "https:") return "vaultUrl must use https";
  if (!SECRET_NAME.test(target.secretName)) return "secretName must be 1–118 letters, digits and hyphens";
  if (target.secretName.toLowerCase().endsWith(PENDING_SUFFIX)) return `"${PENDING_SUFFIX}" secrets are rotation's staging companions and are not rotated themselves`;
  return undefined;
}

/** The tags of a promoted version (pure): the current ones minus old bookkeeping, plus new bookkeeping. */
export function promotedTags(currentTags: Readonly<Record<string, string>>, extra: Readonly<Record<string, string>>, rotatedAt: Date, fromVersion: string): Record<string, string> {
  const bookkeeping = new Set<string>(Object.values(BOOKKEEPING_TAGS));
  const tags: Record<string, string> = {};
  for (const [name, value] of Object.entries(currentTags)) if (!bookkeeping.has(name.toLowerCase())) tags[name] = value;
  Object.assign(tags, extra, { [BOOKKEEPING_TAGS.lastRotation]: rotatedAt.toISOString(), [BOOKKEEPING_TAGS.rotatedFrom]: fromVersion });
  if (Object.keys(tags).length > MAX_TAGS_PER_SECRET) {
    throw new RotationPolicyError(BOOKKEEPING_TAGS.lastRotation, `the secret has too many tags: rotation adds ${Object.keys(extra).length + 2} and Key Vault allows ${MAX_TAGS_PER_SECRET}`);
  }
  return tags;
}

interface CurrentVersion extends CurrentSecret {
  createdOn: Date | undefined;
  expiresOn: Date | undefined;
  contentType: string | undefined;
  rawTags: Readonly<Record<string, string>>;
}

/** What an attempt decided, before it is audited and logged. */
interface Draft {
  outcome: RotationOutcome;
  description?: string;
  oldVersion?: string;
  newVersion?: string;
  generator?: string;
  errorCode?: RotationErrorCode;
  error?: string;
  nextDueAt?: Date;
}

type Evaluation = { skip: Draft } | { policy: RotationPolicy; generator: SecretGenerator<unknown> };

/** When an attempt goes ahead: always (admin), when due (timer), or when due or near expiry (event). */
type Mode = "now" | "due" | "near-expiry";

/**
 * Creates the rotation service.
 * @example
 * const rotation = createRotationService({
 *   getSecretClient: (vaultUrl) => getRotationSecretClient(vaultUrl, { clientId: settings.rotationClientId }),
 *   lock: createBlobLeaseLock(createRotationLockContainerClient({ accountName, clientId })),
 *   audit: createTableRotationAudit(createRotationAuditTableClient({ accountName, clientId })),
 * });
 * await rotation.rotateIfDue({ vaultUrl: "https://myvault.vault.azure.net", secretName: "api-token" }, "timer");
 */
export function createRotationService(deps: RotationServiceDeps): RotationService {
  const generators = deps.generators ?? DEFAULT_GENERATORS;
  const keyPairSources = deps.keyPairSources ?? {};
  const createBlobClient = deps.createBlobClient ?? createSharedKeyBlobServiceClient;
  const now = deps.now ?? (() => new Date());
  const logger = deps.logger ?? consoleLogger;
  const newAttemptId = deps.newAttemptId ?? (() => uuidv7());
  const nearExpiryWindow = deps.nearExpiryWindowInMs ?? NEAR_EXPIRY_WINDOW_IN_MS;

  async function readCurrent(client: RotationSecretClient, name: string, what: string, abortSignal: AbortSignal | undefined): Promise<CurrentVersion> {
    const secret = await step(what, "Key Vault", () => client.getSecret(name, { abortSignal }));
    const rawTags = secret.properties.tags ?? {};
    return {
      version: secret.properties.version ?? "",
      value: secret.value ?? "",
      tags: normalizeTags(rawTags),
      rawTags,
      createdOn: secret.properties.createdOn,
      expiresOn: secret.properties.expiresOn,
      contentType: secret.properties.contentType,
    };
  }

  /** Decides from the current version whether to go on (pure apart from the clock). */
  function evaluate(current: CurrentVersion, trigger: RotationTrigger, mode: Mode): Evaluation {
    const observed = trigger.observedVersion?.trim().toLowerCase();
    if (observed !== undefined && observed !== "" && observed !== current.version.toLowerCase()) {
      return { skip: { outcome: "stale-trigger", error: `the trigger is about version ${observed}, but ${current.version} is current` } };
    }
    if (trigger.observedAt !== undefined && current.createdOn !== undefined && current.createdOn.getTime() > trigger.observedAt.getTime()) {
      return { skip: { outcome: "stale-trigger", error: `version ${current.version} was created after the trigger (${trigger.observedAt.toISOString()})` } };
    }
    const policy = parseRotationPolicy(current.rawTags, generators);
    if (policy === undefined) return { skip: { outcome: "no-policy" } };
    const generator = generators[policy.generator];
    if (generator === undefined) throw new RotationPolicyError("rotation-generator", `rotation-generator: unknown generator "${policy.generator}"`);
    // A version without a creation date (never from Key Vault) counts as old: rotate rather than never.
    const basis = current.createdOn ?? new Date(0);
    if (mode === "now" || isRotationDue(policy, basis, now())) return { policy, generator };
    const notDue: Draft = { outcome: "not-due", generator: policy.generator, nextDueAt: nextRotationAt(policy, basis) };
    if (mode === "due") return { skip: notDue };
    const expiresOn = current.expiresOn?.getTime();
    if (expiresOn !== undefined && expiresOn - now().getTime() <= nearExpiryWindow) return { policy, generator };
    return {
      skip: {
        ...notDue,
        error:
          expiresOn === undefined
            ? `Key Vault says version ${current.version} has no expiry, so it is not near expiry`
            : `Key Vault says version ${current.version} expires ${new Date(expiresOn).toISOString()}, outside the near-expiry window`,
      },
    };
  }

  async function run(target: RotationTarget, trigger: RotationTrigger, mode: Mode, attemptId: string, sensitive: string[], abortSignal: AbortSignal | undefined): Promise<Draft> {
    const draft: Draft = { outcome: "error" };
    let lease: RotationLease | undefined;
    try {
      const client = deps.getSecretClient(target.vaultUrl);
      const first = await readCurrent(client, target.secretName, "read the current version", abortSignal);
      sensitive.push(first.value);
      draft.oldVersion = first.version;
      const before = evaluate(first, trigger, mode);
      if ("skip" in before) return { ...draft, ...before.skip };
      draft.generator = before.policy.generator;

      lease = await step("acquire the rotation lock", "storage", () => deps.lock.tryAcquire(target, { abortSignal }));
      if (lease === undefined) return { ...draft, outcome: "locked", error: "another instance holds this secret's rotation lock" };
      const held = lease;
      const signal = abortSignal === undefined ? held.signal : AbortSignal.any([abortSignal, held.signal]);

      // Re-read under the lock: the holder we just waited out may have rotated already.
      const current = await readCurrent(client, target.secretName, "re-read the current version under the lock", signal);
      sensitive.push(current.value);
      if (current.version !== first.version) return { ...draft, outcome: "stale-trigger", error: `version ${current.version} became current while the lock was taken` };
      const evaluation = evaluate(current, trigger, mode);
      if ("skip" in evaluation) return { ...draft, ...evaluation.skip };
      const { policy, generator } = evaluation;
      draft.generator = policy.generator;
      const context: GeneratorContext = { target, keyPairSources, createBlobClient, abortSignal: signal };

      const generated = await step("generate", "generator", () => generator.generate(policy.options, current, context));
      sensitive.push(generated.value);
      draft.description = generated.description;
      const rotatedAt = now();
      const tags = promotedTags(current.rawTags, generated.tags ?? {}, rotatedAt, current.version);

      const pendingName = `${target.secretName}${PENDING_SUFFIX}`;
      const pendingTags = (state: PendingState): Record<string, string> => ({
        [PENDING_TAGS.pendingFor]: target.secretName,
        [PENDING_TAGS.pendingFrom]: current.version,
        [PENDING_TAGS.state]: state,
        [PENDING_TAGS.attempt]: attemptId,
      });
      const pending = await step(`write ${pendingName}`, "Key Vault", () =>
        client.setSecret(pendingName, generated.value, { tags: pendingTags("pending"), contentType: current.contentType, abortSignal: signal }),
      );
      const pendingVersion = pending.properties.version ?? "";
      let settled = false;
      const settlePending = async (state: PendingState, extra: Record<string, string> = {}): Promise<void> => {
        settled = true;
        try {
          // Disabled, so the staged copy is neither served nor listed; the tags say what became of it.
          await client.updateSecretProperties(pendingName, pendingVersion, { enabled: false, tags: { ...pendingTags(state), ...extra }, abortSignal });
        } catch (e) {
          logger.warn(`rotation ${describeTarget(target)}: could not mark ${pendingName}/${pendingVersion} ${state}: ${redact(classify(e, false).message, sensitive)}`);
        }
      };

      try {
        const staged = await step(`read back ${pendingName}`, "Key Vault", () => client.getSecret(pendingName, { version: pendingVersion, abortSignal: signal }));
        const stagedValue = staged.value ?? "";
        if (stagedValue !== generated.value) throw new RotationFailure("pending-mismatch", `${pendingName}/${pendingVersion} does not read back as written; nothing was promoted`);
        const verdict = await step("check", "generator", () => generator.check({ ...generated, value: stagedValue }, policy.options, context));
        if (!verdict.ok) {
          await settlePending("check-failed");
          return { ...draft, outcome: "check-failed", errorCode: "check", error: verdict.reason };
        }

        // The last moment to back out: after this, the lease has a full duration left for one write.
        await step("confirm the rotation lock", "storage", () => held.confirm({ abortSignal }));
        const latest = await readCurrent(client, target.secretName, "re-read before promotion", abortSignal);
        if (latest.version !== current.version) {
          throw new RotationFailure("concurrent-change", `version ${latest.version} of ${target.secretName} was written during the rotation; nothing was promoted`);
        }
        const expiresOn = policy.validityInMs !== undefined ? new Date(rotatedAt.getTime() + policy.validityInMs) : undefined;
        // Only the caller's signal from here: aborting a promotion half-way would leave its fate unknown.
        const result = await step(`promote to ${target.secretName}`, "Key Vault", () =>
          client.setSecret(target.secretName, stagedValue, { tags, contentType: current.contentType, ...(expiresOn === undefined ? {} : { expiresOn }), abortSignal }),
        );
        draft.newVersion = result.properties.version;
        await settlePending("promoted", { [PENDING_TAGS.promotedAs]: result.properties.version ?? "" });
        return { ...draft, outcome: "rotated", nextDueAt: nextRotationAt(policy, rotatedAt) };
      } finally {
        // Reached unsettled only when a step threw before promotion.
        if (!settled) await settlePending("abandoned");
      }
    } catch (e) {
      const { code, message } = classify(e, lease?.signal.aborted === true);
      return { ...draft, outcome: "error", errorCode: code, error: message };
    } finally {
      await lease?.release();
    }
  }

  async function attempt(target: RotationTarget, triggerInput: RotationTriggerInput, mode: Mode, options: RotateOptions = {}): Promise<RotationResult> {
    const trigger = normalizeTrigger(triggerInput);
    const startedAt = now();
    const startedMs = Date.now();
    const attemptId = newAttemptId();
    const sensitive: string[] = [];
    const problem = rotationTargetProblem(target);
    if (problem !== undefined) {
      // Not an attempt on a secret, so no audit row (there is no valid partition to put it in).
      logger.warn(`rotation: invalid target: ${problem}`);
      return { outcome: "error", target, trigger: trigger.kind, attemptId, errorCode: "invalid-target", error: problem, audited: false, durationInMs: Date.now() - startedMs };
    }
    const draft = await run(target, trigger, mode, attemptId, sensitive, options.abortSignal);
    const error = draft.error === undefined ? undefined : redact(draft.error, sensitive);
    const description = draft.description === undefined ? undefined : redact(draft.description, sensitive);
    const result: RotationResult = {
      ...draft,
      ...(error === undefined ? {} : { error }),
      ...(description === undefined ? {} : { description }),
      target,
      trigger: trigger.kind,
      attemptId,
      audited: false,
      durationInMs: Date.now() - startedMs,
    };
    try {
      await deps.audit.record(
        {
          attemptId,
          target,
          trigger,
          outcome: result.outcome,
          oldVersion: result.oldVersion,
          newVersion: result.newVersion,
          generator: result.generator,
          description: result.description,
          errorCode: result.errorCode,
          error: result.error,
          time: startedAt,
          durationInMs: result.durationInMs,
        },
        { abortSignal: options.abortSignal },
      );
      result.audited = true;
    } catch (e) {
      logger.warn(`rotation ${describeTarget(target)}: audit row ${attemptId} not written: ${redact(describeError(e), sensitive)}`);
    }
    logResult(result);
    return result;
  }

  function logResult(r: RotationResult): void {
    const head = `rotation ${describeTarget(r.target)} [${r.trigger}] ${r.outcome}`;
    const versions = `${r.oldVersion !== undefined ? ` old=${r.oldVersion}` : ""}${r.newVersion !== undefined ? ` new=${r.newVersion}` : ""}${r.description !== undefined ? ` (${r.description})` : ""}`;
    const why = r.error !== undefined ? `: ${r.error}` : "";
    if (r.outcome === "rotated" || r.outcome === "locked" || r.outcome === "stale-trigger") logger.info(`${head}${versions}${why}`);
    else if (r.outcome === "check-failed") logger.warn(`${head}${versions}${why}`);
    else if (r.outcome === "error") logger.error(`${head}${versions} (${r.errorCode ?? "unknown"})${why}`);
    // not-due and no-policy are the normal answer on every timer tick: audited, not logged.
  }

  return {
    rotateIfDue: (target, trigger, options) => attempt(target, trigger, "due", options),
    rotateNow: (target, trigger, options) => attempt(target, trigger, "now", options),
    rotateIfNearExpiry: (target, trigger, options) => attempt(target, trigger, "near-expiry", options),
    async rotateDueSecrets(vaultUrl, trigger, options) {
      const client = deps.getSecretClient(vaultUrl);
      const candidates: string[] = [];
      for await (const properties of client.listPropertiesOfSecrets({ abortSignal: options?.abortSignal })) {
        if (properties.enabled === false || properties.name.toLowerCase().endsWith(PENDING_SUFFIX)) continue;
        let policy: RotationPolicy | undefined;
        try {
          policy = parseRotationPolicy(properties.tags, generators);
        } catch {
          // Invalid policies go through rotateIfDue so the error is audited and logged.
          candidates.push(properties.name);
          continue;
        }
        if (policy === undefined) continue;
        if (properties.createdOn === undefined || isRotationDue(policy, properties.createdOn, now())) candidates.push(properties.name);
      }
      const results: RotationResult[] = [];
      for (const secretName of candidates) results.push(await attempt({ vaultUrl, secretName }, trigger, "due", options));
      return results;
    },
  };
}

function describeTarget(target: RotationTarget): string {
  try {
    return `${new URL(target.vaultUrl).host}/${target.secretName}`;
  } catch {
    return target.secretName;
  }
}
