/**
 * Test fixtures: a valid production-like configuration and helpers to vary it. The key pair is a
 * throwaway generated for these tests; it protects nothing.
 */
import type { EnvSecrets, EnvSettings } from "../chatwoot/env-settings";

export const TEST_PUBLIC_KEY =
  "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIPv3C+70TnPFt/FLoCqrUgPV65VmbSsZoh325x67VlUX test-only";

/** Not a usable key: the right shape for validation only. */
export const TEST_PRIVATE_KEY = [
  "-----BEGIN OPENSSH PRIVATE KEY-----",
  "dGhpcyBpcyBub3QgYSByZWFsIGtleTsgaXQgb25seSBoYXMgdGhlIHJpZ2h0IHNoYXBlIGZvciB0ZXN0cw==",
  "-----END OPENSSH PRIVATE KEY-----",
  "",
].join("\n");

/** Env renderer input exercising every branch; the secrets hold characters shells care about. */
export const envSettings: EnvSettings = {
  domain: "chat.example.com",
  locale: "de",
  dataDir: "/srv/chatwoot",
  embedAllowedOrigins: ["https://app.example.com", "https://admin.example.com"],
  allowPrivateNetworkWebhooks: true,
  alerts: { email: ["ops@example.com"], webhook: true, webhookFormat: "slack", ping: true, repeatHours: 6 },
  sentry: true,
  smtp: {
    address: "smtp.example.com",
    port: 587,
    username: "mailer",
    senderEmail: "Support <support@example.com>",
    authentication: "login",
    security: "starttls",
  },
  backup: {
    every: { database: 900, files: 3600, check: 604800 },
    retention: { hourly: 48, daily: 14, weekly: 8, monthly: 12 },
  },
};

export const envSecrets: EnvSecrets = {
  SECRET_KEY_BASE: "k".repeat(128),
  ACTIVE_RECORD_ENCRYPTION_PRIMARY_KEY: "PrimaryKey0123456789abcdefghijkl",
  ACTIVE_RECORD_ENCRYPTION_DETERMINISTIC_KEY: "Determin0123456789abcdefghijklmn",
  ACTIVE_RECORD_ENCRYPTION_KEY_DERIVATION_SALT: "SaltSalt0123456789abcdefghijklmn",
  POSTGRES_PASSWORD: "pg-Pass$word`with\\odd chars",
  REDIS_PASSWORD: "redisPassword123",
  SMTP_PASSWORD: "smtp pass $HOME",
  RESTIC_REPOSITORY: "sftp://u123456@u123456.your-storagebox.de:23/chatwoot-production",
  RESTIC_PASSWORD: "restic-Password-$(whoami)",
  BACKUP_SSH_KEY: Buffer.from("not a key, only the shape of one").toString("base64"),
  ALERT_WEBHOOK_URL: "https://hooks.example.com/services/T000/B000/webhook-token-4c1d",
  ALERT_PING_URL: "https://hc-ping.example.com/ping-uuid-93be",
  SENTRY_DSN: "https://sentry-key-5e2a@o0.ingest.example.com/42",
};

/** Public config keys (without the namespace), as JSON-able values. */
export type PublicValues = Record<string, unknown>;

export const baseConfig: PublicValues = {
  domain: "chat.example.com",
  sshPublicKeys: [TEST_PUBLIC_KEY],
  sshAllowedCidrs: ["198.51.100.0/24"],
  account: { name: "Acme Support" },
  admin: { email: "ops@example.com", name: "Ops" },
  inbox: { name: "Escalations" },
  webhook: { url: "https://app.example.com/hooks/chatwoot", subscriptions: ["message_created", "conversation_created"] },
  embedAllowedOrigins: ["https://app.example.com"],
  smtp: { address: "smtp.example.com", username: "chatwoot", senderEmail: "Support <support@example.com>" },
};

export const baseSecrets: Record<string, string> = {
  smtpPassword: "smtp-password-value-7f3a",
};

/** Pulumi's config map ("chatwoot:key" → string) and secret key list for given values. */
export function pulumiConfig(
  values: PublicValues = baseConfig,
  secrets: Record<string, string> = baseSecrets,
): { config: Record<string, string>; secretKeys: string[] } {
  const config: Record<string, string> = {};
  for (const [k, v] of Object.entries(values)) {
    if (v === undefined) continue;
    config[`chatwoot:${k}`] = typeof v === "string" ? v : JSON.stringify(v);
  }
  for (const [k, v] of Object.entries(secrets)) config[`chatwoot:${k}`] = v;
  return { config, secretKeys: Object.keys(secrets).map((k) => `chatwoot:${k}`) };
}

/** A Kubernetes-target stack exercising every part of it; the secrets are sentinels a leak test looks for. */
export const kubernetesConfig = {
  target: "kubernetes",
  domain: "chat.example.com",
  account: { name: "Acme Support" },
  admin: { email: "ops@example.com", name: "Ops" },
  webhook: { url: "https://app.example.com/hooks/chatwoot" },
  embedAllowedOrigins: ["https://app.example.com"],
  adminAllowedCidrs: ["198.51.100.0/24"],
  smtp: { address: "smtp.example.com", username: "chatwoot", senderEmail: "Support <support@example.com>" },
  storage: { service: "s3Compatible", bucket: "acme-chatwoot", region: "fsn1", endpoint: "https://fsn1.your-objectstorage.com" },
  kubernetes: { postgresBackup: { bucket: "acme-chatwoot-db", endpoint: "https://fsn1.your-objectstorage.com" } },
};

export const kubernetesSecrets = {
  smtpPassword: "smtp-Password-Sentinel-1",
  storageAccessKeyId: "StorageKeySentinel2",
  storageSecretAccessKey: "storage-Secret-Sentinel-3",
  backupS3AccessKeyId: "BackupKeySentinel4",
  backupS3SecretAccessKey: "backup-Secret-Sentinel-5",
  sentryDsn: "https://sentry-Sentinel-6@o0.ingest.example.com/1",
};
