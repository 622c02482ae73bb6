// The tests Stryker runs against each mutant of src/domain and src/app (npm run mutation): the
// unit and integration suites. The end-to-end and fault suites start whole processes and are
// too slow to run per mutant; what they guard is covered here at the use-case level.
import { defineConfig } from "vitest/config";
import base from "./vitest.config.ts";

export default defineConfig({
  ...base,
  test: {
    ...base.test,
    include: ["test/unit/**/*.test.ts", "test/integration/**/*.test.ts"],
    exclude: ["test/integration/intake-limits.test.ts", "test/integration/migrations.test.ts"],
  },
});
