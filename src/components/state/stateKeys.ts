/**
 * @module State key prefixing (daprd `pkg/components/state/state_config.go`): `keyPrefix` strategies
 * and the `||` separator.
 */

/** The separator between prefix and key; keys themselves may not contain it. */
export const KEY_SEPARATOR = "||";

/** A state store's `keyPrefix` strategy: `appid` (default), `name`, `namespace`, `none`, or a literal. */
export type KeyPrefixStrategy = { kind: "appid" | "name" | "namespace" | "none" } | { kind: "custom"; prefix: string };

/**
 * Parses the component's `keyPrefix` value (case-insensitive keywords; anything else is a literal
 * prefix, lower-cased as daprd does).
 * @throws Error when a custom prefix contains `||`
 */
export function parseKeyPrefix(value: string | undefined): KeyPrefixStrategy {
  const v = (value ?? "").trim().toLowerCase();
  if (v === "" || v === "appid") return { kind: "appid" };
  if (v === "name" || v === "namespace" || v === "none") return { kind: v };
  if (v.includes(KEY_SEPARATOR)) throw new Error(`keyPrefix '${v}' can't contain '${KEY_SEPARATOR}'`);
  return { kind: "custom", prefix: v };
}

/** Whose key it is: the caller's app-id, the store's name, the namespace. */
export interface KeyContext {
  appId: string;
  storeName: string;
  namespace: string | undefined;
}

/** The key the store sees for a client key (pure). */
export function prefixKey(strategy: KeyPrefixStrategy, ctx: KeyContext, key: string): string {
  switch (strategy.kind) {
    case "none":
      return key;
    case "name":
      return `${ctx.storeName}${KEY_SEPARATOR}${key}`;
    case "custom":
      return `${strategy.prefix}${KEY_SEPARATOR}${key}`;
    case "namespace":
      if (ctx.appId === "") return key;
      return ctx.namespace !== undefined && ctx.namespace !== ""
        ? `${ctx.namespace}.${ctx.appId}${KEY_SEPARATOR}${key}`
        : `${ctx.appId}${KEY_SEPARATOR}${key}`;
    case "appid":
      return ctx.appId === "" ? key : `${ctx.appId}${KEY_SEPARATOR}${key}`;
  }
}

/** Whether a client key is illegal (contains the separator). */
export function isIllegalKey(key: string): boolean {
  return key.includes(KEY_SEPARATOR);
}
