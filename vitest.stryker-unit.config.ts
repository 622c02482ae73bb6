// The unit suite alone: what Stryker runs against mutants of src/domain (pure code, fast).
import { defineConfig } from "vitest/config";
import base from "./vitest.config.ts";

export default defineConfig({ ...base, test: { ...base.test, include: ["test/unit/**/*.test.ts"] } });
