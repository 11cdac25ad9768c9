/**
 * What lands on the server, derived from validated config: the env file's settings, the cloud-init
 * document and the bundle of static files. Shared by the program and the offline plan so both show
 * the same thing.
 */
import * as path from "node:path";
import type { ChatwootConfig } from "./config";
import { signInInstallationConfigs } from "./config-sign-in";
import type { BootstrapSettings } from "./deploy";
import { hostLayout } from "./layout";
import { readBundleFiles, type BundleFile } from "./render/bundle";
import { renderCloudInit } from "./render/cloud-init";
import { renderMaskedEnvFile, type EnvSettings } from "./render/env";

/** The repository root: docker/ and scripts/ are read from here. */
export const repoRoot = path.resolve(__dirname, "..");

export function envSettingsFor(c: ChatwootConfig): EnvSettings {
  return {
    domain: c.domain,
    ...(c.helpCenterDomain === undefined ? {} : { helpCenterDomain: c.helpCenterDomain }),
    locale: c.account.locale,
    dataDir: hostLayout.dataDir,
    embedAllowedOrigins: c.embedAllowedOrigins,
    adminAllowedCidrs: c.adminAllowedCidrs,
    allowPrivateNetworkWebhooks: c.allowPrivateNetworkWebhooks,
    alerts: {
      email: c.alerts.email,
      webhook: c.alertWebhookUrl !== undefined,
      webhookFormat: c.alerts.webhookFormat,
      ping: c.alertPingUrl !== undefined,
      repeatHours: c.alerts.repeatHours,
      ...(c.alerts.lockMaxMinutes === undefined ? {} : { lockMaxMinutes: c.alerts.lockMaxMinutes }),
    },
    sentry: c.sentryDsn !== undefined,
    logLevel: c.logLevel,
    extraEnv: c.extraEnv,
    ...(c.extraSecretEnvNames.length > 0 ? { extraSecretEnvNames: c.extraSecretEnvNames } : {}),
    tuning: c.tuning,
    defaultLocale: c.defaultLocale,
    googleSignIn: c.googleSignIn,
    inboundEmail: c.inboundEmail,
    storage:
      c.storage.service === "s3Compatible"
        ? { bucket: c.storage.bucket!, region: c.storage.region!, endpoint: c.storage.endpoint!, forcePathStyle: c.storage.forcePathStyle, directUploads: c.storage.directUploads }
        : undefined,
    smtp: c.smtp,
    backup: c.backup.enabled
      ? {
          repository: c.backup.target === "repository" ? c.backup.repository : undefined,
          every: c.backup.schedule,
          retention: c.backup.retention,
        }
      : undefined,
  };
}

/** What the bootstrap converges to (its secrets are added by the deployment). */
export function bootstrapSettingsFor(c: ChatwootConfig): BootstrapSettings {
  const installationConfigs: Record<string, string | boolean> = {
    ...(c.installation.name === undefined ? {} : { INSTALLATION_NAME: c.installation.name }),
    // Chatwoot reads it from its installation configs, not the env (the env line alone did nothing).
    ...(c.storage.service === "s3Compatible" ? { DIRECT_UPLOADS_ENABLED: c.storage.directUploads === true } : {}),
    ...(c.installation.brandName === undefined ? {} : { BRAND_NAME: c.installation.brandName }),
    ...signInInstallationConfigs(c),
  };
  return {
    account: c.account,
    admin: c.admin,
    inbox: c.inbox,
    ...(c.platformApp === undefined ? {} : { platformAppName: c.platformApp.name }),
    webhook: c.webhook,
    disableFeatures: c.disableFeatures,
    installationConfigs,
  };
}

export function maskedEnvFileFor(c: ChatwootConfig): string {
  return renderMaskedEnvFile(envSettingsFor(c), c.smtpPassword !== undefined);
}

export function cloudInitFor(_c: ChatwootConfig): string {
  return renderCloudInit();
}

export function bundleFiles(): BundleFile[] {
  return readBundleFiles(repoRoot);
}
