/**
 * backup.sh, restore.sh and rollback.sh against the TEST STAND-IN docker.
 * (Split from one file so that vitest runs them side by side.)
 */
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { renderMaskedEnvFile } from "../chatwoot/env";
import { ENV_FILE_END } from "../chatwoot/env-file";
import { envSettings } from "../test/fixtures";
import { fakeHost } from "../test/fake-host";
import { repoRoot } from "../lib/repo";
import { run } from "../test/run";
import { NEW, OLD, RUNNING, compose } from "../test/deploy-calls";

describe("backup.sh and restore.sh with a stand-in docker: arguments, errors, what they run", () => {
  let host: ReturnType<typeof fakeHost>;
  beforeEach(() => {
    host = fakeHost();
    fs.mkdirSync(path.join(host.app, "release"));
    fs.writeFileSync(path.join(host.app, "release/current"), `${OLD}\n`);
  });
  afterEach(() => host.cleanup());
  const last = () => host.calls().at(-1)!;

  it("backup.sh runs the service's job, everything by default", () => {
    expect(host.exec("backup.sh", []).status).toBe(0);
    expect(last()).toBe(`CHATWOOT_IMAGE=${OLD} ${compose(host.app, "run --rm -T backup chatwoot-backup run all")}`);
    expect(host.exec("backup.sh", ["database"]).status).toBe(0);
    expect(last()).toMatch(/chatwoot-backup run database$/);
    expect(host.exec("backup.sh", ["snapshots"]).status).toBe(0);
    expect(last()).toMatch(/chatwoot-backup snapshots$/);
  });

  it("backup.sh rejects unknown arguments and explains disabled backups", () => {
    let r = host.exec("backup.sh", ["everything"]);
    expect(r.status).toBe(2);
    expect(r.stderr).toContain("unknown argument 'everything'");
    r = host.exec("backup.sh", ["files", "extra"]);
    expect(r.status).toBe(2);
    expect(r.stderr).toContain("too many arguments");
    fs.writeFileSync(path.join(host.app, ".env"), renderMaskedEnvFile({ ...envSettings, backup: undefined }, true));
    r = host.exec("backup.sh", []);
    expect(r.status).toBe(1);
    expect(r.stderr).toContain("backups are not enabled on this host (chatwoot:backup.enabled");
    expect(host.calls()).toEqual([]);
  });

  it("backup.sh passes the job's failure on", () => {
    const r = host.exec("backup.sh", ["files"], { fail: "chatwoot-backup run files$" });
    expect(r.status).toBe(1);
  });

  it("restore.sh refuses to act without confirmation and validates the snapshot id", () => {
    let r = host.exec("restore.sh", []);
    expect(r.status).toBe(2);
    expect(r.stderr).toContain("confirm with --yes");
    r = host.exec("restore.sh", ["--snapshot", "yesterday", "--yes"]);
    expect(r.status).toBe(2);
    expect(r.stderr).toContain("--snapshot must be 'latest' or a snapshot id");
    expect(host.calls()).toEqual([]);
  });

  it("restore.sh by hand: stops the writers, restores, starts and checks, in that order", () => {
    const r = host.exec("restore.sh", ["--snapshot", "1a2b3c4d", "--yes"]);
    expect(r.status).toBe(0);
    expect(host.calls()).toEqual([
      `CHATWOOT_IMAGE=${OLD} ${compose(host.app, "stop rails sidekiq backup")}`,
      `CHATWOOT_IMAGE=${OLD} ${compose(host.app, "run --rm -T --no-deps backup chatwoot-backup restore --snapshot 1a2b3c4d")}`,
      `CHATWOOT_IMAGE=${OLD} ${compose(host.app, "up -d --wait")}`,
      `CHATWOOT_IMAGE=${OLD} ${compose(host.app, "exec -T postgres psql -U postgres -d chatwoot -XAt -c select count(*) from accounts")}`,
      `CHATWOOT_IMAGE=${OLD} ${compose(host.app, "exec -T rails wget -q -O - --header X-Forwarded-Proto: https http://127.0.0.1:3000/api")}`,
    ]);
  });

  it("restore.sh leaves the services stopped and says so when the restore fails", () => {
    const r = host.exec("restore.sh", ["--yes"], { fail: "chatwoot-backup restore" });
    expect(r.status).toBe(1);
    expect(r.stderr).toContain("the restore failed; rails and sidekiq are still stopped");
    expect(host.calls().some((c) => c.endsWith("up -d --wait"))).toBe(false);
  });

  it("restore.sh before a deploy restores only into an empty database, on a server with nothing deployed yet", () => {
    fs.rmSync(path.join(host.app, "release"), { recursive: true, force: true });
    const r = host.exec("restore.sh", ["--before-deploy", "--snapshot", "latest"]);
    expect(r.status).toBe(0);
    const image = "chatwoot/chatwoot:not-deployed";
    expect(host.calls()).toEqual([
      `CHATWOOT_IMAGE=${image} ${compose(host.app, "build --quiet backup")}`,
      `CHATWOOT_IMAGE=${image} ${compose(host.app, "up -d --wait postgres")}`,
      `CHATWOOT_IMAGE=${image} ${compose(host.app, "run --rm -T --no-deps backup chatwoot-backup restore --snapshot latest --if-empty")}`,
    ]);
  });
});

describe("rollback.sh with a stand-in docker", () => {
  let host: ReturnType<typeof fakeHost>;
  const releases = (current: string, previous?: string) => {
    fs.mkdirSync(path.join(host.app, "release"), { recursive: true });
    fs.writeFileSync(path.join(host.app, "release/current"), `${current}\n`);
    if (previous) fs.writeFileSync(path.join(host.app, "release/previous"), `${previous}\n`);
  };
  const schema = (db: string, image: string) =>
    host.reply([
      ["schema_migrations", db],
      ["--entrypoint sh rails", image],
    ]);
  beforeEach(() => {
    host = fakeHost();
  });
  afterEach(() => host.cleanup());

  it("says there is nothing to roll back to without a previous release", () => {
    releases(NEW);
    const r = host.exec("rollback.sh", ["--yes"]);
    expect(r.status).toBe(2);
    expect(r.stderr).toContain("no previous release is recorded");
    expect(host.calls()).toEqual([]);
  });

  it("rolls the app containers back, swaps the releases and logs it, leaving migrations alone", () => {
    releases(NEW, OLD);
    schema("20261001000000", "20261001000000");
    const r = host.exec("rollback.sh", ["--yes"]);
    expect(r.stderr).toBe("");
    expect(r.status).toBe(0);
    expect(host.calls().at(-1)).toBe(`CHATWOOT_IMAGE=${OLD} ${compose(host.app, "up -d --wait --no-deps rails sidekiq")}`);
    expect(host.calls().some((c) => /rails db:/.test(c))).toBe(false);
    expect(host.release("current")).toBe(OLD);
    expect(host.release("previous")).toBe(NEW);
    expect(host.deployLog().at(-1)).toMatch(new RegExp(`rollback image=${OLD} previous=${NEW} result=ok$`));
    expect(r.stdout).toContain("pulumi config set chatwoot:chatwootVersion v4.15.1");
  });

  it("switches the web tier without downtime while Rails and Caddy serve, then Sidekiq", () => {
    releases(NEW, OLD);
    host.reply([
      ["schema_migrations", "20261001000000"],
      ["--entrypoint sh rails", "20261001000000"],
      ...RUNNING,
    ]);
    const r = host.exec("rollback.sh", ["--yes"]);
    expect(r.stderr).toBe("");
    expect(r.status).toBe(0);
    const calls = host.calls();
    expect(calls.slice(calls.findIndex((c) => c.includes("rails-surge")))).toEqual([
      `CHATWOOT_IMAGE=${OLD} ${compose(host.app, "up -d --wait --no-deps rails-surge")}`,
      `CHATWOOT_IMAGE=${OLD} ${compose(host.app, "exec -T -e CHATWOOT_UPSTREAM=127.0.0.1:3001 caddy caddy reload --config /etc/caddy/Caddyfile --adapter caddyfile")}`,
      `CHATWOOT_IMAGE=${OLD} ${compose(host.app, "up -d --wait --no-deps rails")}`,
      `CHATWOOT_IMAGE=${OLD} ${compose(host.app, "exec -T caddy caddy reload --config /etc/caddy/Caddyfile --adapter caddyfile")}`,
      `CHATWOOT_IMAGE=${OLD} ${compose(host.app, "rm --stop --force rails-surge")}`,
      `CHATWOOT_IMAGE=${OLD} ${compose(host.app, "up -d --wait --no-deps rails sidekiq")}`,
    ]);
    expect(host.release("current")).toBe(OLD);
  });

  it("warns when the database is migrated beyond what the previous release knows, and wants confirmation", () => {
    releases(NEW, OLD);
    schema("20261105120000", "20261001000000");
    const r = host.exec("rollback.sh", []);
    expect(r.status).toBe(2);
    expect(r.stderr).toContain(`WARNING: the database is migrated to 20261105120000, newer than anything ${OLD} knows (up to 20261001000000)`);
    expect(r.stderr).toContain("confirm with --yes");
    expect(host.calls().some((c) => c.includes("up -d"))).toBe(false);
    expect(host.release("current")).toBe(NEW);
  });

  it("starts the current release again when the previous one does not become healthy", () => {
    releases(NEW, OLD);
    schema("20261001000000", "20261001000000");
    const r = host.exec("rollback.sh", ["--yes"], { fail: `^CHATWOOT_IMAGE=${OLD} .* up -d --wait` });
    expect(r.status).toBe(1);
    expect(r.stderr).toContain(`${OLD} did not become healthy; starting ${NEW} again`);
    expect(host.calls().at(-1)).toBe(`CHATWOOT_IMAGE=${NEW} ${compose(host.app, "up -d --wait --no-deps rails sidekiq")}`);
    expect(host.release("current")).toBe(NEW);
  });
});

describe("lib.sh's .env readers (builtins, on every compose call)", () => {
  const ask = (envText: string | undefined) => {
    const h = fakeHost();
    try {
      const file = path.join(h.app, ".env");
      if (envText === undefined) fs.rmSync(file);
      else fs.writeFileSync(file, envText);
      // A script beside lib.sh, as the host scripts are, that asks both.
      const probe = path.join(h.app, "bundle/scripts/probe.sh");
      fs.writeFileSync(probe, `set -euo pipefail\nsource "\${BASH_SOURCE[0]%/*}/lib.sh"\nif backups_enabled; then echo backups; fi\necho "dir=$(env_data_dir)"\n`);
      return run("bash", [probe], { cwd: h.app });
    } finally {
      h.cleanup();
    }
  };
  it("read the last line without a newline, and a missing .env as nothing, without an error", () => {
    expect(ask("A='1'\nCHATWOOT_DATA_DIR='/srv/x'\nBACKUP_ENABLED='true'").stdout).toBe("backups\ndir=/srv/x\n");
    expect(ask("BACKUP_ENABLED='false'\nCHATWOOT_DATA_DIR='/srv/y'\n").stdout).toBe("dir=/srv/y\n");
    const missing = ask(undefined);
    expect(missing.stdout).toBe("dir=\n");
    expect(missing.stderr).toBe("");
    expect(missing.status).toBe(0);
  });
});

describe("lib.sh's builtin stand-ins for date, sha256sum | cut and cat", () => {
  it("give what the programs give: the UTC time, a file's hash (failing when unreadable), a file's text without trailing newlines, into any variable name", () => {
    const h = fakeHost();
    try {
      const text = path.join(h.root, "text");
      fs.writeFileSync(text, "v4.15.1\nsecond line\n\n\n");
      const probe = path.join(h.app, "bundle/scripts/probe.sh");
      fs.writeFileSync(
        probe,
        [
          "set -euo pipefail",
          'source "${BASH_SOURCE[0]%/*}/lib.sh"',
          'before=$(date -u +%Y-%m-%dT%H:%M:%SZ); when=""; utc_now when; after=$(date -u +%Y-%m-%dT%H:%M:%SZ)',
          '[[ "$when" == "$before" || "$when" == "$after" ]] && echo "time ok"',
          'sum=""; sha256_of sum "$1"; [[ "$sum" == "$(sha256sum "$1" | cut -d" " -f1)" ]] && echo "sha256 ok"',
          'if sha256_of sum "$1.missing"; then echo "a missing file hashed"; fi',
          'text=""; read_text text "$1"; [[ "$text" == "$(cat "$1")" ]] && printf "text ok: %s\\n" "${text//$\'\\n\'/|}"',
          'read_text text "$1.missing"; echo "missing: [$text]"',
        ].join("\n") + "\n",
      );
      // TZ far from UTC: the time must still be UTC.
      const r = run("bash", [probe, text], { env: { ...process.env, TZ: "Asia/Tokyo" } });
      expect(r.stderr).toBe("");
      expect(r.stdout).toBe("time ok\nsha256 ok\ntext ok: v4.15.1|second line\nmissing: []\n");
      expect(r.status).toBe(0);
    } finally {
      h.cleanup();
    }
  });
});

describe("lib.sh's paths, however a script is called", () => {
  it("finds the release's scripts and the app directory through the bundle link, the release directory, a relative path or ..", () => {
    // <app>/bundle links to <app>/bundles/<release>, as the upload step leaves it; a probe script
    // beside the real lib.sh prints what it found.
    const root = fs.realpathSync(fs.mkdtempSync(path.join(os.tmpdir(), "lib-paths-")));
    try {
      const app = path.join(root, "app");
      const scripts = path.join(app, "bundles/r1/scripts");
      fs.mkdirSync(scripts, { recursive: true });
      fs.symlinkSync("bundles/r1", path.join(app, "bundle"));
      fs.copyFileSync(path.join(repoRoot, "scripts/lib.sh"), path.join(scripts, "lib.sh"));
      fs.writeFileSync(
        path.join(scripts, "probe.sh"),
        '#!/bin/bash\nset -euo pipefail\nscripts_dir=${BASH_SOURCE[0]%/*}; [[ "$scripts_dir" != "${BASH_SOURCE[0]}" ]] || scripts_dir=.\nsource "$scripts_dir/lib.sh"\necho "$here|$app_dir"\n',
        { mode: 0o755 },
      );
      const probe = (cmd: string) => run("bash", ["-c", cmd]).stdout.trim();
      const expected = `${scripts}|${app}`;
      expect(probe(`exec "${app}/bundle/scripts/probe.sh"`)).toBe(expected);
      expect(probe(`exec "${scripts}/probe.sh"`)).toBe(expected);
      expect(probe(`cd "${app}/bundle/scripts" && exec ./probe.sh`)).toBe(expected);
      expect(probe(`cd "${app}" && exec bundle/scripts/probe.sh`)).toBe(expected);
      expect(probe(`exec "${app}/bundles/r1/../r1/scripts/probe.sh"`)).toBe(expected);
      expect(probe(`exec "${root}//app/bundles/r1/scripts/probe.sh"`)).toBe(expected);
    } finally {
      fs.rmSync(root, { recursive: true, force: true });
    }
  });
});

describe("compose.sh where things around it fail", () => {
  it("works from a working directory that was deleted meanwhile (the way back to it is gone)", () => {
    const h = fakeHost();
    try {
      h.deployedAs("v4.15.1");
      h.resetCalls();
      const gone = path.join(h.root, "gone");
      fs.mkdirSync(gone);
      const r = run("bash", ["-c", `cd "${gone}" && rmdir "${gone}" && exec "${h.app}/bundle/scripts/compose.sh" ps`], {
        env: { ...process.env, PATH: `${h.root}/bin:${process.env.PATH}`, STANDIN_LOG: path.join(h.root, "docker.log") },
      });
      expect(r.status, r.stderr).toBe(0);
      expect(h.calls().at(-1)).toBe(`CHATWOOT_IMAGE=${OLD} ${compose(h.app, "ps")}`);
    } finally {
      h.cleanup();
    }
  });

  it("starts nothing when chatwoot:tuning's values cannot work together, saying which and why", () => {
    const h = fakeHost();
    try {
      h.deployedAs("v4.15.1");
      h.resetCalls();
      const envFile = path.join(h.app, ".env");
      const before = fs.readFileSync(envFile, "utf8");
      // Four Puma workers of 5 threads, twice during a switch, need more than 50 connections.
      fs.writeFileSync(envFile, before.replace(ENV_FILE_END, `TUNING_WEB_CONCURRENCY='4'\nTUNING_PG_MAX_CONNECTIONS='50'\n${ENV_FILE_END}`));
      const appEnv = fs.readFileSync(path.join(h.app, "env/app.env"), "utf8");
      const r = h.exec("compose.sh", ["up", "-d"]);
      expect(r.status).toBe(1);
      expect(r.stderr).toContain("tuning.sh: chatwoot:tuning.postgres.maxConnections is 50, below what Chatwoot opens");
      expect(r.stderr).toContain("compose.sh: could not size Chatwoot to this server (scripts/tuning.sh)");
      expect(h.calls()).toEqual([]);
      expect(fs.readFileSync(path.join(h.app, "env/app.env"), "utf8")).toBe(appEnv);
      // With values that work, the same call goes through, sized by them.
      fs.writeFileSync(envFile, before.replace(ENV_FILE_END, `TUNING_WEB_CONCURRENCY='4'\nTUNING_PG_MAX_CONNECTIONS='80'\n${ENV_FILE_END}`));
      expect(h.exec("compose.sh", ["up", "-d"]).status).toBe(0);
      expect(h.calls()).toHaveLength(1);
      expect(fs.readFileSync(path.join(h.app, "env/app.env"), "utf8")).toContain("WEB_CONCURRENCY='4'\n");
    } finally {
      h.cleanup();
    }
  });

  it("installs no live file, and leaves no temporary one, when the copy fails (a full disk), and says which", () => {
    const h = fakeHost();
    try {
      h.deployedAs("v4.15.1");
      fs.appendFileSync(path.join(h.app, "bundle/docker/Caddyfile"), "# changed\n");
      const before = fs.readFileSync(path.join(h.app, "live/caddy/Caddyfile"), "utf8");
      // TEST STAND-IN for cp on a full disk: it writes part of the file, then fails.
      const bin = path.join(h.root, "failing-cp");
      fs.mkdirSync(bin);
      fs.writeFileSync(path.join(bin, "cp"), `#!/bin/sh\nfor last; do :; done\nprintf 'partial' > "$last"\necho "cp: error writing '$last': No space left on device" >&2\nexit 1\n`, { mode: 0o755 });
      const r = h.exec("compose.sh", ["ps"], { env: { PATH: `${bin}:${h.root}/bin:${process.env.PATH}` } });
      expect(r.status).toBe(1);
      expect(r.stderr).toContain(`could not install ${h.app}/live/caddy/Caddyfile from the bundle`);
      expect(fs.readFileSync(path.join(h.app, "live/caddy/Caddyfile"), "utf8")).toBe(before);
      expect(fs.readdirSync(path.join(h.app, "live/caddy")).sort()).toEqual(["Caddyfile", "Caddyfile.loaded"]);
      // Nothing ran on a half-installed file.
      expect(h.calls().some((c) => / ps$/.test(c))).toBe(false);
    } finally {
      h.cleanup();
    }
  });
});
