import { defineConfig } from "vitest/config";

export default defineConfig({
  test: {
    include: ["contracts/**/*.test.ts", "test/**/*.test.ts"],
    globalSetup: ["test/support/global-setup.ts"],
    // PGlite boots a WASM Postgres per test file; give slow CI machines room.
    testTimeout: 30_000,
    hookTimeout: 60_000,
    pool: "forks",
  },
});
