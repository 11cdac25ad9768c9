/**
 * What Compose v2 would recreate for each kind of change, from the real Compose (v2.24.6, as
 * Ubuntu 24.04 ships it, built from the Go module proxy) over compose.yaml with the env files
 * compose.sh gives it. A proxy or backup setting must not recreate Rails and Sidekiq (tens of
 * seconds of 502s for nothing).
 *
 * Each service's configuration is taken as Compose resolves it (`config --format json`, env_file
 * contents merged into its environment, as the container gets them) and hashed. `config --hash`
 * itself is also compared: in 2.24.6 it covers an env_file by its path only, so it is checked
 * only for what it does see.
 */
import { createHash } from "node:crypto";
import * as fs from "node:fs";
import * as path from "node:path";
import { afterAll, beforeAll, expect, it } from "vitest";
import { repoRoot } from "../lib/repo";
import { envScope } from "../chatwoot/env-file";
import { renderEnvFile } from "../chatwoot/env";
import { type EnvSecrets, type EnvSettings } from "../chatwoot/env-settings";
import { envSecrets, envSettings } from "../test/fixtures";
import { composeV2Binary } from "../test/go-tools";
import { describeWithTools, run, tempDir } from "../test/tools";

describeWithTools("what Compose v2 recreates, by its own config hash", ["go"], () => {
  let compose: string;
  let dir: string;
  beforeAll(() => {
    compose = composeV2Binary()!;
    dir = tempDir("compose-hash");
  }, 1_800_000);
  afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

  /** Service → hash of its resolved configuration, for the rendered env of these settings and this image (files at fixed paths, as on the host). */
  function hashes(settings: EnvSettings = envSettings, secrets: EnvSecrets = envSecrets, image = "chatwoot/chatwoot:v4.15.1"): Record<string, string> {
    const d = dir;
    const text = renderEnvFile(settings, secrets);
    const files = { CHATWOOT_ENV_FILE: path.join(d, ".env"), CHATWOOT_APP_ENV_FILE: path.join(d, "app.env"), CHATWOOT_BACKUP_ENV_FILE: path.join(d, "backup.env") };
    fs.writeFileSync(files.CHATWOOT_ENV_FILE, text);
    fs.writeFileSync(files.CHATWOOT_APP_ENV_FILE, envScope(text, "app"));
    fs.writeFileSync(files.CHATWOOT_BACKUP_ENV_FILE, envScope(text, "backup"));
    const composeRun = (...args: string[]) => {
      const r = run(compose, ["--project-name", "chatwoot", "--env-file", files.CHATWOOT_ENV_FILE, "-f", path.join(repoRoot, "docker/compose.yaml"), ...args], {
        env: { PATH: process.env.PATH, HOME: d, CHATWOOT_IMAGE: image, CHATWOOT_LIVE_DIR: "/opt/chatwoot/live", COMPOSE_PROFILES: "backup", ...files },
      });
      if (r.status !== 0) throw new Error(`compose ${args.join(" ")} failed: ${r.stderr}`);
      return r.stdout;
    };
    const services = (JSON.parse(composeRun("config", "--format", "json")) as { services: Record<string, unknown> }).services;
    const own = Object.fromEntries(composeRun("config", "--hash", "*").trim().split("\n").map((l) => l.split(" ") as [string, string]));
    return Object.fromEntries(
      Object.entries(services).map(([name, svc]) => [name, `${createHash("sha256").update(JSON.stringify(svc)).digest("hex")}/${own[name]}`]),
    );
  }

  /** The services whose hash differs from the base configuration's. */
  const recreated = (other: Record<string, string>) => {
    const base = hashes();
    return Object.keys(base).filter((s) => base[s] !== other[s]).sort();
  };

  it("is Compose v2 itself", () => {
    expect(run(compose, ["version"]).stdout).toContain("v2.24.6");
  });

  it("recreates nothing when nothing changed", () => {
    expect(recreated(hashes())).toEqual([]);
  });

  it("an embedding origin recreates only Caddy", () => {
    expect(recreated(hashes({ ...envSettings, embedAllowedOrigins: ["https://other.example.com"] }))).toEqual(["caddy"]);
  });

  it("a backup schedule or retention recreates only the backup service", () => {
    const backup = envSettings.backup!;
    expect(recreated(hashes({ ...envSettings, backup: { ...backup, every: { ...backup.every, database: 1800 } } }))).toEqual(["backup"]);
    expect(recreated(hashes({ ...envSettings, backup: { ...backup, retention: { ...backup.retention, daily: 30 } } }))).toEqual(["backup"]);
    expect(recreated(hashes(envSettings, { ...envSecrets, RESTIC_PASSWORD: "another-restic-password" }))).toEqual(["backup"]);
  });

  it("a mail setting recreates Rails and Sidekiq, and nothing else", () => {
    expect(recreated(hashes({ ...envSettings, smtp: { ...envSettings.smtp!, address: "mail.example.org" } }))).toEqual(["rails", "sidekiq"]);
  });

  it("a new release recreates Rails and Sidekiq only", () => {
    expect(recreated(hashes(envSettings, envSecrets, "chatwoot/chatwoot:v4.16.0"))).toEqual(["rails", "sidekiq"]);
  });

  it("the Postgres password recreates what uses it: Postgres, the app and the backup service", () => {
    expect(recreated(hashes(envSettings, { ...envSecrets, POSTGRES_PASSWORD: "anotherPostgresPassword1" }))).toEqual(["backup", "postgres", "rails", "sidekiq"]);
  });
});
