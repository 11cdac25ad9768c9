/**
 * What lands on the server, derived from validated config: the env file's settings, the cloud-init
 * document and the bundle of static files (the bootstrap's settings are in chatwoot/bootstrap.ts). Shared by the program and the offline plan so both show
 * the same thing.
 */
import { repoRoot } from "../lib/repo";
import type { ChatwootConfig } from "../config/load";
import { hostLayout } from "./layout";
import { readBundleFiles, type BundleFile } from "./bundle";
import { renderCloudInit } from "./cloud-init";
import { renderMaskedEnvFile } from "../chatwoot/env";
import { type EnvSettings } from "../chatwoot/env-settings";

export function envSettingsFor(c: ChatwootConfig): EnvSettings {
  return {
    domain: c.domain,
    ...(c.helpCenterDomain === undefined ? {} : { helpCenterDomain: c.helpCenterDomain }),
    locale: c.account.locale ?? "en",
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

export function maskedEnvFileFor(c: ChatwootConfig): string {
  return renderMaskedEnvFile(envSettingsFor(c), c.smtpPassword !== undefined);
}

export function cloudInitFor(_c: ChatwootConfig): string {
  return renderCloudInit();
}

let checkoutBundle: readonly BundleFile[] | undefined;
/**
 * The bundle of this checkout, read once per process (git ls-files and the files): an evaluation
 * of the program reads it, and the tests evaluate it a few hundred times. A process that changed
 * the checkout's bundle files would keep what it read first; nothing does (the tests change copies).
 */
export function bundleFiles(): BundleFile[] {
  checkoutBundle ??= readBundleFiles(repoRoot);
  return [...checkoutBundle];
}
