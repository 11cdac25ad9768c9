/**
 * scripts/watchdog.py, run for real with python3 on a stand-in host: the site is an HTTPS server
 * with a certificate made for the test, Docker is the stand-in docker (its answers come from files
 * this test writes, through STANDIN_HOOK), `df` and /proc/meminfo are stand-ins too, the backup
 * status is read by the real backup job's health rule, and every alert goes to a receiver on
 * loopback. Each check is driven into failure and back; the messages are searched for secrets.
 */
import { spawn } from "node:child_process";
import { createHash, createHmac } from "node:crypto";
import * as fs from "node:fs";
import * as https from "node:https";
import * as path from "node:path";
import { afterAll, afterEach, beforeAll, beforeEach, expect, it } from "vitest";
import { renderEnvFile, type EnvSecrets } from "../render/env";
import { fakeHost, type FakeHost } from "../test/fake-host";
import { envSecrets, envSettings } from "../test/fixtures";
import { startHttpReceiver, startSmtpReceiver, type HttpReceiver, type SmtpReceiver } from "../test/receivers";
import { describeWithTools, run, tempDir } from "../test/tools";

const DOMAIN = envSettings.domain;

async function waitUntil(condition: () => boolean): Promise<void> {
  for (let i = 0; i < 200 && !condition(); i++) await new Promise((r) => setTimeout(r, 50));
  expect(condition()).toBe(true);
}
const SERVICES = ["rails", "sidekiq", "postgres", "redis", "caddy", "backup"];

describeWithTools("the watchdog on a stand-in host", ["python3", "openssl", "flock"], () => {
  let certDir: string;
  let site: https.Server;
  let sitePort: number;
  const siteState = { health: 200, dataServices: "ok" };
  let receiver: HttpReceiver;
  let smtp: SmtpReceiver;
  let host: FakeHost;
  let fx: string;
  let secrets: EnvSecrets;

  beforeAll(async () => {
    certDir = tempDir("watchdog-cert");
    const make = (name: string, days: number) =>
      run("openssl", [
        "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes", "-days", String(days),
        "-subj", `/CN=${DOMAIN}`, "-addext", `subjectAltName=DNS:${DOMAIN}`,
        "-keyout", path.join(certDir, `${name}.key`), "-out", path.join(certDir, `${name}.crt`),
      ]);
    expect(make("long", 90).status).toBe(0);
    expect(make("short", 10).status).toBe(0);
    site = https.createServer({ key: fs.readFileSync(path.join(certDir, "long.key")), cert: fs.readFileSync(path.join(certDir, "long.crt")) }, (req, res) => {
      if (req.url === "/health") {
        res.writeHead(siteState.health);
        return res.end("{}");
      }
      res.writeHead(200, { "content-type": "application/json" });
      res.end(JSON.stringify({ version: "4.15.1", data_services: siteState.dataServices, queue_services: "ok" }));
    });
    await new Promise<void>((r) => site.listen(0, "127.0.0.1", r));
    sitePort = (site.address() as { port: number }).port;
    receiver = await startHttpReceiver();
    smtp = await startSmtpReceiver();
    // Real-looking secrets, with the channel URLs pointing at the receivers.
    secrets = { ...envSecrets, ALERT_WEBHOOK_URL: `${receiver.url}/hook/webhook-token-4c1d`, ALERT_PING_URL: `${receiver.url}/ping/ping-uuid-93be` };
  });
  afterAll(async () => {
    await new Promise<void>((r) => site.close(() => r()));
    await receiver.close();
    await smtp.close();
    fs.rmSync(certDir, { recursive: true, force: true });
  });

  beforeEach(() => {
    const settings = { ...envSettings, smtp: { ...envSettings.smtp!, address: "127.0.0.1", port: smtp.port, security: "none" as const } };
    host = fakeHost(settings, renderEnvFile(settings, secrets));
    fx = path.join(host.root, "fx");
    fs.mkdirSync(path.join(fx, "proc"), { recursive: true });
    fs.mkdirSync(path.join(fx, "run"), { recursive: true });
    // TEST STAND-INS: docker's answers for the watchdog's calls, and df.
    fs.writeFileSync(
      path.join(fx, "docker-hook"),
      `#!/usr/bin/env bash\ncall=" $* "\ncase "$call" in\n` +
        `  *" ps -aq --filter label=com.docker.compose.project=chatwoot --filter label=com.docker.compose.oneoff=False "*) cat "${fx}/ids"; exit 0 ;;\n` +
        `  *" inspect --format "*) cat "${fx}/inspect"; exit 0 ;;\n` +
        `  *" EVAL "*) cat "${fx}/queues"; exit 0 ;;\nesac\nexit 100\n`,
      { mode: 0o755 },
    );
    fs.writeFileSync(
      path.join(host.root, "bin/df"),
      `#!/bin/sh\n# TEST STAND-IN FOR df -P: the use percentage the test set for "/" or for the data volume.\n` +
        `pct=$(cat "${fx}/df-data"); [ "$2" = / ] && pct=$(cat "${fx}/df-root")\n` +
        `echo "Filesystem 1024-blocks Used Available Capacity Mounted on"\necho "/dev/x 1000 500 500 $pct% $2"\n`,
      { mode: 0o755 },
    );
    setContainers({});
    setQueues(0);
    setDisk(40, 30);
    setMemory(60, 0);
    setBackups(60);
    // A deployed release: compose.sh runs the queue check's redis-cli in it.
    fs.mkdirSync(path.join(host.app, "release"), { recursive: true });
    fs.writeFileSync(path.join(host.app, "release/current"), "chatwoot/chatwoot:v4.15.1\n");
    siteState.health = 200;
    siteState.dataServices = "ok";
    receiver.received.length = 0;
    receiver.status = 200;
    smtp.messages.length = 0;
  });
  afterEach(() => host.cleanup());

  function setContainers(over: Record<string, { restarts?: number; state?: string; health?: string } | null>) {
    const rows = SERVICES.filter((s) => over[s] !== null).map((s, i) => {
      const o = over[s] ?? {};
      return { id: `id${i}`, line: `${s} ${o.restarts ?? 0} ${o.state ?? "running"} ${o.health ?? "healthy"}` };
    });
    fs.writeFileSync(path.join(fx, "ids"), rows.map((r) => r.id).join("\n") + "\n");
    fs.writeFileSync(path.join(fx, "inspect"), rows.map((r) => r.line).join("\n") + "\n");
  }
  /** The oldest job of the "default" queue waits this many seconds (Sidekiq 7's float seconds). */
  function setQueues(waitSeconds: number) {
    const job = JSON.stringify({ class: "SomeJob", enqueued_at: Date.now() / 1000 - waitSeconds });
    fs.writeFileSync(path.join(fx, "queues"), waitSeconds > 0 ? `default\n${job}\n` : "");
  }
  function setDisk(data: number, root: number) {
    fs.writeFileSync(path.join(fx, "df-data"), String(data));
    fs.writeFileSync(path.join(fx, "df-root"), String(root));
  }
  function setMemory(availablePercent: number, swapUsedPercent: number) {
    fs.writeFileSync(
      path.join(fx, "proc/meminfo"),
      `MemTotal: 4000000 kB\nMemAvailable: ${availablePercent * 40000} kB\nSwapTotal: 2000000 kB\nSwapFree: ${(100 - swapUsedPercent) * 20000} kB\n`,
    );
  }
  /** The last database and files backups were this many seconds ago (every 15 min and 1 h). */
  function setBackups(ageSeconds: number) {
    const dir = path.join(host.dataDir, "backup");
    fs.mkdirSync(dir, { recursive: true });
    const t = Math.floor(Date.now() / 1000);
    fs.writeFileSync(
      path.join(dir, "status"),
      `scheduler_started=${t - 86400}\ndatabase_every=900\ndatabase_last_success=${t - ageSeconds}\ndatabase_last_snapshot=abc123\n` +
        `files_every=3600\nfiles_last_success=${t - ageSeconds}\nfiles_last_snapshot=def456\n`,
    );
  }
  /** Async: the site and the receivers live in this process and must answer meanwhile. */
  function watchdog(...args: string[]): Promise<{ status: number | null; stdout: string; stderr: string }> {
    return host.execAsync("watchdog.py", args, {
      env: {
        STANDIN_HOOK: path.join(fx, "docker-hook"),
        WATCHDOG_URL: `https://127.0.0.1:${sitePort}`,
        WATCHDOG_CA_FILE: path.join(certDir, "long.crt"),
        WATCHDOG_ROOT: fx,
      },
    });
  }
  const state = (): { checks: Record<string, { state: string; summary: string; last_notified: number }> } => JSON.parse(fs.readFileSync(path.join(host.app, "watchdog/state.json"), "utf8"));
  const hooks = (): { text: string }[] => receiver.received.filter((r) => r.path.startsWith("/hook/")).map((r) => JSON.parse(r.body) as { text: string });
  const pings = (): string[] => receiver.received.filter((r) => r.path.startsWith("/ping/")).map((r) => r.path.replace("/ping/ping-uuid-93be", "") || "(success)");
  function allText(r: { stdout: string; stderr: string }): string {
    return [r.stdout, r.stderr, fs.readFileSync(path.join(host.app, "watchdog/state.json"), "utf8"), ...receiver.received.map((x) => x.path + x.body), ...smtp.messages.map((m) => m.data)].join("\n");
  }
  function expectNoSecret(text: string) {
    for (const [name, value] of Object.entries(secrets)) {
      if (name === "RESTIC_REPOSITORY" || value === undefined) continue;
      // The ping and webhook requests go to their own URL: only their bodies and the rest count.
      const where = name === "ALERT_WEBHOOK_URL" || name === "ALERT_PING_URL" ? text.replace(/^\/(hook|ping)\/\S+?(?=[{\n]|$)/gm, "") : text;
      expect(where, name).not.toContain(value);
    }
  }

  it("on a healthy host: every check ok, one heartbeat (webhook and mail), pings /start then success", async () => {
    const r = await watchdog("run");
    expect(r.stderr).toBe("");
    expect(r.status).toBe(0);
    const checks = state().checks as Record<string, { state: string; summary: string }>;
    expect(Object.fromEntries(Object.entries(checks).map(([k, v]) => [k, v.state]))).toEqual({
      site: "ok", tls: "ok", containers: "ok", queues: "ok", disk: "ok", memory: "ok", backups: "ok", reboot: "ok",
    });
    expect(checks.tls!.summary).toMatch(/^certificate valid for 8\d more days$/);
    expect(hooks()).toHaveLength(1);
    expect(hooks()[0]!.text).toContain("watchdog heartbeat");
    expect(smtp.messages).toHaveLength(1);
    expect(smtp.messages[0]!.to).toEqual(["<ops@example.com>"]);
    expect(pings()).toEqual(["/start", "(success)"]);
    // The next minute: nothing changed, nothing is sent; the ping goes on.
    receiver.received.length = 0;
    expect((await watchdog("run")).status).toBe(0);
    expect(hooks()).toEqual([]);
    expect(smtp.messages).toHaveLength(1);
    expect(pings()).toEqual(["/start", "(success)"]);
    expectNoSecret(allText(r));
  });

  const cases: [check: string, what: string, breakIt: () => unknown, kind: string, summary: RegExp, recover?: () => void][] = [
    ["disk", "data volume at 85 %", () => setDisk(85, 30), "warning", /data volume 85% used/],
    ["disk", "root disk at 93 %", () => setDisk(40, 93), "failing", /root disk 93% used/],
    ["memory", "5 % memory available", () => setMemory(5, 10), "failing", /5% memory available/],
    ["memory", "60 % swap used", () => setMemory(60, 60), "warning", /60% swap used/],
    ["site", "/health answers 502", () => (siteState.health = 502), "failing", /\/health answered 502/],
    ["site", "/api reports a broken database", () => (siteState.dataServices = "failing"), "failing", /\/api reports data_services=failing/],
    ["containers", "Sidekiq unhealthy", () => setContainers({ sidekiq: { health: "unhealthy" } }), "failing", /sidekiq unhealthy/],
    ["containers", "Redis gone", () => setContainers({ redis: null }), "failing", /redis missing/],
    ["containers", "Rails restarted twice", () => setContainers({ rails: { restarts: 2 } }), "warning", /rails restarted 2x in the last hour/, () => {
      // A restart warns for an hour: move its time back past that.
      const file = path.join(host.app, "watchdog/state.json");
      const st = JSON.parse(fs.readFileSync(file, "utf8"));
      st.facts.recent_restarts.rails.at -= 2 * 3600;
      fs.writeFileSync(file, JSON.stringify(st));
    }],
    ["queues", "a job waiting 20 min", () => setQueues(20 * 60), "failing", /queue default waits 20 min/],
    ["queues", "a job waiting 6 min", () => setQueues(6 * 60), "warning", /queue default waits 6 min/],
    ["backups", "backups 3 h old", () => setBackups(3 * 3600), "failing", /database backup: STALE/],
    ["reboot", "a reboot pending", () => fs.writeFileSync(path.join(fx, "run/reboot-required"), ""), "warning", /reboot required/],
  ];
  it.each(cases)("%s, %s: alerts once when it goes bad, not again, and once when it recovers", async (check, _what, breakIt, kind, summary, recover) => {
    expect((await watchdog("run")).status).toBe(0); // the baseline, with its heartbeat
    receiver.received.length = 0;
    breakIt();
    const bad = await watchdog("run");
    expect(bad.status).toBe(0);
    expect(state().checks[check].summary).toMatch(summary);
    expect(hooks().map((h) => h.text)).toEqual([expect.stringContaining(`${check} ${kind}: `)]);
    expect(pings()).toEqual(["/start", kind === "failing" ? "/fail" : "(success)"]);
    receiver.received.length = 0;
    expect((await watchdog("run")).status).toBe(0);
    expect(hooks()).toEqual([]);
    // Recovery: back to the healthy fixture.
    setContainers({});
    setQueues(0);
    setDisk(40, 30);
    setMemory(60, 0);
    setBackups(60);
    fs.rmSync(path.join(fx, "run/reboot-required"), { force: true });
    siteState.health = 200;
    siteState.dataServices = "ok";
    recover?.();
    const good = await watchdog("run");
    expect(hooks().map((h) => h.text)).toEqual([expect.stringContaining(`${check} recovered: `)]);
    expect(hooks()[0]!.text).toContain("all checks ok again");
    expectNoSecret(allText(good));
  });

  it("holds alerts back while a deploy holds the host lock (containers come and go on purpose), and sends them after", async () => {
    expect((await watchdog("run")).status).toBe(0);
    receiver.received.length = 0;
    setContainers({ rails: null });
    // The lock deploy.sh takes (scripts/lib.sh), held by another process meanwhile.
    // Its own process group: flock's child (sleep) holds the lock too, and both must go.
    const holder = spawn("flock", [path.join(host.app, ".lock"), "sleep", "30"], { stdio: "ignore", detached: true });
    try {
      await waitUntil(() => run("flock", ["-n", path.join(host.app, ".lock"), "true"]).status !== 0);
      const held = await watchdog("run");
      expect(held.stdout).toContain("a deploy, rollback, backup or restore is running; 1 event(s) held back");
      expect(hooks()).toEqual([]);
    } finally {
      process.kill(-holder.pid!, "SIGKILL");
    }
    await waitUntil(() => run("flock", ["-n", path.join(host.app, ".lock"), "true"]).status === 0);
    expect((await watchdog("run")).status).toBe(0);
    expect(hooks().map((h) => h.text)).toEqual([expect.stringContaining("containers failing: rails missing")]);
  });

  it("fails the TLS check below 14 days, and the site check on a certificate for another name", async () => {
    const short = await host.execAsync("watchdog.py", ["run"], {
      env: { STANDIN_HOOK: path.join(fx, "docker-hook"), WATCHDOG_URL: `https://127.0.0.1:${sitePort}`, WATCHDOG_CA_FILE: path.join(certDir, "short.crt"), WATCHDOG_ROOT: fx },
    });
    expect(short.status).toBe(0);
    // The site answers with the 90-day certificate, which the short one's CA does not sign.
    expect(state().checks.site).toMatchObject({ state: "fail", summary: "TLS certificate not valid for the site" });
  });

  it("reminds of a lasting failure after ALERT_REPEAT_HOURS, and holds everything back while silenced", async () => {
    expect((await watchdog("run")).status).toBe(0);
    setDisk(95, 30);
    expect((await watchdog("silence", "30")).stdout).toContain("alerts silenced for 30 min");
    receiver.received.length = 0;
    const held = await watchdog("run");
    expect(held.stdout).toContain("1 event(s) held back");
    expect(hooks()).toEqual([]);
    expect((await watchdog("silence", "0")).stdout).toContain("alerts on again");
    expect((await watchdog("run")).status).toBe(0);
    expect(hooks().map((h) => h.text)).toEqual([expect.stringContaining("disk failing: ")]);
    // Seven hours later (the state file's clock moved back), still failing: one reminder.
    const s = state();
    s.checks.disk.last_notified -= 7 * 3600;
    fs.writeFileSync(path.join(host.app, "watchdog/state.json"), JSON.stringify(s));
    receiver.received.length = 0;
    expect((await watchdog("run")).status).toBe(0);
    expect(hooks().map((h) => h.text)).toEqual([expect.stringContaining("disk still failing: ")]);
  });

  it("sends plain JSON when so configured, by mail through SMTP with the configured login, and names no URL when a channel fails", async () => {
    const env = fs.readFileSync(path.join(host.app, ".env"), "utf8").replace("ALERT_WEBHOOK_FORMAT='slack'", "ALERT_WEBHOOK_FORMAT='json'");
    fs.writeFileSync(path.join(host.app, ".env"), env);
    receiver.status = 500;
    const r = await watchdog("test-alert");
    expect(r.status).toBe(1);
    expect(r.stdout.split("\n").filter(Boolean)).toEqual(["email: sent", "webhook: FAILED (HTTP 500)", "ping: FAILED (HTTP 500)"]);
    const posted = JSON.parse(receiver.received.find((x) => x.path.startsWith("/hook/"))!.body);
    expect(posted).toMatchObject({ subject: `[chatwoot ${DOMAIN}] test alert`, host: DOMAIN, test: true });
    expect(smtp.messages[0]!.data).toContain(`Subject: [chatwoot ${DOMAIN}] test alert`);
    expect(smtp.messages[0]!.auth).toBe(`\0mailer\0${secrets.SMTP_PASSWORD}`);
    // A failing channel during a run: said on stderr without its URL.
    setDisk(95, 30);
    const run1 = await watchdog("run");
    expect(run1.stderr).toContain("watchdog: could not deliver to webhook (HTTP 500)");
    expectNoSecret(allText(run1));
    receiver.status = 200;
    receiver.received.length = 0;
    smtp.messages.length = 0;
    const ok = await watchdog("test-alert");
    expect(ok.status).toBe(0);
    expect(ok.stdout.split("\n").filter(Boolean)).toEqual(["email: sent", "webhook: sent", "ping: sent"]);
    // verify's variant: sent only when the channels changed since their last successful test.
    receiver.received.length = 0;
    const same = await watchdog("test-alert", "--if-changed");
    expect(same.stdout.trim()).toBe("alert channels unchanged since their last test: no test alert sent");
    expect(receiver.received).toEqual([]);
    fs.writeFileSync(path.join(host.app, ".env"), env.replace("ALERT_EMAIL_TO='ops@example.com'", "ALERT_EMAIL_TO='oncall@example.com'"));
    const changed = await watchdog("test-alert", "--if-changed");
    expect(changed.stdout.split("\n").filter(Boolean)).toEqual(["email: sent", "webhook: sent", "ping: sent"]);
    expect(smtp.messages.at(-1)!.to).toEqual(["<oncall@example.com>"]);
  });

  it("reports an unexpected error by its class only, never its message (it may quote a value)", async () => {
    const env = fs.readFileSync(path.join(host.app, ".env"), "utf8").replace("ALERT_REPEAT_HOURS='6'", "ALERT_REPEAT_HOURS='quoted-value-7d1e'");
    fs.writeFileSync(path.join(host.app, ".env"), env);
    const r = await watchdog("run");
    expect(r.status).toBe(1);
    expect(r.stderr).toContain("watchdog: ValueError (message withheld: it may contain a configured value)");
    expect(r.stdout + r.stderr).not.toContain("quoted-value-7d1e");
    expect(r.stderr).not.toContain("Traceback");
  });

  it("keeps only a keyed hash of the tested channels, not one a weak SMTP password could be guessed from", async () => {
    expect((await watchdog("test-alert")).status).toBe(0);
    const env = new Map(
      fs.readFileSync(path.join(host.app, ".env"), "utf8").split("\n").flatMap((l) => {
        const m = /^([A-Z][A-Z0-9_]*)='([^']*)'$/.exec(l);
        return m ? [[m[1]!, m[2]!] as [string, string]] : [];
      }),
    );
    const keys = [...env.keys()].filter((k) => k.startsWith("ALERT_") || k.startsWith("SMTP_") || k === "MAILER_SENDER_EMAIL").sort();
    const text = keys.map((k) => `${k}=${env.get(k)}`).join("\n");
    const stored = JSON.parse(fs.readFileSync(path.join(host.app, "watchdog/state.json"), "utf8")).tested_channels as string;
    expect(stored).toBe(createHmac("sha256", env.get("SECRET_KEY_BASE")!).update(text).digest("hex"));
    expect(stored).not.toBe(createHash("sha256").update(text).digest("hex"));
  });

  it("status prints the last view of every check, and says when it has not run", async () => {
    const none = await watchdog("status");
    expect(none.status).toBe(1);
    expect(none.stdout).toContain("The watchdog has not run yet");
    await watchdog("run");
    setDisk(85, 30);
    await watchdog("run");
    const r = await watchdog("status");
    expect(r.status).toBe(2);
    expect(r.stdout).toMatch(/^last run \d+ s ago; channels: email, webhook$/m);
    expect(r.stdout).toMatch(/^disk +WARN +data volume 85% used, root disk 30% used \(since /m);
    expect(r.stdout).toMatch(/^site +OK +\/health and \/api ok, version 4\.15\.1/m);
    expect((await watchdog("bogus")).status).toBe(2);
  });
});
