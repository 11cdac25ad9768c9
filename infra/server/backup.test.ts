/**
 * Backups and the restore step under the mock engine: what is provisioned and protected, what the
 * backup service receives, and when the restore step exists and where it sits in the step graph.
 */
import { beforeAll, describe, expect, it } from "vitest";
import { evaluate, isSecretValue, mockId, type Evaluation } from "../plan/engine";
import { parseEnvFile } from "../chatwoot/env-file";
import { STORAGE_BOX_MARKER } from "../chatwoot/env";
import { byType, knownSecretValues, one, plainStrings } from "../test/evaluation";
import { baseConfig, baseSecrets, pulumiConfig, type PublicValues } from "../test/fixtures";

const T = {
  storageBox: "hcloud:index/storageBox:StorageBox",
  key: "tls:index/privateKey:PrivateKey",
  password: "random:index/randomPassword:RandomPassword",
  command: "command:remote:Command",
};

function run(values: PublicValues = baseConfig, secrets: Record<string, string> = baseSecrets): Promise<Evaluation> {
  return evaluate({ stack: "production", ...pulumiConfig(values, secrets) });
}
const step = (ev: Evaluation, name: string) => one(ev, T.command, `chatwoot-${name}`);
const envOf = (ev: Evaluation) => {
  const stdin = step(ev, "write-env").inputs.stdin;
  if (!isSecretValue(stdin)) throw new Error("the env file must travel as a secret");
  return parseEnvFile(String(stdin.value));
};
const deps = (ev: Evaluation, name: string) => step(ev, name).options.dependsOn.map((d) => d.split("::")[1]).sort();

describe("backups to a Storage Box (the default)", () => {
  let ev: Evaluation;
  beforeAll(async () => {
    ev = await run();
  });

  it("provisions a protected, delete-protected Storage Box in another location, reachable by SSH key only", () => {
    const box = one(ev, T.storageBox);
    expect(box.options.protect).toBe(true);
    expect(box.inputs).toMatchObject({
      name: "chatwoot-production-backups",
      storageBoxType: "bx11",
      location: "hel1", // the server is in nbg1
      deleteProtection: true,
      accessSettings: { sshEnabled: true, reachableExternally: false, sambaEnabled: false, webdavEnabled: false, zfsEnabled: false },
      labels: { app: "chatwoot", stack: "production", "managed-by": "pulumi" },
    });
    const key = one(ev, T.key, "chatwoot-backup-storage-box-key");
    expect(key.inputs.algorithm).toBe("ED25519");
    expect(key.options.protect).toBe(true);
    expect((box.inputs.sshKeys as string[])[0]).toMatch(/^ssh-ed25519 /);
    expect(isSecretValue(box.inputs.password)).toBe(true);
  });

  it("generates a protected restic password and exports it, and the repository, as outputs", () => {
    expect(one(ev, T.password, "chatwoot-backup-restic-password").options.protect).toBe(true);
    const boxId = mockId(T.storageBox, "chatwoot-backup-storage-box");
    expect(ev.outputs.backupRepository).toBe(`sftp://u${boxId}@u${boxId}.your-storagebox.de:23/chatwoot-production`);
    expect(ev.secretOutputs).toContain("backupPassword");
    expect(ev.secretOutputs).not.toContain("backupRepository");
  });

  it("gives the backup service the repository, the password and the key through the secret env file", () => {
    const env = envOf(ev);
    expect(env.get("BACKUP_ENABLED")).toBe("true");
    expect(env.get("RESTIC_REPOSITORY")).toBe(ev.outputs.backupRepository);
    expect(env.get("RESTIC_PASSWORD")).toBe(ev.outputs.backupPassword);
    const key = Buffer.from(env.get("BACKUP_SSH_KEY")!, "base64").toString();
    expect(key).toMatch(/^-----BEGIN OPENSSH PRIVATE KEY-----\n/);
    expect(env.get("BACKUP_DATABASE_EVERY")).toBe("900");
  });

  it("shows the backup settings in the reviewable env, with every backup secret masked", () => {
    const text = String(step(ev, "write-env").inputs.create);
    expect(text).toContain(`RESTIC_REPOSITORY='${STORAGE_BOX_MARKER}'`);
    expect(text).toContain("RESTIC_PASSWORD='<secret>'");
    expect(text).toContain("BACKUP_SSH_KEY='<secret>'");
    expect(text).toContain("BACKUP_FILES_EVERY='3600'");
  });

  it("leaks no backup secret into plain inputs or outputs", () => {
    const secrets = knownSecretValues(ev, baseSecrets);
    const env = envOf(ev);
    expect(secrets).toEqual(expect.arrayContaining([env.get("RESTIC_PASSWORD"), env.get("BACKUP_SSH_KEY")]));
    const plain = [...ev.resources.flatMap((r) => plainStrings(r.inputs)), ...plainStrings(ev.outputs.backupRepository)].join("\n");
    for (const s of secrets) expect(plain).not.toContain(s);
  });

  it("has verify check the age of the last backups", () => {
    expect(step(ev, "verify").inputs.create).toContain("--backup-state '/srv/chatwoot/backup'");
  });

  it("has no restore step unless chatwoot:restoreFrom is set", () => {
    expect(byType(ev, T.command).map((r) => r.name)).not.toContain("chatwoot-restore");
    expect(deps(ev, "deploy")).toEqual(["chatwoot-upload", "chatwoot-write-env"]);
  });
});

describe("chatwoot:restoreFrom", () => {
  let ev: Evaluation;
  beforeAll(async () => {
    ev = await run({ ...baseConfig, restoreFrom: "4f2a9c1e" });
  });

  it("adds a restore step after the bundle and env are on the host and before deploy migrates", () => {
    expect(deps(ev, "restore")).toEqual(["chatwoot-upload", "chatwoot-write-env"]);
    expect(deps(ev, "deploy")).toEqual(["chatwoot-restore", "chatwoot-upload", "chatwoot-write-env"]);
  });

  it("restores the named snapshot only into an empty database, keyed on the snapshot alone", async () => {
    const create = String(step(ev, "restore").inputs.create);
    expect(create).toMatch(/restore\.sh' --before-deploy --snapshot '4f2a9c1e'/);
    // A version bump does not re-run it: restore depends on the snapshot and the server.
    const bumped = await run({ ...baseConfig, restoreFrom: "4f2a9c1e", chatwootVersion: "v4.16.0" });
    expect(step(bumped, "restore").inputs).toEqual(step(ev, "restore").inputs);
    // A new server re-runs it (triggers), like every other step.
    expect(step(ev, "restore").inputs.triggers).toEqual(step(ev, "deploy").inputs.triggers);
  });
});

describe("other backup targets", () => {
  it("uses an existing S3 repository with its credentials and provisions no Storage Box", async () => {
    const ev = await run(
      { ...baseConfig, backup: { target: "repository", repository: "s3:https://fsn1.your-objectstorage.com/backups/chatwoot" } },
      { ...baseSecrets, backupS3AccessKeyId: "AKIAEXAMPLE123", backupS3SecretAccessKey: "s3-secret-access-key-value" },
    );
    expect(byType(ev, T.storageBox)).toHaveLength(0);
    expect(byType(ev, T.key).map((k) => k.name)).toEqual(["chatwoot-deploy-key"]);
    const env = envOf(ev);
    expect(env.get("RESTIC_REPOSITORY")).toBe("s3:https://fsn1.your-objectstorage.com/backups/chatwoot");
    expect(env.get("BACKUP_S3_SECRET_ACCESS_KEY")).toBe("s3-secret-access-key-value");
    expect(env.has("BACKUP_SSH_KEY")).toBe(false);
    expect(String(step(ev, "write-env").inputs.create)).toContain(
      "RESTIC_REPOSITORY='s3:https://fsn1.your-objectstorage.com/backups/chatwoot'",
    );
  });

  it("takes the restic password from chatwoot:backupPassword instead of generating one", async () => {
    const password = "the-old-repository-password";
    const ev = await run(baseConfig, { ...baseSecrets, backupPassword: password });
    expect(ev.resources.map((r) => r.name)).not.toContain("chatwoot-backup-restic-password");
    expect(envOf(ev).get("RESTIC_PASSWORD")).toBe(password);
    expect(ev.outputs.backupPassword).toBe(password);
  });

  it("takes the Postgres password of an existing volume from chatwoot:postgresPassword (state lost)", async () => {
    const password = "ExistingClusterPassword0123456789";
    const ev = await run(baseConfig, { ...baseSecrets, postgresPassword: password });
    expect(ev.resources.map((r) => r.name)).not.toContain("chatwoot-postgres-password");
    expect(envOf(ev).get("POSTGRES_PASSWORD")).toBe(password);
  });

  it("provisions nothing for backups when they are disabled, and verify does not look for them", async () => {
    const ev = await run({ ...baseConfig, backup: { enabled: false } });
    expect(byType(ev, T.storageBox)).toHaveLength(0);
    expect(ev.resources.map((r) => r.name)).not.toContain("chatwoot-backup-restic-password");
    expect(envOf(ev).get("BACKUP_ENABLED")).toBe("false");
    expect(step(ev, "verify").inputs.create).not.toContain("--backup-state");
    expect(ev.outputs.backupRepository).toBeUndefined();
    expect(ev.warnings.join("\n")).toContain("chatwoot:backup.enabled is false");
  });
});
