/**
 * docker/compose.yaml checked by the real Docker Compose v2 (`config` needs no engine) with an env
 * file from the real renderer, plus structural rules the design asks for.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import { afterAll, beforeAll, expect, it } from "vitest";
import { parse } from "yaml";
import { repoRoot } from "../lib/repo";
import { BACKUP_ONLY_SECRET_NAMES } from "../chatwoot/env-settings";
import { envScope, parseEnvFile } from "../chatwoot/env-file";
import { renderEnvFile } from "../chatwoot/env";
import { envSecrets as secrets, envSettings as settings } from "../test/fixtures";
import { composeV2Binary } from "../test/go-tools";
import { describeWithTools, run, tempDir } from "../test/tools";

const COMPOSE_FILE = path.join(repoRoot, "docker/compose.yaml");
const IMAGE = "chatwoot/chatwoot:v4.15.1";

/** Docker Compose v2 at the version production runs, built from the Go module proxy. */
function composeCommand(): [string, string[]] {
  return [composeV2Binary()!, []];
}

type Service = {
  image: string;
  ports?: unknown[];
  healthcheck?: { test: string[] };
  depends_on?: Record<string, { condition: string }>;
  networks?: Record<string, unknown>;
  network_mode?: string;
  environment?: Record<string, string>;
  volumes?: string[] | { source: string; target: string }[];
  restart?: string;
  logging?: unknown;
};

/** The env files compose.sh gives compose: the whole .env and its app and backup scopes. */
function envFiles(dir: string, envText: string): Record<string, string> {
  const files = { CHATWOOT_ENV_FILE: path.join(dir, ".env"), CHATWOOT_APP_ENV_FILE: path.join(dir, "app.env"), CHATWOOT_BACKUP_ENV_FILE: path.join(dir, "backup.env") };
  fs.writeFileSync(files.CHATWOOT_ENV_FILE, envText, { mode: 0o600 });
  fs.writeFileSync(files.CHATWOOT_APP_ENV_FILE, envScope(envText, "app"), { mode: 0o600 });
  fs.writeFileSync(files.CHATWOOT_BACKUP_ENV_FILE, envScope(envText, "backup"), { mode: 0o600 });
  return files;
}

/** Where compose.sh points CHATWOOT_LIVE_DIR on the host. */
const LIVE = "/opt/chatwoot/live";

describeWithTools("compose.yaml, read by Docker Compose v2", ["go"], () => {
  let dir: string;
  let envFile: string;
  let config: { services: Record<string, Service>; networks: Record<string, { internal?: boolean }> };

  const compose = (args: string[], env: NodeJS.ProcessEnv) => {
    const [cmd, pre] = composeCommand();
    return run(cmd, [...pre, "--project-name", "chatwoot", "--env-file", envFile, "-f", COMPOSE_FILE, ...args], {
      env: { PATH: process.env.PATH, HOME: dir, ...env },
    });
  };

  beforeAll(() => {
    dir = tempDir("compose");
    envFile = path.join(dir, ".env");
    fs.writeFileSync(envFile, renderEnvFile(settings, secrets), { mode: 0o600 });
    // The backup profile on, as compose.sh turns it on when the .env enables backups.
    const result = compose(["config"], { CHATWOOT_IMAGE: IMAGE, ...envFiles(dir, fs.readFileSync(envFile, "utf8")), CHATWOOT_LIVE_DIR: LIVE, COMPOSE_PROFILES: "backup" });
    if (result.status !== 0) throw new Error(`compose config failed:\n${result.stderr}`);
    config = parse(result.stdout);
  }, 1_800_000);
  afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

  it("defines exactly the six services (no throwaway 'base' container)", () => {
    expect(Object.keys(config.services).sort()).toEqual(["backup", "caddy", "postgres", "rails", "redis", "sidekiq"]);
  });

  it("runs Caddy on the host's network (clients keep their own IPv6 address) and publishes Rails on loopback only", () => {
    // A published port on a bridge network without IPv6 reaches the container through Docker's
    // userland proxy for IPv6 clients, which then all appear as the bridge gateway.
    expect(config.services.caddy!.network_mode).toBe("host");
    expect(config.services.caddy!.ports).toBeUndefined();
    expect(config.services.caddy!.environment!.CHATWOOT_UPSTREAM).toBe("127.0.0.1:3000");
    for (const [name, s] of Object.entries(config.services)) {
      if (name !== "rails") expect(s.ports, name).toBeUndefined();
    }
    // Long form (Compose v2) or short form (compose 1.x prints it as written).
    const ports = (config.services.rails!.ports as ({ host_ip?: string; published: number | string; target: number } | string)[]).map(
      (p) => (typeof p === "string" ? p.replace(/\/tcp$/, "") : `${p.host_ip}:${p.published}:${p.target}`),
    );
    expect(ports).toEqual(["127.0.0.1:3000:3000"]);
  });

  it("gives Caddy the domain as its site address, and the help center's own domain with it when set", () => {
    expect(config.services.caddy!.environment!.CHATWOOT_SITE_ADDRESS).toBe(settings.domain);
    const helpDir = tempDir("compose-help");
    try {
      const envText = renderEnvFile({ ...settings, helpCenterDomain: "help.example.com" }, secrets);
      const files = envFiles(helpDir, envText);
      const [cmd, pre] = composeCommand();
      const r = run(cmd, [...pre, "--project-name", "chatwoot", "--env-file", files.CHATWOOT_ENV_FILE, "-f", COMPOSE_FILE, "config"], {
        env: { PATH: process.env.PATH, HOME: helpDir, CHATWOOT_IMAGE: IMAGE, ...files, CHATWOOT_LIVE_DIR: LIVE },
      });
      expect(r.stderr).not.toMatch(/error/i);
      const help = parse(r.stdout) as typeof config;
      expect(help.services.caddy!.environment!.CHATWOOT_SITE_ADDRESS).toBe(`${settings.domain}, help.example.com`);
    } finally {
      fs.rmSync(helpDir, { recursive: true, force: true });
    }
  });

  it("lets no container gain privileges, and drops every capability the datastores and Caddy do not need", () => {
    for (const [name, svc] of Object.entries(config.services)) {
      expect((svc as { security_opt?: string[] }).security_opt, name).toEqual(["no-new-privileges:true"]);
    }
    const caps = (name: string) => config.services[name] as { cap_drop?: string[]; cap_add?: string[] };
    for (const name of ["postgres", "redis"]) {
      expect(caps(name).cap_drop, name).toEqual(["ALL"]);
      expect([...caps(name).cap_add!].sort(), name).toEqual(["CHOWN", "DAC_OVERRIDE", "FOWNER", "SETGID", "SETUID"]);
    }
    expect(caps("caddy")).toMatchObject({ cap_drop: ["ALL"], cap_add: ["NET_BIND_SERVICE"] });
  });

  it("mounts what running containers read from the fixed live directory, never from the bundle", () => {
    // A bind mount pins the file it was created with: from the bundle, a new release would never
    // reach a running Caddy or backup scheduler.
    const mounts = (name: string) =>
      ((config.services[name]!.volumes ?? []) as (string | { source: string; target: string })[]).map((v) =>
        typeof v === "string" ? v.split(":").slice(0, 2).join(":") : `${v.source}:${v.target}`,
      );
    expect(mounts("caddy")).toContain(`${LIVE}/caddy:/etc/caddy`);
    for (const name of Object.keys(config.services)) {
      for (const m of mounts(name)) expect(m, name).not.toContain(path.join(repoRoot, "docker"));
    }
  });

  it("keeps Redis' password out of process arguments", () => {
    const text = JSON.stringify(config.services.redis);
    expect(text).not.toMatch(/-a\s/);
    expect(config.services.redis!.healthcheck!.test.join(" ")).toContain("REDISCLI_AUTH=");
  });

  it("gives every service a healthcheck, a restart policy and bounded logs", () => {
    for (const [name, s] of Object.entries(config.services)) {
      expect(s.healthcheck?.test, name).toBeDefined();
      expect(s.restart, name).toBe("unless-stopped");
      expect(s.logging, name).toEqual({ driver: "local", options: { "max-size": "20m", "max-file": "5" } });
    }
    expect(config.services.rails!.healthcheck!.test.join(" ")).toContain("X-Forwarded-Proto: https");
    expect(config.services.rails!.healthcheck!.test.join(" ")).toContain("/health");
    expect(config.services.postgres!.healthcheck!.test.join(" ")).toContain("pg_isready");
    expect(config.services.redis!.healthcheck!.test.join(" ")).toMatch(/redis-cli .*ping/);
  });

  it("sizes PostgreSQL and the containers' memory from what compose.sh computed (scripts/tuning.sh), with safe defaults", () => {
    const sizing = Object.fromEntries(
      run("bash", [path.join(repoRoot, "scripts/tuning.sh"), "--cpus", "2", "--memory-mb", "4096"]).stdout.trim().split("\n").map((l) => [`CHATWOOT_${l.slice(0, l.indexOf("="))}`, l.slice(l.indexOf("=") + 1)]),
    );
    const result = compose(["config", "--format", "json"], {
      CHATWOOT_IMAGE: IMAGE,
      ...envFiles(dir, fs.readFileSync(envFile, "utf8")),
      CHATWOOT_LIVE_DIR: LIVE,
      COMPOSE_PROFILES: "backup",
      ...sizing,
    });
    expect(result.stderr).toBe("");
    const sized = JSON.parse(result.stdout) as { services: Record<string, { command?: string[]; mem_limit?: string | number }> };
    expect(sized.services.postgres!.command).toEqual([
      "postgres", "-c", "shared_buffers=128MB", "-c", "effective_cache_size=1074MB", "-c", "random_page_cost=1.1", "-c", "work_mem=8MB",
      "-c", "maintenance_work_mem=204MB", "-c", "max_connections=100",
    ]);
    expect(String(sized.services.rails!.mem_limit)).toBe(String(1433 * 1024 * 1024));
    expect(String(sized.services.sidekiq!.mem_limit)).toBe(String(1024 * 1024 * 1024));
    expect(String(sized.services.postgres!.mem_limit)).toBe(String(1433 * 1024 * 1024));
    expect(String(sized.services.redis!.mem_limit)).toBe(String(409 * 1024 * 1024));
    // Without compose.sh: PostgreSQL's own defaults, no limits.
    expect((config.services.postgres as { command?: string[] }).command).toContain("shared_buffers=128MB");
  });

  it("probes every starting container every second or two, so `up --wait` never waits out a full interval", () => {
    for (const [name, s] of Object.entries(config.services)) {
      const hc = s.healthcheck as { start_interval?: string; start_period?: string; interval?: string };
      expect(hc.start_period, name).toBeDefined();
      expect(["1s", "2s"], name).toContain(hc.start_interval);
    }
  });

  it("gives Sidekiq longer to stop than its own shutdown timeout (25 s), so running jobs go back to Redis", () => {
    const seconds = (d: string) => Number(/^(\d+)s$/.exec(d)?.[1] ?? NaN);
    expect(seconds((config.services.sidekiq as { stop_grace_period?: string }).stop_grace_period ?? "")).toBeGreaterThan(25);
  });

  it("starts Rails and Sidekiq only once Postgres and Redis are healthy", () => {
    for (const name of ["rails", "sidekiq"]) {
      expect(config.services[name]!.depends_on).toEqual({
        postgres: expect.objectContaining({ condition: "service_healthy" }),
        redis: expect.objectContaining({ condition: "service_healthy" }),
      });
    }
  });

  it("keeps Postgres and Redis on an internal network", () => {
    expect(config.networks.backend!.internal).toBe(true);
    expect(Object.keys(config.services.postgres!.networks ?? {})).toEqual(["backend"]);
    expect(Object.keys(config.services.redis!.networks ?? {})).toEqual(["backend"]);
    expect(config.services.caddy!.networks).toBeUndefined();
  });

  it("runs Rails and Sidekiq from the same deployed image with shared storage", () => {
    expect(config.services.rails!.image).toBe(IMAGE);
    expect(config.services.sidekiq!.image).toBe(IMAGE);
    const storage = (s: Service) => JSON.stringify(s.volumes);
    expect(storage(config.services.rails!)).toContain("/srv/chatwoot/storage");
    expect(storage(config.services.rails!)).toBe(storage(config.services.sidekiq!));
  });

  it("pins every other image to a version tag", () => {
    for (const name of ["postgres", "redis", "caddy"]) {
      expect(config.services[name]!.image, name).toMatch(/^[a-z0-9/._-]+:[0-9][\w.-]*$/);
    }
    expect(config.services.postgres!.image).toMatch(/^pgvector\/pgvector:.*pg16/);
  });

  it("keeps all state on the data volume, PGDATA in a subdirectory", () => {
    const all = JSON.stringify(Object.values(config.services).map((s) => s.volumes ?? []));
    for (const mount of ["/srv/chatwoot/postgres", "/srv/chatwoot/redis", "/srv/chatwoot/storage", "/srv/chatwoot/caddy/data"]) {
      expect(all).toContain(mount);
    }
    expect(config.services.postgres!.environment!.PGDATA).toBe("/var/lib/postgresql/data/pgdata");
  });

  it("reads every value of the env file exactly as a POSIX shell does", () => {
    const shell = run("bash", ["-c", 'set -a; . "$1"; env -0', "env", envFile], { env: {} });
    expect(shell.status).toBe(0);
    const shellEnv = new Map(shell.stdout.split("\0").filter(Boolean).map((kv) => [kv.slice(0, kv.indexOf("=")), kv.slice(kv.indexOf("=") + 1)]));
    // compose config escapes a literal $ as $$ in its output.
    const composeEnv = config.services.rails!.environment!;
    const fromCompose = (k: string) => composeEnv[k]?.replace(/\$\$/g, "$");
    const rendered = parseEnvFile(fs.readFileSync(envFile, "utf8"));
    expect(rendered.size).toBeGreaterThan(30);
    const backupEnv = config.services.backup!.environment!;
    const envText = fs.readFileSync(envFile, "utf8");
    const [app, backup] = [parseEnvFile(envScope(envText, "app")), parseEnvFile(envScope(envText, "backup"))];
    for (const [key, value] of rendered) {
      expect(shellEnv.get(key), `shell ${key}`).toBe(value);
      // Each service gets exactly its scope, value for value.
      expect(backupEnv[key]?.replace(/\$\$/g, "$"), `compose (backup) ${key}`).toBe(backup.has(key) ? value : undefined);
      expect(fromCompose(key), `compose (rails) ${key}`).toBe(app.has(key) ? value : undefined);
    }
    expect(app.size).toBeGreaterThan(20);
    expect(backup.has("RESTIC_PASSWORD")).toBe(true);
    // The awkward characters really were exercised.
    expect(rendered.get("POSTGRES_PASSWORD")).toMatch(/[$`\\ ]/);
  });

  it("passes the database password to Postgres and keeps Redis's off its command line", () => {
    expect(config.services.postgres!.environment!.POSTGRES_PASSWORD.replace(/\$\$/g, "$")).toBe(secrets.POSTGRES_PASSWORD);
    const redis = config.services.redis!;
    expect(JSON.stringify((redis as unknown as { command: string[] }).command)).not.toContain(secrets.REDIS_PASSWORD);
  });

  it("gives Rails and Sidekiq no backup credential at all, not even blanked", () => {
    for (const name of ["rails", "sidekiq"]) {
      const env = config.services[name]!.environment!;
      for (const key of [...BACKUP_ONLY_SECRET_NAMES, "RESTIC_REPOSITORY", "BACKUP_ENABLED"]) expect(key in env, `${name} ${key}`).toBe(false);
      expect(JSON.stringify(env)).not.toContain(secrets.RESTIC_PASSWORD!);
      expect("CHATWOOT_FRAME_ORIGINS" in env, `${name} gets proxy settings`).toBe(false);
    }
  });

  it("runs the backup service in its profile, with the database, the files and the env file it backs up", () => {
    const b = config.services.backup! as Service & { profiles: string[]; build: { context: string }; command: string[] };
    expect(b.profiles).toEqual(["backup"]);
    expect(b.command).toEqual(["chatwoot-backup", "schedule"]);
    expect(b.depends_on).toEqual({ postgres: expect.objectContaining({ condition: "service_healthy" }) });
    expect(b.environment).toMatchObject({ PGHOST: "postgres", PGDATABASE: "chatwoot", BACKUP_HOST_NAME: "chatwoot" });
    expect(b.environment!.PGPASSWORD!.replace(/\$\$/g, "$")).toBe(secrets.POSTGRES_PASSWORD);
    // docker-compose 1.x prints short syntax, the v2 plugin long syntax.
    const mounts = (b.volumes as (string | { source: string; target: string; read_only?: boolean })[]).map((v) =>
      typeof v === "string" ? v.replace(/:rw$/, "") : `${v.source}:${v.target}${v.read_only ? ":ro" : ""}`,
    );
    expect(mounts).toEqual(
      expect.arrayContaining([
        "/srv/chatwoot/storage:/data/storage",
        "/srv/chatwoot/backup:/data/backup",
        `${envFile}:${b.environment!.CHATWOOT_ENV_FILE}:ro`,
        `${LIVE}/backup:/opt/chatwoot-backup:ro`,
      ]),
    );
    expect(b.environment!.PATH!.split(":")[0]).toBe("/opt/chatwoot-backup");
    expect(b.build.context).toBe(path.join(repoRoot, "docker/backup"));
  });

  it("builds the backup image with the Postgres client of the server's major version", () => {
    const dockerfile = fs.readFileSync(path.join(repoRoot, "docker/backup/Dockerfile"), "utf8");
    const serverMajor = /pg(\d+)/.exec(config.services.postgres!.image)![1];
    expect(dockerfile).toMatch(new RegExp(`postgresql${serverMajor}-client\\b`));
    expect(dockerfile).toMatch(/^FROM restic\/restic:\d+\.\d+\.\d+$/m);
  });

  it("refuses to run without the image set by scripts/compose.sh", () => {
    const result = compose(["config"], { ...envFiles(dir, fs.readFileSync(envFile, "utf8")), CHATWOOT_LIVE_DIR: LIVE });
    expect(result.status).not.toBe(0);
    expect(result.stderr).toContain("scripts/compose.sh");
  });
});
