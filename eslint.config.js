import js from "@eslint/js";
import tseslint from "typescript-eslint";

export default tseslint.config(
  { ignores: ["node_modules/", "src/generated/", "coverage/", "reports/", ".stryker-tmp/", ".dependency-cruiser.cjs"] },
  js.configs.recommended,
  ...tseslint.configs.recommendedTypeChecked,
  {
    languageOptions: {
      parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname },
    },
    rules: {
      "@typescript-eslint/no-unused-vars": ["error", { argsIgnorePattern: "^_", varsIgnorePattern: "^_" }],
      "@typescript-eslint/consistent-type-imports": "error",
      "@typescript-eslint/no-floating-promises": "error",
      "no-restricted-syntax": ["error", { selector: "TSEnumDeclaration", message: "Use a string-literal union instead of an enum." }],
      "no-restricted-imports": [
        "error",
        {
          paths: [
            { name: "child_process", message: "Only src/adapters/helm/exec.ts spawns processes." },
            { name: "node:child_process", message: "Only src/adapters/helm/exec.ts spawns processes." },
          ],
        },
      ],
    },
  },
  {
    files: ["src/adapters/helm/exec.ts", "src/adapters/helm/watchdog.ts", "test/**", "bench/**", "scripts/**"],
    rules: { "no-restricted-imports": "off" },
  },
  {
    files: ["**/*.js", "**/*.mjs"],
    ...tseslint.configs.disableTypeChecked,
    languageOptions: {
      ...tseslint.configs.disableTypeChecked.languageOptions,
      globals: { process: "readonly", console: "readonly", URL: "readonly", setInterval: "readonly", setTimeout: "readonly", clearTimeout: "readonly" },
    },
  },
  {
    // The dashboard's script runs in browsers.
    files: ["src/entrypoints/web/assets/*.js"],
    languageOptions: {
      sourceType: "script",
      globals: Object.fromEntries(
        ["window", "document", "EventSource", "HTMLFormElement", "fetch", "setTimeout", "clearTimeout"].map((name) => [name, "readonly"]),
      ),
    },
  },
  {
    files: ["test/**", "bench/**", "scripts/generate-api-docs.ts"],
    rules: {
      "@typescript-eslint/no-explicit-any": "off",
      "@typescript-eslint/no-unsafe-assignment": "off",
      "@typescript-eslint/no-unsafe-member-access": "off",
      "@typescript-eslint/no-unsafe-argument": "off",
      "@typescript-eslint/no-unsafe-call": "off",
      "@typescript-eslint/no-unsafe-return": "off",
      "@typescript-eslint/no-non-null-assertion": "off",
      "@typescript-eslint/require-await": "off",
    },
  },
);
