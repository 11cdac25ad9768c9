/**
 * The whole stack as one function: config → components → outputs. `index.ts` exports its result;
 * the offline plan and the tests call it under Pulumi's mocks, so all three run the same code.
 */
import * as pulumi from "@pulumi/pulumi";
import { INBOUND_EMAIL_SECRET_ENV } from "./facts/chatwoot";
import { bootstrapSettingsFor } from "./chatwoot/bootstrap";
import { bundleFiles, cloudInitFor, envSettingsFor, maskedEnvFileFor } from "./server/artifacts";
import { OffsiteBackup } from "./server/backup";
import { ConfigError, loadConfig, type ChatwootConfig } from "./config/load";
import { SIGN_IN_SECRET_INSTALLATION_CONFIGS } from "./config/sign-in";
import { stackNames } from "./config/names";
import { ChatwootDeployment } from "./server/deploy";
import { HetznerHost } from "./server/host";
import type { BundleFile } from "./server/bundle";
import type { EnvSecrets } from "./chatwoot/env-settings";
import { ChatwootSecrets } from "./chatwoot/secrets";

export interface StackOutputs {
  url: pulumi.Output<string>;
  ipv4: pulumi.Output<string>;
  ipv6: pulumi.Output<string>;
  accountId: pulumi.Output<number>;
  inboxId: pulumi.Output<number>;
  inboxIdentifier: pulumi.Output<string>;
  webhookId: pulumi.Output<number | undefined>;
  /** The restic repository backups go to; absent when backups are disabled. */
  backupRepository: pulumi.Output<string | undefined>;
  /** Secret outputs. */
  adminPassword: pulumi.Output<string>;
  apiAccessToken: pulumi.Output<string>;
  platformToken: pulumi.Output<string>;
  webhookSecret: pulumi.Output<string>;
  /** restic repository password: keep a copy outside Pulumi (docs/disaster-recovery.md). */
  backupPassword: pulumi.Output<string | undefined>;
}

/** Test seams; `pulumi up` uses the defaults. */
export interface StackOverrides {
  /** Bundle files instead of those read from docker/ and scripts/. */
  bundle?: BundleFile[];
}

export function chatwootStack(overrides: StackOverrides = {}): StackOutputs {
  const config = loadConfig();
  for (const warning of config.warnings) pulumi.log.warn(warning);

  const stack = pulumi.getStack();
  const names = stackNames(stack);
  if ("problem" in names) throw new ConfigError([names.problem]);
  const namePrefix = names.namePrefix;
  const labels = { app: "chatwoot", stack: names.label, "managed-by": "pulumi" };

  const secrets = new ChatwootSecrets("chatwoot", {
    overrides: config.overrides,
    adminPassword: config.adminPassword,
  });

  const host = new HetznerHost("chatwoot", {
    namePrefix,
    location: config.location,
    serverType: config.serverType,
    image: config.image,
    volumeSizeGb: config.volumeSizeGb,
    sshAllowedCidrs: config.sshAllowedCidrs,
    serverBackups: config.serverBackups,
    deleteProtection: config.deleteProtection,
    domain: config.domain,
    dnsZone: config.dnsZone,
    helpCenterDomain: config.helpCenterDomain,
    userData: cloudInitFor(config),
    labels,
  });

  const backup = config.backup.enabled
    ? new OffsiteBackup("chatwoot-backup", {
        config: config.backup,
        credentials: config.backupCredentials,
        passwordOverride: config.overrides.backupPassword,
        serverLocation: config.location,
        namePrefix,
        stack,
        labels,
      })
    : undefined;

  const deployment = new ChatwootDeployment("chatwoot", {
    host: host.ipv4,
    ipv6: host.ipv6,
    serverId: host.serverId,
    volumeId: host.volumeId,
    volumeSizeGb: config.volumeSizeGb,
    deployKey: host.deployKey,
    sshPublicKeys: config.sshPublicKeys,
    bundle: overrides.bundle ?? bundleFiles(),
    envSettings: envSettingsFor(config),
    maskedEnvFile: maskedEnvFileFor(config),
    envSecrets: envSecretsFor(config, secrets, backup),
    chatwootVersion: config.chatwootVersion,
    serverType: config.serverType,
    bootstrap: bootstrapSettingsFor(config),
    adminPassword: secrets.adminPassword,
    webhookSecret: secrets.webhookSecret,
    secretInstallationConfigs: secretInstallationConfigsFor(config),
    restoreFrom: config.restoreFrom,
    adopt: config.adopt && {
      databaseFile: config.adopt.database,
      storageFile: config.adopt.storage === "bucket" ? undefined : config.adopt.storage,
      storageInBucket: config.adopt.storage === "bucket",
      databaseUrl: config.adoptUrls.database,
      storageUrl: config.adoptUrls.storage,
    },
    readyAfter: [host.volumeAttachment, host.server],
  });

  return {
    url: pulumi.output(`https://${config.domain}`),
    ipv4: host.ipv4,
    ipv6: host.ipv6,
    accountId: deployment.accountId,
    inboxId: deployment.inboxId,
    inboxIdentifier: deployment.inboxIdentifier,
    webhookId: deployment.webhookId,
    adminPassword: pulumi.secret(secrets.adminPassword),
    apiAccessToken: deployment.apiAccessToken,
    platformToken: deployment.platformToken,
    webhookSecret: pulumi.secret(secrets.webhookSecret),
    backupRepository: backup ? backup.repository : pulumi.output(undefined),
    backupPassword: pulumi.secret(backup ? backup.password : pulumi.output(undefined)),
  };
}

/**
 * Secret installation configs the bootstrap sets. A sign-in secret only counts with its client id
 * (a lone secret is only warned about), so the two always arrive together.
 */
function secretInstallationConfigsFor(config: ChatwootConfig): Record<string, pulumi.Output<string>> {
  const pairs: [string, pulumi.Output<string> | undefined][] = [
    ["CAPTAIN_OPEN_AI_API_KEY", config.captainOpenAiApiKey],
    [SIGN_IN_SECRET_INSTALLATION_CONFIGS.googleOauthClientSecret, config.googleSignIn && config.googleOauthClientSecret],
    [SIGN_IN_SECRET_INSTALLATION_CONFIGS.microsoftOauthClientSecret, config.microsoftSignIn && config.microsoftOauthClientSecret],
  ];
  return Object.fromEntries(pairs.filter((e): e is [string, pulumi.Output<string>] => e[1] !== undefined));
}

/**
 * The secrets the env file holds, one named entry each: a new secret is one line here (and its
 * name in EnvSecrets). The backup component contributes its own entries.
 */
function envSecretsFor(config: ChatwootConfig, secrets: ChatwootSecrets, backup: OffsiteBackup | undefined): pulumi.Output<EnvSecrets> {
  const named: Record<string, pulumi.Input<string | Record<string, string>> | undefined> = {
    SECRET_KEY_BASE: secrets.secretKeyBase,
    ACTIVE_RECORD_ENCRYPTION_PRIMARY_KEY: secrets.encryptionPrimaryKey,
    ACTIVE_RECORD_ENCRYPTION_DETERMINISTIC_KEY: secrets.encryptionDeterministicKey,
    ACTIVE_RECORD_ENCRYPTION_KEY_DERIVATION_SALT: secrets.encryptionKeyDerivationSalt,
    POSTGRES_PASSWORD: secrets.postgresPassword,
    REDIS_PASSWORD: secrets.redisPassword,
    SMTP_PASSWORD: config.smtpPassword,
    ALERT_WEBHOOK_URL: config.alertWebhookUrl,
    ALERT_PING_URL: config.alertPingUrl,
    SENTRY_DSN: config.sentryDsn,
    GOOGLE_OAUTH_CLIENT_SECRET: config.googleOauthClientSecret,
    ...(config.inboundEmail ? { [INBOUND_EMAIL_SECRET_ENV[config.inboundEmail.service]]: config.inboundEmailSecret } : {}),
    STORAGE_ACCESS_KEY_ID: config.storageCredentials.accessKeyId,
    STORAGE_SECRET_ACCESS_KEY: config.storageCredentials.secretAccessKey,
    EXTRA_SECRET_ENV: config.extraSecretEnv,
  };
  return pulumi.all([pulumi.all(named), backup?.envSecrets]).apply(([values, backupEnv]) => ({
    ...(Object.fromEntries(Object.entries(values).filter(([, v]) => v !== undefined)) as unknown as EnvSecrets),
    ...backupEnv,
  }));
}
