import js from "@eslint/js";
import tseslint from "typescript-eslint";

/**
 * The app's layers, top to bottom: a module may import its own layer and any layer below it, never one
 * above (docs/architecture.md draws the same picture). `config`, `observability` and `shared` are the
 * base every layer may use; nothing in them imports the app.
 */
const LAYERS = [
  { name: "functions", files: ["src/index.ts", "src/functions/**/*.ts"] },
  { name: "app", files: ["src/app.ts"] },
  { name: "api", files: ["src/api/**/*.ts"] },
  { name: "runtime", files: ["src/runtime/**/*.ts"] },
  { name: "rotation", files: ["src/rotation/**/*.ts"] },
  { name: "components", files: ["src/components/**/*.ts"] },
  { name: "azure", files: ["src/azure/**/*.ts"] },
  { name: "base", files: ["src/config/**/*.ts", "src/observability/**/*.ts", "src/shared/**/*.ts"] },
];
/** The top-level names under src/ each layer owns (`index` and `app` are files). */
const OWNED = { functions: ["functions", "index"], app: ["app"], api: ["api"], runtime: ["runtime"], rotation: ["rotation"], components: ["components"], azure: ["azure"], base: ["config", "observability", "shared"] };
/** SDK packages only src/azure builds clients from (components and rotation may use their types and clients). */
const SDKS = ["@azure/identity", "@azure/keyvault-*", "@azure/storage-*", "@azure/data-tables", "@azure/arm-*"];

const layerRules = LAYERS.map((layer, index) => {
  const above = LAYERS.slice(0, index).flatMap((l) => OWNED[l.name]);
  const patterns = [];
  if (above.length > 0) {
    patterns.push({
      // A relative import that climbs to src/ and then enters a folder (or file) of a higher layer.
      regex: `^(\\.\\./)+(${above.join("|")})(/|$)`,
      message: `layer "${layer.name}" must not import from a layer above it (${above.join(", ")}); move the shared type down instead`,
    });
  }
  if (["functions", "app", "api", "runtime", "base"].includes(layer.name)) {
    patterns.push({ group: SDKS, message: `layer "${layer.name}" reaches Azure only through src/azure and the components` });
  }
  return { files: layer.files, rules: { "no-restricted-imports": patterns.length === 0 ? "off" : ["error", { patterns }] } };
});

export default tseslint.config(
  { ignores: ["dist/**", "packages/*/dist/**", "node_modules/**", ".vaultstate/**"] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    rules: {
      "@typescript-eslint/no-explicit-any": "error",
      eqeqeq: ["error", "always"],
      "no-restricted-imports": "off",
    },
  },
  ...layerRules,
  {
    // Settings are read in one module; everything else receives them.
    files: ["src/**/*.ts"],
    ignores: ["src/config/settings.ts"],
    rules: { "no-restricted-properties": ["error", { object: "process", property: "env" }] },
  },
);
