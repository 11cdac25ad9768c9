/**
 * A stand-in host for scripts/watchdog.py, shared by its test files: the site is an HTTPS server
 * with a certificate made for the test, Docker is the TEST STAND-IN docker (its answers come from
 * files the test writes, through STANDIN_HOOK), `df` and /proc/meminfo are stand-ins too, the
 * backup status is read by the real backup job's health rule, and every alert goes to a receiver
 * on loopback. Call it inside a describe(): it registers its own hooks, and stops what it started.
 */
import * as fs from "node:fs";
import * as https from "node:https";
import * as path from "node:path";
import { afterAll, afterEach, beforeAll, beforeEach, expect } from "vitest";
import { renderEnvFile } from "../chatwoot/env";
import { type EnvSecrets } from "../chatwoot/env-settings";
import { fakeHost, type FakeHost } from "./fake-host";
import { envSecrets, envSettings } from "./fixtures";
import { startHttpReceiver, startSmtpReceiver, type HttpReceiver, type SmtpReceiver } from "./receivers";
import { run, tempDir } from "./tools";

export const DOMAIN = envSettings.domain;
const SERVICES = ["rails", "sidekiq", "postgres", "redis", "caddy", "backup"];
export type RunResult = { status: number | null; stdout: string; stderr: string };
export type WatchdogState = { checks: Record<string, { state: string; summary: string; last_notified: number }>; [k: string]: unknown };

export async function waitUntil(condition: () => boolean): Promise<void> {
  // Up to five minutes: a wait for a condition, not a measure of how fast it comes.
  for (let i = 0; i < 6000 && !condition(); i++) await new Promise((r) => setTimeout(r, 50));
  expect(condition()).toBe(true);
}

export function watchdogRig() {
  const rig = {
    certDir: "",
    site: undefined as unknown as https.Server,
    sitePort: 0,
    siteState: { health: 200, dataServices: "ok" },
    receiver: undefined as unknown as HttpReceiver,
    smtp: undefined as unknown as SmtpReceiver,
    host: undefined as unknown as FakeHost,
    fx: "",
    secrets: {} as EnvSecrets,
  };

  beforeAll(async () => {
    rig.certDir = tempDir("watchdog-cert");
    const make = (name: string, days: number) =>
      run("openssl", [
        "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes", "-days", String(days),
        "-subj", `/CN=${DOMAIN}`, "-addext", `subjectAltName=DNS:${DOMAIN}`,
        "-keyout", path.join(rig.certDir, `${name}.key`), "-out", path.join(rig.certDir, `${name}.crt`),
      ]);
    expect(make("long", 90).status).toBe(0);
    expect(make("short", 10).status).toBe(0);
    rig.site = https.createServer({ key: fs.readFileSync(path.join(rig.certDir, "long.key")), cert: fs.readFileSync(path.join(rig.certDir, "long.crt")) }, (req, res) => {
      if (req.url === "/health") {
        res.writeHead(rig.siteState.health);
        return res.end("{}");
      }
      res.writeHead(200, { "content-type": "application/json" });
      res.end(JSON.stringify({ version: "4.15.1", data_services: rig.siteState.dataServices, queue_services: "ok" }));
    });
    await new Promise<void>((r) => rig.site.listen(0, "127.0.0.1", r));
    rig.sitePort = (rig.site.address() as { port: number }).port;
    rig.receiver = await startHttpReceiver();
    rig.smtp = await startSmtpReceiver();
    // Real-looking secrets, with the channel URLs pointing at the receivers.
    rig.secrets = { ...envSecrets, ALERT_WEBHOOK_URL: `${rig.receiver.url}/hook/webhook-token-4c1d`, ALERT_PING_URL: `${rig.receiver.url}/ping/ping-uuid-93be` };
  });
  afterAll(async () => {
    await new Promise<void>((r) => rig.site.close(() => r()));
    await rig.receiver.close();
    await rig.smtp.close();
    fs.rmSync(rig.certDir, { recursive: true, force: true });
  });

  beforeEach(() => {
    const settings = { ...envSettings, smtp: { ...envSettings.smtp!, address: "127.0.0.1", port: rig.smtp.port, security: "none" as const } };
    rig.host = fakeHost(settings, renderEnvFile(settings, rig.secrets));
    const fx = (rig.fx = path.join(rig.host.root, "fx"));
    fs.mkdirSync(path.join(fx, "proc"), { recursive: true });
    fs.mkdirSync(path.join(fx, "run"), { recursive: true });
    // TEST STAND-INS: docker's answers for the watchdog's calls, and df.
    fs.writeFileSync(
      path.join(fx, "docker-hook"),
      // (Files printed with builtins: one process per docker call is enough.)
      `#!/bin/bash\ncall=" $* " text=""\nprint() { IFS= read -r -d '' text <"$1"; printf '%s' "$text"; exit 0; }\ncase "$call" in\n` +
        `  *" ps -aq --filter label=com.docker.compose.project=chatwoot --filter label=com.docker.compose.oneoff=False "*) print "${fx}/ids" ;;\n` +
        `  *" inspect --format "*) print "${fx}/inspect" ;;\n` +
        `  *" EVAL "*) print "${fx}/queues" ;;\nesac\nexit 100\n`,
      { mode: 0o755 },
    );
    fs.writeFileSync(
      path.join(rig.host.root, "bin/df"),
      `#!/bin/sh\n# TEST STAND-IN FOR df -P: the use percentage the test set for "/" or for the data volume.\n` +
        `read -r pct <"${fx}/df-data"; [ "$2" = / ] && read -r pct <"${fx}/df-root"\n` +
        `echo "Filesystem 1024-blocks Used Available Capacity Mounted on"\necho "/dev/x 1000 500 500 $pct% $2"\n`,
      { mode: 0o755 },
    );
    healthy();
    // A deployed release: compose.sh runs the queue check's redis-cli in it.
    fs.mkdirSync(path.join(rig.host.app, "release"), { recursive: true });
    fs.writeFileSync(path.join(rig.host.app, "release/current"), "chatwoot/chatwoot:v4.15.1\n");
    rig.receiver.received.length = 0;
    rig.receiver.status = 200;
    rig.smtp.messages.length = 0;
  });
  afterEach(() => rig.host.cleanup());

  function setContainers(over: Record<string, { restarts?: number; state?: string; health?: string } | null>) {
    const rows = SERVICES.filter((s) => over[s] !== null).map((s, i) => {
      const o = over[s] ?? {};
      return { id: `id${i}`, line: `${s} ${o.restarts ?? 0} ${o.state ?? "running"} ${o.health ?? "healthy"}` };
    });
    fs.writeFileSync(path.join(rig.fx, "ids"), rows.map((r) => r.id).join("\n") + "\n");
    fs.writeFileSync(path.join(rig.fx, "inspect"), rows.map((r) => r.line).join("\n") + "\n");
  }
  /** The oldest job of the "default" queue waits this many seconds (Sidekiq 7's float seconds). */
  function setQueues(waitSeconds: number) {
    const job = JSON.stringify({ class: "SomeJob", enqueued_at: Date.now() / 1000 - waitSeconds });
    fs.writeFileSync(path.join(rig.fx, "queues"), waitSeconds > 0 ? `default\n${job}\n` : "");
  }
  function setDisk(data: number, root: number) {
    fs.writeFileSync(path.join(rig.fx, "df-data"), String(data));
    fs.writeFileSync(path.join(rig.fx, "df-root"), String(root));
  }
  function setMemory(availablePercent: number, swapUsedPercent: number) {
    fs.writeFileSync(
      path.join(rig.fx, "proc/meminfo"),
      `MemTotal: 4000000 kB\nMemAvailable: ${availablePercent * 40000} kB\nSwapTotal: 2000000 kB\nSwapFree: ${(100 - swapUsedPercent) * 20000} kB\n`,
    );
  }
  /** The last database and files backups were this many seconds ago (every 15 min and 1 h). */
  function setBackups(ageSeconds: number) {
    const dir = path.join(rig.host.dataDir, "backup");
    fs.mkdirSync(dir, { recursive: true });
    const t = Math.floor(Date.now() / 1000);
    fs.writeFileSync(
      path.join(dir, "status"),
      `scheduler_started=${t - 86400}\ndatabase_every=900\ndatabase_last_success=${t - ageSeconds}\ndatabase_last_snapshot=abc123\n` +
        `files_every=3600\nfiles_last_success=${t - ageSeconds}\nfiles_last_snapshot=def456\n`,
    );
  }
  /** Every check back to healthy. */
  function healthy() {
    setContainers({});
    setQueues(0);
    setDisk(40, 30);
    setMemory(60, 0);
    setBackups(60);
    fs.rmSync(path.join(rig.fx, "run/reboot-required"), { force: true });
    rig.siteState.health = 200;
    rig.siteState.dataServices = "ok";
  }
  /** Async: the site and the receivers live in this process and must answer meanwhile. */
  function watchdog(args: string[], env: Record<string, string> = {}): Promise<RunResult> {
    return rig.host.execAsync("watchdog.py", args, {
      env: {
        STANDIN_HOOK: path.join(rig.fx, "docker-hook"),
        WATCHDOG_URL: `https://127.0.0.1:${rig.sitePort}`,
        WATCHDOG_CA_FILE: path.join(rig.certDir, "long.crt"),
        WATCHDOG_ROOT: rig.fx,
        WATCHDOG_RUNTIME_DIR: path.join(rig.host.root, "run/chatwoot-watchdog"),
        ...env,
      },
    });
  }
  const stateFile = () => path.join(rig.host.app, "watchdog/state.json");
  const state = (): WatchdogState => JSON.parse(fs.readFileSync(stateFile(), "utf8"));
  const writeState = (s: unknown) => fs.writeFileSync(stateFile(), JSON.stringify(s));
  const hooks = (): { text: string }[] => rig.receiver.received.filter((r) => r.path.startsWith("/hook/")).map((r) => JSON.parse(r.body) as { text: string });
  const pings = (): string[] => rig.receiver.received.filter((r) => r.path.startsWith("/ping/")).map((r) => r.path.replace("/ping/ping-uuid-93be", "") || "(success)");
  /** Points a channel's URL in the host's .env somewhere else. */
  function setEnv(name: string, value: string) {
    const file = path.join(rig.host.app, ".env");
    const text = fs.readFileSync(file, "utf8");
    const re = new RegExp(`^${name}='[^']*'$`, "m");
    fs.writeFileSync(file, re.test(text) ? text.replace(re, `${name}='${value}'`) : `${text}${name}='${value}'\n`);
  }
  function allText(r: RunResult): string {
    const files = [stateFile(), path.join(rig.host.root, "run/chatwoot-watchdog/state.json")].filter((f) => fs.existsSync(f) && fs.statSync(f).isFile());
    return [r.stdout, r.stderr, ...files.map((f) => fs.readFileSync(f, "utf8")), ...rig.receiver.received.map((x) => x.path + x.body), ...rig.smtp.messages.map((m) => m.data)].join("\n");
  }
  function expectNoSecret(text: string) {
    for (const [name, value] of Object.entries(rig.secrets)) {
      if (name === "RESTIC_REPOSITORY" || value === undefined) continue;
      // The ping and webhook requests go to their own URL: only their bodies and the rest count.
      const where = name === "ALERT_WEBHOOK_URL" || name === "ALERT_PING_URL" ? text.replace(/^\/(hook|ping)\/\S+?(?=[{\n]|$)/gm, "") : text;
      expect(where, name).not.toContain(value);
    }
  }
  return Object.assign(rig, {
    setContainers, setQueues, setDisk, setMemory, setBackups, healthy, watchdog, stateFile, state, writeState, hooks, pings, setEnv, allText, expectNoSecret,
  });
}
