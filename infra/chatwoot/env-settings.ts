/**
 * What the env file is rendered from: the non-secret settings (derived from the config) and the
 * secrets, each by the variable name Chatwoot or the host reads.
 */
import type { INBOUND_EMAIL_SERVICES } from "../facts/chatwoot";

type InboundEmailService = (typeof INBOUND_EMAIL_SERVICES)[number];

/** Non-secret settings that shape the env file. */
export interface EnvSettings {
  /** Public hostname, e.g. chat.example.com. */
  domain: string;
  /** The help center's own hostname (HELPCENTER_URL), served by Caddy too. */
  helpCenterDomain?: string;
  /** Default UI locale for new accounts. */
  locale: string;
  /** Host directory of the data volume. */
  dataDir: string;
  /** Origins allowed to frame the dashboard; empty means "any". */
  embedAllowedOrigins: string[];
  /** Lets webhooks reach private addresses (SAFE_FETCH_ALLOW_PRIVATE_NETWORK). */
  allowPrivateNetworkWebhooks: boolean;
  /** Off-site backups; absent means disabled. */
  backup?: BackupEnvSettings;
  /** The host watchdog's alert channels (their URLs are secrets, given with the others). */
  alerts: AlertEnvSettings;
  /** Whether SENTRY_DSN is set: Chatwoot's own error tracking. */
  sentry: boolean;
  /** Rails' LOG_LEVEL. @default "info" */
  logLevel?: string;
  /** chatwoot:adminAllowedCidrs: who reaches /super_admin and /monitoring/sidekiq (unset: everyone). */
  adminAllowedCidrs?: string[];
  /** chatwoot:extraEnv: more variables for Rails and Sidekiq (the config refuses owned names). */
  extraEnv?: Record<string, string>;
  /** The names of chatwoot:extraSecretEnv (their values are secrets, in EnvSecrets.EXTRA_SECRET_ENV). */
  extraSecretEnvNames?: string[];
  /** chatwoot:tuning: values that replace what scripts/tuning.sh computes on the host. */
  tuning?: TuningOverrides;
  /** DEFAULT_LOCALE when it differs from the account's locale. */
  defaultLocale?: string;
  /** Sign in with Google: its client id (the secret is GOOGLE_OAUTH_CLIENT_SECRET). */
  googleSignIn?: { clientId: string };
  /** Inbound e-mail (Action Mailbox): the domain replies go to and the ingress service. */
  inboundEmail?: { domain: string; service: InboundEmailService };
  /** Attachments in an S3-compatible bucket (chatwoot:storage); absent means the data volume. */
  storage?: { bucket: string; region: string; endpoint: string; forcePathStyle: boolean; directUploads: boolean };
  /** Outgoing mail; absent means Chatwoot cannot send mail. */
  smtp?: {
    address: string;
    port: number;
    username?: string;
    domain?: string;
    senderEmail: string;
    authentication: string;
    /** STARTTLS (587), implicit TLS (465) or none. */
    security: "starttls" | "tls" | "none";
  };
}

/** Alerts of the host's watchdog (scripts/watchdog.py). */
export interface AlertEnvSettings {
  /** Recipients of alert mail, sent through the SMTP settings. */
  email: string[];
  /** Whether ALERT_WEBHOOK_URL is set, and the body it gets. */
  webhook: boolean;
  webhookFormat: "slack" | "json";
  /** Whether ALERT_PING_URL is set (healthchecks.io style). */
  ping: boolean;
  /** A failure still failing is told again at most this often. */
  repeatHours: number;
  /** Minutes the host lock may be held before alerts are no longer held back (unset: the watchdog's 30). */
  lockMaxMinutes?: number;
}

/** Overrides of scripts/tuning.sh, by the name it prints (memory in MB). */
export interface TuningOverrides {
  webConcurrency?: number;
  railsMaxThreads?: number;
  sidekiqConcurrency?: number;
  postgres: { sharedBuffersMb?: number; effectiveCacheSizeMb?: number; randomPageCost?: number; workMemMb?: number; maintenanceWorkMemMb?: number; maxConnections?: number };
  memoryLimitsMb: { rails?: number; sidekiq?: number; postgres?: number; redis?: number };
}

/** No alert channel (the watchdog still runs and records what it sees). */
export const NO_ALERTS: AlertEnvSettings = { email: [], webhook: false, webhookFormat: "slack", ping: false, repeatHours: 6 };

/** Backups by the compose `backup` service (docker/backup/chatwoot-backup). */
export interface BackupEnvSettings {
  /** restic repository URL; absent when it is the stack's Storage Box, known only once it exists. */
  repository?: string;
  /** How often each job runs, in seconds. */
  every: { database: number; files: number; check: number };
  /** How many snapshots `restic forget` keeps per period. */
  retention: { hourly: number; daily: number; weekly: number; monthly: number };
}

/**
 * Values known only at deploy time, by env variable name: the secrets, and the Storage Box's
 * repository URL. Optional ones are omitted when absent.
 */
export interface EnvSecrets {
  SECRET_KEY_BASE: string;
  ACTIVE_RECORD_ENCRYPTION_PRIMARY_KEY: string;
  ACTIVE_RECORD_ENCRYPTION_DETERMINISTIC_KEY: string;
  ACTIVE_RECORD_ENCRYPTION_KEY_DERIVATION_SALT: string;
  POSTGRES_PASSWORD: string;
  REDIS_PASSWORD: string;
  SMTP_PASSWORD?: string;
  /** The Storage Box's repository URL (not secret, but only known once the box exists). */
  RESTIC_REPOSITORY?: string;
  RESTIC_PASSWORD?: string;
  /** Private key for an sftp: repository, base64 of the OpenSSH/PEM text (env values are one line). */
  BACKUP_SSH_KEY?: string;
  BACKUP_S3_ACCESS_KEY_ID?: string;
  BACKUP_S3_SECRET_ACCESS_KEY?: string;
  ALERT_WEBHOOK_URL?: string;
  ALERT_PING_URL?: string;
  SENTRY_DSN?: string;
  GOOGLE_OAUTH_CLIENT_SECRET?: string;
  /** The ingress credential, under the name its service reads (INBOUND_EMAIL_SECRET_ENV). */
  RAILS_INBOUND_EMAIL_PASSWORD?: string;
  MAILGUN_INGRESS_SIGNING_KEY?: string;
  MANDRILL_INGRESS_API_KEY?: string;
  /** The attachments bucket's credentials (storage.yml's s3_compatible service). */
  STORAGE_ACCESS_KEY_ID?: string;
  STORAGE_SECRET_ACCESS_KEY?: string;
  /** chatwoot:extraSecretEnv: secrets Chatwoot reads only from its env (FB_APP_SECRET, VAPID_PRIVATE_KEY, …), by name. */
  EXTRA_SECRET_ENV?: Record<string, string>;
}

/** The names in EnvSecrets whose values are secret (all but RESTIC_REPOSITORY). */
export const ENV_SECRET_NAMES: readonly (keyof EnvSecrets)[] = [
  "SECRET_KEY_BASE",
  "ACTIVE_RECORD_ENCRYPTION_PRIMARY_KEY",
  "ACTIVE_RECORD_ENCRYPTION_DETERMINISTIC_KEY",
  "ACTIVE_RECORD_ENCRYPTION_KEY_DERIVATION_SALT",
  "POSTGRES_PASSWORD",
  "REDIS_PASSWORD",
  "SMTP_PASSWORD",
  "RESTIC_PASSWORD",
  "BACKUP_SSH_KEY",
  "BACKUP_S3_ACCESS_KEY_ID",
  "BACKUP_S3_SECRET_ACCESS_KEY",
  "ALERT_WEBHOOK_URL",
  "ALERT_PING_URL",
  "SENTRY_DSN",
  "GOOGLE_OAUTH_CLIENT_SECRET",
  "RAILS_INBOUND_EMAIL_PASSWORD",
  "MAILGUN_INGRESS_SIGNING_KEY",
  "MANDRILL_INGRESS_API_KEY",
  "STORAGE_ACCESS_KEY_ID",
  "STORAGE_SECRET_ACCESS_KEY",
];

/** Values the app containers must not see: compose.yaml blanks them for rails and sidekiq. */
export const BACKUP_ONLY_SECRET_NAMES = ["RESTIC_PASSWORD", "BACKUP_SSH_KEY", "BACKUP_S3_ACCESS_KEY_ID", "BACKUP_S3_SECRET_ACCESS_KEY"] as const;
