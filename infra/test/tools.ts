/**
 * Real tools for artifact checks. A check whose tool is missing is skipped locally with a printed
 * reason, and fails under CI=true: CI must never pass by skipping.
 */
import { execFileSync, spawnSync, type SpawnSyncReturns } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { describe, it } from "vitest";
import { runCollect } from "../process";

export function hasTool(name: string): boolean {
  return spawnSync("sh", ["-c", `command -v ${name}`], { encoding: "utf8" }).status === 0;
}

/** describe() that needs the given tools on PATH. */
export function describeWithTools(title: string, tools: string[], body: () => void): void {
  const missing = tools.filter((t) => !hasTool(t));
  if (missing.length === 0) {
    describe(title, body);
    return;
  }
  const reason = `${missing.join(", ")} not installed (.ci/run installs it)`;
  if (process.env.CI === "true") {
    describe(title, () => {
      it(`requires ${missing.join(", ")}`, () => {
        throw new Error(`${reason}; under CI=true a missing tool is a failure`);
      });
    });
  } else {
    console.warn(`SKIPPED "${title}": ${reason}`);
    describe.skip(title, body);
  }
}

export function run(cmd: string, args: string[], opts: { input?: string; env?: NodeJS.ProcessEnv; cwd?: string } = {}): SpawnSyncReturns<string> {
  return spawnSync(cmd, args, { encoding: "utf8", input: opts.input, env: opts.env ?? process.env, cwd: opts.cwd, timeout: 120_000 });
}

export function tempDir(prefix: string): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), `${prefix}-`));
}

export function which(name: string): string {
  return execFileSync("sh", ["-c", `command -v ${name}`], { encoding: "utf8" }).trim();
}

/** Like run(), but without blocking the event loop, for commands that talk to in-process servers. */
export const runAsync = runCollect;
