/**
 * The remote steps that turn a fresh server into a working Chatwoot, over SSH with
 * @pulumi/command: wait-ready → upload → write-env → deploy → bootstrap → verify.
 *
 * Re-run rules (what a preview shows):
 *   - a new server (server id in `triggers`) replaces, and so re-runs, every step;
 *   - content changes are plain input changes (hashes and the version in the command text, secrets
 *     in stdin), so only the steps that depend on them update:
 *       bundle file → upload and the steps that run it (step-files.ts)
 *       env value → write-env, deploy, verify    version → deploy, bootstrap, verify
 *       bootstrap field → bootstrap, verify
 *       operators' SSH keys → wait-ready only            server type (a resize) → verify
 *   - nothing changed → nothing runs.
 * No step has a `delete` script, so a dead old server can never block a rebuild.
 *
 * Over ~300 lines on purpose: one component whose steps depend on one another in order; the
 * bootstrap's settings and result are in chatwoot/bootstrap.ts, the shell text in commands.ts.
 */
import * as command from "@pulumi/command";
import * as pulumi from "@pulumi/pulumi";
import type * as tls from "@pulumi/tls";
import * as path from "node:path";
import { hostLayout, volumeDevicePath } from "./layout";
import { manifestSummary, renderBundle, type BundleFile } from "./bundle";
import {
  renderAdoptCommand,
  renderAdoptStageCommand,
  renderBootstrapCommand,
  renderDeployCommand,
  renderRestoreCommand,
  renderUploadCommand,
  renderVerifyCommand,
  renderWaitReadyCommand,
  renderWriteEnvCommand,
} from "./commands";
import { renderEnvFile } from "../chatwoot/env";
import { type EnvSecrets, type EnvSettings } from "../chatwoot/env-settings";
import { sha256 } from "../lib/hash";
import { stepFilesHash } from "./step-files";
import { bootstrapSettingsHash, parseBootstrapResult, renderBootstrapInput, type BootstrapResult, type BootstrapSettings } from "../chatwoot/bootstrap";

export interface ChatwootDeploymentArgs {
  /** Address the steps connect to: the primary IPv4, stable across server rebuilds. */
  host: pulumi.Input<string>;
  /** The primary IPv6, for verify's DNS advice. */
  ipv6: pulumi.Input<string>;
  /** The server's id: when it changes (a new server), every step runs again. */
  serverId: pulumi.Input<string>;
  /** The data volume's id, mounted by device id. */
  volumeId: pulumi.Input<string>;
  /** The data volume's size: a larger one re-runs wait-ready, which grows the filesystem. */
  volumeSizeGb: number;
  /** The stack's deploy key: the steps log in as root with it. */
  deployKey: tls.PrivateKey;
  /** Operators' public keys, written to root's authorized_keys next to the deploy key. */
  sshPublicKeys: string[];
  /** Static files copied to the host (docker/, scripts/). */
  bundle: BundleFile[];
  /** Non-secret env settings. */
  envSettings: EnvSettings;
  /** The env file with secrets masked, shown in the write-env step's command text. */
  maskedEnvFile: string;
  /** Secret env values. */
  envSecrets: pulumi.Input<EnvSecrets>;
  /** Chatwoot release tag, e.g. v4.15.1. */
  chatwootVersion: string;
  /** The server type: a resize (a power cycle) re-runs verify. */
  serverType: string;
  /** What the bootstrap creates or updates. */
  bootstrap: BootstrapSettings;
  /** Admin password, used only when the admin is first created. */
  adminPassword: pulumi.Input<string>;
  /** Signing secret set on the account webhook. */
  webhookSecret: pulumi.Input<string>;
  /**
   * Secret installation configs the bootstrap sets, by name (Captain's CAPTAIN_OPEN_AI_API_KEY, the
   * sign-in clients' secrets); they reach it only on stdin.
   */
  secretInstallationConfigs?: Record<string, pulumi.Input<string>>;
  /** Backup snapshot ("latest" or an id) to restore into an empty database before migrating. */
  restoreFrom?: string;
  /** Another installation's data to load into the empty database before migrating (chatwoot:adopt). */
  adopt?: AdoptArgs;
  /** Resources that must exist before the first step (e.g. the volume attachment). */
  readyAfter: pulumi.Resource[];
}

/** Where an adopted installation's data comes from: files pulumi up uploads, or URLs the server downloads. */
export interface AdoptArgs {
  /** Local pg_dump file. */
  databaseFile?: string;
  /** Local tar archive of /app/storage. */
  storageFile?: string;
  /** The attachments already live in the configured bucket. */
  storageInBucket: boolean;
  /** Download URLs (secret: they may carry a signature). */
  databaseUrl?: pulumi.Input<string>;
  storageUrl?: pulumi.Input<string>;
}

export class ChatwootDeployment extends pulumi.ComponentResource {
  public readonly accountId: pulumi.Output<number>;
  public readonly inboxId: pulumi.Output<number>;
  public readonly inboxIdentifier: pulumi.Output<string>;
  public readonly webhookId: pulumi.Output<number | undefined>;
  public readonly apiAccessToken: pulumi.Output<string>;
  public readonly platformToken: pulumi.Output<string>;

  private readonly args: ChatwootDeploymentArgs;
  private readonly connection: command.types.input.remote.ConnectionArgs;
  private readonly paths = { appDir: hostLayout.appDir, dataDir: hostLayout.dataDir };

  constructor(name: string, args: ChatwootDeploymentArgs, opts?: pulumi.ComponentResourceOptions) {
    super("chatwoot:index:ChatwootDeployment", name, {}, opts);
    this.args = args;
    this.connection = {
      host: args.host,
      user: "root",
      // Never an operator's key: operators come and go, and a connection change would re-run
      // every step. A fresh server needs a minute or two before sshd answers: retry ~10 minutes.
      privateKey: args.deployKey.privateKeyOpenssh,
      dialErrorLimit: 60,
      perDialTimeout: 10,
    };

    const bundle = renderBundle(args.bundle);
    const maskedEnv = args.maskedEnvFile;
    const envFile = pulumi.secret(pulumi.output(args.envSecrets).apply((s) => renderEnvFile(args.envSettings, s)));

    const ready = this.waitReady(name);
    const upload = this.upload(name, bundle, ready);
    const writeEnv = this.writeEnv(name, envFile, maskedEnv, ready);
    const restore = args.restoreFrom ? [this.restore(name, args.restoreFrom, [upload, writeEnv])] : [];
    const adopt = args.adopt ? [this.adoptExisting(name, args.adopt, ready, [upload, writeEnv])] : [];
    // Each step is keyed on the files it runs: editing verify.sh re-runs verify, not a deploy.
    // A new adoption migrates the loaded database and converges it: deploy, bootstrap and verify
    // run again whenever the adopt step is replaced.
    const deploy = this.deploy(
      name,
      { bundleHash: stepFilesHash(args.bundle, "deploy"), maskedEnvHash: sha256(maskedEnv), envFile },
      [upload, writeEnv, ...restore, ...adopt],
      adopt,
    );
    const bootstrap = this.runBootstrap(name, deploy, adopt);
    const result = bootstrap.stdout.apply(parseBootstrapResult);
    // Verify checks what deploy produced too: it re-runs with deploy's files and its own.
    const verifyFiles = sha256(stepFilesHash(args.bundle, "deploy") + stepFilesHash(args.bundle, "verify"));
    this.verify(name, { bundleHash: verifyFiles, maskedEnvHash: sha256(maskedEnv), envFile, result }, bootstrap, adopt);

    // Ids are not secret, though they come from a secret stdout.
    this.accountId = pulumi.unsecret(result.apply((r) => r.account_id));
    this.inboxId = pulumi.unsecret(result.apply((r) => r.inbox_id));
    this.inboxIdentifier = pulumi.unsecret(result.apply((r) => r.inbox_identifier));
    this.webhookId = pulumi.unsecret(result.apply((r) => r.webhook_id ?? undefined));
    this.apiAccessToken = pulumi.secret(result.apply((r) => r.api_access_token));
    this.platformToken = pulumi.secret(result.apply((r) => r.platform_token));
    this.registerOutputs({ accountId: this.accountId, inboxId: this.inboxId });
  }

  /** Options shared by every step: a child of this component, re-created on a new server. */
  private step(
    name: string,
    args: Omit<command.remote.CommandArgs, "connection" | "triggers" | "addPreviousOutputInEnv">,
    dependsOn: pulumi.Resource[],
    opts: { secretOutput: boolean; rerunWhenReplaced?: pulumi.CustomResource[] },
  ): command.remote.Command {
    return new command.remote.Command(
      name,
      {
        ...args,
        connection: this.connection,
        // Only "new host" replaces a step; every content change is an in-place update. A step
        // that must run again after another is replaced (adopting anew) names it here.
        triggers: [this.args.serverId, ...(opts.rerunWhenReplaced ?? []).map((r) => r.id)],
        // Default sshd refuses Setenv of PULUMI_COMMAND_*; the previous output is never needed.
        addPreviousOutputInEnv: false,
        ...(opts.secretOutput ? { logging: "none" as const } : {}),
      },
      {
        parent: this,
        dependsOn,
        // Output that may carry secrets is stored encrypted (the provider never marks it).
        ...(opts.secretOutput ? { additionalSecretOutputs: ["stdout", "stderr"] } : {}),
      },
    );
  }

  private waitReady(name: string): command.remote.Command {
    const device = pulumi.output(this.args.volumeId).apply(volumeDevicePath);
    return this.step(
      `${name}-wait-ready`,
      {
        create: device.apply((volumeDevice) =>
          renderWaitReadyCommand({ ...this.paths, volumeDevice, volumeSizeGb: this.args.volumeSizeGb }),
        ),
        stdin: this.args.deployKey.publicKeyOpenssh.apply(
          (deployKey) => [...this.args.sshPublicKeys.map((k) => k.trim()), `${deployKey.trim()} chatwoot-deploy`].join("\n") + "\n",
        ),
      },
      this.args.readyAfter,
      { secretOutput: false },
    );
  }

  private upload(name: string, bundle: ReturnType<typeof renderBundle>, ready: pulumi.Resource): command.remote.Command {
    return this.step(
      `${name}-upload`,
      { create: renderUploadCommand(this.paths, bundle, manifestSummary(this.args.bundle)), stdin: bundle.payload },
      [ready],
      { secretOutput: false },
    );
  }

  private writeEnv(name: string, envFile: pulumi.Output<string>, maskedEnv: string, ready: pulumi.Resource): command.remote.Command {
    return this.step(`${name}-write-env`, { create: renderWriteEnvCommand(this.paths, maskedEnv), stdin: envFile }, [ready], {
      secretOutput: true,
    });
  }

  private restore(name: string, snapshot: string, after: pulumi.Resource[]): command.remote.Command {
    return this.step(
      `${name}-restore`,
      { create: renderRestoreCommand(this.paths, { snapshot }) },
      after,
      // restic and pg_restore progress; no secrets (they come from the .env on the host).
      { secretOutput: false },
    );
  }

  /**
   * Adoption: the files are copied with CopyToRemote (SFTP; state keeps only their hash, never the
   * content), then adopt.sh loads them into the empty database. URLs travel on stdin.
   */
  private adoptExisting(name: string, a: AdoptArgs, ready: pulumi.Resource, after: pulumi.Resource[]): command.remote.Command {
    const stage = this.step(`${name}-adopt-stage`, { create: renderAdoptStageCommand(this.paths) }, [ready], { secretOutput: false });
    const files: [string, string | undefined][] = [
      ["database", a.databaseFile],
      ["storage", a.storageInBucket ? undefined : a.storageFile],
    ];
    const copies = files.flatMap(([what, file]) =>
      file === undefined
        ? []
        : [
            new command.remote.CopyToRemote(
              `${name}-adopt-${what}-file`,
              {
                connection: this.connection,
                source: new pulumi.asset.FileAsset(file),
                // An existing directory: the file lands in it under its own name.
                remotePath: `${this.paths.dataDir}/adopt`,
                triggers: [this.args.serverId],
              },
              { parent: this, dependsOn: [stage] },
            ),
          ],
    );
    const urls = pulumi.all([a.databaseUrl, a.storageUrl]).apply(([database, storage]) =>
      [database === undefined ? "" : `database ${database}\n`, storage === undefined ? "" : `storage ${storage}\n`].join(""),
    );
    const urlsOnStdin = a.databaseUrl !== undefined || a.storageUrl !== undefined;
    return this.step(
      `${name}-adopt`,
      {
        create: renderAdoptCommand(this.paths, {
          version: this.args.chatwootVersion,
          databaseFile: a.databaseFile === undefined ? undefined : path.basename(a.databaseFile),
          storageFile: a.storageFile === undefined || a.storageInBucket ? undefined : path.basename(a.storageFile),
          storageInBucket: a.storageInBucket,
          urlsOnStdin,
        }),
        ...(urlsOnStdin ? { stdin: pulumi.secret(urls) } : {}),
      },
      [...after, ...copies],
      // pg_restore and tar progress; the URLs are never printed. Files uploaded again (starting
      // over, docs/migrate-existing.md) are adopted again.
      { secretOutput: false, rerunWhenReplaced: copies },
    );
  }

  private deploy(
    name: string,
    d: { bundleHash: string; maskedEnvHash: string; envFile: pulumi.Output<string> },
    after: pulumi.Resource[],
    rerunWhenReplaced: pulumi.CustomResource[],
  ): command.remote.Command {
    return this.step(
      `${name}-deploy`,
      {
        create: renderDeployCommand(this.paths, { version: this.args.chatwootVersion, serverType: this.args.serverType, ...d }),
        // The env file's hash: a rotated secret changes it (and re-deploys) without showing anything.
        stdin: pulumi.secret(d.envFile.apply((e) => `${sha256(e)}\n`)),
      },
      after,
      // Deploy output (pulls, migrations, health) is for operators; it carries no secrets.
      { secretOutput: false, rerunWhenReplaced },
    );
  }

  private runBootstrap(name: string, deploy: pulumi.Resource, rerunWhenReplaced: pulumi.CustomResource[]): command.remote.Command {
    const b = this.args.bootstrap;
    const input = pulumi
      .all([this.args.adminPassword, this.args.webhookSecret, pulumi.all(this.args.secretInstallationConfigs ?? {})])
      .apply(([password, webhookSecret, secretConfigs]) => renderBootstrapInput(b, { password, webhookSecret, secretConfigs }));
    return this.step(
      `${name}-bootstrap`,
      {
        create: renderBootstrapCommand(this.paths, {
          configHash: bootstrapSettingsHash(b),
          // A new release's migrations can switch features back on for every account, and new
          // convergence logic must run too: both re-run the bootstrap.
          version: this.args.chatwootVersion,
          scriptHash: stepFilesHash(this.args.bundle, "bootstrap"),
        }),
        stdin: pulumi.secret(input),
      },
      [deploy],
      // stdout carries the API and platform tokens.
      { secretOutput: true, rerunWhenReplaced },
    );
  }

  private verify(
    name: string,
    v: { bundleHash: string; maskedEnvHash: string; envFile: pulumi.Output<string>; result: pulumi.Output<BootstrapResult> },
    bootstrap: pulumi.Resource,
    rerunWhenReplaced: pulumi.CustomResource[],
  ): command.remote.Command {
    const a = this.args;
    const checked = sha256(
      // The server type too: a resize power-cycles the server, and Chatwoot must be seen back up.
      JSON.stringify([v.bundleHash, v.maskedEnvHash, a.chatwootVersion, bootstrapSettingsHash(a.bootstrap), a.serverType]),
    );
    const create = pulumi.all([a.host, a.ipv6]).apply(([v4, v6]) =>
      renderVerifyCommand(
        this.paths,
        {
          domain: a.envSettings.domain,
          helpCenterDomain: a.envSettings.helpCenterDomain,
          version: a.chatwootVersion,
          frameOrigins: a.envSettings.embedAllowedOrigins,
          inputsHash: checked,
          backupStateDir: a.envSettings.backup ? `${this.paths.dataDir}/backup` : undefined,
        },
        { v4, v6 },
      ),
    );
    const probe = pulumi.all([v.result, v.envFile]).apply(([r, env]) =>
      JSON.stringify({
        api_token: r.api_access_token,
        account_id: r.account_id,
        inbox_id: r.inbox_id,
        webhook_url: a.bootstrap.webhook?.url ?? null,
        // Rotated secrets change the env but nothing above; this makes verify re-run with deploy.
        env_sha256: sha256(env),
      }),
    );
    return this.step(`${name}-verify`, { create, stdin: pulumi.secret(probe) }, [bootstrap], { secretOutput: true, rerunWhenReplaced });
  }
}
