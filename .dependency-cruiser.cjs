// The layers of docs/contributors/architecture.md, enforced (npm run lint:layers, part of npm test):
// imports flow downwards only, the domain is pure, use cases talk to ports, only adapters touch
// the outside, and only the helm adapter spawns processes.
/** @type {import('dependency-cruiser').IConfiguration} */
module.exports = {
  forbidden: [
    {
      name: "domain-is-pure",
      comment: "src/domain imports nothing of ours outside the domain, and no package (Node's crypto at most).",
      severity: "error",
      from: { path: "^src/domain/" },
      to: { pathNot: ["^src/domain/", "^node:crypto$", "^crypto$"] },
    },
    {
      name: "ports-are-interfaces",
      comment: "src/ports describes what the use cases need, in domain terms only.",
      severity: "error",
      from: { path: "^src/ports/" },
      to: { pathNot: ["^src/ports/", "^src/domain/"] },
    },
    {
      name: "app-talks-to-ports",
      comment: "Use cases depend on the domain and the ports, never on an adapter, an entrypoint, config or main.",
      severity: "error",
      from: { path: "^src/app/" },
      to: { path: "^src/(adapters|entrypoints|config|main|generated)/" },
    },
    {
      name: "app-touches-nothing-outside",
      comment: "Use cases reach the outside world only through ports: no client libraries.",
      severity: "error",
      from: { path: "^src/app/" },
      to: { dependencyTypes: ["npm", "npm-dev", "npm-optional", "npm-peer", "npm-no-pkg", "npm-unknown"], pathNot: ["node_modules/zod/"] },
    },
    {
      name: "config-is-parsing",
      comment: "src/config parses env and the project config into domain types.",
      severity: "error",
      from: { path: "^src/config/" },
      to: { path: "^src/(app|adapters|entrypoints|main|ports)/" },
    },
    {
      name: "entrypoints-call-the-app",
      comment: "Entrypoints parse, authorize, call a use case and answer: they do not reach adapters or main.",
      severity: "error",
      from: { path: "^src/entrypoints/" },
      to: { path: "^src/(adapters|main|generated)/" },
    },
    {
      name: "adapters-implement-ports",
      comment: "Adapters implement ports; they never call use cases, entrypoints or main.",
      severity: "error",
      from: { path: "^src/adapters/" },
      to: { path: "^src/(app|entrypoints|main)/" },
    },
    {
      name: "only-the-helm-adapter-spawns",
      comment: "The one place that spawns processes (no shell ever sees user input).",
      severity: "error",
      from: { pathNot: "^src/adapters/helm/" },
      to: { path: "^(node:)?child_process$" },
    },
    {
      name: "cli-is-a-client",
      comment: "The octo CLI talks to the HTTP API only: no server code (it starts fast and loads no Prisma).",
      severity: "error",
      from: { path: "^src/cli/" },
      to: { pathNot: ["^src/cli/", "^node:", "node_modules/commander/"] },
    },
    {
      name: "only-main-wires",
      comment: "Composition roots are imported by nothing in src.",
      severity: "error",
      from: { path: "^src/", pathNot: "^src/main/" },
      to: { path: "^src/main/" },
    },
    {
      name: "no-circular",
      comment: "Generated Prisma client code excepted.",
      severity: "error",
      from: { path: "^src/", pathNot: "^src/generated/" },
      to: { circular: true },
    },
  ],
  options: {
    doNotFollow: { path: "node_modules" },
    includeOnly: ["^src/", "^node_modules/", "^node:", "^(child_process|crypto)$"],
    tsPreCompilationDeps: true,
    tsConfig: { fileName: "tsconfig.json" },
    enhancedResolveOptions: { exportsFields: ["exports"], conditionNames: ["import", "require", "node", "default", "types"], extensions: [".ts", ".js", ".mjs", ".cjs", ".json"] },
  },
};
