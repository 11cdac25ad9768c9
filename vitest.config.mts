import { defineConfig } from "vitest/config";

export default defineConfig({
  test: {
    include: ["infra/**/*.test.ts"],
    // Timeouts catch hangs only, never slowness: a test that starts real servers takes seconds on
    // an idle machine and minutes under a load of 20, and must pass the same way on both.
    testTimeout: 900_000,
    hookTimeout: 1_800_000,
    // Tests that start servers pick free loopback ports and work in their own temporary
    // directories, so files run side by side: one per core (vitest's default keeps one core free,
    // which on a 2-core machine runs every file in turn).
    pool: "forks",
    maxWorkers: "100%",
    reporters: ["default"],
  },
});
