/**
 * The host-side scripts, run for real: shellcheck and ruby -c on all of them; deploy.sh's control
 * flow against a stand-in docker CLI; bootstrap.rb against in-memory stand-ins of Chatwoot's models
 * (both labelled as such); verify.sh against a live Caddy in front of a Chatwoot stand-in.
 */
import { spawn } from "node:child_process";
import { createHash } from "node:crypto";
import * as fs from "node:fs";
import * as path from "node:path";
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from "vitest";
import chatwootFacts from "../facts/chatwoot.json";
import { repoRoot } from "../artifacts";
import { renderBundle, readBundleFiles } from "../render/bundle";
import { ENV_FILE_END, ENV_SECRET_NAMES, envScope, parseEnvFile, renderEnvFile, renderMaskedEnvFile, type EnvSecrets } from "../render/env";
import { caddyBinary, startCaddy, type RunningCaddy } from "../test/caddy";
import { HEALTHY, startChatwootStub, type ChatwootStub } from "../test/chatwoot-stub";
import { envSettings } from "../test/fixtures";
import { fakeHost } from "../test/fake-host";
import { CLOSE_ONBOARDING, NEW, OLD, RUNNING, SCHEMA_QUERY, SCHEMA_RE, SWITCH as switchCalls, compose } from "../test/deploy-calls";
import { composeV2Binary } from "../test/go-tools";
import { describeWithTools, run, runAsync, tempDir } from "../test/tools";

const SCRIPTS = path.join(repoRoot, "scripts");
const MODELS = path.join(repoRoot, "infra/test/chatwoot_models.rb");

describeWithTools("static checks", ["shellcheck", "ruby", "python3"], () => {
  // Every shell script that goes to the host: scripts/*.sh and the backup service's job.
  const shellScripts = [
    ...fs.readdirSync(SCRIPTS).filter((f) => f.endsWith(".sh")),
    "../docker/backup/chatwoot-backup",
  ];

  it("covers every script", () => {
    expect(shellScripts).toEqual(
      expect.arrayContaining(["compose.sh", "deploy.sh", "bootstrap.sh", "verify.sh", "backup.sh", "restore.sh", "rollback.sh"]),
    );
  });

  it.each(shellScripts)("shellcheck %s", (file) => {
    const r = run("shellcheck", ["-x", path.join(SCRIPTS, file)]);
    expect(r.stdout + r.stderr).toBe("");
    expect(r.status).toBe(0);
  });

  it("scripts are executable (lib.sh is only sourced)", () => {
    for (const f of shellScripts.filter((x) => x !== "lib.sh")) expect(fs.statSync(path.join(SCRIPTS, f)).mode & 0o111, f).not.toBe(0);
  });

  const watchdogModules = fs.readdirSync(SCRIPTS).filter((f) => /^watchdog.*\.py$/.test(f));
  it("python3 compiles the watchdog's modules (only the standard library and each other)", () => {
    expect(watchdogModules).toEqual(["watchdog.py", "watchdog_channels.py", "watchdog_checks.py", "watchdog_state.py"]);
    const own = watchdogModules.map((f) => f.replace(/\.py$/, ""));
    // Ubuntu's python3 runs it as it is: nothing outside the standard library.
    const stdlib = ["contextlib", "email", "fcntl", "hashlib", "hmac", "http", "json", "os", "re", "signal", "smtplib", "socket", "ssl", "subprocess", "sys", "time", "urllib"];
    for (const file of watchdogModules) {
      const r = run("python3", ["-c", "import ast,sys; t=ast.parse(open(sys.argv[1]).read()); print(sorted({a.name.split('.')[0] for n in ast.walk(t) if isinstance(n,(ast.Import,ast.ImportFrom)) for a in (n.names if isinstance(n,ast.Import) else [type('m',(),{'name':n.module})])}))", path.join(SCRIPTS, file)]);
      expect(r.status, file).toBe(0);
      const modules = JSON.parse(r.stdout.replace(/'/g, '"')) as string[];
      expect(modules.filter((m) => !stdlib.includes(m) && !own.includes(m)), file).toEqual([]);
    }
  });

  it("ruby -c bootstrap.rb", () => {
    const r = run("ruby", ["-c", path.join(SCRIPTS, "bootstrap.rb")]);
    expect(r.stdout).toContain("Syntax OK");
  });
});


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
    const holder = spawn("flock", [path.join(host.app, ".lock"), "sleep", "30"], { stdio: "ignore" });
    try {
      // Wait (by state, not time) until the holder has the lock.
      for (let i = 0; i < 200 && run("flock", ["-n", path.join(host.app, ".lock"), "true"]).status === 0; i++) {
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
      holder.kill();
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
      ["ps -q --status running (rails|caddy)$", "container-id"],
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

describeWithTools("bootstrap.rb with in-memory stand-ins of Chatwoot's models", ["ruby"], () => {
  let host: ReturnType<typeof fakeHost>;
  const config = (patch: Record<string, unknown> = {}) =>
    JSON.stringify({
      account: { name: "Acme Support", locale: "en" },
      admin: { email: "Ops@Example.com", name: "Ops", password: "Initial!Passw0rd" },
      inbox: { name: "Escalations" },
      webhook: { url: "https://app.example.com/hooks", name: "pulumi-managed", subscriptions: ["message_created"], secret: "whsec-0123456789abcdef" },
      disable_features: ["campaigns"],
      ...patch,
    });
  const bootstrap = (input: string) => {
    const r = host.exec("bootstrap.sh", [], { input });
    return { ...r, result: r.status === 0 ? JSON.parse(r.stdout.trim()) : undefined };
  };
  beforeEach(() => {
    host = fakeHost();
    fs.mkdirSync(path.join(host.app, "release"));
    fs.writeFileSync(path.join(host.app, "release/current"), OLD);
  });
  afterEach(() => host.cleanup());

  it("creates everything on the first run and prints one JSON line", () => {
    const r = bootstrap(config());
    expect(r.stderr).toBe("");
    expect(r.status).toBe(0);
    expect(r.stdout.trim().split("\n")).toHaveLength(1);
    expect(r.result).toMatchObject({
      account_id: 1,
      admin_user_id: 1,
      inbox_id: 1,
      webhook_id: 1,
      created: ["admin", "account", "membership", "inbox", "webhook", "platform_app"],
      disabled_features: ["campaigns"],
    });
    expect(r.result.api_access_token).toMatch(/^[A-Za-z0-9]{24}$/);
    expect(r.result.platform_token).toMatch(/^[A-Za-z0-9]{24}$/);
    expect(r.result.inbox_identifier).toMatch(/^[A-Za-z0-9]{24}$/);
    expect(host.writes()).toContain("redis-delete CHATWOOT_INSTALLATION_ONBOARDING");
    expect(host.writes()).toContain("create InstallationConfig 1");
    expect(host.calls()[0]).toMatch(/ cp .*scripts\/bootstrap\.rb rails:\/tmp\/chatwoot-bootstrap\.rb$/);
    expect(host.calls()[1]).toMatch(/ exec -T rails bundle exec rails runner \/tmp\/chatwoot-bootstrap\.rb$/);
  });

  it("sets the installation's names and Captain's key once, changes them in place, and returns only their names", () => {
    const key = "sk-test-0123456789abcdefghij";
    const first = bootstrap(config({ installation_configs: { INSTALLATION_NAME: "Acme Support", BRAND_NAME: "Acme", CAPTAIN_OPEN_AI_API_KEY: key } }));
    expect(first.stderr).toBe("");
    expect(first.result.installation_configs_set).toEqual(["BRAND_NAME", "CAPTAIN_OPEN_AI_API_KEY", "INSTALLATION_NAME"]);
    expect(first.stdout).not.toContain(key);
    const again = bootstrap(config({ installation_configs: { INSTALLATION_NAME: "Acme Support", BRAND_NAME: "Acme", CAPTAIN_OPEN_AI_API_KEY: key } }));
    expect(again.result.installation_configs_set).toEqual([]);
    const renamed = bootstrap(config({ installation_configs: { INSTALLATION_NAME: "Acme Help", BRAND_NAME: "Acme", CAPTAIN_OPEN_AI_API_KEY: key } }));
    expect(renamed.result.installation_configs_set).toEqual(["INSTALLATION_NAME"]);
    // Not given: left as it is (an operator may have set it in the super admin console).
    expect(bootstrap(config()).result.installation_configs_set).toEqual([]);
    const bad = bootstrap(config({ installation_configs: { LOGO: "x" } }));
    expect(bad.status).toBe(2);
    expect(bad.stderr).toContain(`installation_configs must map some of ${chatwootFacts.installationConfigs.values.join(", ")} to strings`);
  });

  it("sets the sign-in clients where Chatwoot reads them, which an env file alone cannot once ConfigLoader has seeded the table", () => {
    const models = path.join(repoRoot, "infra/test/chatwoot_models.rb");
    const probeEnv = { FAKE_CHATWOOT_DB: path.join(host.root, "db"), FAKE_CHATWOOT_LOG: path.join(host.root, "writes.log") };
    const ruby = (code: string, env: Record<string, string> = {}) => {
      const r = run("ruby", ["-r", models, "-e", code], { env: { PATH: process.env.PATH, ...probeEnv, ...env } });
      expect(r.stderr).toBe("");
      return r.stdout.trim();
    };
    const names = ["GOOGLE_OAUTH_CLIENT_ID", "GOOGLE_OAUTH_CLIENT_SECRET", "AZURE_APP_ID", "AZURE_APP_SECRET"];
    const load = (env: Record<string, string> = {}) =>
      JSON.parse(ruby(`puts JSON.generate(${JSON.stringify(names)}.to_h { |n| [n, GlobalConfigService.load(n, nil)] })`, env));
    // db:migrate runs ConfigLoader, which seeds every installation_config.yml entry; these have no value.
    ruby(`${JSON.stringify(names)}.each { |n| InstallationConfig.create!(name: n, value: nil, locked: false) }`);
    const envValues = { GOOGLE_OAUTH_CLIENT_ID: "1234-abc.apps.googleusercontent.com", GOOGLE_OAUTH_CLIENT_SECRET: "GOCSPX-from-the-env-file", AZURE_APP_ID: "11111111-2222-3333-4444-555555555555", AZURE_APP_SECRET: "azure~secret.from-the-env-file" };
    // The premise: with the rows seeded, GlobalConfigService ignores the environment altogether.
    expect(load(envValues)).toEqual(Object.fromEntries(names.map((n) => [n, null])));

    const configured = { ...envValues, GOOGLE_OAUTH_CLIENT_SECRET: "GOCSPX-configured-secret", AZURE_APP_SECRET: "azure~configured.secret-0001" };
    const first = bootstrap(config({ installation_configs: configured }));
    expect(first.stderr).toBe("");
    expect(first.result.installation_configs_set).toEqual([...names].sort());
    for (const secret of [configured.GOOGLE_OAUTH_CLIENT_SECRET, configured.AZURE_APP_SECRET]) {
      expect(first.stdout).not.toContain(secret);
      expect(host.writes().join("\n")).not.toContain(secret);
    }
    expect(load()).toEqual(configured);

    // A rotated Azure secret reaches the table; nothing else is written.
    const rotated = { ...configured, AZURE_APP_SECRET: "azure~rotated.secret-0002" };
    expect(bootstrap(config({ installation_configs: rotated })).result.installation_configs_set).toEqual(["AZURE_APP_SECRET"]);
    expect(load(envValues)).toEqual(rotated);
  });

  it("creates nothing on the second and third runs and returns the same ids and tokens", () => {
    const first = bootstrap(config()).result;
    const writesAfterFirst = host.writes().length;
    for (const _ of [2, 3]) {
      const again = bootstrap(config()).result;
      expect(again).toEqual({ ...first, created: [] });
    }
    expect(host.writes().length).toBe(writesAfterFirst);
  });

  it("finds a restored installation's account, admin and inbox on a new server instead of creating them", () => {
    const first = bootstrap(config()).result;
    // A restore brings the database over to a new server; the bootstrap then runs there for the first time.
    const restored = fs.readFileSync(path.join(host.root, "db"));
    host.cleanup();
    host = fakeHost();
    fs.mkdirSync(path.join(host.app, "release"));
    fs.writeFileSync(path.join(host.app, "release/current"), OLD);
    fs.writeFileSync(path.join(host.root, "db"), restored);
    const onNewServer = bootstrap(config()).result;
    expect(onNewServer).toEqual({ ...first, created: [] });
  });

  it("updates a changed webhook subscription list in place", () => {
    const first = bootstrap(config()).result;
    const changed = bootstrap(
      config({ webhook: { url: "https://app.example.com/hooks", name: "pulumi-managed", subscriptions: ["message_created", "conversation_created"], secret: "whsec-0123456789abcdef" } }),
    ).result;
    expect(changed.webhook_id).toBe(first.webhook_id);
    expect(changed.created).toEqual([]);
    expect(host.writes().at(-1)).toBe(`update Webhook ${first.webhook_id} subscriptions`);
  });

  it("renames the account and inbox in place, never sets the password again", () => {
    const first = bootstrap(config()).result;
    const r = bootstrap(config({ account: { name: "Acme Help", locale: "de" }, inbox: { name: "Support" }, admin: { email: "ops@example.com", name: "Ops", password: "Other!Passw0rd" } })).result;
    expect(r.account_id).toBe(first.account_id);
    expect(r.inbox_id).toBe(first.inbox_id);
    expect(host.writes()).toEqual(expect.arrayContaining([`update Account ${first.account_id} name,locale`, `update Inbox ${first.inbox_id} name`]));
    expect(host.writes().some((w) => w.startsWith("update User"))).toBe(false);
  });

  it("replaces the webhook when its URL (the identity) changes", () => {
    const first = bootstrap(config()).result;
    const r = bootstrap(config({ webhook: { url: "https://new.example.com/hooks", name: "pulumi-managed", subscriptions: ["message_created"], secret: "whsec-0123456789abcdef" } })).result;
    expect(r.webhook_id).not.toBe(first.webhook_id);
    expect(r.removed_webhooks).toEqual([first.webhook_id]);
  });

  it("rejects invalid input with exit 2 and a clear message, printing no secret", () => {
    const r = bootstrap(config({ admin: { email: "ops@example.com", name: "Ops" } }));
    expect(r.status).toBe(2);
    expect(r.stderr).toContain("bootstrap: invalid input: admin.password is required");
    const notJson = bootstrap("{nope");
    expect(notJson.status).toBe(2);
    expect(notJson.stderr).toContain("stdin is not JSON");
    const unknown = bootstrap(config({ disable_features: ["teleportation"] }));
    expect(unknown.status).toBe(2);
    expect(unknown.stderr).toContain("unknown Chatwoot feature(s): teleportation");
  });

  it("fails on a password Chatwoot would refuse, naming the field and not the password", () => {
    const weak = "weakpassword";
    const r = bootstrap(config({ admin: { email: "ops@example.com", name: "Ops", password: weak } }));
    expect(r.status).not.toBe(0);
    expect(r.stderr).toContain("bootstrap: User is invalid: password (values are not shown");
    expect(r.stderr + r.stdout).not.toContain(weak);
    expect(r.stderr + r.stdout).not.toContain("whsec-0123456789abcdef");
  });

  it("does not let the password gem's message quote the characters it rejects", () => {
    const r = bootstrap(config({ admin: { email: "ops@example.com", name: "Ops", password: "Pässwort1!x§" } }));
    expect(r.status).toBe(1);
    expect(r.stderr).toContain("User is invalid: password");
    expect(r.stderr + r.stdout).not.toMatch(/[ä§]/);
  });

  it("accepts the gem's specials the old rule refused", () => {
    const r = bootstrap(config({ admin: { email: "ops@example.com", name: "Ops", password: "Correct.Horse.Battery9" } }));
    expect(r.stderr).toBe("");
    expect(r.status).toBe(0);
  });

  it("fails on a locale Account.locale= raises on, without the value, like Rails does in Chatwoot", () => {
    const r = bootstrap(config({ account: { name: "Acme Support", locale: "de_DE" } }));
    expect(r.status).toBe(1);
    expect(r.stderr).toContain("bootstrap: ArgumentError (message withheld");
    expect(r.stderr).not.toContain("de_DE");
    expect(bootstrap(config({ account: { name: "Acme Support", locale: "pt_BR" } })).status).toBe(0);
  });

  it("refuses 'flags', which answers respond_to?(feature_flags?) but is no feature", () => {
    const r = bootstrap(config({ disable_features: ["flags"] }));
    expect(r.status).toBe(2);
    expect(r.stderr).toContain("unknown Chatwoot feature(s): flags");
  });

  it("fails when disable_features! returns false (a validation failure it does not raise)", () => {
    expect(bootstrap(config({ disable_features: [] })).status).toBe(0);
    const r = host.exec("bootstrap.sh", [], { input: config({ disable_features: ["campaigns", "captain_tasks"] }), env: { FAKE_ACCOUNT_INVALID: "1" } });
    expect(r.status).not.toBe(0);
    expect(r.stderr).toContain("could not disable features on the account: invalid limits");
  });

  it("disables again what an upgrade migration switched back on", () => {
    expect(bootstrap(config({ disable_features: ["captain_tasks"] })).status).toBe(0);
    // What db/migrate/20260120121402_enable_captain_tasks_for_existing_accounts.rb does.
    const upgrade = path.join(host.root, "upgrade.rb");
    fs.writeFileSync(upgrade, "Account.where({}).each { |a| a.enable_features!('captain_tasks') }\n");
    const u = run("ruby", ["-r", MODELS, upgrade], { env: { FAKE_CHATWOOT_DB: path.join(host.root, "db"), FAKE_CHATWOOT_LOG: path.join(host.root, "writes.log") } });
    expect(u.status).toBe(0);
    expect(host.writes().filter((w) => w.startsWith("update Account"))).toHaveLength(2);
    const again = bootstrap(config({ disable_features: ["captain_tasks"] }));
    expect(again.status).toBe(0);
    expect(host.writes().filter((w) => w.startsWith("update Account"))).toHaveLength(3);
  });
});

describeWithTools("verify.sh against a live Caddy and a Chatwoot stand-in", ["go", "curl", "jq", "python3"], () => {
  let stub: ChatwootStub;
  let caddy: RunningCaddy;
  let brokenCaddy: RunningCaddy;
  let leakyCaddy: RunningCaddy;
  let work: string;
  const origins = ["https://app.example.com"];
  const envFor = (o: string[]) => parseEnvFile(renderMaskedEnvFile({ ...envSettings, embedAllowedOrigins: o }, false));
  const probe = (over: Record<string, unknown> = {}) =>
    JSON.stringify({ api_token: stub.behaviour.apiToken, account_id: 1, inbox_id: 7, webhook_url: "https://app.example.com/hooks/chatwoot", ...over });
  const verify = (
    c: RunningCaddy,
    opts: {
      input?: string;
      origins?: string[];
      version?: string;
      domain?: string;
      helpCenter?: string;
      backupState?: string;
      deployedCaddyfile?: string;
      systemctl?: string;
    } = {},
  ) =>
    runAsync(
      path.join(SCRIPTS, "verify.sh"),
      [
        "--domain", opts.domain ?? "localhost",
        ...(opts.helpCenter ? ["--help-center", opts.helpCenter] : []),
        "--version", opts.version ?? "v4.15.1",
        "--frame-origins", (opts.origins ?? origins).join(" "),
        "--public-ipv4", "203.0.113.10",
        "--public-ipv6", "2001:db8:10::1",
        "--connect", `127.0.0.1:${c.httpsPort}`,
        "--cacert", c.caFile,
        "--caddy-admin-socket", c.adminSocket,
        "--caddyfile", opts.deployedCaddyfile ?? c.caddyfile,
        "--timeout", "2",
        ...(opts.backupState ? ["--backup-state", opts.backupState] : []),
        ...(opts.systemctl ? ["--watchdog"] : []),
      ],
      // The Caddy instance's environment, so the deployed Caddyfile adapts as Caddy adapted it.
      // Production's caddy first on PATH, for verify's `caddy adapt` (and a stand-in systemctl).
      {
        input: opts.input ?? probe(),
        env: {
          ...process.env,
          ...c.env,
          PATH: `${opts.systemctl ? `${opts.systemctl}:` : ""}${path.dirname(caddyBinary())}:${process.env.PATH}`,
          // The watchdog's test alert reads the host's .env: one with no alert channel.
          ...(opts.systemctl ? { CHATWOOT_APP_DIR: opts.systemctl } : {}),
        },
      },
    );

  beforeAll(async () => {
    work = tempDir("verify");
    stub = await startChatwootStub();
    caddy = await startCaddy(envFor(origins), stub.port);
    // A proxy that forgot to strip the header: the project's Caddyfile minus that one line.
    const broken = path.join(work, "Caddyfile");
    fs.writeFileSync(broken, fs.readFileSync(path.join(repoRoot, "docker/Caddyfile"), "utf8").replace(/^\s*header @dashboard -X-Frame-Options\n/m, ""));
    brokenCaddy = await startCaddy(envFor(origins), stub.port, broken);
    // A proxy that passes client-sent address headers on: the project's Caddyfile without the deletes.
    const leaky = path.join(work, "Caddyfile.leaky");
    fs.writeFileSync(leaky, fs.readFileSync(path.join(repoRoot, "docker/Caddyfile"), "utf8").replace(/^\s*header_up -.*\n/gm, ""));
    leakyCaddy = await startCaddy(envFor(origins), stub.port, leaky);
  }, 1_800_000);
  afterAll(async () => {
    await caddy?.stop();
    await brokenCaddy?.stop();
    await leakyCaddy?.stop();
    await stub?.close();
    fs.rmSync(work, { recursive: true, force: true });
  });
  afterEach(() => {
    Object.assign(stub.behaviour, HEALTHY);
  });

  it("checks the watchdog: its timer is active and a run of it succeeds", async () => {
    // TEST STAND-IN FOR systemctl: records its calls; the timer's state and the run's result are set per case.
    const bin = path.join(work, "systemctl-bin");
    fs.mkdirSync(bin, { recursive: true });
    const calls = path.join(work, "systemctl.log");
    const stand = (timerActive: boolean, runOk: boolean) =>
      fs.writeFileSync(
        path.join(bin, "systemctl"),
        `#!/bin/sh\necho "$*" >> ${calls}\ncase "$*" in\n  "is-active --quiet chatwoot-watchdog.timer") exit ${timerActive ? 0 : 3} ;;\n` +
          `  "start chatwoot-watchdog.service") exit ${runOk ? 0 : 1} ;;\nesac\nexit 1\n`,
        { mode: 0o755 },
      );
    fs.writeFileSync(path.join(bin, ".env"), renderMaskedEnvFile(envSettings, true).replace(/^ALERT_(EMAIL_TO|WEBHOOK_URL|PING_URL)=.*\n/gm, ""));
    stand(true, true);
    const good = await verify(caddy, { systemctl: bin });
    expect(good.stderr).toBe("");
    expect(good.stdout).toContain("ok    the watchdog's timer is active (every minute)");
    expect(good.stdout).toContain("ok    the watchdog ran");
    // No channel in this .env: nothing to test, which is not a failure (the plan warns instead).
    expect(good.stderr).toBe("");
    expect(good.stdout).toContain("ok    alerts: No alert channel is configured");
    expect(fs.readFileSync(calls, "utf8").trim().split("\n")).toEqual(["is-active --quiet chatwoot-watchdog.timer", "start chatwoot-watchdog.service"]);
    stand(false, false);
    const bad = await verify(caddy, { systemctl: bin });
    expect(bad.status).toBe(1);
    expect(bad.stderr).toContain("FAIL  the watchdog's timer is not active: systemctl enable --now chatwoot-watchdog.timer");
    expect(bad.stderr).toContain("FAIL  the watchdog failed to run: journalctl -u chatwoot-watchdog.service");
  });

  it("checks the help center's own hostname too, and says to point its DNS here when it has no certificate", async () => {
    const both = await startCaddy(envFor(origins), stub.port, path.join(repoRoot, "docker/Caddyfile"), "localhost, help.localhost");
    try {
      const good = await verify(both, { helpCenter: "help.localhost" });
      expect(good.stderr).toBe("");
      expect(good.stdout).toContain("ok    the help center's https://help.localhost answers over TLS");
    } finally {
      await both.stop();
    }
    // This Caddy serves the domain alone: no certificate for the help center's name.
    const missing = await verify(caddy, { helpCenter: "help.example.com" });
    expect(missing.status).toBe(1);
    expect(missing.stderr).toContain("FAIL  TLS for help.example.com could not be set up");
    expect(missing.stderr).toContain('Create the records "help.example.com A 203.0.113.10" and "help.example.com AAAA 2001:db8:10::1"');
    // The rest of the checklist still ran and passed.
    expect(missing.stdout).toContain("ok    /health answers through Caddy over TLS");
  });

  it("passes on a good setup, checking every point of the checklist", async () => {
    const r = await verify(caddy);
    expect(r.stderr).toBe("");
    expect(r.status).toBe(0);
    expect(r.stdout.trim().split("\n")).toEqual([
      "ok    /health answers through Caddy over TLS",
      "ok    /api reports version 4.15.1",
      "ok    /api data_services ok",
      "ok    /api queue_services ok",
      "ok    no X-Frame-Options on the dashboard (/app/login /app/accounts/1/dashboard /api)",
      "ok    frame-ancestors allows: https://app.example.com",
      "ok    websocket on /cable: correct handshake, a ping came back as a pong",
      "ok    Caddy drops client-sent Forwarded, X-Real-IP, Client-IP and True-Client-IP",
      "ok    Caddy serves the deployed Caddyfile",
      "ok    the API token sees inbox 7 in account 1",
      "ok    the account webhook to https://app.example.com/hooks/chatwoot exists",
      "verified: https://localhost",
    ]);
  });

  it("reports fresh backups as ok and a stale one as a failure, from the backup service's status file", async () => {
    const state = path.join(work, "backup-state");
    fs.mkdirSync(state, { recursive: true });
    const now = Math.floor(Date.now() / 1000);
    const status = (dbAge: number) =>
      fs.writeFileSync(
        path.join(state, "status"),
        [`scheduler_started=${now - 86400}`, "database_every=900", `database_last_success=${now - dbAge}`, "database_last_result=ok",
          "database_last_snapshot=1a2b3c4d", "files_every=3600", `files_last_success=${now - 60}`, "files_last_snapshot=5e6f7a8b"].join("\n") + "\n",
      );
    status(120);
    let r = await verify(caddy, { backupState: state });
    expect(r.status).toBe(0);
    expect(r.stdout).toContain("ok    database backup: ok, 2 min ago (snapshot 1a2b3c4d)");
    expect(r.stdout).toContain("ok    files backup: ok, 1 min ago (snapshot 5e6f7a8b)");
    status(3 * 900);
    r = await verify(caddy, { backupState: state });
    expect(r.status).toBe(1);
    expect(r.stderr).toContain("FAIL  database backup: STALE, the last successful one was 45 min ago (expected every 15 min");
    expect(r.stdout).toContain("ok    files backup: ok");
    r = await verify(caddy, { backupState: path.join(work, "no-such-dir") });
    expect(r.status).toBe(1);
    expect(r.stderr).toContain("FAIL  no backup has run yet");
  });

  it("never puts the API token on a command line", () => {
    expect(fs.readFileSync(path.join(SCRIPTS, "verify.sh"), "utf8")).toContain('-H "@$work/auth"');
    const seen = stub.requests.filter((r) => r.headers["api_access_token"]);
    expect(seen.length).toBeGreaterThan(0);
  });

  it("fails when the dashboard still sends X-Frame-Options", async () => {
    const r = await verify(brokenCaddy);
    expect(r.status).toBe(1);
    expect(r.stderr).toContain("FAIL  the dashboard still sends X-Frame-Options on: /app/login /app/accounts/1/dashboard /api (embedding would be blocked)");
  });

  it("fails on a version other than the configured one", async () => {
    stub.behaviour.version = "4.14.0";
    const r = await verify(caddy);
    expect(r.status).toBe(1);
    expect(r.stderr).toContain("FAIL  /api reports version '4.14.0', expected 4.15.1");
  });

  it("fails when /api reports a broken database", async () => {
    stub.behaviour.dataServices = "failing";
    const r = await verify(caddy);
    expect(r.status).toBe(1);
    expect(r.stderr).toContain("FAIL  /api data_services is 'failing', expected ok (Postgres is not reachable from Rails)");
  });

  it("fails when the websocket is refused", async () => {
    stub.behaviour.refuseWebsocket = true;
    const r = await verify(caddy);
    expect(r.status).toBe(1);
    expect(r.stderr).toContain("FAIL  websocket on /cable: answered 'HTTP/1.1 404 Not Found', expected 101");
  });

  it("fails on a 101 whose Sec-WebSocket-Accept does not match the key", async () => {
    stub.behaviour.wrongWebsocketAccept = true;
    const r = await verify(caddy);
    expect(r.status).toBe(1);
    expect(r.stderr).toContain("FAIL  websocket on /cable: Sec-WebSocket-Accept is wrong (not derived from the key sent)");
  });

  it("fails when no frame comes back through the websocket", async () => {
    stub.behaviour.silentWebsocket = true;
    const r = await verify(caddy);
    expect(r.status).toBe(1);
    expect(r.stderr).toContain("FAIL  websocket on /cable: no pong within 10 s");
  }, 30_000);

  it("fails when Caddy serves another configuration than the deployed Caddyfile (a missed reload)", async () => {
    const deployed = path.join(work, "Caddyfile.deployed");
    fs.writeFileSync(deployed, fs.readFileSync(path.join(repoRoot, "docker/Caddyfile"), "utf8").replace('header Strict-Transport-Security "max-age=31536000"', 'header Strict-Transport-Security "max-age=63072000"'));
    const r = await verify(caddy, { deployedCaddyfile: deployed });
    expect(r.status).toBe(1);
    expect(r.stderr).toContain("FAIL  Caddy does not serve the deployed Caddyfile");
  });

  it("fails when the served Caddy configuration passes client-sent address headers to Rails", async () => {
    const r = await verify(leakyCaddy);
    expect(r.status).toBe(1);
    expect(r.stderr).toContain("FAIL  Caddy passes client-sent address headers to Rails (Forwarded X-Real-Ip Client-Ip True-Client-Ip)");
  });

  it("fails when frame-ancestors differs from the configured allowlist", async () => {
    const r = await verify(caddy, { origins: ["https://other.example.com"] });
    expect(r.status).toBe(1);
    expect(r.stderr).toContain(`expected "frame-ancestors 'self' https://other.example.com"`);
  });

  it("fails when the token does not see the inbox or the webhook", async () => {
    const r = await verify(caddy, { input: probe({ inbox_id: 99, webhook_url: "https://elsewhere.example.com/" }) });
    expect(r.status).toBe(1);
    expect(r.stderr).toContain("FAIL  inbox 99 is not in account 1's inboxes");
    expect(r.stderr).toContain("FAIL  no account webhook to https://elsewhere.example.com/");
    const refused = await verify(caddy, { input: probe({ api_token: "wrong" }) });
    expect(refused.stderr).toContain("the API token was refused listing inboxes of account 1 (HTTP 401)");
  });

  it("explains which DNS records to create when TLS cannot be set up", async () => {
    const r = await verify(caddy, { domain: "chatwoot-verify-test.invalid" });
    expect(r.status).toBe(1);
    expect(r.stderr).toContain(
      "TLS for chatwoot-verify-test.invalid could not be set up: chatwoot-verify-test.invalid resolves to nothing, not this server (203.0.113.10).",
    );
    expect(r.stderr).toContain('"chatwoot-verify-test.invalid A 203.0.113.10" and "chatwoot-verify-test.invalid AAAA 2001:db8:10::1"');
  });
});

describeWithTools("every docker compose call the host scripts make, parsed by the real Compose v2", ["go"], () => {
  // The stand-in docker accepts anything; Compose v2 itself must accept each call's flags. With
  // no engine behind DOCKER_HOST, a well-formed call fails only at the connection.
  it("has no flag or argument Compose v2 would refuse", () => {
    const composeBin = composeV2Binary()!;
    const calls = new Set<string>();
    const record = (prepare: (h: ReturnType<typeof fakeHost>) => void, script: string, args: string[], opts: Parameters<ReturnType<typeof fakeHost>["exec"]>[2] = {}) => {
      const h = fakeHost();
      try {
        prepare(h);
        h.exec(script, args, opts);
        for (const c of h.calls()) calls.add(c.replace(/ \[job lock held\]$/, "").replace(h.app, "@APP@").replaceAll(h.app, "@APP@"));
      } finally {
        h.cleanup();
      }
    };
    const deployed = (h: ReturnType<typeof fakeHost>) => {
      fs.mkdirSync(path.join(h.app, "release"), { recursive: true });
      fs.writeFileSync(path.join(h.app, "release/current"), `${OLD}\n`);
      fs.writeFileSync(path.join(h.app, "release/previous"), `${NEW}\n`);
    };
    const running = (h: ReturnType<typeof fakeHost>) => h.reply([["ps -q --status running (caddy|backup)$", "container-id"]]);
    record(() => {}, "deploy.sh", ["--version", "v4.16.0"]);
    record((h) => { deployed(h); running(h); fs.appendFileSync(path.join(h.app, "bundle/docker/backup/chatwoot-backup"), "#\n"); }, "deploy.sh", ["--version", "v4.16.0"]);
    record(deployed, "deploy.sh", ["--version", "v4.16.0"], { fail: " up -d --wait --remove-orphans$" });
    record(deployed, "rollback.sh", ["--yes"]);
    const serving = (h: ReturnType<typeof fakeHost>) => {
      deployed(h);
      h.reply([["ps -q --status running (caddy|backup|rails)$", "container-id"]]);
    };
    record(serving, "deploy.sh", ["--version", "v4.16.0"]);
    record(serving, "deploy.sh", ["--version", "v4.16.0"], { fail: "--no-deps rails-surge$" });
    record(serving, "rollback.sh", ["--yes"]);
    record(deployed, "backup.sh", ["database"]);
    record(deployed, "restore.sh", ["--yes", "--snapshot", "latest"]);
    record(deployed, "restore.sh", ["--before-deploy", "--snapshot", "latest"]);
    record(deployed, "bootstrap.sh", [], { input: "{}" });
    expect(calls.size).toBeGreaterThan(15);

    const host = fakeHost();
    try {
      // What compose.sh writes (the scoped env files, live/), for the project to load.
      deployed(host);
      expect(host.exec("compose.sh", ["version"]).status).toBe(0);
      const refused: string[] = [];
      for (const call of calls) {
        const m = /^CHATWOOT_IMAGE=(\S*) compose (.*)$/.exec(call.replaceAll("@APP@", host.app));
        if (!m) continue;
        const r = run(composeBin, m[2]!.split(" "), {
          env: {
            PATH: process.env.PATH,
            HOME: host.root,
            DOCKER_HOST: `unix://${host.root}/no-engine.sock`,
            CHATWOOT_IMAGE: m[1] || "chatwoot/chatwoot:v4.15.1",
            CHATWOOT_ENV_FILE: path.join(host.app, ".env"),
            CHATWOOT_APP_ENV_FILE: path.join(host.app, "env/app.env"),
            CHATWOOT_BACKUP_ENV_FILE: path.join(host.app, "env/backup.env"),
            CHATWOOT_LIVE_DIR: path.join(host.app, "live"),
            COMPOSE_PROFILES: "backup",
          },
        });
        const text = r.stdout + r.stderr;
        // Parsed, the project loaded, and only the missing engine stopped it (or it needed none).
        if (r.status !== 0 && !/Cannot connect to the Docker daemon/.test(text)) {
          refused.push(`${m[2]} → ${text.trim().split("\n")[0]}`);
        }
      }
      expect(refused).toEqual([]);
    } finally {
      host.cleanup();
    }
  }, 120_000);
});

describe("no host script puts a secret on stdout or stderr, on any failure path", () => {
  // Every secret in the .env is a sentinel; each docker call of a successful run is then made to
  // fail in turn, and everything the script prints (which pulumi up would show in full) is searched.
  const sentinel = (name: string) => `Sentinel${name.replace(/_/g, "")}Value0123456789abcdef`;
  const secrets = Object.fromEntries(ENV_SECRET_NAMES.map((n) => [n, sentinel(n)])) as unknown as EnvSecrets;
  secrets.RESTIC_REPOSITORY = "sftp://u1@backup.example.com:23/chatwoot";
  const envText = renderEnvFile(envSettings, secrets);
  // The secrets this .env holds (an sftp repository: no S3 keys).
  const values = Object.values(secrets).filter((v) => v.startsWith("Sentinel") && envText.includes(v));
  const deployed = (h: ReturnType<typeof fakeHost>) => {
    fs.mkdirSync(path.join(h.app, "release"), { recursive: true });
    fs.writeFileSync(path.join(h.app, "release/current"), `${OLD}\n`);
  };
  const escape = (t: string) => t.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");

  const scripts: [string, string[], (h: ReturnType<typeof fakeHost>) => void][] = [
    ["deploy.sh", ["--version", "v4.16.0"], () => {}],
    ["rollback.sh", ["--yes"], (h) => {
      fs.mkdirSync(path.join(h.app, "release"), { recursive: true });
      fs.writeFileSync(path.join(h.app, "release/current"), `${NEW}\n`);
      fs.writeFileSync(path.join(h.app, "release/previous"), `${OLD}\n`);
    }],
    ["backup.sh", ["database"], (h) => deployed(h)],
    ["restore.sh", ["--yes", "--snapshot", "latest"], (h) => deployed(h)],
  ];

  it.each(scripts)("%s", (script, args, prepare) => {
    const first = fakeHost(envSettings, envText);
    prepare(first);
    const ok = first.exec(script, args);
    const calls = first.calls();
    first.cleanup();
    expect(calls.length, `${script} made no docker call: ${ok.stderr}`).toBeGreaterThan(0);
    const printed = [ok.stdout, ok.stderr];
    for (const call of new Set(calls)) {
      const host = fakeHost(envSettings, envText);
      try {
        prepare(host);
        const r = host.exec(script, args, { fail: `^${escape(call)}$` });
        printed.push(r.stdout, r.stderr);
        // A call line is what docker saw as its arguments: no secret may be there either.
        printed.push(...host.calls());
      } finally {
        host.cleanup();
      }
    }
    const all = printed.join("\n");
    for (const v of values) expect(all.includes(v), `${script} printed a secret`).toBe(false);
    expect(values.length).toBeGreaterThanOrEqual(9);
  });
});

// Keeps the bundle renderer honest about the scripts it ships.
it("ships every script in the bundle", () => {
  const manifest = renderBundle(readBundleFiles(repoRoot)).manifest;
  for (const s of ["scripts/deploy.sh", "scripts/bootstrap.sh", "scripts/bootstrap.rb", "scripts/verify.sh", "scripts/compose.sh"]) {
    expect(manifest).toMatch(new RegExp(`^0(755|644) [0-9a-f]{64} ${s}$`, "m"));
  }
});
