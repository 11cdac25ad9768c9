/**
 * The upgrade switch under faults (deploy.sh, rollback.sh, scripts/lib.sh), with the TEST STAND-IN
 * docker and its stand-in of Caddy's admin API (a refused reload leaves the configuration as it
 * was, as Caddy does). Whatever fails, the release that was serving keeps serving, Sidekiq runs
 * beside whatever serves, what is reported is what Caddy's admin API says, and release/current
 * names what serves.
 */
import * as path from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { NEW, OLD, RELOAD_TO_RAILS, RUNNING, SCHEMA_RE, SWITCH, compose } from "../test/deploy-calls";
import { fakeHost, type FakeHost } from "../test/fake-host";

/** The schema before and after the new release's migration: it changed. */
const MIGRATED: [string, string][] = [[SCHEMA_RE, "20261101000000"], [SCHEMA_RE, "20261201000000"]];
const SAME_SCHEMA: [string, string][] = [[SCHEMA_RE, "20261101000000"]];
const SIDEKIQ_RUNNING: [string, string] = ["ps -q --status running sidekiq$", "sidekiq-container-id"];

describe("the upgrade switch under faults", () => {
  let host: FakeHost;
  beforeEach(() => {
    host = fakeHost();
    host.deployedAs("v4.15.1");
    host.resetCalls();
  });
  afterEach(() => host.cleanup());
  const calls = (image: string, what: string) => host.calls().filter((c) => c.startsWith(`CHATWOOT_IMAGE=${image} `) && c.includes(what));
  const stopsEverything = () => host.calls().some((c) => / stop rails sidekiq$/.test(c));

  it("stops the old Sidekiq before migrating, and starts it again when the migration fails", () => {
    host.reply([...RUNNING, SIDEKIQ_RUNNING, ...SAME_SCHEMA]);
    const r = host.exec("deploy.sh", ["--version", "v4.16.0"], { fail: "db:chatwoot_prepare" });
    expect(r.status).toBe(1);
    const all = host.calls();
    const stop = all.findIndex((c) => c.endsWith(compose(host.app, "stop sidekiq")));
    const migrate = all.findIndex((c) => c.includes("db:chatwoot_prepare"));
    expect(stop).toBeGreaterThan(-1);
    expect(stop).toBeLessThan(migrate);
    expect(all.at(-1)).toBe(`CHATWOOT_IMAGE=${NEW} ${compose(host.app, "start sidekiq")}`);
    expect(r.stderr).toContain("its Sidekiq was started again");
    expect(host.release("current")).toBe(OLD);
  });

  it.each([
    ["rails-surge does not start after the migration ran", "up -d --wait --no-deps rails-surge$"],
    ["port 3001 is taken (rails-surge cannot bind)", "up -d --wait --no-deps rails-surge$"],
    ["Caddy refuses the reload to rails-surge", "CHATWOOT_UPSTREAM=127.0.0.1:3001 caddy caddy reload"],
  ])("%s: the old release keeps serving, with its Sidekiq; nothing is stopped", (_what, fail) => {
    host.reply([...RUNNING, SIDEKIQ_RUNNING, ...MIGRATED]);
    const r = host.exec("deploy.sh", ["--version", "v4.16.0"], { fail });
    expect(r.status).toBe(1);
    expect(stopsEverything()).toBe(false);
    expect(calls(NEW, "--no-deps rails$")).toEqual([]);
    expect(host.caddyUpstream()).toBe("127.0.0.1:3000");
    expect(host.calls().at(-1)).toBe(`CHATWOOT_IMAGE=${NEW} ${compose(host.app, "start sidekiq")}`);
    expect(r.stderr).toContain(`${OLD} kept serving throughout and still serves (schema 20261101000000 -> 20261201000000); its Sidekiq was started again`);
    expect(host.release("current")).toBe(OLD);
    expect(host.deployLog().at(-1)).toContain("result=switch-failed-previous-serving");
  });

  it("the recreated Rails is unhealthy after a migration: rails-surge keeps serving the new release, with its Sidekiq, and the record says so", () => {
    host.reply([...RUNNING, SIDEKIQ_RUNNING, ...MIGRATED]);
    const r = host.exec("deploy.sh", ["--version", "v4.16.0"], { fail: `^CHATWOOT_IMAGE=${NEW} .* up -d --wait --no-deps rails$` });
    expect(r.status).toBe(1);
    expect(stopsEverything()).toBe(false);
    expect(calls(NEW, "rm --stop --force rails-surge")).toEqual([]);
    expect(host.caddyUpstream()).toBe("127.0.0.1:3001");
    expect(host.calls().at(-1)).toBe(`CHATWOOT_IMAGE=${NEW} ${compose(host.app, "up -d --wait --no-deps sidekiq")}`);
    expect(r.stderr).toContain(`${NEW} serves from rails-surge (port 3001)`);
    expect(r.stderr).toContain(`Sidekiq runs ${NEW}`);
    expect(host.release("current")).toBe(NEW);
    expect(host.release("previous")).toBe(OLD);
    expect(host.deployLog().at(-1)).toContain("result=serving-from-surge");
  });

  it("Caddy refuses the reload back to Rails: it says rails-surge serves (read back from Caddy), never that the old release serves again", () => {
    host.reply([...RUNNING, SIDEKIQ_RUNNING, ...MIGRATED]);
    const r = host.exec("deploy.sh", ["--version", "v4.16.0"], { fail: `^CHATWOOT_IMAGE=${NEW} .* ${RELOAD_TO_RAILS}$` });
    expect(r.status).toBe(1);
    expect(r.stderr).not.toContain("is serving again");
    expect(r.stderr).toContain("Caddy still sends to rails-surge");
    expect(host.caddyUpstream()).toBe("127.0.0.1:3001");
    expect(calls(NEW, "rm --stop --force rails-surge")).toEqual([]);
    expect(calls(NEW, "up -d --wait --no-deps sidekiq")).toHaveLength(1);
    expect(host.release("current")).toBe(NEW);
  });

  it("Caddy refuses every reload on the same schema: the old release cannot take back the web tier, and that is what it says", () => {
    host.reply([...RUNNING, SIDEKIQ_RUNNING, ...SAME_SCHEMA]);
    // The reload to rails-surge goes through; every reload back to Rails is refused.
    const r = host.exec("deploy.sh", ["--version", "v4.16.0"], { fail: ` ${RELOAD_TO_RAILS}$` });
    expect(r.status).toBe(1);
    expect(r.stderr).toContain(`${OLD} could not take the web tier back; ${NEW} keeps serving from rails-surge`);
    expect(r.stderr).not.toContain("is serving again");
    expect(host.caddyUpstream()).toBe("127.0.0.1:3001");
    expect(host.release("current")).toBe(NEW);
  });

  it("the same schema: the old release takes the web tier back from rails-surge, verified, and serves again", () => {
    host.reply([...RUNNING, SIDEKIQ_RUNNING, ...SAME_SCHEMA]);
    const r = host.exec("deploy.sh", ["--version", "v4.16.0"], { fail: `^CHATWOOT_IMAGE=${NEW} .* ${RELOAD_TO_RAILS}$` });
    expect(r.status).toBe(1);
    expect(r.stderr).toContain(`${OLD} is serving again`);
    expect(host.caddyUpstream()).toBe("127.0.0.1:3000");
    expect(host.release("current")).toBe(OLD);
  });

  it("Caddy's admin API does not answer: nothing more is touched, and the message says the state is unknown", () => {
    host.reply([...RUNNING, SIDEKIQ_RUNNING, ...MIGRATED]);
    // The stand-in admin API has nowhere to keep the configuration: every read-back fails.
    const r = host.exec("deploy.sh", ["--version", "v4.16.0"], { env: { STANDIN_CADDY_CONFIG: path.join(host.root, "no-such-dir/config.json") } });
    expect(r.status).toBe(1);
    expect(r.stderr).toContain("where Caddy sends traffic could not be read from its admin API");
    expect(calls(NEW, "rm --stop --force rails-surge")).toEqual([]);
    expect(calls(NEW, "--no-deps rails$")).toEqual([]);
    expect(stopsEverything()).toBe(false);
    expect(host.deployLog().at(-1)).toContain("result=caddy-state-unknown");
  });

  it("a failure after a verified switch on a migrated schema keeps the new release serving, with Sidekiq, instead of stopping everything", () => {
    host.reply([...RUNNING, SIDEKIQ_RUNNING, ...MIGRATED]);
    const r = host.exec("deploy.sh", ["--version", "v4.16.0"], { fail: `^CHATWOOT_IMAGE=${NEW} .* up -d --wait --remove-orphans` });
    expect(r.status).toBe(1);
    const all = host.calls();
    const from = all.indexOf(SWITCH(host.app, NEW)[0]!);
    expect(all.slice(from, from + 5)).toEqual(SWITCH(host.app, NEW));
    expect(stopsEverything()).toBe(false);
    expect(host.calls().at(-1)).toBe(`CHATWOOT_IMAGE=${NEW} ${compose(host.app, "up -d --wait --no-deps sidekiq")}`);
    expect(r.stderr).toContain(`${NEW}'s web tier serves and keeps serving`);
    expect(host.release("current")).toBe(NEW);
  });

  it("the same schema, Sidekiq fails after a complete switch, and the old release cannot come back beside it: the new one serves, and the record says so", () => {
    host.reply([...RUNNING, SIDEKIQ_RUNNING, ...SAME_SCHEMA]);
    const r = host.exec("deploy.sh", ["--version", "v4.16.0"], {
      fail: `^CHATWOOT_IMAGE=${NEW} .* up -d --wait --remove-orphans|^CHATWOOT_IMAGE=${OLD} .* up -d --wait --no-deps rails-surge$`,
    });
    expect(r.status).toBe(1);
    expect(r.stderr).toContain(`switching the web tier back to ${OLD} failed: what serves is ${NEW}`);
    expect(r.stderr).not.toContain("is serving again");
    expect(host.caddyUpstream()).toBe("127.0.0.1:3000");
    expect(host.release("current")).toBe(NEW);
    expect(host.deployLog().at(-1)).toContain("result=unhealthy-switch-back-failed");
  });

  describe("rollback.sh", () => {
    beforeEach(() => {
      expect(host.exec("deploy.sh", ["--version", "v4.16.0"]).status).toBe(0);
      host.resetCalls();
      host.reply([...RUNNING, [SCHEMA_RE, "20261101000000"], ["ls db/migrate", "20261101000000"]]);
    });

    it("Caddy refuses the reload back to Rails: the previous release serves from rails-surge, with its Sidekiq, and the record follows what serves", () => {
      const r = host.exec("rollback.sh", ["--yes"], { fail: `^CHATWOOT_IMAGE=${OLD} .* ${RELOAD_TO_RAILS}$` });
      expect(r.status).toBe(1);
      expect(r.stderr).toContain(`${OLD} serves from rails-surge (port 3001)`);
      expect(r.stderr).not.toContain(`starting ${NEW} again`);
      expect(host.caddyUpstream()).toBe("127.0.0.1:3001");
      expect(calls(OLD, "up -d --wait --no-deps sidekiq")).toHaveLength(1);
      expect(host.release("current")).toBe(OLD);
    });

    it("rails-surge does not start: the current release keeps serving, untouched", () => {
      const r = host.exec("rollback.sh", ["--yes"], { fail: "up -d --wait --no-deps rails-surge$" });
      expect(r.status).toBe(1);
      expect(r.stderr).toContain(`${NEW} kept serving and still serves`);
      expect(calls(NEW, "--no-deps rails sidekiq")).toEqual([]);
      expect(host.caddyUpstream()).toBe("127.0.0.1:3000");
      expect(host.release("current")).toBe(NEW);
    });
  });
});
