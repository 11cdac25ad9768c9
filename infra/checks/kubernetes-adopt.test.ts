/**
 * ops/kubernetes-adopt.sh: a real pg_dump of a Chatwoot-shaped database loaded into an empty
 * database the way it lands in CloudNativePG's primary. TEST STAND-IN FOR kubectl: "get cluster"
 * names a primary, "exec -i <pod> -c postgres -- CMD" runs CMD here against the test's PostgreSQL
 * (Debian's, with the real psql and pg_restore), as the pod's postgres user would.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import { afterAll, beforeAll, beforeEach, expect, it } from "vitest";
import { repoRoot } from "../lib/repo";
import { adoptionSql, dataSql, FINGERPRINT_SQL, SCHEMA_SQL } from "../test/chatwoot-dataset";
import { startPostgres, type RunningPostgres } from "../test/postgres";
import { describeWithTools, run, tempDir } from "../test/tools";

const NEWEST = "20260611184600";

describeWithTools("ops/kubernetes-adopt.sh into an empty database", ["pg_dump", "pg_restore", "psql"], () => {
  let pg: RunningPostgres;
  let dir: string;
  let bin: string;
  const dumps: Record<string, string> = {};

  beforeAll(async () => {
    pg = await startPostgres();
    dir = tempDir("k8s-adopt");
    pg.sql("postgres", "create database old");
    pg.sql("old", SCHEMA_SQL + dataSql({ accounts: 2, conversationsPerAccount: 3, messages: 40, messageLength: 30 }) + adoptionSql(NEWEST));
    // The old installation's own role owns what it created, as on a real server.
    pg.sql("postgres", "create role chatwoot_prod login");
    pg.sql("old", "do $$ declare r record; begin for r in select tablename from pg_tables where schemaname = 'public' loop execute format('alter table %I owner to chatwoot_prod', r.tablename); end loop; end $$");
    const dump = (name: string, args: string[]) => {
      const out = path.join(dir, name);
      const r = run("pg_dump", [...args, "-f", out, "old"], { env: { ...process.env, ...pg.env } });
      if (r.status !== 0) throw new Error(r.stderr);
      dumps[name] = out;
    };
    dump("chatwoot.dump", ["-Fc"]);
    dump("chatwoot.sql", []);
    bin = path.join(dir, "bin");
    fs.mkdirSync(bin);
    fs.writeFileSync(
      path.join(bin, "kubectl"),
      [
        "#!/usr/bin/env bash",
        'echo "kubectl $*" >> "$KUBECTL_LOG"',
        'args=("$@")',
        'for ((i = 0; i < ${#args[@]}; i++)); do',
        '  [[ "${args[i]}" == get && "${args[i+1]}" == cluster ]] && { echo chatwoot-postgres-1; exit 0; }',
        '  [[ "${args[i]}" == -- ]] && exec "${args[@]:i+1}"',
        "done",
        "exit 1",
      ].join("\n"),
      { mode: 0o755 },
    );
  });
  afterAll(() => {
    pg?.stop();
    if (dir) fs.rmSync(dir, { recursive: true, force: true });
  });
  beforeEach(() => {
    // An empty database owned by the application's role, as CloudNativePG's initdb leaves it.
    pg.sql("postgres", "drop database if exists chatwoot");
    pg.sql("postgres", "do $$ begin if not exists (select from pg_roles where rolname = 'chatwoot') then create role chatwoot login; end if; end $$");
    pg.sql("postgres", "create database chatwoot owner chatwoot");
  });

  const adopt = (dump: string, extra: string[] = []) =>
    run("bash", [path.join(repoRoot, "ops/kubernetes-adopt.sh"), "--dump", dump, ...extra], {
      env: { ...process.env, ...pg.env, PATH: `${bin}:${process.env.PATH}`, KUBECTL_LOG: path.join(dir, "kubectl.log") },
    });
  const tablesIn = (db: string) => pg.sql(db, "select count(*) from pg_tables where schemaname = 'public'");

  for (const name of ["chatwoot.dump", "chatwoot.sql"]) {
    it(`loads a ${name.endsWith(".dump") ? "custom" : "plain"} dump whole, checked, and owned by the application's role`, () => {
      const r = adopt(dumps[name]!, ["--target-newest", NEWEST]);
      expect(r.stderr).toBe("");
      expect(r.status).toBe(0);
      expect(r.stdout).toContain(`the dump's newest migration is ${NEWEST}`);
      expect(pg.sql("chatwoot", FINGERPRINT_SQL)).toBe(pg.sql("old", FINGERPRINT_SQL));
      expect(pg.sql("chatwoot", "select string_agg(distinct tableowner, ',') from pg_tables where schemaname = 'public'")).toBe("chatwoot");
      // The old installation's role exists on this test server (it owns the source database), so it stays.
      expect(pg.sql("chatwoot", "select count(*) from pg_roles where rolname = 'chatwoot_prod'")).toBe("1");
      // Chatwoot, connecting as its role, can write: a new account gets its conversation sequence.
      pg.sql("chatwoot", "set role chatwoot; insert into accounts (name) values ('New')");
      expect(fs.existsSync(`${dumps[name]}.adopt-errors.log`)).toBe(false);
    });
  }

  it("refuses a cut dump, a meta-command, a newer Chatwoot and a database that is not empty, loading nothing", () => {
    const cut = path.join(dir, "cut.sql");
    const plain = fs.readFileSync(dumps["chatwoot.sql"]!, "utf8");
    fs.writeFileSync(cut, plain.slice(0, plain.indexOf("-- PostgreSQL database dump complete")));
    const meta = path.join(dir, "meta.sql");
    fs.writeFileSync(meta, plain.replace("SET statement_timeout = 0;", "SET statement_timeout = 0;\n\\! touch /tmp/should-not-run"));
    for (const [file, args, message] of [
      [cut, [], "is not complete"],
      [meta, [], "holds psql meta-commands"],
      [dumps["chatwoot.dump"]!, ["--target-newest", "20250101000000"], "this dump is from a newer Chatwoot than the one deployed"],
    ] as const) {
      const r = adopt(file, [...args]);
      expect(r.status, message).toBe(1);
      expect(r.stderr).toContain(message);
      expect(tablesIn("chatwoot")).toBe("0");
    }
    pg.sql("chatwoot", "create table something (id int)");
    const busy = adopt(dumps["chatwoot.dump"]!);
    expect(busy.status).toBe(1);
    expect(busy.stderr).toContain("the database already holds 1 tables; adoption only ever fills an empty database");
    expect(tablesIn("chatwoot")).toBe("1");
  });

  it("leaves the database empty when the load fails half-way, and prints no row of the dump", () => {
    const plain = fs.readFileSync(dumps["chatwoot.sql"]!, "utf8");
    // A row that breaks its table's constraint, late in the data: everything before it rolls back.
    const broken = path.join(dir, "broken.sql");
    fs.writeFileSync(broken, plain.replace(/(COPY public\.users [^\n]*\n)/, "$1999\tsecret-row@example.com\tLeaky\tnot-a-timestamp\n"));
    const r = adopt(broken);
    expect(r.status).toBe(1);
    expect(r.stderr).toContain("loading the dump failed, nothing was loaded");
    expect(r.stderr + r.stdout).not.toContain("secret-row@example.com");
    expect(tablesIn("chatwoot")).toBe("0");
  });
});
