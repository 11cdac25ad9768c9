/**
 * docker/Caddyfile checked by the real caddy: `caddy validate`, then a live Caddy on loopback
 * (TLS from its internal CA) in front of a Chatwoot stand-in. Each group of cases shares one live
 * Caddy and all share the helpers, so they stay in one file (a little over ~300 lines).
 */
import * as fs from "node:fs";
import * as https from "node:https";
import * as tls from "node:tls";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { NO_ALERTS, type EnvSettings } from "../chatwoot/env-settings";
import { parseEnvFile } from "../chatwoot/env-file";
import { renderMaskedEnvFile } from "../chatwoot/env";
import { CADDYFILE, caddyBinary, caddyEnv, startCaddy, type RunningCaddy } from "../test/caddy";
import { startChatwootStub, WIDGET_CSP, type ChatwootStub } from "../test/chatwoot-stub";
import { describeWithTools, run, tempDir } from "../test/tools";

const settings = (origins: string[]): EnvSettings => ({
  domain: "chat.example.com",
  locale: "en",
  dataDir: "/srv/chatwoot",
  embedAllowedOrigins: origins,
  allowPrivateNetworkWebhooks: false,
  alerts: NO_ALERTS,
  sentry: false,
});
/** The CHATWOOT_* values Caddy reads, exactly as the env renderer writes them. */
const envFor = (origins: string[]) => parseEnvFile(renderMaskedEnvFile(settings(origins), false));

interface Response {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: string;
}

function get(
  caddy: RunningCaddy,
  path: string,
  headers: Record<string, string> = {},
  opts: { host?: string; method?: string; servername?: string } = {},
): Promise<Response> {
  return new Promise((resolve, reject) => {
    const req = https.request(
      {
        host: opts.host ?? "127.0.0.1",
        method: opts.method ?? "GET",
        port: caddy.httpsPort,
        path,
        servername: opts.servername ?? "localhost",
        ca: fs.readFileSync(caddy.caFile),
        headers: { Host: opts.servername ?? "localhost", ...headers },
      },
      (res) => {
        let body = "";
        res.on("data", (d) => (body += d));
        res.on("end", () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body }));
      },
    );
    req.on("error", reject);
    req.end();
  });
}

/** Waits until Caddy has written the access-log line for a path (by state, not by a fixed sleep). */
async function logged(caddy: RunningCaddy, uri: string): Promise<void> {
  for (let i = 0; i < 6000 && !caddy.output().includes(`"uri":"${uri}`); i++) await new Promise((r) => setTimeout(r, 50));
}

/** Opens a websocket on /cable through Caddy; resolves with the status line and the first frame. */
function websocket(caddy: RunningCaddy): Promise<{ statusLine: string; firstMessage: string }> {
  return new Promise((resolve, reject) => {
    const socket = tls.connect({ host: "127.0.0.1", port: caddy.httpsPort, servername: "localhost", ca: fs.readFileSync(caddy.caFile), ALPNProtocols: ["http/1.1"] }, () => {
      socket.write(
        "GET /cable HTTP/1.1\r\nHost: localhost\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n" +
          "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Protocol: actioncable-v1-json\r\n\r\n",
      );
    });
    let buf = Buffer.alloc(0);
    const timer = setTimeout(() => finish(), 5000);
    const finish = () => {
      clearTimeout(timer);
      const text = buf.toString("latin1");
      const end = text.indexOf("\r\n\r\n");
      const statusLine = text.split("\r\n")[0] ?? "";
      let firstMessage = "";
      if (end >= 0 && buf.length > end + 6) {
        const frame = buf.subarray(end + 4);
        firstMessage = frame.subarray(2, 2 + (frame[1]! & 0x7f)).toString();
      }
      socket.destroy();
      resolve({ statusLine, firstMessage });
    };
    socket.on("data", (d) => {
      buf = Buffer.concat([buf, d]);
      if (buf.toString("latin1").includes("welcome") || /^HTTP\/1\.1 [45]/.test(buf.toString("latin1"))) finish();
    });
    socket.on("error", reject);
  });
}

/** A stub and a live Caddy in front of it for the enclosing describe block. */
function liveCaddy(origins: string[]) {
  const live = {} as { stub: ChatwootStub; caddy: RunningCaddy };
  beforeAll(async () => {
    live.stub = await startChatwootStub();
    live.caddy = await startCaddy(envFor(origins), live.stub.port);
    // The first run may build Caddy (a few minutes on a cold cache).
  }, 1_800_000);
  afterAll(async () => {
    await live.caddy?.stop();
    await live.stub?.close();
  });
  return live;
}

describeWithTools("Caddyfile, run by Caddy 2.10 (production's version)", ["go"], () => {
  it.each([
    ["no allowlist", [] as string[]],
    ["an allowlist", ["https://app.example.com", "https://admin.example.com"]],
  ])("passes caddy validate with %s", (_what, origins) => {
    const home = tempDir("caddy-validate");
    const env = caddyEnv(envFor(origins), { upstream: 3000, http: 80, https: 443, health: 2020 }, home);
    const result = run(caddyBinary(), ["validate", "--config", CADDYFILE, "--adapter", "caddyfile"], {
      env: { ...env, CHATWOOT_SITE_ADDRESS: "chat.example.com" },
    });
    fs.rmSync(home, { recursive: true, force: true });
    expect(result.stderr + result.stdout).toContain("Valid configuration");
    expect(result.status).toBe(0);
  });

  it("passes caddy validate with the help center's own domain as a second site address", () => {
    const home = tempDir("caddy-validate");
    const rendered = parseEnvFile(renderMaskedEnvFile({ ...settings([]), helpCenterDomain: "help.example.com" }, false));
    const env = caddyEnv(rendered, { upstream: 3000, http: 80, https: 443, health: 2020 }, home, rendered.get("CHATWOOT_SITE_ADDRESSES"));
    const result = run(caddyBinary(), ["adapt", "--config", CADDYFILE, "--adapter", "caddyfile"], { env });
    fs.rmSync(home, { recursive: true, force: true });
    expect(result.status).toBe(0);
    // The site's server is the one on the HTTPS port (the other is the loopback health listener).
    const servers = Object.values(JSON.parse(result.stdout).apps.http.servers) as { listen: string[]; routes: { match?: { host?: string[] }[] }[] }[];
    const site = servers.find((x) => x.listen.includes(":443"))!;
    const hosts = site.routes.flatMap((r) => r.match?.flatMap((m) => m.host ?? []) ?? []);
    expect(hosts).toEqual(["chat.example.com", "help.example.com"]);
    const health = servers.find((x) => x.listen.some((l) => l.endsWith(":2020")))!;
    expect(health.listen).toEqual(["127.0.0.1:2020"]);
  });

  describe("live, serving the help center's own domain too", () => {
    const live = {} as { stub: ChatwootStub; caddy: RunningCaddy };
    beforeAll(async () => {
      live.stub = await startChatwootStub();
      live.caddy = await startCaddy(envFor([]), live.stub.port, CADDYFILE, "localhost, help.localhost");
    }, 1_800_000);
    afterAll(async () => {
      await live.caddy?.stop();
      await live.stub?.close();
    });

    it("answers on the help center's name with its own certificate and the same policy", async () => {
      const help = await get(live.caddy, "/hc/acme/en", {}, { servername: "help.localhost" });
      expect(help.status).toBe(200);
      expect(help.headers["x-frame-options"]).toBeUndefined();
      expect(help.headers["strict-transport-security"]).toBe("max-age=31536000");
      const onboarding = await get(live.caddy, "/installation/onboarding", {}, { servername: "help.localhost" });
      expect(onboarding.status).toBe(404);
    });
  });

  it("puts the admin API on a unix socket in production, never on a TCP port", () => {
    const home = tempDir("caddy-validate");
    const { CADDY_ADMIN: _admin, CADDY_HEALTH_ADDRESS: _health, ...production } = caddyEnv(envFor([]), { upstream: 3000, http: 80, https: 443, health: 2020 }, home);
    const result = run(caddyBinary(), ["adapt", "--config", CADDYFILE, "--adapter", "caddyfile"], { env: { ...production, CHATWOOT_SITE_ADDRESS: "chat.example.com" } });
    fs.rmSync(home, { recursive: true, force: true });
    expect(result.status).toBe(0);
    expect(JSON.parse(result.stdout).admin).toEqual({ listen: "unix//run/caddy-admin/admin.sock" });
  });

  describe("live, with an embed allowlist", () => {
    const live = liveCaddy(["https://app.example.com"]);

    it("serves its admin API on a socket only root may use, and answers the health check on loopback", async () => {
      // Caddy's default for a unix socket is 0200: only its owner (root in the container) connects.
      expect((fs.statSync(live.caddy.adminSocket).mode & 0o777).toString(8)).toBe("200");
      const served = run("curl", ["-sS", "--unix-socket", live.caddy.adminSocket, "http://localhost/config/admin"]);
      expect(JSON.parse(served.stdout)).toEqual({ listen: `unix/${live.caddy.adminSocket}` });
      const health = run("curl", ["-sS", `http://${live.caddy.env.CADDY_HEALTH_ADDRESS}/`]);
      expect(health.stdout).toBe("ok");
    });

    it("removes X-Frame-Options from the dashboard and sends frame-ancestors", async () => {
      const res = await get(live.caddy, "/app/accounts/1/dashboard");
      expect(res.status).toBe(200);
      expect(res.body).toContain("Chatwoot dashboard");
      expect(res.headers["x-frame-options"]).toBeUndefined();
      expect(res.headers["content-security-policy"]).toBe("frame-ancestors 'self' https://app.example.com");
      // Chatwoot's other security headers pass through.
      expect(res.headers["x-content-type-options"]).toBe("nosniff");
      expect(res.headers["strict-transport-security"]).toMatch(/max-age=\d+/);
    });

    it("applies the same policy to API responses", async () => {
      const res = await get(live.caddy, "/api");
      expect(res.headers["x-frame-options"]).toBeUndefined();
      expect(JSON.parse(res.body)).toMatchObject({ version: "4.15.1", data_services: "ok" });
    });

    it("leaves /widget as Chatwoot sends it", async () => {
      const res = await get(live.caddy, "/widget?website_token=abc");
      expect(res.headers["x-frame-options"]).toBe("SAMEORIGIN");
      expect(res.headers["content-security-policy"]).toBe(WIDGET_CSP);
    });

    it("forwards X-Forwarded-Proto https and the client address", async () => {
      live.stub.requests.length = 0;
      await get(live.caddy, "/health");
      const seen = live.stub.requests.find((r) => r.url === "/health");
      expect(seen?.headers["x-forwarded-proto"]).toBe("https");
      expect(seen?.headers["x-forwarded-for"]).toBe("127.0.0.1");
    });

    it("passes the websocket upgrade on /cable", async () => {
      const ws = await websocket(live.caddy);
      expect(ws.statusLine).toBe("HTTP/1.1 101 Switching Protocols");
      expect(ws.firstMessage).toBe('{"type":"welcome"}');
      const upgrade = live.stub.requests.find((r) => r.url === "/cable");
      expect(upgrade?.headers["x-forwarded-proto"]).toBe("https");
    });

    it("refuses Chatwoot's installation onboarding (a SuperAdmin takeover while its flag is set), whatever the method", async () => {
      live.stub.requests.length = 0;
      for (const [path, method] of [["/installation/onboarding", "GET"], ["/installation/onboarding", "POST"], ["/installation", "GET"]] as const) {
        expect((await get(live.caddy, path, {}, { method })).status, `${method} ${path}`).toBe(404);
      }
      expect(live.stub.requests.filter((r) => r.url.startsWith("/installation"))).toEqual([]);
      expect((await get(live.caddy, "/app/login")).status).toBe(200);
    });

    it("drops client-sent address headers and sets X-Forwarded-For from the connection", async () => {
      live.stub.requests.length = 0;
      await get(live.caddy, "/health", {
        Forwarded: "for=198.51.100.7",
        "X-Real-IP": "198.51.100.8",
        "Client-IP": "198.51.100.9",
        "True-Client-IP": "198.51.100.10",
        "X-Forwarded-For": "198.51.100.11",
      });
      const seen = live.stub.requests.find((r) => r.url === "/health")!;
      for (const h of ["forwarded", "x-real-ip", "client-ip", "true-client-ip"]) expect(seen.headers[h], h).toBeUndefined();
      expect(seen.headers["x-forwarded-for"]).toBe("127.0.0.1");
    });

    it("passes an IPv6 client's own address to Rails", async () => {
      live.stub.requests.length = 0;
      const res = await get(live.caddy, "/health", {}, { host: "::1" });
      expect(res.status).toBe(200);
      expect(live.stub.requests.find((r) => r.url === "/health")?.headers["x-forwarded-for"]).toBe("::1");
    });

    it("logs no header at all: Chatwoot's session credentials travel in them", async () => {
      const credentials = {
        "access-token": "dashtokensecret1",
        client: "dashclientsecret2",
        uid: "ops-uid-secret3@example.com",
        "X-Auth-Token": "widgettokensecret4",
        api_access_token: "apitokensecret5",
        Authorization: "Bearer bearersecret6",
        Cookie: "_chatwoot_session=cookiesecret7",
      };
      await get(live.caddy, "/api/v1/accounts/1/conversations", credentials);
      await logged(live.caddy, "/api/v1/accounts/1/conversations");
      const lines = live.caddy.output().split("\n").filter((l) => l.includes("/api/v1/accounts/1/conversations"));
      expect(lines.length).toBeGreaterThan(0);
      for (const value of Object.values(credentials)) expect(live.caddy.output()).not.toContain(value.split("=").at(-1));
      const entry = JSON.parse(lines[0]!.slice(lines[0]!.indexOf("{")));
      expect(entry.request.headers).toBeUndefined();
      expect(entry.resp_headers).toBeUndefined();
      expect(entry.request).toMatchObject({ method: "GET", uri: "/api/v1/accounts/1/conversations" });
      expect(entry.status).toEqual(expect.any(Number));
    });

    it("keeps query strings and credentials out of the access log", async () => {
      await get(live.caddy, "/api/v1/accounts/1/inboxes?token=querysecret123", { api_access_token: "headersecret456", Cookie: "session=cookiesecret789" });
      await logged(live.caddy, "/api/v1/accounts/1/inboxes");
      const log = live.caddy.output();
      expect(log).toContain("/api/v1/accounts/1/inboxes");
      for (const s of ["querysecret123", "headersecret456", "cookiesecret789"]) expect(log).not.toContain(s);
    });
  });

  describe("live, without an allowlist", () => {
    const live = liveCaddy([]);

    it("removes X-Frame-Options and adds no frame-ancestors", async () => {
      const res = await get(live.caddy, "/");
      expect(res.status).toBe(200);
      expect(res.headers["x-frame-options"]).toBeUndefined();
      expect(res.headers["content-security-policy"]).toBeUndefined();
    });

    it("still leaves /widget alone", async () => {
      const res = await get(live.caddy, "/widget");
      expect(res.headers["x-frame-options"]).toBe("SAMEORIGIN");
      expect(res.headers["content-security-policy"]).toBe(WIDGET_CSP);
    });

    it("passes /super_admin and /monitoring/sidekiq to Chatwoot by default (its SuperAdmin login guards them)", async () => {
      for (const p of ["/super_admin", "/monitoring/sidekiq/queues"]) expect((await get(live.caddy, p)).status, p).not.toBe(403);
    });
  });

  describe("live, with chatwoot:adminAllowedCidrs", () => {
    const live = {} as { stub: ChatwootStub; caddy: RunningCaddy };
    beforeAll(async () => {
      live.stub = await startChatwootStub();
      const env = parseEnvFile(renderMaskedEnvFile({ ...settings([]), adminAllowedCidrs: ["203.0.113.0/24", "2001:db8::/32"] }, false));
      expect(env.get("CHATWOOT_ADMIN_CIDRS")).toBe("203.0.113.0/24 2001:db8::/32");
      live.caddy = await startCaddy(env, live.stub.port);
    }, 1_800_000);
    afterAll(async () => {
      await live.caddy?.stop();
      await live.stub?.close();
    });

    it("refuses the SuperAdmin console and Sidekiq's dashboard to other addresses, and serves the rest", async () => {
      for (const p of ["/super_admin", "/super_admin/users", "/monitoring/sidekiq", "/monitoring/sidekiq/queues"]) {
        expect((await get(live.caddy, p)).status, p).toBe(403);
      }
      expect((await get(live.caddy, "/app/accounts/1/dashboard")).status).toBe(200);
    });
  });
});
