/**
 * deploy.sh's control flow against the TEST STAND-IN docker (records calls, fails on demand): the
 * order of a deploy and its failure paths on one release. Across releases: deploy-upgrade.test.ts.
 */
import { spawn } from "node:child_process";
import { createHash } from "node:crypto";
import * as fs from "node:fs";
import * as path from "node:path";
import { describe, expect, it } from "vitest";
import chatwootFacts from "../facts/chatwoot-upstream.json";
import { ENV_FILE_END, envScope } from "../chatwoot/env-file";
import { repoRoot } from "../lib/repo";
import { type FakeHost } from "../test/fake-host";
import { fakeHostPerTest } from "../test/fake-host-per-test";
import { CLOSE_ONBOARDING, NEW, OLD, RUNNING_SERVICES, SCHEMA_QUERY, SCHEMA_RE, compose } from "../test/deploy-calls";
import { run } from "../test/tools";
const SCRIPTS = path.join(repoRoot, "scripts");

describe("deploy.sh with a stand-in docker (records calls, fails on demand)", () => {
  let host: FakeHost;
  fakeHostPerTest((h) => (host = h));

  it("pulls, starts the datastores, migrates with the new image, then starts it, in that order", () => {
    const r = host.exec("deploy.sh", ["--version", "v4.16.0"]);
    expect(r.stderr).toBe("");
    expect(r.status).toBe(0);
    expect(host.calls()).toEqual([
      `CHATWOOT_IMAGE=${NEW} ${compose(host.app, "pull --quiet")}`,
      `CHATWOOT_IMAGE=${NEW} ${compose(host.app, "build --quiet backup")}`,
      `CHATWOOT_IMAGE=${NEW} ${compose(host.app, "up -d --wait postgres redis")}`,
      `CHATWOOT_IMAGE=${NEW} ${compose(host.app, "exec -T postgres psql -U postgres -d chatwoot -XAt -c select count(*) from active_storage_blobs where service_name <> 'local'")}`,
      `CHATWOOT_IMAGE=${NEW} ${compose(host.app, SCHEMA_QUERY)}`,
      `CHATWOOT_IMAGE=${NEW} ${compose(host.app, "run --rm --no-deps -e POSTGRES_STATEMENT_TIMEOUT=600s rails bundle exec rails db:chatwoot_prepare")}`,
      `CHATWOOT_IMAGE=${NEW} ${compose(host.app, SCHEMA_QUERY)}`,
      `CHATWOOT_IMAGE=${NEW} ${compose(host.app, CLOSE_ONBOARDING)}`,
      `CHATWOOT_IMAGE=${NEW} ${compose(host.app, RUNNING_SERVICES)}`,
      // Held by deploy.sh itself: nothing recreates the backup scheduler during a job.
      `CHATWOOT_IMAGE=${NEW} ${compose(host.app, "up -d --wait --remove-orphans")} [job lock held]`,
    ]);
    // What running containers read is installed in live/, outside the bundle.
    expect(fs.readFileSync(path.join(host.app, "live/caddy/Caddyfile"))).toEqual(fs.readFileSync(path.join(host.app, "bundle/docker/Caddyfile")));
    expect(fs.statSync(path.join(host.app, "live/backup/chatwoot-backup")).mode & 0o111).not.toBe(0);
    expect(host.release("current")).toBe(NEW);
    expect(host.release("previous")).toBeUndefined();
    expect(host.deployLog()).toEqual([
      expect.stringMatching(
        new RegExp(`deploy image=${NEW} previous=none result=ok seconds=\\d+ steps=pull:\\d+,datastores:\\d+,migrate:\\d+,onboarding:\\d+,start:\\d+$`),
      ),
    ]);
    expect(r.stdout).toContain(`==> deployed ${NEW}`);
  });

  it("keeps the previous release for rollback", () => {
    host.deployedAs("v4.15.1");
    expect(host.exec("deploy.sh", ["--version", "v4.16.0"]).status).toBe(0);
    expect(host.release("current")).toBe(NEW);
    expect(host.release("previous")).toBe(OLD);
    expect(host.deployLog()[1]).toContain(`image=${NEW} previous=${OLD} result=ok`);
  });

  it("stops on a failed migration: no new containers, previous release kept, non-zero exit", () => {
    host.deployedAs("v4.15.1");
    host.resetCalls();
    const r = host.exec("deploy.sh", ["--version", "v4.16.0"], { fail: "db:chatwoot_prepare" });
    expect(r.status).toBe(1);
    expect(r.stderr).toContain(`migration failed; the previous containers were left running (${OLD})`);
    const calls = host.calls();
    expect(calls.some((c) => c.includes("up -d --wait --remove-orphans"))).toBe(false);
    expect(calls.at(-1)).toContain("db:chatwoot_prepare");
    expect(host.release("current")).toBe(OLD);
    expect(host.deployLog().at(-1)).toContain("result=migration-failed");
  });

  it("brings the previous release back when the new one is unhealthy and the migration changed nothing", () => {
    host.deployedAs("v4.15.1");
    host.resetCalls();
    host.reply([[SCHEMA_RE, "20261101000000"]]);
    const r = host.exec("deploy.sh", ["--version", "v4.16.0"], { fail: `^CHATWOOT_IMAGE=${NEW} .* up -d --wait --remove-orphans$` });
    expect(r.status).toBe(1);
    expect(r.stderr).toContain(`the migration changed nothing, so starting ${OLD} again`);
    expect(r.stderr).toContain(`${OLD} is serving again`);
    expect(host.calls().at(-1)).toBe(`CHATWOOT_IMAGE=${OLD} ${compose(host.app, "up -d --wait --remove-orphans")} [job lock held]`);
    expect(host.release("current")).toBe(OLD);
    expect(host.deployLog().at(-1)).toContain("result=unhealthy-previous-restored");
  });

  it("does not start the previous release on a schema the new one migrated: stops, and says how to go on", () => {
    host.deployedAs("v4.15.1");
    host.resetCalls();
    host.reply([
      [SCHEMA_RE, "20261101000000"],
      [SCHEMA_RE, "20261120000000"],
    ]);
    const r = host.exec("deploy.sh", ["--version", "v4.16.0"], { fail: `^CHATWOOT_IMAGE=${NEW} .* up -d --wait --remove-orphans$` });
    expect(r.status).toBe(1);
    expect(host.calls().filter((c) => c.startsWith(`CHATWOOT_IMAGE=${OLD} `))).toEqual([]);
    expect(host.calls().at(-1)).toBe(`CHATWOOT_IMAGE=${NEW} ${compose(host.app, "stop rails sidekiq")}`);
    expect(r.stderr).toContain(`migrated the database (schema 20261101000000 -> 20261120000000)`);
    expect(r.stderr).toContain(`so ${OLD} was NOT started on it`);
    expect(r.stderr).toMatch(/restore\.sh --snapshot <id>; \S+rollback\.sh --yes/);
    expect(host.deployLog().at(-1)).toContain("result=unhealthy-schema-migrated");
    expect(host.release("current")).toBe(OLD);
  });

  it("says so when starting the previous release fails too", () => {
    host.deployedAs("v4.15.1");
    host.resetCalls();
    host.reply([[SCHEMA_RE, "20261101000000"]]);
    const r = host.exec("deploy.sh", ["--version", "v4.16.0"], { fail: ` up -d --wait --remove-orphans$` });
    expect(r.status).toBe(1);
    expect(r.stderr).toContain(`starting ${OLD} again FAILED too, Chatwoot is down`);
    expect(r.stderr).not.toContain("is serving again");
    expect(host.deployLog().at(-1)).toContain("result=unhealthy-previous-failed");
  });

  it("closes Chatwoot's installation onboarding after migrating and before anything starts serving", () => {
    host.deployedAs("v4.16.0");
    const calls = host.calls();
    const migrate = calls.findIndex((c) => c.includes("db:chatwoot_prepare"));
    const close = calls.findIndex((c) => c.includes("redis-cli DEL alfred:CHATWOOT_INSTALLATION_ONBOARDING"));
    const serve = calls.findIndex((c) => c.includes("up -d --wait --remove-orphans"));
    expect(migrate).toBeGreaterThan(-1);
    expect([migrate < close, close < serve]).toEqual([true, true]);
    // The key is the one the facts name (Redis::Alfred's namespace), and no password is in argv.
    expect(calls[close]).toContain(chatwootFacts.onboardingRedisKey.value);
    expect(calls[close]).not.toMatch(/ -a /);
  });

  it("starts nothing when the onboarding flag cannot be deleted", () => {
    const r = host.exec("deploy.sh", ["--version", "v4.16.0"], { fail: "redis-cli DEL" });
    expect(r.status).toBe(1);
    expect(r.stderr).toContain("could not delete Chatwoot's onboarding flag in Redis; nothing was started");
    expect(host.calls().some((c) => c.includes("up -d --wait --remove-orphans"))).toBe(false);
    expect(host.deployLog().at(-1)).toContain("result=onboarding-not-closed");
  });

  it("gives each kind of service only its scope of the .env (compose.sh splits it, mode 0600)", () => {
    host.deployedAs("v4.16.0");
    const env = fs.readFileSync(path.join(host.app, ".env"), "utf8");
    // The app's scope, plus Puma's and Sidekiq's sizing for this machine (scripts/tuning.sh).
    const sizing = run("bash", [path.join(SCRIPTS, "tuning.sh")]).stdout.split("\n").filter((l) => /^(WEB_CONCURRENCY|RAILS_MAX_THREADS|SIDEKIQ_CONCURRENCY)=/.test(l));
    expect(sizing).toHaveLength(3);
    const expected = { app: envScope(env, "app") + sizing.map((l) => l.replace(/=(.*)$/, "='$1'") + "\n").join(""), backup: envScope(env, "backup") };
    for (const scope of ["app", "backup"] as const) {
      const file = path.join(host.app, `env/${scope}.env`);
      expect(fs.readFileSync(file, "utf8"), scope).toBe(expected[scope]);
      expect(fs.statSync(file).mode & 0o777).toBe(0o600);
    }
    expect(fs.readFileSync(path.join(host.app, "env/app.env"), "utf8")).not.toMatch(/^(RESTIC_|BACKUP_|CHATWOOT_FRAME)/m);
  });

  it("sizes Rails and Sidekiq to the server, and chatwoot:tuning's values win", () => {
    const env = fs.readFileSync(path.join(host.app, ".env"), "utf8").replace(ENV_FILE_END, `TUNING_WEB_CONCURRENCY='3'\nTUNING_SIDEKIQ_CONCURRENCY='7'\n${ENV_FILE_END}`);
    fs.writeFileSync(path.join(host.app, ".env"), env);
    expect(host.exec("compose.sh", ["version"], { env: { CHATWOOT_IMAGE: NEW } }).status).toBe(0);
    const app = fs.readFileSync(path.join(host.app, "env/app.env"), "utf8");
    expect(app).toMatch(/^WEB_CONCURRENCY='3'$/m);
    expect(app).toMatch(/^SIDEKIQ_CONCURRENCY='7'$/m);
    expect(app).toMatch(/^RAILS_MAX_THREADS='5'$/m);
    expect(app).not.toContain("TUNING_");
  });

  it("reloads a running Caddy when the Caddyfile changed, and only then", () => {
    host.reply([[`${RUNNING_SERVICES}$`, "caddy\npostgres\nredis"]]);
    expect(host.exec("deploy.sh", ["--version", "v4.16.0"]).status).toBe(0);
    const reload = `CHATWOOT_IMAGE=${NEW} ${compose(host.app, "exec -T caddy caddy reload --config /etc/caddy/Caddyfile --adapter caddyfile")}`;
    const first = host.calls();
    expect(first.indexOf(reload)).toBeGreaterThan(first.findIndex((c) => c.includes("up -d --wait --remove-orphans")));
    host.resetCalls();
    expect(host.exec("deploy.sh", ["--version", "v4.16.0"]).status).toBe(0);
    expect(host.calls()).not.toContain(reload);
    // A new release of the bundle with another Caddyfile: reloaded again.
    fs.appendFileSync(path.join(host.app, "bundle/docker/Caddyfile"), "# changed\n");
    host.resetCalls();
    expect(host.exec("deploy.sh", ["--version", "v4.16.0"]).status).toBe(0);
    expect(host.calls()).toContain(reload);
    expect(fs.readFileSync(path.join(host.app, "live/caddy/Caddyfile"), "utf8")).toContain("# changed");
  });

  it("fails, and says Caddy keeps the previous configuration, when Caddy refuses the new one", () => {
    host.reply([[`${RUNNING_SERVICES}$`, "caddy\npostgres\nredis"]]);
    const r = host.exec("deploy.sh", ["--version", "v4.16.0"], { fail: "caddy reload" });
    expect(r.status).toBe(1);
    expect(r.stderr).toContain("Caddy refused the changed Caddyfile and keeps serving the previous one");
  });

  it("restarts a running backup scheduler for a changed job script, holding the job lock", () => {
    host.reply([[`${RUNNING_SERVICES}$`, "backup\npostgres"]]);
    expect(host.exec("deploy.sh", ["--version", "v4.16.0"]).status).toBe(0);
    fs.appendFileSync(path.join(host.app, "bundle/docker/backup/chatwoot-backup"), "# changed\n");
    host.resetCalls();
    expect(host.exec("deploy.sh", ["--version", "v4.16.0"]).status).toBe(0);
    expect(host.calls()).toContain(`CHATWOOT_IMAGE=${NEW} ${compose(host.app, "up -d --wait --no-deps --force-recreate backup")} [job lock held]`);
    host.resetCalls();
    expect(host.exec("deploy.sh", ["--version", "v4.16.0"]).status).toBe(0);
    expect(host.calls().some((c) => c.includes("--force-recreate backup"))).toBe(false);
  });

  it("reports a missing .env as that, not as a pull failure", () => {
    fs.rmSync(path.join(host.app, ".env"));
    const r = host.exec("deploy.sh", ["--version", "v4.16.0"]);
    expect(r.status).toBe(1);
    expect(r.stderr).toContain(".env is missing; the write-env step of pulumi up writes it");
    expect(host.calls()).toEqual([]);
  });

  it("fails, instead of reporting ok, when the release record cannot be written (disk full)", () => {
    fs.mkdirSync(path.join(host.app, "release/current.new"), { recursive: true });
    const r = host.exec("deploy.sh", ["--version", "v4.16.0"]);
    expect(r.status).toBe(1);
    expect(r.stderr).toContain(`${NEW} is running, but recording it in`);
    expect(host.deployLog().at(-1)).toContain("result=record-failed");
    expect(host.deployLog().join("\n")).not.toContain("result=ok");
  });

  it("fails when the deploy log cannot be written", () => {
    fs.mkdirSync(path.join(host.app, "deploy.log"));
    const r = host.exec("deploy.sh", ["--version", "v4.16.0"]);
    expect(r.status).toBe(1);
    expect(r.stderr).toContain("could not append to");
  });

  it("refuses to run while another deploy, rollback, backup or restore holds the host lock", async () => {
    // Its own process group: flock's child (sleep) holds the lock too, and both must go.
    const holder = spawn("flock", [path.join(host.app, ".lock"), "sleep", "600"], { stdio: "ignore", detached: true });
    try {
      // Wait (by state, not time) until the holder has the lock.
      for (let i = 0; i < 12000 && run("flock", ["-n", path.join(host.app, ".lock"), "true"]).status === 0; i++) {
        await new Promise((r) => setTimeout(r, 25));
      }
      fs.writeFileSync(path.join(host.app, ".lock.owner"), "restore.sh (pid 1) since then\n");
      for (const [script, args] of [["deploy.sh", ["--version", "v4.16.0"]], ["rollback.sh", ["--yes"]], ["restore.sh", ["--yes"]]] as const) {
        const r = host.exec(script, [...args]);
        expect(r.status, script).toBe(1);
        expect(r.stderr).toContain("another deploy, rollback, backup or restore is running on this host (restore.sh (pid 1) since then)");
      }
      expect(host.calls()).toEqual([]);
    } finally {
      process.kill(-holder.pid!, "SIGKILL");
    }
  });

  it("goes back to the previous .env and bundle when a configuration change on the same release is unhealthy", () => {
    host.deployedAs("v4.16.0");
    const before = fs.readFileSync(path.join(host.app, ".env"), "utf8");
    fs.writeFileSync(path.join(host.app, ".env.previous"), before, { mode: 0o600 });
    const changed = before.replace("LOG_LEVEL='info'", "LOG_LEVEL='debug'");
    fs.writeFileSync(path.join(host.app, ".env"), changed, { mode: 0o600 });
    const sha = createHash("sha256").update(changed).digest("hex");
    host.resetCalls();
    const r = host.exec("deploy.sh", ["--version", "v4.16.0"], { input: `${sha}\n`, fail: "^CHATWOOT_IMAGE=\\S+ .* up -d --wait --remove-orphans$" });
    expect(r.status).toBe(1);
    expect(r.stderr).toContain("going back to the previous .env and bundle");
    expect(fs.readFileSync(path.join(host.app, ".env"), "utf8")).toBe(before);
    expect(fs.readFileSync(path.join(host.app, ".env.failed"), "utf8")).toBe(changed);
    expect(host.deployLog().at(-1)).toMatch(/result=unhealthy-previous-(config-restored|failed)/);
    // The next pulumi up with the same configuration says what happened instead of "re-run".
    const again = host.exec("deploy.sh", ["--version", "v4.16.0"], { input: `${sha}\n` });
    expect(again.status).toBe(1);
    expect(again.stderr).toContain("this configuration came up unhealthy before and was set aside as");
  });
});
