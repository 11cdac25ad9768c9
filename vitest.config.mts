import { defineConfig } from "vitest/config";

export default defineConfig({
  test: {
    include: ["infra/**/*.test.ts"],
    testTimeout: 60_000,
    hookTimeout: 60_000,
    // Tests that start servers pick free loopback ports; files still run one per worker.
    pool: "forks",
    reporters: ["default"],
  },
});
