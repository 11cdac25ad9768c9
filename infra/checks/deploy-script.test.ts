/**
 * deploy.sh's control flow against the TEST STAND-IN docker (records calls, fails on demand).
 * (Split from one file so that vitest runs them side by side.)
 */
import { spawn } from "node:child_process";
import { createHash } from "node:crypto";
import * as fs from "node:fs";
import * as path from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import chatwootFacts from "../facts/chatwoot.json";
import { ENV_FILE_END, envScope } from "../render/env";
import { envSettings } from "../test/fixtures";
import { repoRoot } from "../artifacts";
import { fakeHost } from "../test/fake-host";
import { CLOSE_ONBOARDING, NEW, OLD, RUNNING, SCHEMA_QUERY, SCHEMA_RE, SWITCH as switchCalls, compose } from "../test/deploy-calls";
import { run } from "../test/tools";
const SCRIPTS = path.join(repoRoot, "scripts");

describe("deploy.sh with a stand-in docker (records calls, fails on demand)", () => {
  let host: ReturnType<typeof fakeHost>;
  beforeEach(() => {
    host = fakeHost();
  });
  afterEach(() => host.cleanup());

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
      `CHATWOOT_IMAGE=${NEW} ${compose(host.app, "ps -q --status running caddy")}`,
      `CHATWOOT_IMAGE=${NEW} ${compose(host.app, "ps -q --status running backup")}`,
      `CHATWOOT_IMAGE=${NEW} ${compose(host.app, "ps -q --status running rails")}`,
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
    expect(host.exec("deploy.sh", ["--version", "v4.15.1"]).status).toBe(0);
    expect(host.exec("deploy.sh", ["--version", "v4.16.0"]).status).toBe(0);
    expect(host.release("current")).toBe(NEW);
    expect(host.release("previous")).toBe(OLD);
    expect(host.deployLog()[1]).toContain(`image=${NEW} previous=${OLD} result=ok`);
  });

  it("stops on a failed migration: no new containers, previous release kept, non-zero exit", () => {
    expect(host.exec("deploy.sh", ["--version", "v4.15.1"]).status).toBe(0);
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
    expect(host.exec("deploy.sh", ["--version", "v4.15.1"]).status).toBe(0);
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
    expect(host.exec("deploy.sh", ["--version", "v4.15.1"]).status).toBe(0);
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
    expect(host.exec("deploy.sh", ["--version", "v4.15.1"]).status).toBe(0);
    host.resetCalls();
    host.reply([[SCHEMA_RE, "20261101000000"]]);
    const r = host.exec("deploy.sh", ["--version", "v4.16.0"], { fail: ` up -d --wait --remove-orphans$` });
    expect(r.status).toBe(1);
    expect(r.stderr).toContain(`starting ${OLD} again FAILED too, Chatwoot is down`);
    expect(r.stderr).not.toContain("is serving again");
    expect(host.deployLog().at(-1)).toContain("result=unhealthy-previous-failed");
  });

  it("closes Chatwoot's installation onboarding after migrating and before anything starts serving", () => {
    expect(host.exec("deploy.sh", ["--version", "v4.16.0"]).status).toBe(0);
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
    expect(host.exec("deploy.sh", ["--version", "v4.16.0"]).status).toBe(0);
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
    host.reply([["ps -q --status running caddy$", "caddy-container-id"]]);
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
    host.reply([["ps -q --status running caddy$", "caddy-container-id"]]);
    const r = host.exec("deploy.sh", ["--version", "v4.16.0"], { fail: "caddy reload" });
    expect(r.status).toBe(1);
    expect(r.stderr).toContain("Caddy refused the changed Caddyfile and keeps serving the previous one");
  });

  it("restarts a running backup scheduler for a changed job script, holding the job lock", () => {
    host.reply([["ps -q --status running backup$", "backup-container-id"]]);
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
    expect(host.exec("deploy.sh", ["--version", "v4.16.0"]).status).toBe(0);
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

  describe("while Rails and Caddy serve", () => {
    const SWITCH = (image: string) => switchCalls(host.app, image);
    const afterPs = (calls: string[]) => calls.slice(calls.findIndex((c) => c.includes("ps -q --status running rails")) + 1);

    it("an upgrade switches the web tier beside the serving Rails, then recreates Sidekiq and the rest", () => {
      expect(host.exec("deploy.sh", ["--version", "v4.15.1"]).status).toBe(0);
      host.resetCalls();
      host.reply(RUNNING);
      const r = host.exec("deploy.sh", ["--version", "v4.16.0"]);
      expect(r.stderr).toBe("");
      expect(r.status).toBe(0);
      expect(afterPs(host.calls())).toEqual([...SWITCH(NEW), `CHATWOOT_IMAGE=${NEW} ${compose(host.app, "up -d --wait --remove-orphans")} [job lock held]`]);
      expect(host.deployLog().at(-1)).toMatch(/result=ok .*steps=.*switch:\d+,start:\d+$/);
    });

    it("a configuration change the app reads switches the same way; one only Caddy or the backup reads does not", () => {
      expect(host.exec("deploy.sh", ["--version", "v4.16.0"]).status).toBe(0);
      host.reply(RUNNING);
      const envFile = path.join(host.app, ".env");
      const appChange = host.env.replace("LOG_LEVEL='info'", "LOG_LEVEL='debug'");
      expect(appChange).not.toBe(host.env);
      fs.writeFileSync(envFile, appChange);
      host.resetCalls();
      expect(host.exec("deploy.sh", ["--version", "v4.16.0"]).status).toBe(0);
      expect(afterPs(host.calls()).slice(0, 5)).toEqual(SWITCH(NEW));

      const proxyChange = appChange.replace(/^CHATWOOT_FRAME_MODE='(any|allowlist)'$/m, (_l, mode) => `CHATWOOT_FRAME_MODE='${mode === "any" ? "allowlist" : "any"}'`);
      expect(proxyChange).not.toBe(appChange);
      fs.writeFileSync(envFile, proxyChange);
      host.resetCalls();
      expect(host.exec("deploy.sh", ["--version", "v4.16.0"]).status).toBe(0);
      expect(host.calls().some((c) => c.includes("rails-surge"))).toBe(false);
    });

    it("when the new release does not come up beside the old one, the old one never stopped serving", () => {
      expect(host.exec("deploy.sh", ["--version", "v4.15.1"]).status).toBe(0);
      host.resetCalls();
      host.reply([...RUNNING, [SCHEMA_RE, "20261101000000"]]);
      const r = host.exec("deploy.sh", ["--version", "v4.16.0"], { fail: "up -d --wait --no-deps rails-surge$" });
      expect(r.status).toBe(1);
      const calls = afterPs(host.calls());
      expect(calls.slice(0, 2)).toEqual([SWITCH(NEW)[0], SWITCH(NEW)[4]]);
      // Neither Caddy nor the serving Rails was touched by the new release.
      expect(calls.filter((c) => c.startsWith(`CHATWOOT_IMAGE=${NEW} `) && /caddy reload|--no-deps rails$/.test(c))).toEqual([]);
      expect(r.stderr).toContain("did not become healthy beside the serving release (or port 3001 is taken); nothing was switched");
      expect(host.release("current")).toBe(OLD);
    });

    it("when the recreated Rails is unhealthy, Caddy goes back to Rails and rails-surge is removed before the fallback", () => {
      expect(host.exec("deploy.sh", ["--version", "v4.15.1"]).status).toBe(0);
      host.resetCalls();
      host.reply([...RUNNING, [SCHEMA_RE, "20261101000000"]]);
      const r = host.exec("deploy.sh", ["--version", "v4.16.0"], { fail: `^CHATWOOT_IMAGE=${NEW} .* up -d --wait --no-deps rails$` });
      expect(r.status).toBe(1);
      // rails-surge serves while the previous release takes Rails back; Caddy's upstream is read
      // back before rails-surge goes.
      expect(afterPs(host.calls())).toEqual([
        ...SWITCH(NEW).slice(0, 3),
        `CHATWOOT_IMAGE=${OLD} ${compose(host.app, "up -d --wait --no-deps rails")}`,
        `CHATWOOT_IMAGE=${OLD} ${compose(host.app, "exec -T caddy caddy reload --config /etc/caddy/Caddyfile --adapter caddyfile")}`,
        `CHATWOOT_IMAGE=${OLD} ${compose(host.app, "rm --stop --force rails-surge")}`,
        `CHATWOOT_IMAGE=${OLD} ${compose(host.app, "up -d --wait --remove-orphans")} [job lock held]`,
      ]);
      expect(host.caddyUpstream()).toBe("127.0.0.1:3000");
      expect(host.deployLog().at(-1)).toContain("result=unhealthy-previous-restored");
    });
  });

  it("when something fails after the switch, the web tier switches back without downtime before the previous release starts", () => {
    expect(host.exec("deploy.sh", ["--version", "v4.15.1"]).status).toBe(0);
    host.resetCalls();
    host.reply([
      ["ps -q --status running rails$", "rails-container-id"],
      ["ps -q --status running caddy$", "caddy-container-id"],
      [SCHEMA_RE, "20261101000000"],
    ]);
    const r = host.exec("deploy.sh", ["--version", "v4.16.0"], { fail: `^CHATWOOT_IMAGE=${NEW} .* up -d --wait --remove-orphans$` });
    expect(r.status).toBe(1);
    const calls = host.calls();
    const back = calls.slice(calls.findIndex((c) => c.startsWith(`CHATWOOT_IMAGE=${OLD} `)));
    expect(back).toEqual([
      `CHATWOOT_IMAGE=${OLD} ${compose(host.app, "up -d --wait --no-deps rails-surge")}`,
      `CHATWOOT_IMAGE=${OLD} ${compose(host.app, "exec -T -e CHATWOOT_UPSTREAM=127.0.0.1:3001 caddy caddy reload --config /etc/caddy/Caddyfile --adapter caddyfile")}`,
      `CHATWOOT_IMAGE=${OLD} ${compose(host.app, "up -d --wait --no-deps rails")}`,
      `CHATWOOT_IMAGE=${OLD} ${compose(host.app, "exec -T caddy caddy reload --config /etc/caddy/Caddyfile --adapter caddyfile")}`,
      `CHATWOOT_IMAGE=${OLD} ${compose(host.app, "rm --stop --force rails-surge")}`,
      `CHATWOOT_IMAGE=${OLD} ${compose(host.app, "up -d --wait --remove-orphans")} [job lock held]`,
    ]);
    expect(host.deployLog().at(-1)).toContain("result=unhealthy-previous-restored");
  });

  it("migrates only when the release changed or the schema is not the one it left", () => {
    host.reply([[SCHEMA_RE, "20261101000000"]]);
    expect(host.exec("deploy.sh", ["--version", "v4.16.0"]).status).toBe(0);
    expect(host.release("schema")).toBe("20261101000000");
    host.resetCalls();
    const same = host.exec("deploy.sh", ["--version", "v4.16.0"]);
    expect(same.status).toBe(0);
    expect(same.stdout).toContain("already migrated this database (schema 20261101000000): no migration");
    expect(host.calls().some((c) => c.includes("db:chatwoot_prepare"))).toBe(false);
    // A restore put an older schema back: the same release migrates it again.
    host.reply([[SCHEMA_RE, "20260101000000"]]);
    host.resetCalls();
    expect(host.exec("deploy.sh", ["--version", "v4.16.0"]).status).toBe(0);
    expect(host.calls().some((c) => c.includes("db:chatwoot_prepare"))).toBe(true);
    host.resetCalls();
    expect(host.exec("deploy.sh", ["--version", "v4.17.0"]).status).toBe(0);
    expect(host.calls().some((c) => c.includes("db:chatwoot_prepare"))).toBe(true);
  });

  it("refuses to go back to local storage while attachments live in a bucket, before anything changes", () => {
    expect(host.exec("deploy.sh", ["--version", "v4.15.1"]).status).toBe(0);
    host.resetCalls();
    host.reply([["from active_storage_blobs where service_name <> 'local'$", "42"]]);
    const r = host.exec("deploy.sh", ["--version", "v4.16.0"]);
    expect(r.status).toBe(1);
    expect(r.stderr).toContain("42 attachment(s) live in a bucket, but chatwoot:storage now says local: they would all break");
    expect(host.calls().some((c) => /db:chatwoot_prepare|up -d --wait --remove-orphans/.test(c))).toBe(false);
    expect(host.release("current")).toBe(OLD);
    expect(host.deployLog().at(-1)).toContain("result=storage-in-bucket");
    // With nothing in a bucket, it goes on.
    host.reply([["from active_storage_blobs where service_name <> 'local'$", "0"]]);
    expect(host.exec("deploy.sh", ["--version", "v4.16.0"]).status).toBe(0);
  });

  it("touches nothing when the pull fails", () => {
    const r = host.exec("deploy.sh", ["--version", "v4.16.0"], { fail: " pull " });
    expect(r.status).toBe(1);
    expect(r.stderr).toContain("could not pull images; nothing was changed");
    expect(host.calls()).toHaveLength(1);
  });

  it("refuses to run with an env file other than the one planned", () => {
    const r = host.exec("deploy.sh", ["--version", "v4.16.0"], { input: `${"0".repeat(64)}\n` });
    expect(r.status).toBe(1);
    expect(r.stderr).toContain("is not the env file this deploy was planned with");
    expect(host.calls()).toEqual([]);
    const good = createHash("sha256").update(host.env).digest("hex");
    expect(host.exec("deploy.sh", ["--version", "v4.16.0"], { input: `${good}\n` }).status).toBe(0);
  });

  it("rejects a malformed version before doing anything", () => {
    const r = host.exec("deploy.sh", ["--version", "latest"]);
    expect(r.status).toBe(2);
    expect(r.stderr).toContain("--version must be a release tag such as v4.15.1, got 'latest'");
    expect(host.calls()).toEqual([]);
  });

  it("backs up the database before migrating to another release, and stops if that fails", () => {
    expect(host.exec("deploy.sh", ["--version", "v4.15.1"]).status).toBe(0);
    host.resetCalls();
    expect(host.exec("deploy.sh", ["--version", "v4.16.0"]).status).toBe(0);
    const calls = host.calls();
    const backup = calls.findIndex((c) => c.endsWith("chatwoot-backup run database"));
    const migrate = calls.findIndex((c) => c.includes("db:chatwoot_prepare"));
    expect(backup).toBeGreaterThan(calls.findIndex((c) => c.includes("up -d --wait postgres redis")));
    expect(backup).toBeLessThan(migrate);
    // The new Chatwoot image downloads beside the backup; the small images come first.
    expect(calls[0]).toBe(`CHATWOOT_IMAGE=${NEW} ${compose(host.app, "pull --quiet postgres redis caddy")}`);
    const bigPull = calls.findIndex((c) => c.endsWith("pull --quiet rails sidekiq"));
    expect(bigPull).toBeGreaterThan(calls.findIndex((c) => c.includes("up -d --wait postgres redis")));
    expect(bigPull).toBeLessThan(migrate);

    host.resetCalls();
    const pullFailed = host.exec("deploy.sh", ["--version", "v4.17.0"], { fail: "pull --quiet rails sidekiq$" });
    expect(pullFailed.status).toBe(1);
    expect(pullFailed.stderr).toContain("could not pull chatwoot/chatwoot:v4.17.0; nothing was changed (a backup was taken)");
    expect(host.calls().some((c) => c.endsWith("chatwoot-backup run database"))).toBe(true);
    expect(host.calls().some((c) => c.includes("db:chatwoot_prepare"))).toBe(false);
    expect(host.deployLog().at(-1)).toContain("result=pull-failed");

    host.resetCalls();
    const r = host.exec("deploy.sh", ["--version", "v4.17.0"], { fail: "chatwoot-backup run database$" });
    expect(r.status).toBe(1);
    expect(r.stderr).toContain("the backup before the upgrade failed; nothing was changed");
    expect(host.calls().some((c) => c.includes("db:chatwoot_prepare"))).toBe(false);
    expect(host.release("current")).toBe(NEW);
    expect(host.deployLog().at(-1)).toContain("result=pre-upgrade-backup-failed");
  });

  it("neither builds nor keeps the backup service when backups are disabled", () => {
    host.cleanup();
    host = fakeHost({ ...envSettings, backup: undefined });
    expect(host.exec("deploy.sh", ["--version", "v4.15.1"]).status).toBe(0);
    expect(host.exec("deploy.sh", ["--version", "v4.16.0"]).status).toBe(0);
    const calls = host.calls();
    expect(calls.some((c) => c.includes("build") || c.includes("chatwoot-backup"))).toBe(false);
    expect(calls.at(-1)).toBe(`CHATWOOT_IMAGE=${NEW} ${compose(host.app, "rm --stop --force backup")}`);
  });

  it("compose.sh explains what is missing before a first deploy", () => {
    const r = host.exec("compose.sh", ["ps"]);
    expect(r.status).toBe(1);
    expect(r.stderr).toContain("no release deployed yet");
  });
});
