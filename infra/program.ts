/**
 * The whole stack as one function: config → components → outputs. `index.ts` exports its result;
 * the offline plan and the tests call it under Pulumi's mocks, so all three run the same code.
 */
import * as pulumi from "@pulumi/pulumi";
import { bootstrapSettingsFor } from "./chatwoot/bootstrap";
import { bundleFiles, cloudInitFor, envSettingsFor, maskedEnvFileFor } from "./server/artifacts";
import { OffsiteBackup } from "./server/backup";
import { ConfigError, loadConfig } from "./config/load";
import { stackNames } from "./config/names";
import { ChatwootDeployment } from "./server/deploy";
import { HetznerHost } from "./server/host";
import type { BundleFile } from "./server/bundle";
import { ChatwootSecrets } from "./chatwoot/secrets";
import { envSecretsFor, secretInstallationConfigsFor } from "./chatwoot/env-secrets";
import { kubernetesStack, type KubernetesStackOutputs } from "./kubernetes/stack";
import { clusterStack, type ClusterStackOutputs } from "./cluster/stack";

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

export function chatwootStack(overrides: StackOverrides = {}): StackOutputs | KubernetesStackOutputs | ClusterStackOutputs {
  const config = loadConfig();
  for (const warning of config.warnings) pulumi.log.warn(warning);

  const stack = pulumi.getStack();
  const names = stackNames(stack);
  if ("problem" in names) throw new ConfigError([names.problem]);
  if (config.target === "kubernetes") return kubernetesStack(config, stack, names.label);
  if (config.target === "cluster") return clusterStack(config, names.namePrefix, { app: "chatwoot", stack: names.label, "managed-by": "pulumi" });
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
