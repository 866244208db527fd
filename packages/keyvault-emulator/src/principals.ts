/**
 * @module keyvault-emulator/principals: identities the emulator knows and their role assignments.
 *
 * A "systemAssigned" principal is what the identity endpoint returns without a selector; "userAssigned" ones
 * are picked by `client_id`, `principal_id`/`object_id` or `mi_res_id`; any other kind only gets tokens
 * through the admin API (Entra ID callers in later tests).
 */
import { createHash } from "node:crypto";
import { isRecord } from "./model";
import { type BuiltInRole, parseRole, type RoleAssignment } from "./rbac";

/** Kinds of principal. */
export type PrincipalKind = "systemAssigned" | "userAssigned" | "servicePrincipal" | "user";

/** A principal. */
export interface Principal {
  /** Friendly name, unique (case-insensitive); used by the seed file and the admin API. */
  name: string;
  kind: PrincipalKind;
  /** Object (principal) id: the token's `oid`, what role assignments refer to. */
  objectId: string;
  /** Application (client) id: the token's `appid`/`azp`; `client_id` selects a user-assigned identity. */
  clientId: string;
  /** ARM resource id of a user-assigned identity (`mi_res_id`). */
  resourceId?: string;
}

/** How principals are written in options and seed files. Ids default to stable GUIDs derived from the name. */
export interface PrincipalInput {
  name: string;
  /** Default "userAssigned". */
  type?: PrincipalKind;
  clientId?: string;
  /** Alias: principalId. */
  objectId?: string;
  principalId?: string;
  resourceId?: string;
  /** Vault name (or "*") → role name(s) or role definition id(s). */
  roles?: Record<string, string | string[]>;
}

const PRINCIPAL_KINDS: readonly PrincipalKind[] = ["systemAssigned", "userAssigned", "servicePrincipal", "user"];

/**
 * A stable GUID derived from a string, so seed files need not spell out ids.
 * @param seed - any text
 */
export function guidFromName(seed: string): string {
  const h = createHash("sha256").update(`vaultstate-kv-emulator/${seed}`).digest("hex");
  const variant = ((parseInt(h[16] ?? "0", 16) & 0x3) | 0x8).toString(16);
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-4${h.slice(13, 16)}-${variant}${h.slice(17, 20)}-${h.slice(20, 32)}`;
}

/** Scope used for ARM-style ids in messages and `mi_res_id`. */
export interface AzureScope {
  subscriptionId: string;
  resourceGroup: string;
}

/**
 * Validates a principal description from options, a seed file or the admin API.
 * @param input - untrusted value
 * @throws TypeError / RangeError naming the bad field
 */
export function parsePrincipalInput(input: unknown): PrincipalInput {
  if (!isRecord(input)) throw new TypeError("a principal must be an object");
  const { name, type, clientId, objectId, principalId, resourceId, roles } = input;
  if (typeof name !== "string" || name.length === 0) throw new TypeError("principal.name must be a non-empty string");
  if (type !== undefined && !PRINCIPAL_KINDS.includes(type as PrincipalKind)) {
    throw new RangeError(`principal '${name}': type must be one of ${PRINCIPAL_KINDS.join(", ")}`);
  }
  for (const [field, v] of Object.entries({ clientId, objectId, principalId, resourceId })) {
    if (v !== undefined && typeof v !== "string") throw new TypeError(`principal '${name}': ${field} must be a string`);
  }
  let parsedRoles: Record<string, string[]> | undefined;
  if (roles !== undefined) {
    if (!isRecord(roles)) throw new TypeError(`principal '${name}': roles must map vault names to role names`);
    parsedRoles = {};
    for (const [vault, r] of Object.entries(roles)) {
      const list = typeof r === "string" ? [r] : r;
      if (!Array.isArray(list) || !list.every((x): x is string => typeof x === "string")) {
        throw new TypeError(`principal '${name}': roles.${vault} must be a role name or a list of them`);
      }
      list.forEach(parseRole);
      parsedRoles[vault] = list;
    }
  }
  return {
    name,
    ...(type === undefined ? {} : { type: type as PrincipalKind }),
    ...(typeof clientId === "string" ? { clientId } : {}),
    ...(typeof objectId === "string" ? { objectId } : {}),
    ...(typeof principalId === "string" ? { principalId } : {}),
    ...(typeof resourceId === "string" ? { resourceId } : {}),
    ...(parsedRoles === undefined ? {} : { roles: parsedRoles }),
  };
}

/** The identities and role assignments of one emulator. */
export class PrincipalDirectory {
  private readonly principals: Principal[] = [];
  private assignments: RoleAssignment[] = [];

  /** @param scope - subscription and resource group for default `mi_res_id`s */
  constructor(private readonly scope: AzureScope) {}

  /**
   * Adds (or replaces, by name) a principal and its roles.
   * @param input - the description
   * @throws RangeError for a second system-assigned identity or duplicate ids
   */
  add(input: PrincipalInput): Principal {
    const kind = input.type ?? "userAssigned";
    const objectId = (input.objectId ?? input.principalId ?? guidFromName(`object/${input.name}`)).toLowerCase();
    const clientId = (input.clientId ?? guidFromName(`client/${input.name}`)).toLowerCase();
    const principal: Principal = {
      name: input.name,
      kind,
      objectId,
      clientId,
      ...(kind === "userAssigned"
        ? {
            resourceId:
              input.resourceId ??
              `/subscriptions/${this.scope.subscriptionId}/resourcegroups/${this.scope.resourceGroup}` +
                `/providers/Microsoft.ManagedIdentity/userAssignedIdentities/${input.name}`,
          }
        : {}),
    };
    const existing = this.findByRef(input.name);
    if (existing) this.remove(existing);
    if (kind === "systemAssigned" && this.systemAssigned()) throw new RangeError("only one systemAssigned principal is allowed");
    if (this.principals.some((p) => p.objectId === objectId || p.clientId === clientId)) {
      throw new RangeError(`principal '${input.name}': objectId or clientId already used by another principal`);
    }
    this.principals.push(principal);
    for (const [vault, roles] of Object.entries(input.roles ?? {})) {
      for (const role of typeof roles === "string" ? [roles] : roles) this.assign(principal, vault, parseRole(role));
    }
    return principal;
  }

  /** All principals. */
  list(): readonly Principal[] {
    return this.principals;
  }

  /** All role assignments. */
  roleAssignments(): readonly RoleAssignment[] {
    return this.assignments;
  }

  /**
   * Finds a principal by name, object id or client id (case-insensitive).
   * @param ref - name or id
   */
  findByRef(ref: string): Principal | undefined {
    const r = ref.toLowerCase();
    return this.principals.find((p) => p.name.toLowerCase() === r || p.objectId === r || p.clientId === r);
  }

  /** Finds a principal by object id. */
  findByObjectId(objectId: string): Principal | undefined {
    const id = objectId.toLowerCase();
    return this.principals.find((p) => p.objectId === id);
  }

  /** The system-assigned identity, if configured. */
  systemAssigned(): Principal | undefined {
    return this.principals.find((p) => p.kind === "systemAssigned");
  }

  /**
   * Finds the user-assigned identity a managed identity request selects.
   * @param selector - exactly one of the query parameters App Service/IMDS accept
   */
  findUserAssigned(selector: { clientId?: string; objectId?: string; resourceId?: string }): Principal | undefined {
    const ua = this.principals.filter((p) => p.kind === "userAssigned");
    if (selector.clientId !== undefined) return ua.find((p) => p.clientId === selector.clientId?.toLowerCase());
    if (selector.objectId !== undefined) return ua.find((p) => p.objectId === selector.objectId?.toLowerCase());
    if (selector.resourceId !== undefined) return ua.find((p) => p.resourceId?.toLowerCase() === selector.resourceId?.toLowerCase());
    return undefined;
  }

  /**
   * Grants a role (idempotent).
   * @param principal - who
   * @param vault - vault name or "*"
   * @param role - what
   */
  assign(principal: Principal, vault: string, role: BuiltInRole): void {
    const exists = this.assignments.some(
      (a) => a.principalId === principal.objectId && a.vault.toLowerCase() === vault.toLowerCase() && a.role === role,
    );
    if (!exists) this.assignments.push({ principalId: principal.objectId, vault, role });
  }

  /**
   * Removes assignments of a principal, optionally only for one vault and/or role.
   * @returns how many were removed
   */
  revoke(principal: Principal, vault?: string, role?: BuiltInRole): number {
    const before = this.assignments.length;
    this.assignments = this.assignments.filter(
      (a) =>
        !(
          a.principalId === principal.objectId &&
          (vault === undefined || a.vault.toLowerCase() === vault.toLowerCase()) &&
          (role === undefined || a.role === role)
        ),
    );
    return before - this.assignments.length;
  }

  private remove(principal: Principal): void {
    this.revoke(principal);
    this.principals.splice(this.principals.indexOf(principal), 1);
  }
}
