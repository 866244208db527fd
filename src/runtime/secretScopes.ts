/**
 * @module Secret scoping: Dapr's `spec.secrets.scopes` policy (`pkg/config/configuration.go`).
 */
import type { ConfigurationDefinition, SecretScope } from "./componentFiles";

/**
 * Dapr's `SecretsScope.IsSecretAllowed`, exactly: a non-empty `allowedSecrets` list decides alone
 * (so a key in both lists is allowed), then `deniedSecrets`, then `defaultAccess`. Matches are exact
 * and case-sensitive. A store with no scope entry allows everything.
 */
export function isSecretAllowed(scope: SecretScope | undefined, key: string): boolean {
  if (scope === undefined) return true;
  if (scope.allowedSecrets.length > 0) return scope.allowedSecrets.includes(key);
  if (scope.deniedSecrets.includes(key)) return false;
  return scope.defaultAccess === "allow";
}

/**
 * The Configuration that applies to an app-id: the one that lists it in `scopes`, else the one with
 * no `scopes`, else none.
 */
export function configurationFor(appId: string, configurations: readonly ConfigurationDefinition[]): ConfigurationDefinition | undefined {
  return configurations.find((c) => c.scopes.includes(appId)) ?? configurations.find((c) => c.scopes.length === 0);
}

/** The scope entry for one store in a configuration, if any. */
export function secretScopeFor(configuration: ConfigurationDefinition | undefined, storeName: string): SecretScope | undefined {
  // A loop, not `find` with a closure: every secret read asks.
  if (configuration === undefined) return undefined;
  for (const scope of configuration.secretScopes) if (scope.storeName === storeName) return scope;
  return undefined;
}
