/**
 * A memory cgroup for one benchmark process tree: its limit charges the page cache too, so a server
 * inside it sees only the memory a small host would leave it. Needs root; cgroup v2 (memory in the
 * unified hierarchy) or v1 (the memory controller's own hierarchy).
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

/** The directory this process's memory cgroup is in, or undefined where there is none to use. */
function ownMemoryCgroupDir(): { dir: string; v2: boolean } | undefined {
  const lines = fs.readFileSync("/proc/self/cgroup", "utf8").split("\n");
  const v1 = lines.map((l) => /^\d+:memory:(.*)$/.exec(l)?.[1]).find((p) => p !== undefined);
  if (v1 !== undefined && fs.existsSync("/sys/fs/cgroup/memory")) return { dir: path.join("/sys/fs/cgroup/memory", v1), v2: false };
  const v2 = lines.map((l) => /^0::(.*)$/.exec(l)?.[1]).find((p) => p !== undefined);
  if (v2 !== undefined && fs.existsSync("/sys/fs/cgroup/cgroup.controllers")) return { dir: path.join("/sys/fs/cgroup", v2), v2: true };
  return undefined;
}

/** Why a memory cgroup cannot be made here, or undefined when it can. */
export function memoryCgroupProblem(): string | undefined {
  if (process.getuid?.() !== 0) return "creating a memory cgroup needs root";
  const own = ownMemoryCgroupDir();
  if (!own) return "no memory cgroup controller is mounted";
  try {
    fs.accessSync(own.dir, fs.constants.W_OK);
  } catch {
    return `${own.dir} is not writable`;
  }
  return undefined;
}

export function createMemoryCgroup(name: string, limitMb: number): MemoryCgroup {
  const own = ownMemoryCgroupDir();
  if (!own) throw new Error("no memory cgroup controller is mounted");
  const dir = path.join(own.dir, `${name}-${process.pid}`);
  fs.mkdirSync(dir);
  const bytes = String(limitMb * 1024 * 1024);
  if (own.v2) fs.writeFileSync(path.join(dir, "memory.max"), bytes);
  else fs.writeFileSync(path.join(dir, "memory.limit_in_bytes"), bytes);
  return {
    dir,
    wrap: (cmd, args) => ["sh", ["-c", 'echo $$ > "$0/cgroup.procs" && exec "$@"', dir, cmd, ...args]],
    remove: () => fs.rmdirSync(dir),
  };
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
