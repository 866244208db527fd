/**
 * @module keyvault-emulator/rbac: operations, built-in roles, permission checks and the 403 bodies.
 *
 * Two permission models, as a vault has one or the other:
 * - "rbac" (Azure RBAC, the default for new vaults): 403 `Forbidden` / innererror `ForbiddenByRbac` with the
 *   multi-line "Caller is not authorized to perform action on resource." message naming the data action;
 * - "accessPolicy" (vault access policies): 403 `Forbidden` / innererror `AccessDenied` with
 *   "... does not have secrets get permission on key vault ...".
 * Both messages follow bodies captured from the service (see the report for sources). Roles are granted the
 * same way in both models; in "accessPolicy" the role is mapped onto the equivalent secret permissions.
 */
import { KeyVaultError } from "./errors";

/** Every operation of the secrets API, named as in the REST spec (also the names used by faults and the request log). */
export const SECRET_OPERATIONS = [
  "setSecret",
  "getSecret",
  "updateSecret",
  "listSecrets",
  "listSecretVersions",
  "deleteSecret",
  "getDeletedSecret",
  "listDeletedSecrets",
  "recoverDeletedSecret",
  "purgeDeletedSecret",
  "backupSecret",
  "restoreSecret",
] as const;

/** A secrets API operation. */
export type SecretOperation = (typeof SECRET_OPERATIONS)[number];

/**
 * Type guard for {@link SecretOperation}.
 * @param v - anything
 */
export function isSecretOperation(v: unknown): v is SecretOperation {
  return typeof v === "string" && (SECRET_OPERATIONS as readonly string[]).includes(v);
}

/** Access-policy secret permissions. */
export type SecretPermission = "get" | "list" | "set" | "delete" | "recover" | "backup" | "restore" | "purge";

const ACTION_PREFIX = "Microsoft.KeyVault/vaults/secrets/";

/** What each operation needs: the RBAC data action and the access-policy permission. */
export const OPERATION_REQUIREMENTS: Readonly<Record<SecretOperation, { dataAction: string; permission: SecretPermission }>> = {
  getSecret: { dataAction: `${ACTION_PREFIX}getSecret/action`, permission: "get" },
  setSecret: { dataAction: `${ACTION_PREFIX}setSecret/action`, permission: "set" },
  updateSecret: { dataAction: `${ACTION_PREFIX}update/action`, permission: "set" },
  listSecrets: { dataAction: `${ACTION_PREFIX}readMetadata/action`, permission: "list" },
  listSecretVersions: { dataAction: `${ACTION_PREFIX}readMetadata/action`, permission: "list" },
  deleteSecret: { dataAction: `${ACTION_PREFIX}delete`, permission: "delete" },
  getDeletedSecret: { dataAction: `${ACTION_PREFIX}readMetadata/action`, permission: "list" },
  listDeletedSecrets: { dataAction: `${ACTION_PREFIX}readMetadata/action`, permission: "list" },
  recoverDeletedSecret: { dataAction: `${ACTION_PREFIX}recover/action`, permission: "recover" },
  purgeDeletedSecret: { dataAction: `${ACTION_PREFIX}purge/action`, permission: "purge" },
  backupSecret: { dataAction: `${ACTION_PREFIX}backup/action`, permission: "backup" },
  restoreSecret: { dataAction: `${ACTION_PREFIX}restore/action`, permission: "restore" },
};

/** Built-in roles that concern secrets. */
export type BuiltInRole = "Key Vault Secrets User" | "Key Vault Secrets Officer" | "Key Vault Administrator" | "Key Vault Reader";

/** Role definitions: Azure's role ids and the data actions (wildcards allowed) relevant to secrets. */
export const ROLE_DEFINITIONS: Readonly<Record<BuiltInRole, { id: string; dataActions: readonly string[] }>> = {
  "Key Vault Secrets User": {
    id: "4633458b-17de-408a-b874-0445c86b69e6",
    dataActions: [`${ACTION_PREFIX}getSecret/action`, `${ACTION_PREFIX}readMetadata/action`],
  },
  "Key Vault Secrets Officer": { id: "b86a8fe4-44ce-4948-aee5-eccb2c155cd7", dataActions: [`${ACTION_PREFIX}*`] },
  "Key Vault Administrator": { id: "00482a5a-887f-4fb3-b363-3b7fe8e74483", dataActions: ["Microsoft.KeyVault/vaults/*"] },
  "Key Vault Reader": { id: "21090545-7ca7-4776-b22c-e363652d74d2", dataActions: [`${ACTION_PREFIX}readMetadata/action`] },
};

/**
 * Resolves a role given by name (case-insensitive) or role definition id.
 * @param input - e.g. "Key Vault Secrets User" or "4633458b-17de-408a-b874-0445c86b69e6"
 * @throws RangeError for an unknown role
 */
export function parseRole(input: string): BuiltInRole {
  const wanted = input.trim().toLowerCase();
  for (const [name, def] of Object.entries(ROLE_DEFINITIONS) as Array<[BuiltInRole, { id: string }]>) {
    if (name.toLowerCase() === wanted || def.id === wanted) return name;
  }
  throw new RangeError(`unknown role '${input}'; known roles: ${Object.keys(ROLE_DEFINITIONS).join(", ")}`);
}

function actionMatches(pattern: string, action: string): boolean {
  const p = pattern.toLowerCase();
  const a = action.toLowerCase();
  return p.endsWith("*") ? a.startsWith(p.slice(0, -1)) : p === a;
}

/**
 * Whether a role grants an operation.
 * @param role - built-in role
 * @param operation - secrets API operation
 */
export function roleAllows(role: BuiltInRole, operation: SecretOperation): boolean {
  const action = OPERATION_REQUIREMENTS[operation].dataAction;
  return ROLE_DEFINITIONS[role].dataActions.some((p) => actionMatches(p, action));
}

/** One role assignment: principal (object id) × vault (name or "*" for every vault) × role. */
export interface RoleAssignment {
  principalId: string;
  vault: string;
  role: BuiltInRole;
}

/**
 * Whether any assignment lets the principal run the operation on the vault.
 * @param assignments - all assignments
 * @param principalId - the caller's object id (`oid`)
 * @param vault - vault name
 * @param operation - secrets API operation
 */
export function isAuthorized(assignments: readonly RoleAssignment[], principalId: string, vault: string, operation: SecretOperation): boolean {
  const pid = principalId.toLowerCase();
  const v = vault.toLowerCase();
  return assignments.some(
    (a) => a.principalId.toLowerCase() === pid && (a.vault === "*" || a.vault.toLowerCase() === v) && roleAllows(a.role, operation),
  );
}

/** Permission model of a vault. */
export type PermissionModel = "rbac" | "accessPolicy";

/** Who called and where, for the 403 message. */
export interface ForbiddenContext {
  model: PermissionModel;
  operation: SecretOperation;
  caller: { appId: string; objectId: string; issuer: string };
  vault: string;
  location: string;
  subscriptionId: string;
  resourceGroup: string;
  secretName?: string;
}

/**
 * The 403 the service sends when the caller lacks the permission.
 * @param ctx - caller, vault and operation
 */
export function forbiddenError(ctx: ForbiddenContext): KeyVaultError {
  const { dataAction, permission } = OPERATION_REQUIREMENTS[ctx.operation];
  const caller = `appid=${ctx.caller.appId};oid=${ctx.caller.objectId};iss=${ctx.caller.issuer}`;
  const vaultLabel = `${ctx.vault.toLowerCase()};location=${ctx.location}`;
  if (ctx.model === "accessPolicy") {
    return new KeyVaultError(
      403,
      "Forbidden",
      `The user, group or application '${caller}' does not have secrets ${permission} permission on key vault '${vaultLabel}'. ` +
        "For help resolving this issue, please see https://go.microsoft.com/fwlink/?linkid=2125287",
      "AccessDenied",
    );
  }
  const resource =
    `/subscriptions/${ctx.subscriptionId}/resourcegroups/${ctx.resourceGroup.toLowerCase()}` +
    `/providers/microsoft.keyvault/vaults/${ctx.vault.toLowerCase()}` +
    (ctx.secretName === undefined ? "" : `/secrets/${ctx.secretName.toLowerCase()}`);
  const message = [
    "Caller is not authorized to perform action on resource.",
    "If role assignments, deny assignments or role definitions were changed recently, please observe propagation time.",
    `Caller: ${caller}`,
    `Action: '${dataAction}'`,
    `Resource: '${resource}'`,
    "Assignment: (not found)",
    "DenyAssignmentId: null",
    "DecisionReason: 'DeniedWithNoValidRBAC' ",
    `Vault: ${vaultLabel}`,
    "",
  ].join("\r\n");
  return new KeyVaultError(403, "Forbidden", message, "ForbiddenByRbac");
}
