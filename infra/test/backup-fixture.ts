/** A host's backup setup for the tests that run docker/backup/chatwoot-backup for real. */
import * as fs from "node:fs";
import * as path from "node:path";
import { repoRoot } from "../lib/repo";
import { renderEnvFile } from "../chatwoot/env";
import { envSecrets, envSettings } from "./fixtures";
import type { RunningPostgres } from "./postgres";
import { run, tempDir } from "./run";

export const BACKUP_TOOL = path.join(repoRoot, "docker/backup/chatwoot-backup");

/** A host's backup setup in a temp dir: storage with files, the .env, state, repository. */
export function backupFixture(pg: RunningPostgres, repository?: string) {
  const dir = tempDir("backup");
  const storage = path.join(dir, "storage");
  const state = path.join(dir, "state");
  const envFile = path.join(dir, "chatwoot.env");
  fs.mkdirSync(storage);
  fs.writeFileSync(envFile, renderEnvFile(envSettings, envSecrets), { mode: 0o600 });
  const env: NodeJS.ProcessEnv = {
    PATH: process.env.PATH,
    HOME: dir,
    ...pg.env,
    PGDATABASE: "chatwoot",
    RESTIC_REPOSITORY: repository ?? path.join(dir, "repo"),
    RESTIC_PASSWORD: "test-repository-password",
    CHATWOOT_STORAGE_DIR: storage,
    CHATWOOT_ENV_FILE: envFile,
    BACKUP_STATE_DIR: state,
    BACKUP_HOST_NAME: "chatwoot",
    BACKUP_KEEP_HOURLY: "48",
    BACKUP_KEEP_DAILY: "14",
  };
  return {
    dir,
    storage,
    state,
    envFile,
    env,
    tool: (args: string[], extra: NodeJS.ProcessEnv = {}) => run("bash", [BACKUP_TOOL, ...args], { env: { ...env, ...extra } }),
    status: () =>
      Object.fromEntries(
        fs
          .readFileSync(path.join(state, "status"), "utf8")
          .trim()
          .split("\n")
          .map((l) => [l.slice(0, l.indexOf("=")), l.slice(l.indexOf("=") + 1)]),
      ) as Record<string, string>,
    cleanup: () => fs.rmSync(dir, { recursive: true, force: true }),
  };
}

