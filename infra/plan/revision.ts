/**
 * The plan snapshot of another git revision, computed by that revision's own code: it is checked
 * out into a temporary worktree (sharing this checkout's node_modules) and its `plan --json` runs
 * there, loaded by this checkout's ts-run (any revision's TypeScript transpiles the same way). The
 * worktree is removed afterwards, whatever happens.
 */
import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { repoRoot } from "../lib/repo";
import { runCollect } from "../lib/process";
import type { PlanSnapshot } from "./snapshot";

function git(args: string[]): string {
  const r = spawnSync("git", args, { cwd: repoRoot, encoding: "utf8" });
  if (r.status !== 0) throw new Error(`git ${args.join(" ")}: ${(r.stderr || r.stdout).trim()}`);
  return r.stdout.trim();
}

export async function snapshotOfRevision(
  ref: string,
  stack: string,
  configFile: string,
): Promise<{ snapshot: PlanSnapshot; label: string }> {
  const commit = git(["rev-parse", "--verify", "--quiet", `${ref}^{commit}`]);
  const label = `${ref} (${commit.slice(0, 8)})`;
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "chatwoot-plan-"));
  git(["worktree", "add", "--detach", "--quiet", dir, commit]);
  try {
    const modules = path.join(dir, "node_modules");
    if (!fs.existsSync(modules)) fs.symlinkSync(path.join(repoRoot, "node_modules"), modules);
    if (!fs.existsSync(path.join(dir, configFile))) throw new Error(`${label} has no ${configFile}`);
    const tsRun = path.join(repoRoot, "infra/ts-run.cjs");
    const r = await runCollect(process.execPath, [tsRun, "infra/plan/cli.ts", "--json", "--stack", stack, "--config", configFile], {
      cwd: dir,
    });
    if (r.status === 1) throw new Error(`${label}: ${r.stderr.trim()}`);
    if (r.status !== 0) {
      const old = /unknown argument --json/.test(r.stderr);
      throw new Error(old ? `${label} predates plan --json and cannot be compared` : `${label}: ${r.stderr.trim()}`);
    }
    return { snapshot: JSON.parse(r.stdout) as PlanSnapshot, label };
  } finally {
    spawnSync("git", ["worktree", "remove", "--force", dir], { cwd: repoRoot });
    fs.rmSync(dir, { recursive: true, force: true });
    spawnSync("git", ["worktree", "prune"], { cwd: repoRoot });
  }
}
