import { defineConfig } from "vitest/config";

// End-to-end tests: each starts the real Rust server (see e2e/harness.ts). One file at a time,
// generous timeouts, no timing assertions.
export default defineConfig({
  test: {
    include: ["e2e/**/*.test.ts"],
    environment: "node",
    fileParallelism: false,
    testTimeout: 120_000,
    hookTimeout: 120_000,
  },
});
