/**
 * An upgrade under load: real Caddy (production's version) with this project's Caddyfile in front
 * of two TEST STAND-IN Rails processes (infra/test/rails-stub.cjs) that take a while to boot, the
 * project's own deploy.sh driving the switch through the stand-in docker (its web tier acted out
 * by infra/test/standin-web-tier.sh), and a load generator on loopback sending a steady stream.
 * Used by a test (few requests, counts failures) and by `npm run bench` (more, adds latency).
 */
import * as fs from "node:fs";
import * as https from "node:https";
import * as path from "node:path";
import { repoRoot } from "../lib/repo";
import { envSettings } from "./fixtures";
import { caddyBinary, startCaddy, type RunningCaddy } from "./caddy";
import { freePort } from "./chatwoot-stub";
import { fakeHost, type FakeHost } from "./fake-host";
import { runAsync } from "./run";
import { parseEnvFile } from "../chatwoot/env-file";
import { renderMaskedEnvFile } from "../chatwoot/env";

export interface UpgradeResult {
  /** Requests sent while the switch ran (and just before and after it). */
  requests: number;
  /** Requests that did not get a 200: an error status, a reset, a refused connection. */
  failed: number;
  /**
   * Requests sent again because Caddy reset their connection before reading them: a reload closes
   * idle keep-alive connections (browsers and HTTP libraries resend on those themselves, RFC 9112
   * §9.3.1), and Go's server shutdown also closes a new connection whose TLS handshake has taken
   * more than 5 s, which happens on a starved CPU. Neither request reached Rails, so resending is
   * safe for any method; the count says how often it was needed.
   */
  resent: number;
  /** What the failed requests got, e.g. "502 POST" or "ECONNRESET GET", at most 20. */
  failures: string[];
  /** The releases that answered, in order of first appearance. */
  releases: string[];
  p99Ms: number;
  /** The switch's own result (deploy.sh's exit status and stderr). */
  status: number | null;
  stderr: string;
}

export interface UpgradeOptions {
  /**
   * "deploy": deploy.sh upgrades from v4.15.1 to v4.16.0 (the zero-downtime switch);
   * "recreate": what the previous deploy.sh did at that point, `up -d --wait` recreating Rails.
   */
  mode: "deploy" | "recreate";
  /** Requests in flight at any time. */
  concurrency: number;
  /** Requests sent before the switch starts, so traffic is flowing. */
  warmup: number;
  /** How long the stand-in Rails takes to boot. */
  bootMs: number;
  /** Upper bound on the whole run; the load stops at it whatever happened. */
  deadlineMs?: number;
  /**
   * The migration changes the schema under the old release, which notices it (a failed
   * transaction per database connection, rails-stub.cjs); without it, the upgrade is a restart.
   */
  schemaChange?: boolean;
  /** The env file as before DATABASE_URL turned prepared statements off (their cache can then fail). */
  preparedStatements?: boolean;
}

const HOOK = path.join(repoRoot, "infra/test/standin-web-tier.sh");
const STUB = path.join(repoRoot, "infra/test/rails-stub.cjs");

export async function upgradeUnderLoad(opts: UpgradeOptions): Promise<UpgradeResult> {
  const host: FakeHost = fakeHost();
  const rig = path.join(host.root, "rig");
  fs.mkdirSync(rig);
  let caddy: RunningCaddy | undefined;
  try {
    const mainPort = await freePort();
    const surgePort = await freePort();
    caddy = await startCaddy(parseEnvFile(renderMaskedEnvFile(envSettings, true)), mainPort);
    const env: Record<string, string> = {
      ...(Object.fromEntries(Object.entries(caddy.env).filter(([, v]) => v !== undefined)) as Record<string, string>),
      PATH: `${path.join(host.root, "bin")}:${process.env.PATH}`,
      STANDIN_HOOK: HOOK,
      RIG_DIR: rig,
      RIG_STUB: STUB,
      RIG_MAIN_PORT: String(mainPort),
      RIG_SURGE_PORT: String(surgePort),
      RIG_BOOT_MS: String(opts.bootMs),
      RIG_WORK_MS: "20",
      ...(opts.schemaChange ? { RIG_SCHEMA_CHANGE: "1" } : {}),
      RIG_CADDY: caddyBinary(),
      RIG_CADDYFILE: caddy.caddyfile,
      // The real Caddy's admin API answers deploy.sh's read-back (no stand-in curl).
      STANDIN_CADDY_CONFIG: "",
      CHATWOOT_CADDY_ADMIN_SOCKET: caddy.adminSocket,
      CHATWOOT_RAILS_DIAL: `127.0.0.1:${mainPort}`,
      CHATWOOT_SURGE_DIAL: `127.0.0.1:${surgePort}`,
    };
    fs.writeFileSync(path.join(rig, "schema"), "v4.15.1\n");
    if (opts.preparedStatements) {
      const envFile = path.join(host.root, "opt/chatwoot/.env");
      fs.writeFileSync(envFile, fs.readFileSync(envFile, "utf8").replace("?prepared_statements=false'", "'"));
    }
    // The release serving before the upgrade, deployed the same way.
    const first = host.exec("deploy.sh", ["--version", "v4.15.1"], { env });
    if (first.status !== 0) throw new Error(`the first deploy failed: ${first.stderr}`);

    const load = new LoadGenerator(caddy, opts.concurrency);
    load.start();
    await load.sent(opts.warmup);
    let result: { status: number | null; stderr: string };
    if (opts.mode === "deploy") {
      result = await host.execAsync("deploy.sh", ["--version", "v4.16.0"], { env });
    } else {
      // Without blocking the event loop: the load keeps flowing while Rails is recreated.
      result = await runAsync(HOOK, ["compose", "up", "-d", "--wait", "--no-deps", "rails"], { env: { ...env, CHATWOOT_IMAGE: "chatwoot/chatwoot:v4.16.0" } });
    }
    await load.sent(load.count + opts.warmup);
    await load.stop(opts.deadlineMs ?? 900_000);
    return { ...load.result(), status: result.status, stderr: result.stderr };
  } finally {
    for (const name of ["rails", "rails-surge"]) {
      const pidFile = path.join(rig, `${name}.pid`);
      if (fs.existsSync(pidFile)) {
        try {
          process.kill(Number(fs.readFileSync(pidFile, "utf8")), "SIGKILL");
        } catch {
          // already gone
        }
      }
    }
    await caddy?.stop();
    host.cleanup();
  }
}

/** A steady stream of GET and POST requests through Caddy over TLS, with keep-alive. */
class LoadGenerator {
  count = 0;
  private failed = 0;
  private resent = 0;
  private failures: string[] = [];
  private latencies: number[] = [];
  private releases: string[] = [];
  private running = false;
  private workers: Promise<void>[] = [];
  private readonly agent: https.Agent;

  constructor(
    private readonly caddy: RunningCaddy,
    private readonly concurrency: number,
  ) {
    this.agent = new https.Agent({ keepAlive: true, maxSockets: concurrency, ca: fs.readFileSync(caddy.caFile) });
  }

  start(): void {
    this.running = true;
    for (let i = 0; i < this.concurrency; i++) this.workers.push(this.worker(i));
  }

  /** Resolves once n requests have completed. */
  async sent(n: number): Promise<void> {
    while (this.running && this.count < n) await new Promise((r) => setTimeout(r, 5));
  }

  async stop(deadlineMs: number): Promise<void> {
    this.running = false;
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([Promise.all(this.workers), new Promise((r) => (timer = setTimeout(r, deadlineMs)))]);
    clearTimeout(timer);
    this.agent.destroy();
  }

  result() {
    const sorted = [...this.latencies].sort((a, b) => a - b);
    const p99 = sorted.length ? sorted[Math.min(sorted.length - 1, Math.floor(sorted.length * 0.99))]! : 0;
    return { requests: this.count, failed: this.failed, resent: this.resent, failures: this.failures, releases: this.releases, p99Ms: Math.round(p99 * 10) / 10 };
  }

  private async worker(id: number): Promise<void> {
    let n = 0;
    while (this.running) {
      const post = (id + n++) % 4 === 0;
      const started = process.hrtime.bigint();
      // A request whose connection was reset before any response goes out again (a few times at
      // most: the other idle connections of the pool may be closing too).
      let outcome = await this.request(post);
      for (let attempt = 0; outcome.resend && attempt < 3; attempt++) {
        this.resent++;
        outcome = await this.request(post);
      }
      this.latencies.push(Number(process.hrtime.bigint() - started) / 1e6);
      this.count++;
      if (outcome.status !== 200) {
        this.failed++;
        if (this.failures.length < 20) this.failures.push(`${outcome.status || outcome.error} ${post ? "POST" : "GET"}${outcome.reused === false ? " (new connection)" : ""}`);
      }
      else if (outcome.release && !this.releases.includes(outcome.release)) this.releases.push(outcome.release);
    }
  }

  private request(post: boolean): Promise<{ status: number; release?: string; error?: string; resend?: boolean; reused?: boolean }> {
    return new Promise((resolve) => {
      let responded = false;
      const req = https.request(
        {
          host: "127.0.0.1",
          port: this.caddy.httpsPort,
          servername: "localhost",
          path: "/api/v1/accounts/1/conversations",
          method: post ? "POST" : "GET",
          headers: { host: "localhost", "content-type": "application/json" },
          agent: this.agent,
          // A hang, not a slow answer: a loaded machine may take seconds.
          timeout: 300_000,
        },
        (res) => {
          responded = true;
          let body = "";
          res.on("data", (d) => (body += d));
          res.on("end", () => {
            let release: string | undefined;
            try {
              release = (JSON.parse(body) as { release?: string }).release;
            } catch {
              // an error page
            }
            resolve({ status: res.statusCode ?? 0, release });
          });
        },
      );
      // Only a reset before any response byte is sent again: Caddy never passed that request on.
      req.on("error", (e: NodeJS.ErrnoException) =>
        resolve({ status: 0, error: e.code ?? e.message, reused: req.reusedSocket, resend: e.code === "ECONNRESET" && !responded }),
      );
      req.on("timeout", () => req.destroy());
      req.end(post ? JSON.stringify({ content: "hello" }) : undefined);
    });
  }
}
