/**
 * deploy.sh across releases, against the TEST STAND-IN docker: the web tier's switch while Rails and
 * Caddy serve, when it migrates, the backup before migrating, and what it refuses before touching
 * anything.
 */
import { createHash } from "node:crypto";
import * as fs from "node:fs";
import * as path from "node:path";
import { describe, expect, it } from "vitest";
import { envSettings } from "../test/fixtures";
import { fakeHost, type FakeHost } from "../test/fake-host";
import { fakeHostPerTest } from "../test/fake-host-per-test";
import { NEW, OLD, RUNNING, RUNNING_SERVICES, SCHEMA_RE, SWITCH as switchCalls, compose } from "../test/deploy-calls";

describe("deploy.sh across releases, with a stand-in docker", () => {
  let host: FakeHost;
  fakeHostPerTest((h) => (host = h));

  describe("while Rails and Caddy serve", () => {
    const SWITCH = (image: string) => switchCalls(host.app, image);
    const afterPs = (calls: string[]) => calls.slice(calls.findIndex((c) => c.includes(RUNNING_SERVICES)) + 1);

    it("an upgrade switches the web tier beside the serving Rails, then recreates Sidekiq and the rest", () => {
      host.deployedAs("v4.15.1");
      host.resetCalls();
      host.reply(RUNNING);
      const r = host.exec("deploy.sh", ["--version", "v4.16.0"]);
      expect(r.stderr).toBe("");
      expect(r.status).toBe(0);
      expect(afterPs(host.calls())).toEqual([...SWITCH(NEW), `CHATWOOT_IMAGE=${NEW} ${compose(host.app, "up -d --wait --remove-orphans")} [job lock held]`]);
      expect(host.deployLog().at(-1)).toMatch(/result=ok .*steps=.*switch:\d+,start:\d+$/);
    });

    it("when Compose cannot say which services run, nothing is taken as running: no switch, the plain start, and the deploy says so by its steps", () => {
      host.deployedAs("v4.15.1");
      host.resetCalls();
      host.reply(RUNNING);
      const r = host.exec("deploy.sh", ["--version", "v4.16.0"], { fail: `${RUNNING_SERVICES}$` });
      expect(r.status).toBe(0);
      expect(host.calls().some((c) => c.includes("rails-surge"))).toBe(false);
      expect(afterPs(host.calls())).toEqual([`CHATWOOT_IMAGE=${NEW} ${compose(host.app, "up -d --wait --remove-orphans")} [job lock held]`]);
      expect(host.deployLog().at(-1)).toMatch(/result=ok .*steps=.*start:\d+$/);
      expect(host.deployLog().at(-1)).not.toContain("switch:");
    });

    it("a configuration change the app reads switches the same way; one only Caddy or the backup reads does not", () => {
      host.deployedAs("v4.16.0");
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
      host.deployedAs("v4.15.1");
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
      host.deployedAs("v4.15.1");
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
    host.deployedAs("v4.15.1");
    host.resetCalls();
    host.reply([
      ...RUNNING,
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
    host.deployedAs("v4.15.1");
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
    host.deployedAs("v4.15.1");
    host.resetCalls();
    expect(host.exec("deploy.sh", ["--version", "v4.16.0"]).status).toBe(0);
    const calls = host.calls();
    const backup = calls.findIndex((c) => c.endsWith("chatwoot-backup run database"));
    const migrate = calls.findIndex((c) => c.includes("db:chatwoot_prepare"));
    expect(backup).toBeGreaterThan(calls.findIndex((c) => c.includes("up -d --wait postgres redis")));
    expect(backup).toBeLessThan(migrate);
    // The new Chatwoot image downloads beside the backup; the small images come first.
    expect(calls[0]).toBe(`CHATWOOT_IMAGE=${NEW} ${compose(host.app, "pull --quiet postgres redis caddy")}`);
    // (It may run while the backup holds the job lock, which the stand-in marks: not this test's concern.)
    const bigPull = calls.findIndex((c) => c.replace(/ \[job lock held\]$/, "").endsWith("pull --quiet rails sidekiq"));
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
    const unbacked = fakeHost({ ...envSettings, backup: undefined });
    try {
      expect(unbacked.exec("deploy.sh", ["--version", "v4.15.1"]).status).toBe(0);
      expect(unbacked.exec("deploy.sh", ["--version", "v4.16.0"]).status).toBe(0);
      const calls = unbacked.calls();
      expect(calls.some((c) => c.includes("build") || c.includes("chatwoot-backup"))).toBe(false);
      expect(calls.at(-1)).toBe(`CHATWOOT_IMAGE=${NEW} ${compose(unbacked.app, "rm --stop --force backup")}`);
    } finally {
      unbacked.cleanup();
    }
  });

  it("compose.sh explains what is missing before a first deploy", () => {
    const r = host.exec("compose.sh", ["ps"]);
    expect(r.status).toBe(1);
    expect(r.stderr).toContain("no release deployed yet");
  });
});
