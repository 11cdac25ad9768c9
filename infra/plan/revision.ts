/**
 * The plan snapshot of another git revision, computed by that revision's own code: it is checked
 * out into a temporary worktree (sharing this checkout's node_modules) and its `plan --json` runs
 * there, loaded by this checkout's ts-run (any revision's TypeScript transpiles the same way). The
 * worktree is removed afterwards, whatever happens.
 *
 * The result is kept in node_modules/.cache/chatwoot-plan, keyed by everything it is computed
 * from: the commit (whose tree never changes), the stack and its file, and what this checkout
 * lends the revision (the installed packages as npm recorded them, ts-run, Node's version). A
 * second `--diff` against the same base, the usual case while a change is being worked on, then
 * evaluates only the working tree. Without npm's record of node_modules nothing is kept. The
 * snapshot holds no secret (it is what `plan --json` prints).
 */
import { spawnSync } from "node:child_process";
import { createHash } from "node:crypto";
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

const CACHE_DIR = path.join(repoRoot, "node_modules", ".cache", "chatwoot-plan");

/** The cache entry's file for this base, or undefined when what node_modules holds is unknown. */
function cacheFile(commit: string, stack: string, configFile: string): string | undefined {
  const lend = [path.join(repoRoot, "node_modules", ".package-lock.json"), path.join(repoRoot, "infra", "ts-run.cjs")];
  const hash = createHash("sha256").update(JSON.stringify([commit, stack, configFile, process.version]));
  for (const file of lend) {
    try {
      hash.update("\0").update(fs.readFileSync(file));
    } catch {
      return undefined;
    }
  }
  return path.join(CACHE_DIR, `${hash.digest("hex")}.json`);
}

function cached(file: string | undefined): PlanSnapshot | undefined {
  if (!file) return undefined;
  try {
    return JSON.parse(fs.readFileSync(file, "utf8")) as PlanSnapshot;
  } catch {
    return undefined; // none yet, or unreadable: computed again
  }
}

function keep(file: string | undefined, text: string): void {
  if (!file) return;
  try {
    // Through a temporary name and a rename: a concurrent run never reads half an entry.
    fs.mkdirSync(CACHE_DIR, { recursive: true });
    const tmp = `${file}.${process.pid}.tmp`;
    fs.writeFileSync(tmp, text);
    fs.renameSync(tmp, file);
  } catch {
    // A read-only checkout still plans, only without the cache.
  }
}

export async function snapshotOfRevision(
  ref: string,
  stack: string,
  configFile: string,
): Promise<{ snapshot: PlanSnapshot; label: string }> {
  const commit = git(["rev-parse", "--verify", "--quiet", `${ref}^{commit}`]);
  const label = `${ref} (${commit.slice(0, 8)})`;
  const entry = cacheFile(commit, stack, configFile);
  const known = cached(entry);
  if (known) return { snapshot: known, label };
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
    const snapshot = JSON.parse(r.stdout) as PlanSnapshot;
    keep(entry, r.stdout);
    return { snapshot, label };
  } finally {
    spawnSync("git", ["worktree", "remove", "--force", dir], { cwd: repoRoot });
    fs.rmSync(dir, { recursive: true, force: true });
    spawnSync("git", ["worktree", "prune"], { cwd: repoRoot });
  }
}
