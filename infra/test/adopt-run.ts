/**
 * Runs scripts/adopt.sh on a fake host against a real PostgreSQL (the stand-in docker hands
 * "compose exec -T postgres …" to the real psql and pg_restore: infra/test/standin-postgres-exec.sh),
 * with the arguments pulumi up renders for v4.15.1 (infra/server/commands.ts).
 */
import * as fs from "node:fs";
import * as path from "node:path";
import { afterAll, afterEach, beforeAll, beforeEach } from "vitest";
import { repoRoot } from "../lib/repo";
import { ADOPTION } from "../facts/chatwoot";
import { fakeHost, type FakeHost } from "./fake-host";
import { postgres16BinDir, startPostgres, type RunningPostgres } from "./postgres";
import { tempDir } from "./run";

export const POSTGRES_EXEC_HOOK = path.join(repoRoot, "infra/test/standin-postgres-exec.sh");

export function adoptArgs(fromV3: "allow" | "refuse" = "refuse"): string[] {
  return [
    "--before-deploy", "--version", "v4.15.1", "--v4-migration", ADOPTION.firstV4Migration, "--from-v3", fromV3,
    "--v41-needed-before", ADOPTION.v41NeededBefore, "--target-newest", ADOPTION.newestMigration["v4.15.1"]!,
  ];
}

export function adoptRunner(host: () => FakeHost, port: () => number) {
  const env = () => ({ STANDIN_HOOK: POSTGRES_EXEC_HOOK, PGHOST: "127.0.0.1", PGPORT: String(port()) });
  return {
    env,
    /** Copies a file into the staging directory pulumi up uploads to. */
    stage: (file: string, as = path.basename(file)) => fs.copyFileSync(file, path.join(host().dataDir, "adopt", as)),
    adopt: (args: string[], opts: { input?: string; fromV3?: "allow" | "refuse"; extra?: string[] } = {}) =>
      host().exec("adopt.sh", [...adoptArgs(opts.fromV3), ...(opts.extra ?? []), ...args], { input: opts.input, env: env() }),
    /** deploy.sh after the adoption, as pulumi up runs it next (its migration is the stand-in's). */
    deploy: () => host().exec("deploy.sh", ["--version", "v4.15.1"], { env: env() }),
    staged: () => (fs.existsSync(path.join(host().dataDir, "adopt")) ? fs.readdirSync(path.join(host().dataDir, "adopt")).sort() : []),
    state: () => (fs.existsSync(path.join(host().dataDir, "adopt.state")) ? fs.readFileSync(path.join(host().dataDir, "adopt.state"), "utf8") : ""),
  };
}

/**
 * The old installation's server (Debian's PostgreSQL) and the new one (PostgreSQL 16, production's
 * major), a scratch directory, and per test an empty target database and a fresh fake host. Call
 * it inside a describe(): its hooks run before the caller's own.
 */
export function adoptionRig(name: string) {
  const rig = {
    source: undefined as unknown as RunningPostgres,
    target: undefined as unknown as RunningPostgres,
    host: undefined as unknown as FakeHost,
    files: "",
  };
  beforeAll(async () => {
    rig.files = tempDir(name);
    rig.source = await startPostgres();
    rig.target = await startPostgres({}, postgres16BinDir());
  });
  afterAll(() => {
    rig.source?.stop();
    rig.target?.stop();
    fs.rmSync(rig.files, { recursive: true, force: true });
  });
  beforeEach(() => {
    rig.target.sql("postgres", "DROP DATABASE IF EXISTS chatwoot");
    rig.target.sql("postgres", "CREATE DATABASE chatwoot");
    rig.host = fakeHost();
    fs.mkdirSync(path.join(rig.host.dataDir, "adopt"), { recursive: true });
  });
  afterEach(() => rig.host.cleanup());
  return Object.assign(rig, adoptRunner(() => rig.host, () => rig.target.port));
}

