/**
 * Proxy overhead on loopback: the Chatwoot stand-in reached directly, through Caddy with this
 * project's Caddyfile, and through nginx with an equivalent configuration (TLS, the same header
 * handling, proxy to the same upstream), each with the access log on and off. Rounds are
 * interleaved so a burst of load hits every target alike. Bounded in count; loopback only.
 */
import { spawn, type ChildProcess } from "node:child_process";
import * as fs from "node:fs";
import * as http from "node:http";
import * as https from "node:https";
import * as path from "node:path";
import { CADDYFILE, startCaddy, type RunningCaddy } from "../test/caddy";
import { freePort, startChatwootStub } from "../test/chatwoot-stub";
import { run, tempDir } from "../test/run";

export interface LatencyFigures {
  p50: number;
  p99: number;
  rps: number;
}

interface Target {
  name: string;
  get: (agent: http.Agent) => Promise<void>;
  agent: http.Agent;
}

function request(mod: typeof http | typeof https, options: https.RequestOptions): Promise<void> {
  return new Promise((resolve, reject) => {
    const req = mod.request(options, (res) => {
      res.resume();
      res.on("end", () => (res.statusCode === 200 ? resolve() : reject(new Error(`HTTP ${res.statusCode}`))));
    });
    req.on("error", reject);
    req.end();
  });
}

/** `count` requests over `concurrency` keep-alive connections; latency per request in ms. */
async function round(t: Target, count: number, concurrency: number): Promise<{ latencies: number[]; seconds: number }> {
  const latencies: number[] = [];
  let left = count;
  const started = process.hrtime.bigint();
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (left-- > 0) {
        const t0 = process.hrtime.bigint();
        await t.get(t.agent);
        latencies.push(Number(process.hrtime.bigint() - t0) / 1e6);
      }
    }),
  );
  return { latencies, seconds: Number(process.hrtime.bigint() - started) / 1e9 };
}

function figures(latencies: number[], seconds: number): LatencyFigures {
  const s = [...latencies].sort((a, b) => a - b);
  const at = (q: number) => s[Math.min(s.length - 1, Math.floor(q * s.length))]!;
  return { p50: at(0.5), p99: at(0.99), rps: latencies.length / seconds };
}

async function startNginx(upstream: number, cert: { crt: string; key: string }, accessLog: boolean): Promise<{ port: number; stop(): Promise<void> }> {
  const dir = tempDir("nginx");
  const port = await freePort();
  // What the Caddyfile does, in nginx terms: TLS, X-Frame-Options removed, HSTS, forwarded
  // headers from the connection, client-sent address headers dropped, websocket upgrades.
  fs.writeFileSync(
    path.join(dir, "nginx.conf"),
    `daemon off;
worker_processes 1;
pid ${dir}/nginx.pid;
error_log ${dir}/error.log;
events { worker_connections 1024; }
http {
  access_log ${accessLog ? `${dir}/access.log` : "off"};
  client_body_temp_path ${dir}/body; proxy_temp_path ${dir}/proxy; fastcgi_temp_path ${dir}/fcgi;
  uwsgi_temp_path ${dir}/uwsgi; scgi_temp_path ${dir}/scgi;
  upstream rails { server 127.0.0.1:${upstream}; keepalive 16; }
  server {
    listen 127.0.0.1:${port} ssl;
    ssl_certificate ${cert.crt};
    ssl_certificate_key ${cert.key};
    location / {
      proxy_pass http://rails;
      proxy_http_version 1.1;
      proxy_set_header Connection "";
      proxy_set_header Host $host;
      proxy_set_header X-Forwarded-For $remote_addr;
      proxy_set_header X-Forwarded-Proto https;
      proxy_set_header Forwarded "";
      proxy_set_header X-Real-IP "";
      proxy_set_header Client-IP "";
      proxy_hide_header X-Frame-Options;
      add_header Strict-Transport-Security "max-age=31536000" always;
    }
  }
}
`,
  );
  const child: ChildProcess = spawn("nginx", ["-p", dir, "-c", path.join(dir, "nginx.conf")], { stdio: "ignore" });
  const stop = async () => {
    if (child.exitCode === null) {
      child.kill("SIGQUIT");
      await new Promise((r) => child.once("exit", r));
    }
    fs.rmSync(dir, { recursive: true, force: true });
  };
  for (let i = 0; i < 100; i++) {
    const up = await request(https, { host: "127.0.0.1", port, path: "/health", rejectUnauthorized: false }).then(() => true, () => false);
    if (up) return { port, stop };
    await new Promise((r) => setTimeout(r, 50));
  }
  await stop();
  throw new Error("nginx did not start");
}

/** Figures per target name; throws if a tool is missing. */
export async function proxyOverhead(count = 2000, rounds = 5, concurrency = 8): Promise<Record<string, LatencyFigures>> {
  const stub = await startChatwootStub();
  const started: { stop(): Promise<void> }[] = [];
  const dir = tempDir("proxy-bench");
  try {
    const crt = path.join(dir, "crt.pem");
    const key = path.join(dir, "key.pem");
    const made = run("openssl", ["req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes", "-days", "1", "-subj", "/CN=localhost", "-keyout", key, "-out", crt]);
    if (made.status !== 0) throw new Error("openssl could not make a certificate");
    const env = new Map([["CHATWOOT_FRAME_MODE", "any"], ["CHATWOOT_FRAME_ORIGINS", ""]]);
    const quietCaddyfile = path.join(dir, "Caddyfile.nolog");
    fs.writeFileSync(quietCaddyfile, fs.readFileSync(CADDYFILE, "utf8").replace(/\n\tlog \{[\s\S]*?\n\t\}\n/, "\n"));
    const caddyLog = await startCaddy(env, stub.port);
    started.push(caddyLog);
    const caddyQuiet = await startCaddy(env, stub.port, quietCaddyfile);
    started.push(caddyQuiet);
    const nginxLog = await startNginx(stub.port, { crt, key }, true);
    started.push(nginxLog);
    const nginxQuiet = await startNginx(stub.port, { crt, key }, false);
    started.push(nginxQuiet);

    const viaTls = (name: string, port: number, ca?: string): Target => ({
      name,
      agent: new https.Agent({ keepAlive: true, maxSockets: concurrency }),
      get: (agent) =>
        request(https, { host: "127.0.0.1", port, path: "/health", servername: "localhost", headers: { Host: "localhost" }, agent, ...(ca ? { ca: fs.readFileSync(ca) } : { rejectUnauthorized: false }) }),
    });
    const caddyTarget = (name: string, c: RunningCaddy) => viaTls(name, c.httpsPort, c.caFile);
    const targets: Target[] = [
      { name: "direct", agent: new http.Agent({ keepAlive: true, maxSockets: concurrency }), get: (agent) => request(http, { host: "127.0.0.1", port: stub.port, path: "/health", agent }) },
      caddyTarget("caddy_log", caddyLog),
      caddyTarget("caddy_nolog", caddyQuiet),
      viaTls("nginx_log", nginxLog.port),
      viaTls("nginx_nolog", nginxQuiet.port),
    ];
    const collected = new Map<string, { latencies: number[]; seconds: number }>(targets.map((t) => [t.name, { latencies: [], seconds: 0 }]));
    for (const t of targets) await round(t, 200, concurrency); // warm-up: TLS sessions, JIT
    for (let r = 0; r < rounds; r++) {
      for (const t of targets) {
        const { latencies, seconds } = await round(t, count, concurrency);
        const c = collected.get(t.name)!;
        c.latencies.push(...latencies);
        c.seconds += seconds;
      }
    }
    for (const t of targets) t.agent.destroy();
    return Object.fromEntries([...collected].map(([name, c]) => [name, figures(c.latencies, c.seconds)]));
  } finally {
    for (const s of started.reverse()) await s.stop();
    await stub.close();
    fs.rmSync(dir, { recursive: true, force: true });
  }
}
