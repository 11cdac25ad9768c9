/** A host's backup setup for the tests that run docker/backup/chatwoot-backup for real. */
import * as fs from "node:fs";
import * as path from "node:path";
import { repoRoot } from "../lib/repo";
import { renderEnvFile } from "../chatwoot/env";
import { createCpuQuotaCgroup } from "./cgroup";
import { envSecrets, envSettings } from "./fixtures";
import type { RunningPostgres } from "./postgres";
import { run, runAsync, runScratchDir, tempDir } from "./run";

export const BACKUP_TOOL = path.join(repoRoot, "docker/backup/chatwoot-backup");
/** The fixtures' repository password (a test value). */
const REPOSITORY_PASSWORD = "test-repository-password";

let template: Promise<string> | undefined;
/**
 * An empty repository made by the real restic's `init` with the fixtures' password, to copy for a
 * fixture whose tests are not about making one (once per test process).
 *
 * Why: restic derives a repository's key with scrypt parameters that `init` calibrates to take
 * about half a second on the machine it runs on (KDFTimeout in restic's internal/repository/key.go),
 * and every restic process pays that again when it opens the repository: about 0.5 s of CPU per
 * call here, some 45 calls in the backup tests. This repository is initialised under a CPU quota
 * of a tenth of a core, so the calibration measures a slower machine and picks cheaper parameters
 * (about 0.05 s per open). It is a repository like any other, opened by the same restic; what the
 * backup job does with it is unchanged. A host's repository is initialised by the backup job on
 * the host, calibrated there (the SFTP test below makes one that way). Where no CPU quota can be
 * set (not root, no cpu controller), the template is initialised as it is on a host: the tests
 * take longer, and pass the same.
 */
export function repositoryTemplate(): Promise<string> {
  template ??= (async () => {
    const dir = fs.mkdtempSync(path.join(runScratchDir(), "restic-template-"));
    const repo = path.join(dir, "repo");
    const cgroup = createCpuQuotaCgroup("restic-init", 10);
    const [cmd, args] = "problem" in cgroup ? ["restic", ["init", "--quiet"]] : cgroup.wrap("restic", ["init", "--quiet"]);
    try {
      const r = await runAsync(cmd, args, { env: { PATH: process.env.PATH, HOME: dir, RESTIC_REPOSITORY: repo, RESTIC_PASSWORD: REPOSITORY_PASSWORD } });
      if (r.status !== 0) throw new Error(`restic init for the repository template failed: ${r.stderr}`);
    } finally {
      if (!("problem" in cgroup)) cgroup.remove();
    }
    return repo;
  })();
  return template;
}

/**
 * A host's backup setup in a temp dir: storage with files, the .env, state, repository. The
 * repository is `repository` (the backup job initialises it on first use), or a copy of
 * `fromTemplate` (repositoryTemplate()) in the temp dir.
 */
export function backupFixture(pg: RunningPostgres, repository?: string, fromTemplate?: string) {
  const dir = tempDir("backup");
  const storage = path.join(dir, "storage");
  const state = path.join(dir, "state");
  const envFile = path.join(dir, "chatwoot.env");
  fs.mkdirSync(storage);
  fs.writeFileSync(envFile, renderEnvFile(envSettings, envSecrets), { mode: 0o600 });
  if (fromTemplate) fs.cpSync(fromTemplate, path.join(dir, "repo"), { recursive: true, preserveTimestamps: true });
  const env: NodeJS.ProcessEnv = {
    PATH: process.env.PATH,
    HOME: dir,
    ...pg.env,
    PGDATABASE: "chatwoot",
    RESTIC_REPOSITORY: repository ?? path.join(dir, "repo"),
    RESTIC_PASSWORD: REPOSITORY_PASSWORD,
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

