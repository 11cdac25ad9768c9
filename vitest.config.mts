import { availableParallelism } from "node:os";
import { defineConfig } from "vitest/config";

export default defineConfig({
  test: {
    include: ["infra/**/*.test.ts"],
    // python3 resolved once, past any version manager's shim (infra/test/global-setup.ts).
    globalSetup: ["infra/test/global-setup.ts"],
    // Timeouts catch hangs only, never slowness: a test that starts real servers takes seconds on
    // an idle machine and minutes under a load of 20, and must pass the same way on both.
    testTimeout: 900_000,
    hookTimeout: 1_800_000,
    // Tests that start servers pick free loopback ports and work in their own temporary
    // directories, so files run side by side: one more than there are cores, because a file spends
    // part of its time waiting on the servers and tools it starts (measured on 2 cores: 357 to 408 s
    // with 3 files at once, 368 s with 4, 385 to 430 s with 2: a small gain, within the noise at
    // its upper end; vitest's default keeps one core free; again later, on a lighter suite: 238 to
    // 248 s with 3 files at once, 259 s with 4; and on a lighter one still: 214 to 230 s with 3,
    // 233 s with 4).
    pool: "forks",
    maxWorkers: availableParallelism() + 1,
    // Test files reuse their worker process: a fresh one per file cost half a second and a fresh
    // module graph each (64 files). Nothing a file leaves behind is read by another: every
    // evaluation sets its own Pulumi mocks and config, servers and directories are per file, and
    // no test changes process.env.
    isolate: false,
    reporters: ["default"],
  },
});
