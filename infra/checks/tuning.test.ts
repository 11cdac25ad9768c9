/** scripts/tuning.sh, run for real: what each size of server gets, and that overrides win. */
import * as path from "node:path";
import { describe, expect, it } from "vitest";
import { repoRoot } from "../lib/repo";
import { envScope, parseEnvFile } from "../chatwoot/env-file";
import { renderEnvFile } from "../chatwoot/env";
import { envSecrets, envSettings } from "../test/fixtures";
import { run, which } from "../test/run";

const TUNING = path.join(repoRoot, "scripts/tuning.sh");

function sized(cpus: number, memoryMb: number, env: Record<string, string> = {}): Record<string, string> {
  const r = run("bash", [TUNING, "--cpus", String(cpus), "--memory-mb", String(memoryMb)], { env: { PATH: process.env.PATH, ...env } });
  expect(r.stderr).toBe("");
  expect(r.status).toBe(0);
  return Object.fromEntries(r.stdout.trim().split("\n").map((l) => [l.slice(0, l.indexOf("=")), l.slice(l.indexOf("=") + 1)]));
}

describe("tuning.sh", () => {
  it("counts the CPUs it may run on, as nproc does (its affinity), when --cpus is not given", () => {
    // Without nproc on PATH: the count comes from /proc, or the script fails.
    const bash = which("bash");
    const bare = (prefix: string[]) => {
      const r = run(prefix[0]!, [...prefix.slice(1), bash, TUNING, "--memory-mb", "16384"], { env: { PATH: "/nonexistent" } });
      expect(r.stderr).toBe("");
      return r.stdout;
    };
    const cpus = Number(run("nproc", []).stdout.trim());
    const withCpus = (n: number) => run("bash", [TUNING, "--cpus", String(n), "--memory-mb", "16384"]).stdout;
    expect(bare([which("env")])).toBe(withCpus(cpus));
    // Pinned to one CPU (taskset), it sizes for one, whatever the machine has.
    expect(bare([which("taskset"), "-c", "0"])).toBe(withCpus(1));
    expect(withCpus(1)).not.toBe(withCpus(4));
  });

  it("keeps a 4 GB / 2 vCPU server (cx23) in Puma's single mode; PostgreSQL gets 35 % of memory, a tenth of it as buffers", () => {
    expect(sized(2, 4096)).toEqual({
      WEB_CONCURRENCY: "0",
      RAILS_MAX_THREADS: "5",
      SIDEKIQ_CONCURRENCY: "10",
      PG_SHARED_BUFFERS: "128MB",
      PG_EFFECTIVE_CACHE_SIZE: "1074MB",
      PG_RANDOM_PAGE_COST: "1.1",
      PG_WORK_MEM: "8MB",
      PG_MAINTENANCE_WORK_MEM: "204MB",
      PG_MAX_CONNECTIONS: "100",
      RAILS_MEMORY_LIMIT: "1433m",
      SIDEKIQ_MEMORY_LIMIT: "1024m",
      POSTGRES_MEMORY_LIMIT: "1433m",
      REDIS_MEMORY_LIMIT: "409m",
    });
  });

  it.each([
    [4, 8192, "2", "20"],
    [8, 16384, "4", "25"],
    [16, 32768, "8", "25"],
    [2, 16384, "2", "10"],
    // An 8 GB server (cx33) reports about 7.6 GiB: one worker would be cluster mode with one
    // worker, which Puma warns against; it gets single mode.
    [4, 7800, "0", "20"],
    [1, 16384, "0", "5"],
  ])("gives %i vCPUs and %i MB %s Puma workers and %s Sidekiq threads", (cpus, mb, web, sidekiq) => {
    const s = sized(cpus, mb);
    expect([s.WEB_CONCURRENCY, s.SIDEKIQ_CONCURRENCY]).toEqual([web, sidekiq]);
  });

  it("has connections for every Puma thread twice (a switch runs two Rails), every Sidekiq thread and headroom", () => {
    for (const [cpus, mb] of [[2, 4096], [4, 8192], [16, 32768], [32, 131072]] as const) {
      const s = sized(cpus, mb);
      const web = Number(s.RAILS_MAX_THREADS) * Math.max(1, Number(s.WEB_CONCURRENCY));
      expect(Number(s.PG_MAX_CONNECTIONS)).toBeGreaterThanOrEqual(2 * web + Number(s.SIDEKIQ_CONCURRENCY) + 20);
    }
  });

  it("lets chatwoot:tuning's values (TUNING_*) win, and refuses nonsense sizes", () => {
    expect(sized(2, 4096, { TUNING_WEB_CONCURRENCY: "2", TUNING_PG_SHARED_BUFFERS: "1GB" })).toMatchObject({ WEB_CONCURRENCY: "2", PG_SHARED_BUFFERS: "1GB" });
    const bad = run("bash", [TUNING, "--cpus", "0", "--memory-mb", "4096"]);
    expect(bad.status).toBe(2);
    expect(bad.stderr).toContain("--cpus and --memory-mb must be positive whole numbers");
  });

  it.each([
    ["too few connections for the threads", { TUNING_WEB_CONCURRENCY: "4", TUNING_PG_MAX_CONNECTIONS: "50" }, 8192,
      "chatwoot:tuning.postgres.maxConnections is 50, below what Chatwoot opens: 2 x 4 Puma process(es) x 5 threads (a switch runs two Rails) + 10 Sidekiq threads + 10 = 60"],
    ["threads raised past an explicit connection count", { TUNING_RAILS_MAX_THREADS: "40", TUNING_PG_MAX_CONNECTIONS: "90" }, 4096, "chatwoot:tuning.postgres.maxConnections is 90, below what Chatwoot opens"],
    ["shared buffers beyond the server's memory", { TUNING_PG_SHARED_BUFFERS: "4096MB" }, 4096, "chatwoot:tuning.postgres.sharedBuffersMb is 4096, more than 40 % of this server's 4096 MB"],
    ["shared buffers beyond PostgreSQL's container", { TUNING_PG_SHARED_BUFFERS: "1024MB", TUNING_POSTGRES_MEMORY_LIMIT: "1024m" }, 8192, "PostgreSQL's container may use only 1024 MB"],
    ["shared buffers of zero", { TUNING_PG_SHARED_BUFFERS: "0MB" }, 4096, "chatwoot:tuning.postgres.sharedBuffersMb must be at least 1"],
  ])("refuses %s, naming the setting", (_what, env, mb, message) => {
    const r = run("bash", [TUNING, "--cpus", "2", "--memory-mb", String(mb)], { env: { PATH: process.env.PATH, ...env } });
    expect(r.status).toBe(1);
    expect(r.stderr).toContain(message);
    expect(r.stdout).toBe("");
  });

  it("computes connections from the Puma and Sidekiq sizes in force, overridden ones included", () => {
    expect(sized(2, 4096, { TUNING_RAILS_MAX_THREADS: "40" }).PG_MAX_CONNECTIONS).toBe("120");
  });

  it("never computes shared buffers below PostgreSQL's minimum, even on a tiny host", () => {
    expect(sized(1, 150).PG_SHARED_BUFFERS).toBe("32MB");
  });

  it("reads this host's size when given none", () => {
    const s = run("bash", [TUNING]);
    expect(s.status).toBe(0);
    expect(s.stdout).toMatch(/^WEB_CONCURRENCY=\d+$/m);
  });
});

describe("chatwoot:tuning and tuning.sh agree on names", () => {
  it("every override the .env can carry is a setting tuning.sh prints, and replaces it", () => {
    const all = {
      webConcurrency: 1, railsMaxThreads: 2, sidekiqConcurrency: 3,
      postgres: { sharedBuffersMb: 64, effectiveCacheSizeMb: 128, randomPageCost: 2, workMemMb: 5, maintenanceWorkMemMb: 70, maxConnections: 50 },
      memoryLimitsMb: { rails: 300, sidekiq: 400, postgres: 500, redis: 600 },
    };
    const overrides = Object.fromEntries(parseEnvFile(envScope(renderEnvFile({ ...envSettings, tuning: all }, envSecrets), "host")));
    const tuningEnv = Object.fromEntries(Object.entries(overrides).filter(([k]) => k.startsWith("TUNING_")));
    expect(Object.keys(tuningEnv)).toHaveLength(13);
    const out = sized(2, 4096, tuningEnv);
    expect(Object.keys(out).map((k) => `TUNING_${k}`).sort()).toEqual(Object.keys(tuningEnv).sort());
    for (const [k, v] of Object.entries(tuningEnv)) expect(out[k.slice("TUNING_".length)], k).toBe(v);
  });
});
