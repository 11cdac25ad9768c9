/**
 * verify.sh against a live Caddy in front of a Chatwoot stand-in.
 * (Split from one file so that vitest runs them side by side.)
 */
import * as fs from "node:fs";
import * as path from "node:path";
import { afterAll, afterEach, beforeAll, expect, it } from "vitest";
import { repoRoot } from "../lib/repo";
import { parseEnvFile } from "../chatwoot/env-file";
import { renderMaskedEnvFile } from "../chatwoot/env";
import { caddyBinary, startCaddy, type RunningCaddy } from "../test/caddy";
import { HEALTHY, startChatwootStub, type ChatwootStub } from "../test/chatwoot-stub";
import { envSettings } from "../test/fixtures";
import { describeWithTools, runAsync, tempDir } from "../test/tools";
const SCRIPTS = path.join(repoRoot, "scripts");

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
      /** As the Kubernetes target runs it: from outside, with no Caddy of its own to read. */
      external?: boolean;
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
        ...(opts.external ? ["--external"] : ["--caddy-admin-socket", c.adminSocket, "--caddyfile", opts.deployedCaddyfile ?? c.caddyfile]),
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

  it("fails, and never reports the framing headers as fine, when a dashboard page does not answer", async () => {
    // A stuck Rails worker on the login page: curl gives up after its 15 s, for each of the two checks.
    stub.behaviour.silentPaths = ["/app/login"];
    const r = await verify(caddy);
    expect(r.status).toBe(1);
    expect(r.stderr).toContain("FAIL  the dashboard did not answer on: /app/login, so its X-Frame-Options could not be checked there");
    expect(r.stderr).toContain("FAIL  /app/login did not answer, so its Content-Security-Policy could not be checked");
    expect(r.stdout).not.toContain("no X-Frame-Options on the dashboard");
    expect(r.stdout).not.toContain("frame-ancestors allows");
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
  });

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

  it("--external (the Kubernetes target) runs every check a client can make, and skips only the server's Caddy", async () => {
    const good = await verify(caddy, { external: true });
    expect(good.stderr).toBe("");
    expect(good.status).toBe(0);
    expect(good.stdout).toContain("skip  the proxy's own configuration: not a server with Caddy (--external)");
    expect(good.stdout).toContain("ok    the API token sees inbox 7 in account 1");
    // A proxy that frames the dashboard is still caught from outside.
    const broken = await verify(brokenCaddy, { external: true });
    expect(broken.status).toBe(1);
    expect(broken.stderr).toContain("X-Frame-Options");
  });
});
