/**
 * scripts/watchdog.py, run for real with python3 on a stand-in host (infra/test/watchdog-rig.ts):
 * each check is driven into failure and back, and the messages are searched for secrets. Its
 * behaviour under faults (broken endpoints, broken state, a held lock, clock jumps) is in
 * watchdog-faults.test.ts.
 */
import { spawn } from "node:child_process";
import { createHash, createHmac } from "node:crypto";
import * as fs from "node:fs";
import * as path from "node:path";
import { expect, it } from "vitest";
import { DOMAIN, waitUntil, watchdogRig } from "../test/watchdog-rig";
import { describeWithTools, run } from "../test/tools";

describeWithTools("the watchdog on a stand-in host", ["python3", "openssl", "flock"], () => {
  const w = watchdogRig();

  it("on a healthy host: every check ok, one heartbeat (webhook and mail), pings /start then success", async () => {
    const r = await w.watchdog(["run"]);
    expect(r.stderr).toBe("");
    expect(r.status).toBe(0);
    const checks = w.state().checks as Record<string, { state: string; summary: string }>;
    expect(Object.fromEntries(Object.entries(checks).map(([k, v]) => [k, v.state]))).toEqual({
      site: "ok", tls: "ok", containers: "ok", queues: "ok", disk: "ok", memory: "ok", backups: "ok", reboot: "ok", lock: "ok", state: "ok",
    });
    expect(checks.tls!.summary).toMatch(/^certificate valid for 8\d more days$/);
    expect(w.hooks()).toHaveLength(1);
    expect(w.hooks()[0]!.text).toContain("watchdog heartbeat");
    expect(w.smtp.messages).toHaveLength(1);
    expect(w.smtp.messages[0]!.to).toEqual(["<ops@example.com>"]);
    expect(w.pings()).toEqual(["/start", "(success)"]);
    // The next minute: nothing changed, nothing is sent; the ping goes on.
    w.receiver.received.length = 0;
    expect((await w.watchdog(["run"])).status).toBe(0);
    expect(w.hooks()).toEqual([]);
    expect(w.smtp.messages).toHaveLength(1);
    expect(w.pings()).toEqual(["/start", "(success)"]);
    w.expectNoSecret(w.allText(r));
  });

  const cases: [check: string, what: string, breakIt: () => unknown, kind: string, summary: RegExp, recover?: () => void][] = [
    ["disk", "data volume at 85 %", () => w.setDisk(85, 30), "warning", /data volume 85% used/],
    ["disk", "root disk at 93 %", () => w.setDisk(40, 93), "failing", /root disk 93% used/],
    ["memory", "5 % memory available", () => w.setMemory(5, 10), "failing", /5% memory available/],
    ["memory", "60 % swap used", () => w.setMemory(60, 60), "warning", /60% swap used/],
    ["site", "/health answers 502", () => (w.siteState.health = 502), "failing", /\/health answered 502/],
    ["site", "/api reports a broken database", () => (w.siteState.dataServices = "failing"), "failing", /\/api reports data_services=failing/],
    ["containers", "Sidekiq unhealthy", () => w.setContainers({ sidekiq: { health: "unhealthy" } }), "failing", /sidekiq unhealthy/],
    ["containers", "Redis gone", () => w.setContainers({ redis: null }), "failing", /redis missing/],
    ["containers", "Rails restarted twice", () => w.setContainers({ rails: { restarts: 2 } }), "warning", /rails restarted 2x in the last hour/, () => {
      // A restart warns for an hour (on the boot's monotonic clock): move its time back past that.
      const st = w.state() as unknown as { facts: { recent_restarts: { rails: { mono: number } } } };
      st.facts.recent_restarts.rails.mono -= 2 * 3600;
      w.writeState(st);
    }],
    ["queues", "a job waiting 20 min", () => w.setQueues(20 * 60), "failing", /queue default waits 20 min/],
    ["queues", "a job waiting 6 min", () => w.setQueues(6 * 60), "warning", /queue default waits 6 min/],
    ["backups", "backups 3 h old", () => w.setBackups(3 * 3600), "failing", /database backup: STALE/],
    ["reboot", "a reboot pending", () => fs.writeFileSync(path.join(w.fx, "run/reboot-required"), ""), "warning", /reboot required/],
  ];
  it.each(cases)("%s, %s: alerts once when it goes bad, not again, and once when it recovers", async (check, _what, breakIt, kind, summary, recover) => {
    expect((await w.watchdog(["run"])).status).toBe(0); // the baseline, with its heartbeat
    w.receiver.received.length = 0;
    breakIt();
    const bad = await w.watchdog(["run"]);
    expect(bad.status).toBe(0);
    expect(w.state().checks[check].summary).toMatch(summary);
    expect(w.hooks().map((h) => h.text)).toEqual([expect.stringContaining(`${check} ${kind}: `)]);
    expect(w.pings()).toEqual(["/start", kind === "failing" ? "/fail" : "(success)"]);
    w.receiver.received.length = 0;
    expect((await w.watchdog(["run"])).status).toBe(0);
    expect(w.hooks()).toEqual([]);
    // Recovery: back to the healthy fixture.
    w.healthy();
    recover?.();
    const good = await w.watchdog(["run"]);
    expect(w.hooks().map((h) => h.text)).toEqual([expect.stringContaining(`${check} recovered: `)]);
    expect(w.hooks()[0]!.text).toContain("all checks ok again");
    w.expectNoSecret(w.allText(good));
  });

  it("holds alerts back while a deploy holds the host lock (containers come and go on purpose), and sends them after", async () => {
    expect((await w.watchdog(["run"])).status).toBe(0);
    w.receiver.received.length = 0;
    w.setContainers({ rails: null });
    // The lock deploy.sh takes (scripts/lib.sh), held by another process meanwhile.
    // Its own process group: flock's child (sleep) holds the lock too, and both must go.
    const holder = spawn("flock", [path.join(w.host.app, ".lock"), "sleep", "900"], { stdio: "ignore", detached: true });
    try {
      await waitUntil(() => run("flock", ["-n", path.join(w.host.app, ".lock"), "true"]).status !== 0);
      const held = await w.watchdog(["run"]);
      expect(held.stdout).toContain("a deploy, rollback, backup or restore is running; 1 event(s) held back");
      expect(w.hooks()).toEqual([]);
    } finally {
      process.kill(-holder.pid!, "SIGKILL");
    }
    await waitUntil(() => run("flock", ["-n", path.join(w.host.app, ".lock"), "true"]).status === 0);
    expect((await w.watchdog(["run"])).status).toBe(0);
    expect(w.hooks().map((h) => h.text)).toEqual([expect.stringContaining("containers failing: rails missing")]);
  });

  it("fails the TLS check below 14 days, and the site check on a certificate for another name", async () => {
    const short = await w.watchdog(["run"], { WATCHDOG_CA_FILE: path.join(w.certDir, "short.crt") });
    expect(short.status).toBe(0);
    // The site answers with the 90-day certificate, which the short one's CA does not sign.
    expect(w.state().checks.site).toMatchObject({ state: "fail", summary: "TLS certificate not valid for the site" });
  });

  it("reminds of a lasting failure after ALERT_REPEAT_HOURS, and holds everything back while silenced", async () => {
    expect((await w.watchdog(["run"])).status).toBe(0);
    w.setDisk(95, 30);
    expect((await w.watchdog(["silence", "30"])).stdout).toContain("alerts silenced for 30 min");
    w.receiver.received.length = 0;
    const held = await w.watchdog(["run"]);
    expect(held.stdout).toContain("1 event(s) held back");
    expect(w.hooks()).toEqual([]);
    expect((await w.watchdog(["silence", "0"])).stdout).toContain("alerts on again");
    expect((await w.watchdog(["run"])).status).toBe(0);
    expect(w.hooks().map((h) => h.text)).toEqual([expect.stringContaining("disk failing: ")]);
    // Seven hours later (the state file's clock moved back), still failing: one reminder.
    const s = w.state();
    s.checks.disk.last_notified -= 7 * 3600;
    fs.writeFileSync(path.join(w.host.app, "watchdog/state.json"), JSON.stringify(s));
    w.receiver.received.length = 0;
    expect((await w.watchdog(["run"])).status).toBe(0);
    expect(w.hooks().map((h) => h.text)).toEqual([expect.stringContaining("disk still failing: ")]);
  });

  it("sends plain JSON when so configured, by mail through SMTP with the configured login, and names no URL when a channel fails", async () => {
    const env = fs.readFileSync(path.join(w.host.app, ".env"), "utf8").replace("ALERT_WEBHOOK_FORMAT='slack'", "ALERT_WEBHOOK_FORMAT='json'");
    fs.writeFileSync(path.join(w.host.app, ".env"), env);
    w.receiver.status = 500;
    const r = await w.watchdog(["test-alert"]);
    expect(r.status).toBe(1);
    expect(r.stdout.split("\n").filter(Boolean)).toEqual(["email: sent", "webhook: FAILED (HTTP 500)", "ping: FAILED (HTTP 500)"]);
    const posted = JSON.parse(w.receiver.received.find((x) => x.path.startsWith("/hook/"))!.body);
    expect(posted).toMatchObject({ subject: `[chatwoot ${DOMAIN}] test alert`, host: DOMAIN, test: true });
    expect(w.smtp.messages[0]!.data).toContain(`Subject: [chatwoot ${DOMAIN}] test alert`);
    expect(w.smtp.messages[0]!.auth).toBe(`\0mailer\0${w.secrets.SMTP_PASSWORD}`);
    // A failing channel during a run: said on stderr without its URL.
    w.setDisk(95, 30);
    const run1 = await w.watchdog(["run"]);
    expect(run1.stderr).toContain("watchdog: could not deliver to webhook (HTTP 500)");
    w.expectNoSecret(w.allText(run1));
    w.receiver.status = 200;
    w.receiver.received.length = 0;
    w.smtp.messages.length = 0;
    const ok = await w.watchdog(["test-alert"]);
    expect(ok.status).toBe(0);
    expect(ok.stdout.split("\n").filter(Boolean)).toEqual(["email: sent", "webhook: sent", "ping: sent"]);
    // verify's variant: sent only when the channels changed since their last successful test.
    w.receiver.received.length = 0;
    const same = await w.watchdog(["test-alert", "--if-changed"]);
    expect(same.stdout.trim()).toBe("alert channels unchanged since their last test: no test alert sent");
    expect(w.receiver.received).toEqual([]);
    fs.writeFileSync(path.join(w.host.app, ".env"), env.replace("ALERT_EMAIL_TO='ops@example.com'", "ALERT_EMAIL_TO='oncall@example.com'"));
    const changed = await w.watchdog(["test-alert", "--if-changed"]);
    expect(changed.stdout.split("\n").filter(Boolean)).toEqual(["email: sent", "webhook: sent", "ping: sent"]);
    expect(w.smtp.messages.at(-1)!.to).toEqual(["<oncall@example.com>"]);
  });

  it("reports an unexpected error by its class only, never its message (it may quote a value)", async () => {
    const env = fs.readFileSync(path.join(w.host.app, ".env"), "utf8").replace("ALERT_REPEAT_HOURS='6'", "ALERT_REPEAT_HOURS='quoted-value-7d1e'");
    fs.writeFileSync(path.join(w.host.app, ".env"), env);
    const r = await w.watchdog(["run"]);
    expect(r.status).toBe(1);
    expect(r.stderr).toContain("watchdog: ValueError (message withheld: it may contain a configured value)");
    expect(r.stdout + r.stderr).not.toContain("quoted-value-7d1e");
    expect(r.stderr).not.toContain("Traceback");
  });

  it("keeps only a keyed hash of the tested channels, not one a weak SMTP password could be guessed from", async () => {
    expect((await w.watchdog(["test-alert"])).status).toBe(0);
    const env = new Map(
      fs.readFileSync(path.join(w.host.app, ".env"), "utf8").split("\n").flatMap((l) => {
        const m = /^([A-Z][A-Z0-9_]*)='([^']*)'$/.exec(l);
        return m ? [[m[1]!, m[2]!] as [string, string]] : [];
      }),
    );
    const keys = [...env.keys()].filter((k) => k.startsWith("ALERT_") || k.startsWith("SMTP_") || k === "MAILER_SENDER_EMAIL").sort();
    const text = keys.map((k) => `${k}=${env.get(k)}`).join("\n");
    const stored = JSON.parse(fs.readFileSync(path.join(w.host.app, "watchdog/state.json"), "utf8")).tested_channels as string;
    expect(stored).toBe(createHmac("sha256", env.get("SECRET_KEY_BASE")!).update(text).digest("hex"));
    expect(stored).not.toBe(createHash("sha256").update(text).digest("hex"));
  });

  it("status prints the last view of every check, and says when it has not run", async () => {
    const none = await w.watchdog(["status"]);
    expect(none.status).toBe(1);
    expect(none.stdout).toContain("The watchdog has not run yet");
    await w.watchdog(["run"]);
    w.setDisk(85, 30);
    await w.watchdog(["run"]);
    const r = await w.watchdog(["status"]);
    expect(r.status).toBe(2);
    expect(r.stdout).toMatch(/^last run \d+ s ago; channels: email, webhook$/m);
    expect(r.stdout).toMatch(/^disk +WARN +data volume 85% used, root disk 30% used \(since /m);
    expect(r.stdout).toMatch(/^site +OK +\/health and \/api ok, version 4\.15\.1/m);
    expect((await w.watchdog(["bogus"])).status).toBe(2);
  });
});
