/**
 * Backup and restore of a ~1 GB Chatwoot-shaped database, timed: the project's backup job, its
 * restore path (restic restore of the dump, then a tuned parallel pg_restore), and a raw
 * `pg_restore -j <cores>` of the same dump for comparison. Each restore runs twice and the faster
 * run counts, so one hiccup of a shared machine does not decide the result. Prints the numbers
 * against the 1.3x target. Fails when the data differs, or above 1.5x: the project's path adds
 * the download of the dump (2 to 4 s per GB on a 2-core machine, about 1.2 to 1.3x there), so
 * 1.3 itself would flake on shared CI machines; 1.5 still catches a lost --jobs (about 1.7x).
 * BACKUP_BENCHMARK_MB sets the size (default 1024).
 */
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { afterAll, beforeAll, expect, it } from "vitest";
import { dataSql, FINGERPRINT_SQL, SCHEMA_SQL } from "../test/chatwoot-dataset";
import { startPostgres, type RunningPostgres } from "../test/postgres";
import { describeWithTools, run } from "../test/tools";
import { backupFixture } from "../test/backup-fixture";

const MB = Number(process.env.BACKUP_BENCHMARK_MB ?? 1024);
/** What an operator would type for the raw baseline: one job per core. */
const RAW_JOBS = String(os.cpus().length);

function timed<T>(fn: () => T): [T, number] {
  const start = process.hrtime.bigint();
  const result = fn();
  return [result, Number(process.hrtime.bigint() - start) / 1e9];
}

describeWithTools(`backup and restore of a ~${MB} MB database, timed`, ["psql", "pg_dump", "pg_restore", "restic", "jq", "flock", "runuser"], () => {
  let pg: RunningPostgres;
  let fx: ReturnType<typeof backupFixture>;
  beforeAll(async () => {
    pg = await startPostgres();
    pg.sql("postgres", "CREATE DATABASE chatwoot");
    pg.sql("chatwoot", SCHEMA_SQL);
    // ~1.1 KB per message row with its index entries.
    pg.sql("chatwoot", dataSql({ accounts: 10, conversationsPerAccount: 2000, messages: Math.round(MB * 950), messageLength: 1000 }));
    fx = backupFixture(pg);
  }, 900_000);
  afterAll(() => {
    fx?.cleanup();
    pg?.stop();
  });

  it("restores near a raw parallel pg_restore (target 1.3x, fails above 1.5x), with identical data", () => {
    const fresh = () => {
      pg.sql("postgres", "DROP DATABASE chatwoot");
      pg.sql("postgres", "CREATE DATABASE chatwoot");
    };
    const size = Number(pg.sql("chatwoot", "SELECT pg_database_size('chatwoot')")) / 2 ** 20;
    const fingerprint = pg.sql("chatwoot", FINGERPRINT_SQL);

    const [backup, backupSeconds] = timed(() => fx.tool(["run", "database"]));
    expect(backup.status, backup.stderr).toBe(0);
    const repoMb = Number(run("du", ["-sm", fx.env.RESTIC_REPOSITORY!]).stdout.split("\t")[0]);

    // The same dump, out of the repository, for the raw baseline (not timed).
    const dump = path.join(fx.dir, "raw.dump");
    const dumped = run("sh", ["-c", 'restic dump --host chatwoot --tag database latest chatwoot.dump > "$1"', "sh", dump], { env: fx.env });
    expect(dumped.status, dumped.stderr).toBe(0);
    const dumpMb = fs.statSync(dump).size / 2 ** 20;

    const best = (label: string, fn: () => ReturnType<typeof run>): number => {
      const seconds: number[] = [];
      for (let i = 0; i < 2; i++) {
        fresh();
        const [r, s] = timed(fn);
        expect(r.status, `${label}: ${r.stderr}`).toBe(0);
        seconds.push(s);
      }
      return Math.min(...seconds);
    };
    const rawSeconds = best("raw pg_restore", () =>
      run("pg_restore", ["--clean", "--if-exists", "--no-owner", "--exit-on-error", `--jobs=${RAW_JOBS}`, "--dbname=chatwoot", dump], {
        env: { ...process.env, ...pg.env },
      }),
    );
    fs.rmSync(dump);
    let restoreLog = "";
    const restoreSeconds = best("project restore", () => {
      const r = fx.tool(["restore", "--no-files"]);
      restoreLog = r.stdout;
      return r;
    });
    expect(pg.sql("chatwoot", FINGERPRINT_SQL)).toBe(fingerprint);

    const ratio = restoreSeconds / rawSeconds;
    console.log(
      [
        `backup benchmark: database ${size.toFixed(0)} MB, dump ${dumpMb.toFixed(0)} MB, repository ${repoMb} MB`,
        `  backup (pg_dump + restic):             ${backupSeconds.toFixed(1)} s`,
        `  restore, project path (restic restore, then pg_restore): ${restoreSeconds.toFixed(1)} s`,
        ...restoreLog.trim().split("\n").map((l) => `      ${l}`),
        `  restore, raw pg_restore -j ${RAW_JOBS}:          ${rawSeconds.toFixed(1)} s`,
        `  ratio project/raw: ${ratio.toFixed(2)} (target <= 1.3)`,
      ].join("\n"),
    );
    expect(size).toBeGreaterThan(MB * 0.8);
    expect(ratio).toBeLessThanOrEqual(1.5);
  }, 1_200_000);
});
