/**
 * The old release on the new schema (docs/operations.md, "What an upgrade guarantees"): with the
 * DATABASE_URL the env file renders, a column added under a running Rails does not fail its next
 * transaction on a cached prepared statement. Real PostgreSQL 16 and ActiveRecord (Debian's, a
 * stand-in for Chatwoot's Rails: infra/test/prepared_statements_probe.rb); the same probe without
 * the setting shows the failure it prevents.
 */
import * as path from "node:path";
import { afterAll, beforeAll, expect, it } from "vitest";
import { parseEnvFile } from "../chatwoot/env-file";
import { renderEnvFile } from "../chatwoot/env";
import { repoRoot } from "../lib/repo";
import { envSecrets, envSettings } from "../test/fixtures";
import { postgres16BinDir, startPostgres, type RunningPostgres } from "../test/postgres";
import { describeWithTools, run } from "../test/tools";

const PROBE = path.join(repoRoot, "infra/test/prepared_statements_probe.rb");

describeWithTools("prepared statements and a schema that changes under a running Rails", ["ruby"], () => {
  let pg: RunningPostgres;
  const env = parseEnvFile(renderEnvFile(envSettings, envSecrets));
  const rendered = new URL(env.get("DATABASE_URL")!);

  beforeAll(async () => {
    pg = await startPostgres({}, postgres16BinDir());
    pg.sql("postgres", "create database chatwoot");
    // The rendered password, so that the URL's encoding is what authenticates.
    pg.sql("postgres", `alter user postgres password '${envSecrets.POSTGRES_PASSWORD.replace(/'/g, "''")}'`);
  });
  afterAll(() => pg?.stop());

  /** The rendered URL with this machine's server in place of the compose service. */
  const probe = (query: string) => {
    const url = new URL(rendered.href);
    url.host = `127.0.0.1:${pg.port}`;
    url.search = query;
    return run("ruby", [PROBE], {
      env: {
        ...process.env,
        DATABASE_URL: url.href,
        // config/database.yml's inputs as the env file has them: the URL's host must win over "postgres".
        POSTGRES_HOST: env.get("POSTGRES_HOST")!,
        POSTGRES_PORT: String(pg.port),
        POSTGRES_DATABASE: env.get("POSTGRES_DATABASE")!,
        POSTGRES_USERNAME: env.get("POSTGRES_USERNAME")!,
        POSTGRES_PASSWORD: env.get("POSTGRES_PASSWORD")!,
      },
    });
  };

  it("renders DATABASE_URL as the same connection as POSTGRES_*, which Chatwoot's entrypoint reads back", () => {
    expect(rendered.hostname).toBe(env.get("POSTGRES_HOST"));
    expect(rendered.port).toBe(env.get("POSTGRES_PORT"));
    expect(rendered.username).toBe(env.get("POSTGRES_USERNAME"));
    expect(decodeURIComponent(rendered.password)).toBe(envSecrets.POSTGRES_PASSWORD);
    expect(rendered.pathname).toBe(`/${env.get("POSTGRES_DATABASE")}`);
    expect(rendered.search).toBe("?prepared_statements=false");
    // Ruby's URI (what the entrypoint's helper uses) reads the same host, port and user.
    const r = run("ruby", ["-ruri", "-e", "u = URI(ENV.fetch('U')); puts [u.host, u.port, u.user].join(' ')"], { env: { ...process.env, U: rendered.href } });
    expect(r.stdout.trim()).toBe(`${env.get("POSTGRES_HOST")} ${env.get("POSTGRES_PORT")} ${env.get("POSTGRES_USERNAME")}`);
  });

  it("with the rendered setting, the old Rails' next transaction succeeds on the new schema", () => {
    const r = probe(rendered.search);
    expect(r.stderr).toBe("");
    expect(r.stdout).toBe(`prepared_statements=false host=127.0.0.1\nOK\n`);
  });

  it("without it, the same transaction fails on its cached statement (what the setting prevents)", () => {
    const r = probe("");
    expect(r.stdout).toBe(`prepared_statements=default host=127.0.0.1\nFAILED ActiveRecord::PreparedStatementCacheExpired\n`);
  });
});
