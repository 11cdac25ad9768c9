/** Running real tools from tests and benchmarks (no test runner needed here). */
import { execFileSync, spawnSync, type SpawnSyncReturns } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { runCollect } from "../lib/process";

const tools = new Map<string, boolean>();
/** Whether a program is on PATH (asked once per test process). */
export function hasTool(name: string): boolean {
  let found = tools.get(name);
  if (found === undefined) tools.set(name, (found = spawnSync("sh", ["-c", `command -v ${name}`], { encoding: "utf8" }).status === 0));
  return found;
}

export function run(
  cmd: string,
  args: string[],
  opts: { input?: string; env?: NodeJS.ProcessEnv; cwd?: string; timeout?: number } = {},
): SpawnSyncReturns<string> {
  return spawnSync(cmd, args, {
    encoding: "utf8",
    input: opts.input,
    env: opts.env ?? process.env,
    cwd: opts.cwd,
    // Catches a hang only: far above any command's duration, on a loaded machine too.
    timeout: opts.timeout ?? 900_000,
    maxBuffer: 64 * 1024 * 1024,
  });
}

/** A directory for the whole test run, made and removed by vitest's global setup (infra/test/global-setup.ts). */
export const TEST_SCRATCH_ENV = "CHATWOOT_TEST_SCRATCH";

/**
 * Where a test process keeps what it makes once and copies from then on (a deployed host, an
 * initialized PostgreSQL cluster): the run's scratch directory, which the global setup removes at
 * the end (vitest ends its worker processes without their exit handlers); without one (the bench),
 * a temporary directory removed on exit.
 */
export function runScratchDir(): string {
  const scratch = process.env[TEST_SCRATCH_ENV];
  if (scratch) return scratch;
  const dir = tempDir("run-scratch");
  fs.chmodSync(dir, 0o755);
  process.env[TEST_SCRATCH_ENV] = dir;
  process.once("exit", () => fs.rmSync(dir, { recursive: true, force: true }));
  return dir;
}

export function tempDir(prefix: string): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), `${prefix}-`));
}

export function which(name: string): string {
  return execFileSync("sh", ["-c", `command -v ${name}`], { encoding: "utf8" }).trim();
}

/** Like run(), but without blocking the event loop, for commands that talk to in-process servers. */
export const runAsync = runCollect;
