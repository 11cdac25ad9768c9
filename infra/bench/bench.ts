/**
 * `npm run bench`: the figures that depend on the machine, kept out of `npm test` so a loaded
 * machine never fails a test. Prints one line per figure, `BENCH <name> <value> <unit>`, plus
 * `# …` context lines, and exits 0. A figure whose tools are missing is skipped with a `# skipped`
 * line. BENCH_ONLY=plan,backup,proxy,upgrade,postgres,adopt picks sections; BACKUP_BENCHMARK_MB sets the database size,
 * PROXY_BENCH_REQUESTS the requests per round and target, ADOPT_BENCH_MESSAGES the adopted databases' sizes.
 */
import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { repoRoot } from "../lib/repo";
import { backupFixture } from "../test/backup-fixture";
import { ADOPTION } from "../facts/chatwoot";
import { adoptionSql, dataSql, FINGERPRINT_SQL, SCHEMA_SQL } from "../test/chatwoot-dataset";
import { fakeHost } from "../test/fake-host";
import { RESTIC, resticDir } from "../test/go-tools";
import { createMemoryCgroup, evictFromPageCache, memoryCgroupProblem } from "../test/cgroup";
import { postgres16BinDir, startPostgres } from "../test/postgres";
import { hasTool, run, tempDir } from "../test/run";
import { upgradeUnderLoad } from "../test/upgrade-rig";
import { proxyOverhead } from "./proxy";

// What `npm run plan` runs its entry point with (package.json), minus npm's own start-up.
const TS_RUN = path.join(repoRoot, "infra/ts-run.cjs");

function bench(name: string, value: number, unit: string): void {
  console.log(`BENCH ${name} ${Number.isInteger(value) ? value : value.toFixed(2)} ${unit}`);
}
const note = (text: string) => console.log(`# ${text}`);

function seconds<T>(fn: () => T): [T, number] {
  const start = process.hrtime.bigint();
  const result = fn();
  return [result, Number(process.hrtime.bigint() - start) / 1e9];
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2]! : (s[s.length / 2 - 1]! + s[s.length / 2]!) / 2;
}

/** Milliseconds of one run of a TypeScript entry point, failing loudly if the script fails. */
function timedTs(args: string[]): number {
  const [r, s] = seconds(() => spawnSync(process.execPath, [TS_RUN, ...args], { cwd: repoRoot, encoding: "utf8", timeout: 120_000 }));
  if (r.status !== 0 && r.status !== 2) throw new Error(`${args.join(" ")} failed (exit ${r.status}): ${r.stderr.slice(0, 400)}`);
  return s * 1000;
}

function planBench(): void {
  const runs = 5;
  // Interleaved, so a burst of load hits both about equally.
  const plan: number[] = [];
  const floor: number[] = [];
  for (let i = 0; i < runs; i++) {
    plan.push(timedTs([path.join(repoRoot, "infra/plan/cli.ts")]));
    floor.push(timedTs([path.join(repoRoot, "infra/bench/floor-program.ts")]));
  }
  bench("plan_ms", Math.round(median(plan)), "ms");
  bench("plan_floor_ms", Math.round(median(floor)), "ms");
  note(`plan runs ${plan.map(Math.round).join(", ")} ms; floor runs ${floor.map(Math.round).join(", ")} ms (median of ${runs})`);
  // Against a base evaluated for the first time (its kept snapshot removed before each run), and
  // against one already kept (infra/plan/revision.ts), the usual case while a change is worked on.
  const planCache = path.join(repoRoot, "node_modules", ".cache", "chatwoot-plan");
  const diffRun = () => timedTs([path.join(repoRoot, "infra/plan/cli.ts"), "--diff", "HEAD"]);
  const diff = [0, 1, 2].map(() => (fs.rmSync(planCache, { recursive: true, force: true }), diffRun()));
  bench("plan_diff_ms", Math.round(median(diff)), "ms");
  const diffKept = [0, 1, 2].map(diffRun);
  bench("plan_diff_kept_base_ms", Math.round(median(diffKept)), "ms");
}

async function backupBench(): Promise<void> {
  // restic at the backup image's version, as the tests run it (infra/test/go-tools.ts).
  const restic = resticDir();
  if (restic) process.env.PATH = `${restic}${path.delimiter}${process.env.PATH}`;
  else note(`restic ${RESTIC.version} cannot be built without Go: the backup figures use the restic on PATH`);
  const tools = ["psql", "pg_dump", "pg_restore", "restic", "jq", "flock", "runuser"];
  const missing = tools.filter((t) => !hasTool(t));
  if (missing.length) return note(`skipped backup: ${missing.join(", ")} not installed`);
  const mb = Number(process.env.BACKUP_BENCHMARK_MB ?? 1024);
  const jobs = String(os.cpus().length);
  const pg = await startPostgres();
  let fx: ReturnType<typeof backupFixture> | undefined;
  try {
    pg.sql("postgres", "CREATE DATABASE chatwoot");
    pg.sql("chatwoot", SCHEMA_SQL);
    // ~1.1 KB per message row with its index entries.
    pg.sql("chatwoot", dataSql({ accounts: 10, conversationsPerAccount: 2000, messages: Math.round(mb * 950), messageLength: 1000 }));
    fx = backupFixture(pg);
    const fresh = () => {
      pg.sql("postgres", "DROP DATABASE chatwoot");
      pg.sql("postgres", "CREATE DATABASE chatwoot");
    };
    const fingerprint = pg.sql("chatwoot", FINGERPRINT_SQL);
    const size = Number(pg.sql("chatwoot", "SELECT pg_database_size('chatwoot')")) / 2 ** 20;
    const [backup, backupS] = seconds(() => fx!.tool(["run", "database"]));
    if (backup.status !== 0) throw new Error(`backup failed: ${backup.stderr}`);
    const dump = path.join(fx.dir, "raw.dump");
    const dumped = run("sh", ["-c", 'restic dump --host chatwoot --tag database latest chatwoot.dump > "$1"', "sh", dump], { env: fx.env });
    if (dumped.status !== 0) throw new Error(`restic dump failed: ${dumped.stderr}`);
    const dumpMb = fs.statSync(dump).size / 2 ** 20;
    const raw: number[] = [];
    const project: number[] = [];
    const fetch: number[] = [];
    // Interleaved, twice each, the faster run counting: one hiccup does not decide the figure.
    for (let i = 0; i < 2; i++) {
      fresh();
      const [r, s] = seconds(() =>
        run("pg_restore", ["--clean", "--if-exists", "--no-owner", "--exit-on-error", `--jobs=${jobs}`, "--dbname=chatwoot", dump], {
          env: { ...process.env, ...pg.env },
        }),
      );
      if (r.status !== 0) throw new Error(`raw pg_restore failed: ${r.stderr}`);
      raw.push(s);
      fresh();
      const [p, ps] = seconds(() => fx!.tool(["restore", "--no-files"]));
      if (p.status !== 0) throw new Error(`project restore failed: ${p.stderr}`);
      project.push(ps);
      const fetched = /fetched database snapshot \S+ .* in ([0-9]+)s/.exec(p.stdout + p.stderr);
      if (fetched) fetch.push(Number(fetched[1]));
    }
    if (pg.sql("chatwoot", FINGERPRINT_SQL) !== fingerprint) throw new Error("the restored data differs from the original");
    note(`database ${size.toFixed(0)} MB, dump ${dumpMb.toFixed(0)} MB, raw baseline pg_restore --jobs=${jobs}`);
    bench("backup_database_s", backupS, "s");
    bench("restore_project_s", Math.min(...project), "s");
    bench("restore_raw_pg_restore_s", Math.min(...raw), "s");
    if (fetch.length) bench("restore_fetch_s", Math.min(...fetch), "s");
    else note("no restore_fetch_s: restore.sh's output did not say how long the download took (its 'fetched database snapshot' line changed?)");
    bench("restore_ratio", Math.min(...project) / Math.min(...raw), "x");
  } finally {
    fx?.cleanup();
    pg.stop();
  }
}

async function proxyBench(): Promise<void> {
  const missing = ["go", "nginx", "openssl"].filter((t) => !hasTool(t));
  if (missing.length) return note(`skipped proxy: ${missing.join(", ")} not installed`);
  const count = Number(process.env.PROXY_BENCH_REQUESTS ?? 2000);
  const result = await proxyOverhead(count);
  note(`proxy: GET /health on loopback, 8 keep-alive connections, 5 interleaved rounds of ${count} requests per target`);
  for (const [name, f] of Object.entries(result)) {
    bench(`proxy_${name}_p50_ms`, f.p50, "ms");
    bench(`proxy_${name}_p99_ms`, f.p99, "ms");
    bench(`proxy_${name}_rps`, Math.round(f.rps), "req/s");
  }
}

async function upgradeBench(): Promise<void> {
  const missing = ["go", "curl"].filter((t) => !hasTool(t));
  if (missing.length) return note(`skipped upgrade: ${missing.join(", ")} not installed`);
  const opts = { concurrency: 8, warmup: 300, bootMs: Number(process.env.UPGRADE_BENCH_BOOT_MS ?? 5000) };
  note(`upgrade: deploy.sh v4.15.1 -> v4.16.0 through real Caddy, stand-in Rails booting in ${opts.bootMs} ms, ${opts.concurrency} clients (GET and POST)`);
  // The migration adds columns under the serving release, which notices (rails-stub.cjs): what an
  // upgrade costs when the old release serves on the new schema until the switch.
  const now = await upgradeUnderLoad({ mode: "deploy", schemaChange: true, ...opts });
  if (now.status !== 0) throw new Error(`deploy.sh failed: ${now.stderr}`);
  bench("upgrade_failed_requests", now.failed, "count");
  const cached = await upgradeUnderLoad({ mode: "deploy", schemaChange: true, preparedStatements: true, ...opts });
  if (cached.status !== 0) throw new Error(`deploy.sh failed: ${cached.stderr}`);
  bench("upgrade_prepared_statements_failed_requests", cached.failed, "count");
  note("upgrade_prepared_statements_*: the same upgrade with the env before prepared statements were turned off");
  const restartOnly = await upgradeUnderLoad({ mode: "deploy", ...opts });
  if (restartOnly.status !== 0) throw new Error(`deploy.sh failed: ${restartOnly.stderr}`);
  bench("upgrade_restart_failed_requests", restartOnly.failed, "count");
  bench("upgrade_p99_ms", now.p99Ms, "ms");
  bench("upgrade_requests", now.requests, "count");
  bench("upgrade_resent_requests", now.resent, "count");
  note(`releases answering: ${now.releases.join(" then ")}; failures: ${now.failures.join(", ") || "none"}`);
  const before = await upgradeUnderLoad({ mode: "recreate", ...opts });
  bench("upgrade_recreate_failed_requests", before.failed, "count");
  bench("upgrade_recreate_requests", before.requests, "count");
  note("upgrade_recreate_*: the same upgrade the previous way, `up -d --wait` recreating Rails in place");
}

/**
 * PostgreSQL's defaults against what scripts/tuning.sh computes for a 4 GB / 2 vCPU server, on a
 * Chatwoot-shaped dataset with a read/write mix like the dashboard's: list an account's open
 * conversations, open one, reply, bump it, and an account-wide count as reports do.
 */
/**
 * PostgreSQL's defaults against what scripts/tuning.sh computes for a 4 GB / 2 vCPU server, each
 * inside the memory that server leaves PostgreSQL (its container's limit, in a memory cgroup, which
 * charges the page cache too), on a dataset larger than that limit, so that neither can cache it
 * all. One dataset; before each run the server restarts on it with the other settings, its files
 * evicted from the page cache.
 */
async function postgresBench(): Promise<void> {
  const missing = ["psql", "pgbench", "runuser", "dd"].filter((t) => !hasTool(t));
  if (missing.length) return note(`skipped postgres: ${missing.join(", ")} not installed`);
  const cgroupProblem = memoryCgroupProblem();
  if (cgroupProblem) return note(`skipped postgres: ${cgroupProblem}`);
  const seconds = Number(process.env.PG_BENCH_SECONDS ?? 60);
  const computed = Object.fromEntries(
    run("bash", [path.join(repoRoot, "scripts/tuning.sh"), "--cpus", "2", "--memory-mb", "4096"])
      .stdout.trim()
      .split("\n")
      .map((l) => [l.slice(0, l.indexOf("=")), l.slice(l.indexOf("=") + 1)]),
  );
  const tuned = Object.fromEntries(
    Object.entries(computed)
      .filter(([k]) => k.startsWith("PG_"))
      .map(([k, v]) => [k.slice(3).toLowerCase(), v]),
  );
  const limitMb = Number(/^(\d+)m$/.exec(computed.POSTGRES_MEMORY_LIMIT ?? "")?.[1]);
  if (!limitMb) throw new Error("scripts/tuning.sh printed no POSTGRES_MEMORY_LIMIT for 4096 MB");
  const size = { accounts: 20, conversationsPerAccount: 2000, messages: Number(process.env.PG_BENCH_MESSAGES ?? 6_000_000), messageLength: 300 };
  const script = [
    `\\set acc random(1, ${size.accounts})`,
    `\\set conv random(1, ${size.accounts * size.conversationsPerAccount})`,
    "SELECT id, display_id, status FROM conversations WHERE account_id = :acc AND status = 0 ORDER BY updated_at DESC LIMIT 25;",
    "SELECT id, content, message_type, created_at FROM messages WHERE conversation_id = :conv ORDER BY id DESC LIMIT 20;",
    "INSERT INTO messages (account_id, inbox_id, conversation_id, content, message_type) SELECT account_id, inbox_id, id, 'a reply', 1 FROM conversations WHERE id = :conv;",
    "UPDATE conversations SET updated_at = now() WHERE id = :conv;",
    // An account's messages of the dataset's last day (each message is a second later than the last).
    `SELECT count(*) FROM messages WHERE account_id = :acc AND created_at > timestamp '2026-01-01' + interval '${size.messages - 86400} seconds';`,
    "",
  ].join("\n");
  const clients = 15; // Puma's 5 threads and Sidekiq's 10 on that server
  const pg = await startPostgres({});
  const dir = tempDir("pgbench");
  try {
    pg.sql("postgres", "CREATE DATABASE chatwoot");
    pg.sql("chatwoot", SCHEMA_SQL);
    pg.sql("chatwoot", dataSql(size));
    const dbMb = Number(pg.sql("chatwoot", "SELECT pg_database_size('chatwoot') / 1048576"));
    if (dbMb <= limitMb) throw new Error(`the dataset (${dbMb} MB) must be larger than the memory limit (${limitMb} MB): raise PG_BENCH_MESSAGES`);
    const file = path.join(dir, "chatwoot.sql");
    fs.writeFileSync(file, script);
    fs.chmodSync(dir, 0o755);
    note(`postgres: pgbench, ${clients} clients, ${seconds} s per run, a ${dbMb} MB database inside a ${limitMb} MB memory cgroup (page cache included); tuned: ${JSON.stringify(tuned)}`);
    const tps: Record<string, number[]> = { default: [], tuned: [] };
    for (const round of [0, 1]) {
      for (const which of round === 0 ? ["default", "tuned"] : ["tuned", "default"]) {
        const cgroup = createMemoryCgroup(`pgbench-${which}`, limitMb);
        try {
          // Written out, then read from disk again by a server that charges what it caches to the cgroup.
          pg.sql("postgres", "CHECKPOINT");
          pg.restart(which === "tuned" ? tuned : {}, { cgroup, whileStopped: () => evictFromPageCache(pg.dataDir) });
          const r = run("pgbench", ["-n", "-f", file, "-c", String(clients), "-j", "2", "-T", String(seconds), "chatwoot"], {
            env: { ...process.env, ...pg.env },
            timeout: (seconds + 300) * 1000,
          });
          const m = /tps = ([\d.]+)/.exec(r.stdout);
          if (r.status !== 0 || !m) throw new Error(`pgbench failed: ${r.stderr.slice(0, 300)}`);
          tps[which]!.push(Number(m[1]));
        } finally {
          // Out of the cgroup before it is removed.
          pg.restart({});
          cgroup.remove();
        }
      }
    }
    const best = (xs: number[]) => Math.max(...xs);
    bench("pg_default_tps", Math.round(best(tps.default!)), "tps");
    bench("pg_tuned_tps", Math.round(best(tps.tuned!)), "tps");
    note(`pgbench runs: default ${tps.default!.map(Math.round).join(", ")}; tuned ${tps.tuned!.map(Math.round).join(", ")} (best of 2, interleaved)`);
  } finally {
    pg.stop();
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

/**
 * How long `chatwoot:adopt` takes for a given database size: a Chatwoot-shaped database on
 * PostgreSQL 15, dumped by the real pg_dump (custom format, as docs/migrate-existing.md says to
 * make it), then scripts/adopt.sh itself loading it into an empty PostgreSQL 16 in one transaction
 * (pg_restore through the stand-in docker hook, as in infra/checks/adopt.test.ts). Two sizes, so
 * the docs can give a rate and show it is linear.
 */
async function adoptBench(): Promise<void> {
  const missing = ["pg_dump", "pg_restore", "psql", "ruby", "runuser"].filter((t) => !hasTool(t));
  if (missing.length) return note(`skipped adopt: ${missing.join(", ")} not installed`);
  const sizes = (process.env.ADOPT_BENCH_MESSAGES ?? "200000,1000000").split(",").map(Number);
  const hook = path.join(repoRoot, "infra/test/standin-postgres-exec.sh");
  for (const messages of sizes) {
    const size = { accounts: 20, conversationsPerAccount: Math.max(50, Math.round(messages / 200)), messages, messageLength: 300 };
    const source = await startPostgres();
    const target = await startPostgres({}, postgres16BinDir());
    const host = fakeHost();
    const dir = tempDir("adopt-bench");
    try {
      source.sql("postgres", "CREATE DATABASE chatwoot_production");
      source.sql("chatwoot_production", SCHEMA_SQL + dataSql(size) + adoptionSql("20260611184600"));
      const dbMb = Number(source.sql("postgres", "SELECT pg_database_size('chatwoot_production')")) / 2 ** 20;
      const dump = path.join(dir, "chatwoot.dump");
      const [dumped, dumpSeconds] = seconds(() => run("pg_dump", ["-Fc", "-f", dump, "chatwoot_production"], { env: { ...process.env, ...source.env }, timeout: 3_600_000 }));
      if (dumped.status !== 0) throw new Error(`pg_dump failed: ${dumped.stderr.slice(0, 300)}`);
      const dumpMb = fs.statSync(dump).size / 2 ** 20;
      target.sql("postgres", "CREATE DATABASE chatwoot");
      fs.mkdirSync(path.join(host.dataDir, "adopt"), { recursive: true });
      fs.copyFileSync(dump, path.join(host.dataDir, "adopt/chatwoot.dump"));
      const args = ["--before-deploy", "--version", "v4.15.1", "--v4-migration", ADOPTION.firstV4Migration, "--from-v3", "refuse", "--database", "chatwoot.dump"];
      const [loaded, loadSeconds] = seconds(() =>
        host.exec("adopt.sh", args, { env: { STANDIN_HOOK: hook, PGHOST: "127.0.0.1", PGPORT: String(target.port) }, timeout: 3_600_000 }),
      );
      if (loaded.status !== 0) throw new Error(`adopt.sh failed (exit ${loaded.status}): ${loaded.stderr.slice(0, 300)}`);
      const rows = Number(target.sql("chatwoot", "SELECT count(*) FROM messages"));
      if (rows !== messages) throw new Error(`adopted ${rows} messages, expected ${messages}`);
      const tag = `${messages / 1000}k`;
      bench(`adopt_${tag}_database_mb`, Math.round(dbMb), "MB");
      bench(`adopt_${tag}_dump_mb`, Math.round(dumpMb), "MB");
      bench(`adopt_${tag}_dump_s`, dumpSeconds, "s");
      bench(`adopt_${tag}_load_s`, loadSeconds, "s");
      bench(`adopt_${tag}_load_mb_per_s`, dbMb / loadSeconds, "MB/s");
      note(`adopt ${tag}: ${JSON.stringify(size)}, pg_dump 15 custom format, loaded by adopt.sh into PostgreSQL 16 in one transaction`);
    } finally {
      source.stop();
      target.stop();
      host.cleanup();
      fs.rmSync(dir, { recursive: true, force: true });
    }
  }
}

const sections: Record<string, () => void | Promise<void>> = {
  plan: planBench,
  backup: backupBench,
  proxy: proxyBench,
  upgrade: upgradeBench,
  postgres: postgresBench,
  adopt: adoptBench,
};

async function main(): Promise<void> {
  const only = process.env.BENCH_ONLY?.split(",").filter(Boolean);
  for (const [name, fn] of Object.entries(sections)) {
    if (only && !only.includes(name)) continue;
    try {
      await fn();
    } catch (e) {
      // A benchmark reports; it does not fail the run. The reason is printed without any input.
      note(`${name} failed: ${(e as Error).message.split("\n")[0]}`);
    }
  }
}

void main();
