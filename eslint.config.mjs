import js from "@eslint/js";
import tseslint from "typescript-eslint";

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
  {
    // Adapters stay thin: no SDK imports and no environment reads in src/functions.
    files: ["src/functions/**/*.ts"],
    rules: {
      "no-restricted-imports": ["error", { patterns: ["@azure/identity", "@azure/keyvault-*", "@azure/storage-*", "@azure/data-tables"] }],
      "no-restricted-properties": ["error", { object: "process", property: "env" }],
    },
  },
);
