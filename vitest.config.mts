import { defineConfig } from "vitest/config";

export default defineConfig({
  test: {
    include: ["test/**/*.test.ts", "packages/*/test/**/*.test.ts"],
    globalSetup: ["test/setup/global.ts"],
    // End-to-end suites start child processes (host, Azurite, emulator); give them room on 2 cores.
    testTimeout: 30_000,
    hookTimeout: 120_000,
    pool: "forks",
  },
});
