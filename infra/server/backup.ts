/**
 * Where backups go: a Hetzner Storage Box this stack provisions (reached over SFTP on port 23 with
 * a key generated here), or an existing restic repository named in config. Either way the restic
 * repository password is generated once and kept in state, unless config supplies it (a
 * repository this state did not create). The backup service on the host does the work; this
 * component only produces what its env needs.
 */
import * as hcloud from "@pulumi/hcloud";
import * as pulumi from "@pulumi/pulumi";
import * as random from "@pulumi/random";
import * as tls from "@pulumi/tls";
import type { BackupConfig, BackupCredentials } from "../config/load";
import type { EnvSecrets } from "../chatwoot/env-settings";

/** Storage Boxes take key logins for SFTP on port 23 (port 22 wants RFC4716 keys and no ed25519). */
export const STORAGE_BOX_SSH_PORT = 23;

/** Where the Storage Box keeps this stack's repository, relative to its home directory. */
export const storageBoxRepositoryPath = (stack: string) => `chatwoot-${stack}`;

export interface OffsiteBackupArgs {
  /** Validated `chatwoot:backup` (only used when enabled). */
  config: BackupConfig;
  /** Credentials for an existing repository (`target` = "repository"). */
  credentials: BackupCredentials;
  /** restic password from `chatwoot:backupPassword`; generated when absent. */
  passwordOverride?: pulumi.Output<string>;
  /** The server's location: the Storage Box defaults to a different one. */
  serverLocation: string;
  /** Prefix of Hetzner resource names, e.g. "chatwoot-production". */
  namePrefix: string;
  /** Stack name, for the repository path inside the Storage Box. */
  stack: string;
  /** Labels put on the Storage Box. */
  labels: Record<string, string>;
}

export class OffsiteBackup extends pulumi.ComponentResource {
  /** The restic repository URL (not secret; no credentials in it). */
  public readonly repository: pulumi.Output<string>;
  /** The restic repository password (secret): without it no backup can be read. */
  public readonly password: pulumi.Output<string>;
  /** The env values the backup service needs, secrets wrapped. */
  public readonly envSecrets: pulumi.Output<Partial<EnvSecrets>>;

  constructor(name: string, args: OffsiteBackupArgs, opts?: pulumi.ComponentResourceOptions) {
    super("chatwoot:index:OffsiteBackup", name, {}, opts);

    this.password = args.passwordOverride ?? this.generatePassword(name);
    const target =
      args.config.target === "storageBox" ? this.createStorageBox(name, args) : this.existingRepository(args);
    this.repository = target.repository;
    this.envSecrets = pulumi.secret(
      pulumi.all([target.envSecrets, this.password]).apply(([env, password]) => ({ ...env, RESTIC_PASSWORD: password })),
    );

    this.registerOutputs({ repository: this.repository });
  }

  private generatePassword(name: string): pulumi.Output<string> {
    // protect: the repository is encrypted with this password; a new one cannot read old backups.
    return new random.RandomPassword(`${name}-restic-password`, { length: 48, special: false }, { parent: this, protect: true })
      .result;
  }

  private createStorageBox(name: string, args: OffsiteBackupArgs) {
    // protect: the Storage Box accepts only this key; a new key would replace the box (its sshKeys
    // cannot be updated) and every backup in it with it.
    const key = new tls.PrivateKey(`${name}-storage-box-key`, { algorithm: "ED25519" }, { parent: this, protect: true });
    // The console password is never used (logins are by key); it is required by the API.
    const consolePassword = new random.RandomPassword(
      `${name}-storage-box-password`,
      { length: 32, minUpper: 2, minLower: 2, minNumeric: 2, minSpecial: 2, overrideSpecial: "-_.+" },
      { parent: this },
    );
    const box = new hcloud.StorageBox(
      `${name}-storage-box`,
      {
        name: `${args.namePrefix}-backups`,
        storageBoxType: args.config.storageBox.type,
        location: args.config.storageBox.location ?? defaultStorageBoxLocation(args.serverLocation),
        password: consolePassword.result,
        sshKeys: [key.publicKeyOpenssh],
        // SSH (SFTP) only, and only from Hetzner's network; nothing else needs to reach backups.
        accessSettings: {
          sshEnabled: true,
          reachableExternally: false,
          sambaEnabled: false,
          webdavEnabled: false,
          zfsEnabled: false,
        },
        deleteProtection: true,
        labels: args.labels,
      },
      {
        parent: this,
        // protect: it holds every backup. deleteProtection above guards against the console too.
        protect: true,
        // ignoreChanges: the default location follows the server's ("another location than the
        // server's"), and a location change replaces a box. Pinned where it was created, a server
        // that moves never drags its backups along (the move is a restore from this box). A
        // location set explicitly in backup.storageBox.location is not ignored: changing it is a
        // deliberate replacement, which protect then stops at preview.
        ignoreChanges: args.config.storageBox.location === undefined ? ["location"] : [],
      },
    );
    const repository = pulumi.interpolate`sftp://${box.username}@${box.server}:${STORAGE_BOX_SSH_PORT}/${storageBoxRepositoryPath(args.stack)}`;
    return {
      repository,
      envSecrets: pulumi.all([repository, key.privateKeyOpenssh]).apply(([url, privateKey]) => ({
        RESTIC_REPOSITORY: url,
        BACKUP_SSH_KEY: Buffer.from(privateKey).toString("base64"),
      })),
    };
  }

  private existingRepository(args: OffsiteBackupArgs) {
    const url = args.config.repository!;
    const c = args.credentials;
    const envSecrets = pulumi
      .all([c.s3AccessKeyId, c.s3SecretAccessKey, c.sftpPrivateKey])
      .apply(([keyId, secretKey, sftpKey]): Partial<EnvSecrets> =>
        url.startsWith("s3:")
          ? { BACKUP_S3_ACCESS_KEY_ID: keyId, BACKUP_S3_SECRET_ACCESS_KEY: secretKey }
          : { BACKUP_SSH_KEY: sftpKey === undefined ? undefined : Buffer.from(sftpKey).toString("base64") },
      );
    return { repository: pulumi.output(url), envSecrets };
  }
}

/** Off-site by default: a Storage Box in another location than the server. */
export function defaultStorageBoxLocation(serverLocation: string): string {
  return serverLocation === "hel1" ? "fsn1" : "hel1";
}
