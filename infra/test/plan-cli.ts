/** `npm run plan` as an operator runs it: a separate process, exactly the package.json script minus npm. */
import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as path from "node:path";
import { repoRoot } from "../lib/repo";

const PLAN = (JSON.parse(fs.readFileSync(path.join(repoRoot, "package.json"), "utf8")) as { scripts: { plan: string } }).scripts.plan
  .split(" ")
  .slice(1);

export function runPlan(args: string[]): { status: number | null; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, [...PLAN, ...args], { encoding: "utf8", cwd: repoRoot, timeout: 900_000 });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}
