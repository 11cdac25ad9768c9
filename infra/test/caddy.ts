/**
 * Runs the project's Caddyfile on loopback, for tests, with Caddy at the version production runs
 * (built from the Go module proxy, infra/test/caddy-build).
 */
import { spawn, type ChildProcess } from "node:child_process";
import * as fs from "node:fs";
import * as path from "node:path";
import * as tls from "node:tls";
import { repoRoot } from "../lib/repo";
import { freePort } from "./chatwoot-stub";
import { caddyDir } from "./go-tools";
import { tempDir } from "./run";

export const CADDYFILE = path.join(repoRoot, "docker/Caddyfile");

/** The caddy binary the tests run: production's version. */
export function caddyBinary(): string {
  const dir = caddyDir();
  if (!dir) throw new Error("Go is needed to build Caddy for the tests");
  return path.join(dir, "caddy");
}

export interface RunningCaddy {
  httpsPort: number;
  /** Caddy's admin API: a unix socket, as in production. */
  adminSocket: string;
  /** The Caddyfile it runs, and the environment that fills its placeholders. */
  caddyfile: string;
  env: Record<string, string | undefined>;
  /** Root certificate of Caddy's internal CA, to verify its TLS like a real client. */
  caFile: string;
  output: () => string;
  stop(): Promise<void>;
}

/** Environment the Caddyfile reads; `env` comes from the rendered .env (CHATWOOT_FRAME_*). */
export function caddyEnv(env: Map<string, string>, ports: { upstream: number; http: number; https: number; health: number }, home: string, siteAddress = "localhost") {
  return {
    PATH: process.env.PATH,
    HOME: home,
    XDG_DATA_HOME: path.join(home, "data"),
    XDG_CONFIG_HOME: path.join(home, "config"),
    // "localhost" makes Caddy issue from its internal CA: real TLS, no ACME.
    CHATWOOT_SITE_ADDRESS: siteAddress,
    CHATWOOT_UPSTREAM: `127.0.0.1:${ports.upstream}`,
    CHATWOOT_FRAME_MODE: env.get("CHATWOOT_FRAME_MODE") ?? "",
    CHATWOOT_FRAME_ORIGINS: env.get("CHATWOOT_FRAME_ORIGINS") ?? "",
    // compose.yaml's default when the .env does not narrow it.
    CHATWOOT_ADMIN_CIDRS: env.get("CHATWOOT_ADMIN_CIDRS") ?? "0.0.0.0/0 ::/0",
    CADDY_ADMIN: `unix/${adminSocketIn(home)}`,
    CADDY_HEALTH_ADDRESS: `127.0.0.1:${ports.health}`,
    CADDY_HTTP_PORT: String(ports.http),
    CADDY_HTTPS_PORT: String(ports.https),
  };
}

/** The admin socket of a Caddy whose home is `home`. */
export const adminSocketIn = (home: string) => path.join(home, "admin.sock");

/** `siteAddress` replaces the domain: names under localhost get certificates from Caddy's internal CA. */
export async function startCaddy(env: Map<string, string>, upstreamPort: number, caddyfile = CADDYFILE, siteAddress = "localhost"): Promise<RunningCaddy> {
  const home = tempDir("caddy");
  const ports = { upstream: upstreamPort, http: await freePort(), https: await freePort(), health: await freePort() };
  let log = "";
  const runEnv = caddyEnv(env, ports, home, siteAddress);
  const child: ChildProcess = spawn(caddyBinary(), ["run", "--config", caddyfile, "--adapter", "caddyfile"], {
    env: runEnv,
    stdio: ["ignore", "pipe", "pipe"],
  });
  child.stdout!.on("data", (d) => (log += d));
  child.stderr!.on("data", (d) => (log += d));
  const stop = async () => {
    if (child.exitCode === null) {
      child.kill("SIGTERM");
      await new Promise((r) => child.once("exit", r));
    }
    fs.rmSync(home, { recursive: true, force: true });
  };
  const caFile = path.join(home, "data/caddy/pki/authorities/local/root.crt");
  // Catches a hang only: a start takes about a second, far longer on a loaded machine.
  const deadline = Date.now() + 120_000;
  while (Date.now() < deadline) {
    if (child.exitCode !== null) break;
    if (fs.existsSync(caFile) && (await tlsReady(ports.https))) {
      return { httpsPort: ports.https, adminSocket: adminSocketIn(home), caddyfile, env: runEnv, caFile, output: () => log, stop };
    }
    await new Promise((r) => setTimeout(r, 200));
  }
  await stop();
  throw new Error(`caddy did not start:\n${log}`);
}

function tlsReady(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = tls.connect({ host: "127.0.0.1", port, servername: "localhost", rejectUnauthorized: false }, () => {
      s.end();
      resolve(true);
    });
    s.on("error", () => resolve(false));
  });
}
