/**
 * Which bundle files each remote step runs, so that a changed file re-runs exactly the steps that
 * use it (after the upload, which ships them all). Deploy claims every file no other step owns:
 * an unknown new file re-runs too much rather than too little.
 */
import type { BundleFile } from "./bundle";
import { sha256 } from "../lib/hash";

/** Files only the bootstrap step runs (with compose.sh and lib.sh, which deploy also claims). */
const BOOTSTRAP_ONLY = ["scripts/bootstrap.sh", "scripts/bootstrap.rb"];
/** Files only verify runs (it also reads the backup job's health rule); the watchdog's timer runs
 * watchdog.py from the bundle, and verify runs it once. */
const VERIFY_ONLY = ["scripts/verify.sh", "scripts/watchdog.py"];
/** Operator tools: shipped for use by hand, run by no step of pulumi up. */
const NO_STEP = ["scripts/rollback.sh", "scripts/restore.sh"];

export type StepWithFiles = "deploy" | "bootstrap" | "verify";

/** The steps that run a bundle file. */
export function stepsOfBundleFile(path: string): StepWithFiles[] {
  if (NO_STEP.includes(path)) return [];
  if (BOOTSTRAP_ONLY.includes(path)) return ["bootstrap"];
  if (VERIFY_ONLY.includes(path)) return ["verify"];
  const steps: StepWithFiles[] = ["deploy"];
  if (path === "scripts/compose.sh" || path === "scripts/lib.sh") steps.push("bootstrap");
  if (path === "docker/backup/chatwoot-backup") steps.push("verify");
  return steps;
}

/** One hash over the files a step runs: it changes exactly when one of them does. */
export function stepFilesHash(files: readonly BundleFile[], step: StepWithFiles): string {
  const used = files.filter((f) => stepsOfBundleFile(f.path).includes(step));
  return sha256(used.map((f) => `${f.mode} ${sha256(f.content)} ${f.path}`).join("\n"));
}
