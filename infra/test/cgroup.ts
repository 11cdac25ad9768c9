/**
 * Cgroups for one process tree. Need root; cgroup v2 (the unified hierarchy) or v1 (each
 * controller's own hierarchy).
 *   - memory: for a benchmark, a limit that charges the page cache too, so a server inside it sees
 *     only the memory a small host would leave it;
 *   - cpu: a quota, for a tool that calibrates itself to how fast the machine is (restic's key
 *     derivation: infra/test/backup-fixture.ts).
 */
import { execFileSync } from "node:child_process";
import * as fs from "node:fs";
import * as path from "node:path";

export interface MemoryCgroup {
  /** The cgroup's directory; a process that writes its pid to cgroup.procs there is in it. */
  dir: string;
  /** Wraps a command so that it (and what it starts) runs inside the cgroup. */
  wrap(cmd: string, args: string[]): [string, string[]];
  /** Removes the cgroup (its processes must have exited). */
  remove(): void;
}
/** A cgroup with a CPU quota; the same handle as a memory cgroup's. */
export type CpuCgroup = MemoryCgroup;

type Controller = "memory" | "cpu";

/** The directory this process's cgroup of a controller is in, or undefined where there is none to use. */
function ownCgroupDir(controller: Controller): { dir: string; v2: boolean } | undefined {
  const lines = fs.readFileSync("/proc/self/cgroup", "utf8").split("\n");
  // v1: "4:memory:/path", or "3:cpu,cpuacct:/path" where controllers share a hierarchy.
  const v1 = lines
    .map((l) => /^\d+:([^:]*):(.*)$/.exec(l))
    .find((m) => m !== null && m[1].split(",").includes(controller));
  const v1Root = v1 && [controller, v1[1]].map((d) => path.join("/sys/fs/cgroup", d)).find((d) => fs.existsSync(d));
  if (v1 && v1Root) return { dir: path.join(v1Root, v1[2]), v2: false };
  const v2 = lines.map((l) => /^0::(.*)$/.exec(l)?.[1]).find((p) => p !== undefined);
  if (v2 !== undefined && fs.existsSync("/sys/fs/cgroup/cgroup.controllers")) return { dir: path.join("/sys/fs/cgroup", v2), v2: true };
  return undefined;
}

/** Why a cgroup of that controller cannot be made here, or undefined when it can. */
function cgroupProblem(controller: Controller): string | undefined {
  if (process.getuid?.() !== 0) return `creating a ${controller} cgroup needs root`;
  const own = ownCgroupDir(controller);
  if (!own) return `no ${controller} cgroup controller is mounted`;
  try {
    fs.accessSync(own.dir, fs.constants.W_OK);
  } catch {
    return `${own.dir} is not writable`;
  }
  return undefined;
}

/** Why a memory cgroup cannot be made here, or undefined when it can. */
export const memoryCgroupProblem = (): string | undefined => cgroupProblem("memory");

/** A new cgroup of the controller beside this process's own, with its settings written. */
function createCgroup(controller: Controller, name: string, settings: (v2: boolean) => Record<string, string>): MemoryCgroup {
  const own = ownCgroupDir(controller);
  if (!own) throw new Error(`no ${controller} cgroup controller is mounted`);
  const dir = path.join(own.dir, `${name}-${process.pid}`);
  fs.mkdirSync(dir);
  try {
    for (const [file, value] of Object.entries(settings(own.v2))) fs.writeFileSync(path.join(dir, file), value);
  } catch (e) {
    fs.rmdirSync(dir);
    throw e;
  }
  return {
    dir,
    wrap: (cmd, args) => ["sh", ["-c", 'echo $$ > "$0/cgroup.procs" && exec "$@"', dir, cmd, ...args]],
    remove: () => fs.rmdirSync(dir),
  };
}

export function createMemoryCgroup(name: string, limitMb: number): MemoryCgroup {
  const bytes = String(limitMb * 1024 * 1024);
  return createCgroup("memory", name, (v2): Record<string, string> => (v2 ? { "memory.max": bytes } : { "memory.limit_in_bytes": bytes }));
}

/** A cgroup whose processes get at most `percent` of one CPU, or why one cannot be made here. */
export function createCpuQuotaCgroup(name: string, percent: number): CpuCgroup | { problem: string } {
  const problem = cgroupProblem("cpu");
  if (problem) return { problem };
  const period = 100_000;
  const quota = String(Math.max(1000, Math.round((period * percent) / 100)));
  try {
    return createCgroup("cpu", name, (v2): Record<string, string> => (v2 ? { "cpu.max": `${quota} ${period}` } : { "cpu.cfs_period_us": String(period), "cpu.cfs_quota_us": quota }));
  } catch (e) {
    // cgroup v2 without the cpu controller delegated to this cgroup's children, for one.
    return { problem: `cannot set a CPU quota: ${(e as Error).message}` };
  }
}

/**
 * Drops a directory's files from the page cache (fadvise DONTNEED through dd), so that a server
 * started on them reads from disk and charges what it reads to its own cgroup.
 */
export function evictFromPageCache(root: string): void {
  for (const entry of fs.readdirSync(root, { recursive: true }) as string[]) {
    const file = path.join(root, entry);
    if (fs.statSync(file).isFile()) execFileSync("dd", [`if=${file}`, "iflag=nocache", "count=0", "status=none"]);
  }
}
