/**
 * docker/backup/chatwoot-backup run for real against a real PostgreSQL and restic: a Chatwoot-shaped
 * database and a storage directory are backed up, wiped, restored and compared (row counts and
 * checksums per table, the per-account conversation sequences, every file's sha256), through a
 * local repository and through SFTP to an sshd on loopback.
 */
import { createHash, randomBytes } from "node:crypto";
import * as fs from "node:fs";
import * as path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { parseEnvFile } from "../chatwoot/env-file";
import { BACKUP_TOOL, backupFixture, repositoryTemplate } from "../test/backup-fixture";
import { dataSql, FINGERPRINT_SQL, SCHEMA_SQL, SEQUENCES_SQL } from "../test/chatwoot-dataset";
import { startPostgres, type RunningPostgres } from "../test/postgres";
import { startSshd, type RunningSshd } from "../test/sshd";
import { describeWithTools, run, tempDir } from "../test/tools";
import { RESTIC } from "../test/go-tools";

/** For what does not depend on the database's size. */
const SMALL_DATASET = { accounts: 2, conversationsPerAccount: 200, messages: 5000, messageLength: 80 };

const TOOLS = ["psql", "pg_dump", "pg_restore", "restic", "jq", "flock", "ssh-agent", "runuser"];

/** Active Storage-like files: two-level key directories, binary content, one empty directory. */
function writeFiles(storage: string, count: number): void {
  for (let i = 0; i < count; i++) {
    const key = createHash("md5").update(`blob${i}`).digest("hex");
    const d = path.join(storage, key.slice(0, 2), key.slice(2, 4));
    fs.mkdirSync(d, { recursive: true });
    fs.writeFileSync(path.join(d, key), randomBytes(1024 + i * 4096));
  }
  fs.mkdirSync(path.join(storage, "variants", "empty"), { recursive: true });
}

function fileHashes(dir: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const entry of fs.readdirSync(dir, { recursive: true, withFileTypes: true })) {
    const full = path.join(entry.parentPath, entry.name);
    const rel = path.relative(dir, full);
    out[rel] = entry.isFile() ? createHash("sha256").update(fs.readFileSync(full)).digest("hex") : "dir";
  }
  return out;
}

function recreateDatabase(pg: RunningPostgres): void {
  pg.sql("postgres", "DROP DATABASE IF EXISTS chatwoot");
  pg.sql("postgres", "CREATE DATABASE chatwoot");
}

describeWithTools("chatwoot-backup with a real PostgreSQL and restic", TOOLS, () => {
  let pg: RunningPostgres;
  let fx: ReturnType<typeof backupFixture>;
  let before: { rows: string; sequences: string; files: Record<string, string> };

  beforeAll(async () => {
    // Made while the database loads (it waits on a CPU quota, not on this process).
    const template = repositoryTemplate();
    pg = await startPostgres();
    recreateDatabase(pg);
    pg.sql("chatwoot", SCHEMA_SQL);
    pg.sql("chatwoot", dataSql({ accounts: 4, conversationsPerAccount: 5000, messages: 300_000, messageLength: 120 }));
    fx = backupFixture(pg, undefined, await template);
    writeFiles(fx.storage, 25);
    before = { rows: pg.sql("chatwoot", FINGERPRINT_SQL), sequences: pg.sql("chatwoot", SEQUENCES_SQL), files: fileHashes(fx.storage) };
  });
  afterAll(() => {
    fx?.cleanup();
    pg?.stop();
  });

  it("runs restic at the version the backup image runs (docker/backup/Dockerfile), not another one on the machine", () => {
    expect(run("restic", ["version"]).stdout).toMatch(new RegExp(`^restic ${RESTIC.version.slice(1).replaceAll(".", "\\.")} `));
  });

  it("the dataset is Chatwoot-shaped: hundreds of thousands of messages, a sequence per account", () => {
    expect(before.rows).toContain("messages|300000|");
    expect(before.sequences.split("\n")).toEqual(["conv_dpid_seq_1=5000", "conv_dpid_seq_2=5000", "conv_dpid_seq_3=5000", "conv_dpid_seq_4=5000"]);
  });

  it("backs up the database, the env file and the files, and records the result", () => {
    const r = fx.tool(["run", "all"]);
    expect(r.stderr).not.toContain("FAILED");
    expect(r.status).toBe(0);
    const s = fx.status();
    expect(s).toMatchObject({ database_last_result: "ok", files_last_result: "ok" });
    expect(s.database_last_snapshot).toMatch(/^[0-9a-f]{8}$/);
    expect(Number(s.database_last_success)).toBeGreaterThan(Date.now() / 1000 - 600);
    const tags = run("restic", ["snapshots", "--json"], { env: fx.env });
    const snapshots = JSON.parse(tags.stdout) as { tags: string[]; paths: string[]; hostname: string }[];
    expect(snapshots.map((x) => x.tags[0]).sort()).toEqual(["database", "env", "files"]);
    expect(new Set(snapshots.map((x) => x.hostname))).toEqual(new Set(["chatwoot"]));
    // The staged dump is removed once it is in the repository.
    expect(fs.readdirSync(path.join(fx.state, "staging"))).toEqual([]);
  });

  it("reports healthy right after a backup", () => {
    const r = fx.tool(["health"]);
    expect(r.status).toBe(0);
    expect(r.stdout).toMatch(/database backup: ok, 0 min ago/);
  });

  it("restores a wiped database and storage directory exactly: rows, checksums, sequences, files", () => {
    recreateDatabase(pg);
    fs.rmSync(fx.storage, { recursive: true });
    fs.mkdirSync(fx.storage);
    const latest = fx.status().database_last_snapshot!;
    const r = fx.tool(["restore", "--snapshot", "latest", "--if-empty"]);
    expect(r.stderr).not.toMatch(/error/i);
    expect(r.status).toBe(0);
    // Named from restic's own output (its wording changed in 0.17).
    expect(r.stdout).toContain(`fetched database snapshot ${latest} (taken 20`);
    expect(r.stdout).toContain(`restore done: database ${latest}`);
    expect(pg.sql("chatwoot", FINGERPRINT_SQL)).toBe(before.rows);
    expect(pg.sql("chatwoot", SEQUENCES_SQL)).toBe(before.sequences);
    expect(fileHashes(fx.storage)).toEqual(before.files);
  });

  it("leaves the restored database working as Chatwoot uses it: new conversations and accounts get their numbers", () => {
    const id = pg.sql("chatwoot", "INSERT INTO conversations (account_id, inbox_id, display_id) VALUES (2, 2, 0) RETURNING display_id");
    expect(id).toBe("5001");
    pg.sql("chatwoot", "INSERT INTO accounts (name) VALUES ('After restore')");
    expect(pg.sql("chatwoot", "SELECT count(*) FROM pg_sequences WHERE sequencename = 'conv_dpid_seq_5'")).toBe("1");
    pg.sql("chatwoot", "DELETE FROM conversations WHERE display_id = 5001 AND account_id = 2");
    pg.sql("chatwoot", "DELETE FROM accounts WHERE id = 5; DROP SEQUENCE conv_dpid_seq_5; SELECT setval('conv_dpid_seq_2', 5000)");
  });

  it("with --if-empty, never touches a database that has data", () => {
    pg.sql("chatwoot", "UPDATE accounts SET name = 'Changed after the backup' WHERE id = 1");
    const r = fx.tool(["restore", "--if-empty"]);
    expect(r.status).toBe(0);
    expect(r.stdout).toContain("restore skipped: the database already has tables");
    expect(pg.sql("chatwoot", "SELECT name FROM accounts WHERE id = 1")).toBe("Changed after the backup");
  });

  // What these check does not depend on the database's size: a small one, so that each dump and
  // restore costs a fraction of the large dataset's (the tests above restore that one exactly).
  describe("on a small database", () => {
    let small = "";
    beforeAll(() => {
      recreateDatabase(pg);
      pg.sql("chatwoot", SCHEMA_SQL);
      pg.sql("chatwoot", dataSql(SMALL_DATASET));
      small = pg.sql("chatwoot", FINGERPRINT_SQL);
    });

    it("stages the dump 0600 in a 0700 directory for as long as it exists, even where the directory was made open before", () => {
      const staging = path.join(fx.state, "staging");
      fs.mkdirSync(staging, { recursive: true, mode: 0o755 });
      fs.chmodSync(staging, 0o755);
      // TEST STAND-IN SHIM, NOT pg_dump: runs the real pg_dump, then records the modes of what it wrote.
      const shim = tempDir("pg-dump-shim");
      const seen = path.join(shim, "seen");
      const real = run("bash", ["-c", "command -v pg_dump"]).stdout.trim();
      fs.writeFileSync(path.join(shim, "pg_dump"), `#!/bin/sh
  "${real}" "$@" || exit $?
  for a in "$@"; do case "$a" in --file=*) f=\${a#--file=};; esac; done
  stat -c '%a' "$(dirname "$f")" "$f" > "${seen}"
  `, { mode: 0o755 });
      try {
        const r = fx.tool(["run", "database"], { PATH: `${shim}:${process.env.PATH}` });
        expect(r.status).toBe(0);
        expect(fs.readFileSync(seen, "utf8").split("\n").filter(Boolean)).toEqual(["700", "600"]);
      } finally {
        fs.rmSync(shim, { recursive: true, force: true });
      }
    });

    it("restores a chosen snapshot over a database with data (--clean), not just the latest", () => {
      expect(fx.tool(["run", "database"]).status).toBe(0);
      const first = fx.status().database_last_snapshot!;
      pg.sql("chatwoot", "UPDATE accounts SET name = 'Changed after the first backup' WHERE id = 1");
      expect(pg.sql("chatwoot", FINGERPRINT_SQL)).not.toBe(small);
      expect(fx.tool(["run", "database"]).status).toBe(0);
      expect(fx.status().database_last_snapshot).not.toBe(first);
      const r = fx.tool(["restore", "--snapshot", first, "--no-files"]);
      expect(r.status).toBe(0);
      expect(r.stdout).toContain(`fetched database snapshot ${first}`);
      expect(pg.sql("chatwoot", FINGERPRINT_SQL)).toBe(small);
    });

    it("names the latest snapshot from restic's older wording too, and says so, guessing no id, when restic names it otherwise", () => {
      const latest = fx.status().database_last_snapshot!;
      // Other keys in the .env: the restore stops after the download, before it touches the database.
      const env = fs.readFileSync(fx.envFile, "utf8");
      fs.writeFileSync(fx.envFile, env.replace(/^SECRET_KEY_BASE='.*'$/m, `SECRET_KEY_BASE='${"y".repeat(128)}'`));
      // TEST STAND-IN SHIM, NOT restic: runs the real restic and rewords its "restoring snapshot" line.
      const shim = tempDir("restic-shim");
      const real = run("bash", ["-c", "command -v restic"]).stdout.trim();
      fs.writeFileSync(path.join(shim, "restic"), `#!/bin/bash
  "${real}" "$@" 2>&1 | sed -E "$RESTIC_SHIM_SED"
  exit "\${PIPESTATUS[0]}"
  `, { mode: 0o755 });
      try {
        const restore = (sed: string) => fx.tool(["restore", "--no-files"], { PATH: `${shim}:${process.env.PATH}`, RESTIC_SHIM_SED: sed });
        // restic 0.14's wording: "restoring <Snapshot <id> of [...] at <time> by ...> to ...".
        const old = restore("s/^restoring snapshot ([0-9a-f]+) (of .* by [^ ]+) to /restoring <Snapshot \\1 \\2> to /");
        expect(old.stdout).toContain(`fetched database snapshot ${latest} (taken 20`);
        const other = restore("s/^restoring snapshot /Restoring from snapshot /");
        expect(other.stdout).toContain("restic's output did not name the latest database snapshot it fetched: Restoring from snapshot");
        expect(other.stdout).toContain("fetched database snapshot unknown (taken unknown,");
        for (const r of [old, other]) {
          expect(r.status).toBe(1);
          expect(r.stderr).toContain("the backup was made with other keys (SECRET_KEY_BASE)");
        }
        expect(pg.sql("chatwoot", FINGERPRINT_SQL)).toBe(small);
      } finally {
        fs.writeFileSync(fx.envFile, env);
        fs.rmSync(shim, { recursive: true, force: true });
      }
    });

    it("refuses a backup made with other keys, naming the keys and the config to set, never their values", () => {
      const env = fs.readFileSync(fx.envFile, "utf8");
      const other = "z".repeat(128);
      fs.writeFileSync(fx.envFile, env.replace(/^SECRET_KEY_BASE='.*'$/m, `SECRET_KEY_BASE='${other}'`));
      try {
        const r = fx.tool(["restore", "--no-files"]);
        expect(r.status).toBe(1);
        expect(r.stderr).toContain("the backup was made with other keys (SECRET_KEY_BASE)");
        expect(r.stderr).toContain("chatwoot:secretKeyBase");
        const output = r.stdout + r.stderr;
        expect(output).not.toContain(other);
        expect(output).not.toContain(parseEnvFile(env).get("SECRET_KEY_BASE"));
      } finally {
        fs.writeFileSync(fx.envFile, env);
      }
    });

    it("names an unknown snapshot and rejects malformed ids", () => {
      let r = fx.tool(["restore", "--snapshot", "deadbeef"]);
      expect(r.status).toBe(1);
      expect(r.stderr).toContain("no database snapshot matches 'deadbeef'");
      r = fx.tool(["restore", "--snapshot", "yesterday"]);
      expect(r.stderr).toContain("--snapshot must be latest or a snapshot id");
    });

    it("forgets and prunes with the retention, keeping the newest of each kind, and checks the repository", () => {
      expect(fx.tool(["prune"]).status).toBe(0);
      const snapshots = JSON.parse(run("restic", ["snapshots", "--json"], { env: fx.env }).stdout) as { tags: string[] }[];
      expect(new Set(snapshots.map((x) => x.tags[0]))).toEqual(new Set(["database", "env", "files"]));
      expect(fx.tool(["check"]).status).toBe(0);
      expect(fx.status()).toMatchObject({ prune_last_result: "ok", check_last_result: "ok" });
    });

    it("refuses to prune without any retention rather than forgetting everything", () => {
      const r = fx.tool(["prune"], { BACKUP_KEEP_HOURLY: "0", BACKUP_KEEP_DAILY: "0" });
      expect(r.status).toBe(1);
      expect(r.stderr).toContain("refusing to forget every snapshot");
    });

    it("records a failed run and says which part failed", () => {
      const r = fx.tool(["run", "database"], { PGPORT: "1" });
      expect(r.status).toBe(1);
      expect(r.stderr).toContain("pg_dump failed");
      expect(fx.status().database_last_result).toBe("failed");
    });

    it("reports a backup older than twice its interval as stale, and a missing first backup after two intervals", () => {
      const status = path.join(fx.state, "status");
      const now = Math.floor(Date.now() / 1000);
      fs.writeFileSync(
        status,
        [`scheduler_started=${now - 3600}`, "database_every=900", `database_last_success=${now - 1900}`, "database_last_result=failed", "files_every=3600"].join("\n") + "\n",
      );
      const r = fx.tool(["health"]);
      expect(r.status).toBe(1);
      expect(r.stderr).toContain("database backup: STALE, the last successful one was 31 min ago (expected every 15 min; last result: failed");
      expect(r.stdout).toContain("files backup: first run pending");
      fs.writeFileSync(status, [`scheduler_started=${now - 7300}`, "files_every=3600", `database_last_success=${now}`].join("\n") + "\n");
      expect(fx.tool(["health"]).stderr).toContain("files backup: no successful backup yet");
    });
  });
});

describeWithTools("chatwoot-backup over SFTP to an sshd on loopback", [...TOOLS, "sshd", "ssh-keygen"], () => {
  let pg: RunningPostgres;
  let sshd: RunningSshd;
  let fx: ReturnType<typeof backupFixture>;
  let sftpRepo = "";

  beforeAll(async () => {
    pg = await startPostgres();
    recreateDatabase(pg);
    pg.sql("chatwoot", SCHEMA_SQL);
    pg.sql("chatwoot", dataSql(SMALL_DATASET));
    sshd = await startSshd();
    // The Storage Box form: sftp://user@host:port/relative-path (here relative to the user's home).
    sftpRepo = tempDir("sftp-repo");
    fx = backupFixture(pg, `sftp://${sshd.user}@127.0.0.1:${sshd.port}/${path.relative(sshd.home, sftpRepo)}/repo`);
    writeFiles(fx.storage, 3);
  });
  afterAll(() => {
    fx?.cleanup();
    sshd?.stop();
    pg?.stop();
    if (sftpRepo) fs.rmSync(sftpRepo, { recursive: true, force: true });
  });

  it("makes the repository on first use, backs up and restores with the key from BACKUP_SSH_KEY, recording the host key on first use", () => {
    const env = { BACKUP_SSH_KEY: Buffer.from(sshd.clientKey).toString("base64") };
    const rows = pg.sql("chatwoot", FINGERPRINT_SQL);
    const files = fileHashes(fx.storage);
    expect(fs.existsSync(path.join(sftpRepo, "repo"))).toBe(false);
    const backup = fx.tool(["run", "all"], env);
    expect(backup.stderr).not.toContain("FAILED");
    expect(backup.status).toBe(0);
    // The backup job's own `restic init`, as on a new host (the local tests copy a template).
    expect(backup.stdout).toContain("no repository yet; initialising it");
    expect(fs.existsSync(path.join(sftpRepo, "repo/config"))).toBe(true);
    const known = run("ssh-keygen", ["-F", `[127.0.0.1]:${sshd.port}`, "-f", path.join(fx.state, "known_hosts")]);
    expect(known.status).toBe(0);
    // The key never lands in a file of ours.
    for (const f of fs.readdirSync(fx.state, { recursive: true }) as string[]) {
      const full = path.join(fx.state, f);
      if (fs.statSync(full).isFile()) expect(fs.readFileSync(full, "utf8"), f).not.toContain("PRIVATE KEY");
    }
    recreateDatabase(pg);
    fs.rmSync(fx.storage, { recursive: true });
    fs.mkdirSync(fx.storage);
    const restore = fx.tool(["restore", "--if-empty"], env);
    expect(restore.status).toBe(0);
    expect(pg.sql("chatwoot", FINGERPRINT_SQL)).toBe(rows);
    expect(fileHashes(fx.storage)).toEqual(files);
  });

  it("fails clearly without the key, and with a changed host key", () => {
    let r = fx.tool(["run", "database"]);
    expect(r.status).toBe(1);
    expect(r.stderr).toContain("an sftp: repository needs BACKUP_SSH_KEY");
    const known = path.join(fx.state, "known_hosts");
    const original = fs.readFileSync(known, "utf8");
    fs.writeFileSync(known, original.replace(/ssh-ed25519 \S+/, `ssh-ed25519 ${sshd.otherHostKey}`));
    expect(fs.readFileSync(known, "utf8")).not.toBe(original);
    try {
      r = fx.tool(["run", "database"], { BACKUP_SSH_KEY: Buffer.from(sshd.clientKey).toString("base64") });
      expect(r.status).toBe(1);
      expect(r.stderr).toMatch(/cannot open the backup repository|REMOTE HOST IDENTIFICATION HAS CHANGED|Host key verification failed/);
    } finally {
      fs.writeFileSync(known, original);
    }
  });
});

describe("the backup tool's command line", () => {
  it("explains its usage for an unknown command", () => {
    const r = run("bash", [BACKUP_TOOL, "backup-everything"], { env: { PATH: process.env.PATH } });
    expect(r.status).toBe(1);
    expect(r.stderr).toContain("usage: chatwoot-backup run database|files|all");
  });

  it("says which setting is missing", () => {
    const r = run("bash", [BACKUP_TOOL, "run", "all"], { env: { PATH: process.env.PATH } });
    expect(r.status).toBe(1);
    expect(r.stderr).toContain("RESTIC_REPOSITORY is not set (are backups enabled? chatwoot:backup.enabled)");
  });

  it("finds its restore command beside it however it is called: by path, by name on PATH, from its folder, through a symlink", () => {
    const dir = path.dirname(BACKUP_TOOL);
    const links = tempDir("backup-tool-link");
    try {
      fs.symlinkSync(BACKUP_TOOL, path.join(links, "chatwoot-backup"));
      const ways: [string, string[], { cwd?: string; pathFirst?: string }][] = [
        ["bash", [BACKUP_TOOL, "restore"], {}],
        ["chatwoot-backup", ["restore"], { pathFirst: dir }],
        ["bash", ["chatwoot-backup", "restore"], { cwd: dir }],
        ["bash", [path.join(links, "chatwoot-backup"), "restore"], {}],
        ["chatwoot-backup", ["restore"], { pathFirst: links }],
      ];
      for (const [cmd, args, o] of ways) {
        const r = run(cmd, args, { cwd: o.cwd, env: { PATH: o.pathFirst ? `${o.pathFirst}:${process.env.PATH}` : process.env.PATH } });
        // The restore command (restore.sh, sourced at start: a missing one ends the script there) ran.
        expect(r.stderr, `${cmd} ${args.join(" ")}`).toBe("chatwoot-backup: CHATWOOT_ENV_FILE (unset) is not readable\n");
      }
    } finally {
      fs.rmSync(links, { recursive: true, force: true });
    }
  });
});
