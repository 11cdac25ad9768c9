/**
 * scripts/adopt.sh under faults, with the real pg_dump, psql and pg_restore and a real PostgreSQL
 * 16 target (infra/test/adopt-run.ts): a corrupt archive or a full disk after the database loaded,
 * a dump cut at a line boundary, a dump from too old or too new a release, roles only default
 * privileges name, a psql meta-command smuggled into a dump, and a load that fails on a row. It
 * never half-succeeds silently, resumes where it stopped, and prints no row of the old database.
 */
import { execFileSync } from "node:child_process";
import * as http from "node:http";
import type { AddressInfo } from "node:net";
import * as fs from "node:fs";
import * as path from "node:path";
import { beforeAll, beforeEach, expect, it } from "vitest";
import { repoRoot } from "../lib/repo";
import { adoptArgs, adoptionRig } from "../test/adopt-run";
import { adoptionSql, dataSql, FINGERPRINT_SQL, SCHEMA_SQL } from "../test/chatwoot-dataset";
import type { FakeHost } from "../test/fake-host";
import type { RunningPostgres } from "../test/postgres";
import { describeWithTools, run, tempDir } from "../test/tools";

const V4_NEWEST = "20260611184600";
const SIZE = { accounts: 2, conversationsPerAccount: 10, messages: 200, messageLength: 40 };

describeWithTools("adoption under faults: real pg_dump, psql and PostgreSQL 16", ["pg_dump", "pg_restore", "psql", "tar", "gzip", "mount"], () => {
  let source: RunningPostgres;
  let target: RunningPostgres;
  let files: string;
  let host: FakeHost;
  const d = { custom: "", plain: "", storage: "", cutStorage: "", v40: "", v41: "", newer: "", roles: "" };
  const rig = adoptionRig("adopt-faults");
  const { stage, adopt, deploy, staged, state, env: adoptEnv } = rig;

  const dump = (db: string, args: string[], out: string) => {
    const r = run("pg_dump", [...args, "-f", out, db], { env: { ...process.env, ...source.env } });
    if (r.status !== 0) throw new Error(`pg_dump failed: ${r.stderr}`);
    return out;
  };
  const database = (name: string, newest: string, extra = "") => {
    source.sql("postgres", `CREATE DATABASE ${name}`);
    source.sql(name, SCHEMA_SQL + dataSql(SIZE) + adoptionSql(newest) + extra);
  };

  beforeAll(async () => {
    ({ source, target, files } = rig);
    database("cw", V4_NEWEST);
    d.custom = dump("cw", ["-Fc"], path.join(files, "cw.dump"));
    d.plain = dump("cw", [], path.join(files, "cw.sql"));
    // Its files: one per blob, where the Disk service keeps them.
    const storage = path.join(files, "storage");
    for (const key of source.sql("cw", "SELECT key FROM active_storage_blobs ORDER BY id").split("\n")) {
      fs.mkdirSync(path.join(storage, key.slice(0, 2), key.slice(2, 4)), { recursive: true });
      fs.writeFileSync(path.join(storage, key.slice(0, 2), key.slice(2, 4), key), key);
    }
    // Six megabytes of zeros: a few kilobytes compressed, too large for the small disk below.
    fs.writeFileSync(path.join(storage, "zeros.bin"), Buffer.alloc(6 * 1024 * 1024));
    d.storage = path.join(files, "storage.tar.gz");
    expect(run("tar", ["-czf", d.storage, "-C", files, "storage"]).status).toBe(0);
    d.cutStorage = path.join(files, "cut.tar.gz");
    const whole = fs.readFileSync(d.storage);
    fs.writeFileSync(d.cutStorage, whole.subarray(0, Math.floor(whole.length / 2)));
    // v4.0.x: newer than v4.0.0's first migration, older than v4.2's, no accounts.settings yet.
    database("cw40", "20250301000000");
    d.v40 = dump("cw40", ["-Fc"], path.join(files, "v40.dump"));
    // v4.1.x: the same age, but through v4.1, which adds accounts.settings.
    database("cw41", "20250401000000", "ALTER TABLE accounts ADD COLUMN settings jsonb DEFAULT '{}'::jsonb;");
    d.v41 = dump("cw41", ["-Fc"], path.join(files, "v41.dump"));
    // A release newer than the one this stack deploys.
    database("cwnew", "20270101000000");
    d.newer = dump("cwnew", ["-Fc"], path.join(files, "newer.dump"));
    // Roles named only by default privileges and by a grant with grant option.
    source.sql("postgres", "CREATE ROLE owner_role NOLOGIN; CREATE ROLE reader_role NOLOGIN; CREATE ROLE granter_role NOLOGIN");
    database("cwroles", V4_NEWEST, `
      ALTER DEFAULT PRIVILEGES FOR ROLE owner_role IN SCHEMA public GRANT SELECT ON TABLES TO reader_role;
      GRANT SELECT ON accounts TO granter_role WITH GRANT OPTION;`);
    d.roles = dump("cwroles", [], path.join(files, "roles.sql"));
  });
  beforeEach(() => {
    host = rig.host;
  });

  const tables = () => Number(target.sql("chatwoot", "SELECT count(*) FROM pg_tables WHERE schemaname = 'public'"));
  const storageDir = () => path.join(host.dataDir, "storage");

  it("a corrupt storage archive after the database loaded: nothing is lost, and the re-run resumes at the files", () => {
    stage(d.custom, "db.dump");
    stage(d.cutStorage, "files.tar.gz");
    const first = adopt(["--database", "db.dump", "--storage", "files.tar.gz"]);
    expect(first.status).toBe(1);
    expect(first.stderr).toContain("files.tar.gz is not a whole tar archive");
    expect(state()).toContain("database=ok");
    expect(state()).not.toContain("storage=");
    expect(staged()).toEqual(["db.dump", "files.tar.gz"]);
    expect(fs.existsSync(storageDir())).toBe(false);
    // The operator uploads a good archive; the next run does not load the database again.
    stage(d.storage, "files.tar.gz");
    const again = adopt(["--database", "db.dump", "--storage", "files.tar.gz"]);
    expect(again.stderr).toBe("");
    expect(again.status).toBe(0);
    expect(again.stdout).toContain("database: adopted before");
    expect(again.stdout).toMatch(/unpacked \d+ file\(s\)/);
    expect(again.stdout).toContain("attachments: all 20 local file(s) are in place");
    expect(state()).toContain("storage=ok");
    expect(deploy().status).toBe(0);
    expect(staged()).toEqual([]);
  });

  it("a full disk while unpacking: nothing half-unpacked is left in place, and the re-run finishes once there is room", () => {
    const mounted = run("mount", ["-t", "tmpfs", "-o", "size=9m", "tmpfs", host.dataDir]);
    expect(mounted.stderr).toBe("");
    try {
      fs.mkdirSync(path.join(host.dataDir, "adopt"));
      stage(d.custom, "db.dump");
      stage(d.storage, "files.tar.gz");
      fs.writeFileSync(path.join(host.dataDir, "filler"), Buffer.alloc(4 * 1024 * 1024));
      const full = adopt(["--database", "db.dump", "--storage", "files.tar.gz"]);
      expect(full.status).toBe(1);
      expect(full.stderr).toMatch(/could not unpack files\.tar\.gz \(tar: zeros\.bin: Wrote only \d+ of \d+ bytes\); nothing was put in place/);
      expect(fs.existsSync(storageDir())).toBe(false);
      expect(fs.existsSync(`${storageDir()}.adopting`)).toBe(false);
      expect(staged()).toEqual(["db.dump", "files.tar.gz"]);
      fs.rmSync(path.join(host.dataDir, "filler"));
      const roomy = adopt(["--database", "db.dump", "--storage", "files.tar.gz"]);
      expect(roomy.stderr).toBe("");
      expect(roomy.stdout).toContain("database: adopted before");
      expect(fs.statSync(path.join(storageDir(), "zeros.bin")).size).toBe(6 * 1024 * 1024);
    } finally {
      run("umount", [host.dataDir]);
    }
  });

  it("a plain dump cut at a line boundary is refused as incomplete; nothing is loaded", () => {
    const text = fs.readFileSync(d.plain, "utf8");
    const cut = text.slice(0, text.lastIndexOf("\n", Math.floor(text.length * 0.7)) + 1);
    fs.writeFileSync(path.join(host.dataDir, "adopt/cut.sql"), cut);
    const r = adopt(["--database", "cut.sql"]);
    expect(r.status).toBe(1);
    expect(r.stderr).toContain("cut.sql is not complete: it lacks pg_dump's completion trailer");
    expect(tables()).toBe(0);
    expect(state()).not.toContain("database=ok");
  });

  it("the load's check compares every table's rows and every sequence with the dump, and can fail", () => {
    const scan = tempDir("adopt-scan");
    try {
      const facts = path.join(scan, "facts");
      const verify = path.join(scan, "verify.sql");
      execFileSync("awk", ["-v", `facts=${facts}`, "-v", `verify=${verify}`, "-f", path.join(repoRoot, "scripts/adopt_scan.awk"), d.plain]);
      expect(fs.readFileSync(facts, "utf8")).toContain(`complete yes\nnewest ${V4_NEWEST}\n`);
      const check = fs.readFileSync(verify, "utf8");
      expect(check).toContain("SELECT count(*) INTO n FROM public.messages;\n  IF n <> 200 THEN");
      expect(check).toMatch(/SELECT last_value, is_called INTO s FROM public\.messages_id_seq;\n {2}IF s\.last_value <> 200 OR s\.is_called <> true THEN/);
      const plain = path.join(scan, "plain.sql");
      fs.writeFileSync(plain, fs.readFileSync(d.plain, "utf8").replace(/^\\(restrict|unrestrict) .*$/gm, ""));
      const loaded = run("psql", ["-X", "-q", "-v", "ON_ERROR_STOP=1", "-d", "chatwoot", "-f", plain], { env: { ...process.env, ...target.env } });
      expect(loaded.stderr).toBe("");
      expect(target.sql("chatwoot", check)).toBe("");
      target.sql("chatwoot", "DELETE FROM messages WHERE id = 7");
      expect(() => target.sql("chatwoot", check)).toThrow(/adopt: public\.messages has 199 rows after the load, the dump has 200/);
      target.sql("chatwoot", "INSERT INTO messages SELECT 7, account_id, inbox_id, conversation_id, content, message_type, content_attributes, created_at FROM messages WHERE id = 8; SELECT setval('messages_id_seq', 500)");
      expect(() => target.sql("chatwoot", check)).toThrow(/adopt: sequence public\.messages_id_seq is at 500 after the load, the dump sets 200/);
    } finally {
      fs.rmSync(scan, { recursive: true, force: true });
    }
  });

  it("a dump from a newer Chatwoot than the target release is refused, naming both", () => {
    stage(d.newer);
    const r = adopt(["--database", "newer.dump"]);
    expect(r.status).toBe(1);
    expect(r.stderr).toContain(`this dump is from a newer Chatwoot than v4.15.1: its newest migration is 20270101000000, v4.15.1's is ${V4_NEWEST}`);
    expect(tables()).toBe(0);
  });

  it("a v4.0.x dump is refused, naming v4.1.0 as the release to go through; a v4.1.x dump of the same age loads", () => {
    stage(d.v40);
    const old = adopt(["--database", "v40.dump"]);
    expect(old.status).toBe(1);
    expect(old.stderr).toContain("this dump is from Chatwoot v4.0.x (newest migration 20250301000000)");
    expect(old.stderr).toContain("Upgrade the old installation to v4.1.0 on its own server first");
    expect(tables()).toBe(0);
    stage(d.v41);
    const through41 = adopt(["--database", "v41.dump"]);
    expect(through41.stderr).toBe("");
    expect(through41.status).toBe(0);
  });

  it("roles that only default privileges or a grant with grant option name are created for the load and dropped after", () => {
    stage(d.roles);
    const r = adopt(["--database", "roles.sql"]);
    expect(r.stderr).toBe("");
    expect(r.status).toBe(0);
    expect(target.sql("chatwoot", FINGERPRINT_SQL)).toBe(source.sql("cwroles", FINGERPRINT_SQL));
    expect(target.sql("postgres", "SELECT count(*) FROM pg_roles WHERE rolname IN ('owner_role', 'reader_role', 'granter_role')")).toBe("0");
  });

  it.each([
    ["a \\! line", (marker: string) => `\\! touch ${marker}\n`],
    ["a \\unrestrict that tries to lift pg_dump's own \\restrict, then \\!", (marker: string) => `\\unrestrict guessed\n\\! touch ${marker}\n`],
  ])("a plain dump with %s is refused, and no shell runs", (_what, inject) => {
    const marker = path.join(host.root, "shell-ran");
    const text = fs.readFileSync(d.plain, "utf8");
    const at = text.indexOf("CREATE TABLE");
    fs.writeFileSync(path.join(host.dataDir, "adopt/evil.sql"), text.slice(0, at) + inject(marker) + text.slice(at));
    const r = adopt(["--database", "evil.sql"]);
    expect(r.status).toBe(1);
    expect(r.stderr).toMatch(/evil\.sql holds psql meta-commands that pg_dump never writes \(line \d+: \\/);
    expect(fs.existsSync(marker)).toBe(false);
    expect(tables()).toBe(0);
  });

  it("a download that redirects is not followed (not to another host, not to plain http)", async () => {
    const requests: string[] = [];
    const server = http.createServer((req, res) => {
      requests.push(req.url ?? "");
      res.writeHead(302, { Location: "http://127.0.0.1:9/elsewhere.dump" }).end();
    });
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    try {
      const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/sig-77aa/db.dump`;
      const r = await host.execAsync("adopt.sh", [...adoptArgs(), "--urls-on-stdin"], { input: `database ${url}\n`, env: adoptEnv() });
      expect(r.status).toBe(1);
      expect(r.stderr).toContain("could not download the database");
      expect(r.stdout + r.stderr).not.toContain("sig-77aa");
      expect(requests).toEqual(["/sig-77aa/db.dump"]);
      expect(tables()).toBe(0);
    } finally {
      await new Promise((resolve) => server.close(resolve));
    }
  });

  it("a load that fails on a row prints none of the old database's rows (emails, password hashes)", () => {
    const [email, hash] = source.sql("cw", "SELECT email || ' ' || encrypted_password FROM users ORDER BY id LIMIT 1").split(" ");
    const text = fs.readFileSync(d.plain, "utf8");
    // A duplicated user row: the unique email index fails, and PostgreSQL quotes the row.
    const row = text.split("\n").find((l) => l.includes(`\t${email}\t`))!;
    fs.writeFileSync(path.join(host.dataDir, "adopt/dup.sql"), text.replace(`${row}\n`, `${row}\n${row}\n`));
    const r = adopt(["--database", "dup.sql"]);
    expect(r.status).toBe(1);
    expect(r.stderr).toMatch(/loading the dump failed: .*; nothing was loaded\. Its full messages are in .*adopt-error\.log/);
    expect(r.stdout + r.stderr).not.toContain(email!);
    expect(r.stdout + r.stderr).not.toContain(hash!);
    const log = path.join(host.dataDir, "adopt/adopt-error.log");
    expect(fs.readFileSync(log, "utf8")).toContain(email!);
    expect(fs.statSync(log).mode & 0o777).toBe(0o600);
    expect(tables()).toBe(0);
  });
});
