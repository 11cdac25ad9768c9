/**
 * Commits that only move code must not change what `pulumi up` would do: for each one below,
 * `npm run plan` for the production stack (its text, and with --out the artifacts that land on the
 * server) is byte-identical to its parent's. Each side runs its own code from a git worktree, the
 * way `npm run plan -- --diff` evaluates another revision.
 */
import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { repoRoot } from "../lib/repo";
import { runCollect } from "../lib/process";

/** Refactors by name: the commit that claims to change no plan. */
const PLAN_NEUTRAL_COMMITS = {
  "infra/ laid out by concern": "5dec9ae",
};

const git = (...args: string[]) => spawnSync("git", args, { cwd: repoRoot, encoding: "utf8" });
const worktrees: string[] = [];
afterAll(() => {
  for (const dir of worktrees) {
    git("worktree", "remove", "--force", dir);
    fs.rmSync(dir, { recursive: true, force: true });
  }
  git("worktree", "prune");
});

/** The plan text and every artifact file of one revision, by relative path. */
async function planOf(rev: string): Promise<{ text: string; files: Record<string, string> }> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "plan-neutral-"));
  worktrees.push(dir);
  const added = git("worktree", "add", "--detach", "--quiet", dir, rev);
  if (added.status !== 0) throw new Error(`git worktree add ${rev}: ${added.stderr.trim()} (a shallow clone lacks history: git fetch --unshallow)`);
  fs.symlinkSync(path.join(repoRoot, "node_modules"), path.join(dir, "node_modules"));
  const out = path.join(dir, "plan-out");
  const r = await runCollect(process.execPath, ["infra/ts-run.cjs", "infra/plan/cli.ts", "--out", out], { cwd: dir });
  if (r.status !== 0) throw new Error(`npm run plan at ${rev} exited ${r.status}: ${r.stderr.trim()}`);
  const files: Record<string, string> = {};
  for (const f of fs.readdirSync(out, { recursive: true }) as string[]) {
    const p = path.join(out, f);
    if (fs.statSync(p).isFile()) files[f] = fs.readFileSync(p, "utf8");
  }
  // The text names the --out directory, which differs per worktree.
  return { text: r.stdout.split(out).join("<out>"), files };
}

describe("refactors that change no plan", () => {
  it.each(Object.entries(PLAN_NEUTRAL_COMMITS))("%s (%s) plans exactly what its parent planned", async (_name, commit) => {
    const after = await planOf(commit);
    const before = await planOf(`${commit}^`);
    expect(after.text).toContain("Resources to create:");
    expect(Object.keys(after.files)).toEqual(expect.arrayContaining(["env.masked"]));
    expect(after.text).toBe(before.text);
    expect(after.files).toEqual(before.files);
  });
});
