/**
 * Renders the host's `.env`: every variable Chatwoot needs in production, plus the few that
 * compose.yaml and the Caddyfile interpolate. Pure: same input, byte-identical output.
 *
 * Every value is written single-quoted. A POSIX shell then reads it byte for byte. Docker Compose
 * v2's dotenv parser (compose-go) does too, with one exception: inside single quotes it takes `\'`
 * as an escaped quote. So a value may not contain a single quote, a line break or NUL, and may not
 * end with a backslash (the closing quote would be escaped, and Compose would read on into the
 * next line, then quote it, a secret, in its parse error). The renderer refuses such values
 * instead of writing a file the two would read differently; checked against compose-go itself
 * and bash in infra/checks/env-parsers.test.ts. The file ends with ENV_FILE_END, so the host can
 * tell a complete file from a cut one.
 */
import { chatwoot, EXTRA_ENV_ALLOWED, INBOUND_EMAIL_SECRET_ENV, type INBOUND_EMAIL_SERVICES } from "../chatwoot-facts";

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
  postgres: { sharedBuffersMb?: number; effectiveCacheSizeMb?: number; workMemMb?: number; maintenanceWorkMemMb?: number; maxConnections?: number };
  memoryLimitsMb: { rails?: number; sidekiq?: number; postgres?: number; redis?: number };
}

/** The TUNING_<NAME> lines compose.sh hands to scripts/tuning.sh, in its units. */
function tuningEntries(t: TuningOverrides | undefined): Entry[] {
  if (!t) return [];
  const mb = (v: number | undefined) => (v === undefined ? undefined : `${v}MB`);
  const m = (v: number | undefined) => (v === undefined ? undefined : `${v}m`);
  const values: [string, string | undefined][] = [
    ["WEB_CONCURRENCY", t.webConcurrency?.toString()],
    ["RAILS_MAX_THREADS", t.railsMaxThreads?.toString()],
    ["SIDEKIQ_CONCURRENCY", t.sidekiqConcurrency?.toString()],
    ["PG_SHARED_BUFFERS", mb(t.postgres.sharedBuffersMb)],
    ["PG_EFFECTIVE_CACHE_SIZE", mb(t.postgres.effectiveCacheSizeMb)],
    ["PG_WORK_MEM", mb(t.postgres.workMemMb)],
    ["PG_MAINTENANCE_WORK_MEM", mb(t.postgres.maintenanceWorkMemMb)],
    ["PG_MAX_CONNECTIONS", t.postgres.maxConnections?.toString()],
    ["RAILS_MEMORY_LIMIT", m(t.memoryLimitsMb.rails)],
    ["SIDEKIQ_MEMORY_LIMIT", m(t.memoryLimitsMb.sidekiq)],
    ["POSTGRES_MEMORY_LIMIT", m(t.memoryLimitsMb.postgres)],
    ["REDIS_MEMORY_LIMIT", m(t.memoryLimitsMb.redis)],
  ];
  const set = values.filter((v): v is [string, string] => v[1] !== undefined);
  return set.length ? [["# chatwoot:tuning: replaces what scripts/tuning.sh computes on the server"], ...set.map(([n, v]): Entry => [`TUNING_${n}`, v])] : [];
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

/** What a masked env file shows for a value that is not secret but only known after create. */
export const STORAGE_BOX_MARKER = "<storage box, known after create>";

/** What a masked env file shows instead of a secret value. */
export const SECRET_MARKER = "<secret>";

type Entry = [name: string, value: string] | [comment: `# ${string}`];

/**
 * Starts a group of variables for one kind of service: "app" (Rails, Sidekiq), "backup" (the
 * backup service), "compose" (interpolated into compose.yaml and the Caddyfile only) or "host"
 * (read on the host by the watchdog, by no container). Each
 * service gets only its group, so a change recreates only the services that read it, and Rails
 * never sees the backup credentials.
 */
export const SCOPE_MARKER = "# [scope: ";
export const ENV_SCOPES = ["app", "backup", "compose", "host"] as const;

/** The NAME='value' lines of one scope, as scripts/compose.sh writes them for the services. */
export function envScope(envFile: string, scope: (typeof ENV_SCOPES)[number]): string {
  let current = "";
  const out: string[] = [];
  for (const line of envFile.split("\n")) {
    const m = /^# \[scope: ([a-z]+)\]$/.exec(line);
    if (m) current = m[1]!;
    else if (/^[A-Z][A-Z0-9_]*=/.test(line) && current === scope) out.push(line);
  }
  return out.length ? `${out.join("\n")}\n` : "";
}

export function renderEnvFile(s: EnvSettings, secrets: EnvSecrets): string {
  const url = `https://${s.domain}`;
  const entries: Entry[] = [
    ["# Rendered by Pulumi (infra/render/env.ts); the next deploy overwrites edits made here."],
    ["# Each [scope: …] line starts the variables one kind of service gets (scripts/compose.sh splits them):"],
    ["# app for Rails and Sidekiq, backup for the backup service, compose for compose.yaml and Caddy."],
    [`${SCOPE_MARKER}app]`],
    ["# Runtime"],
    ["RAILS_ENV", "production"],
    ["NODE_ENV", "production"],
    ["INSTALLATION_ENV", "docker"],
    ["RAILS_LOG_TO_STDOUT", "true"],
    ["LOG_LEVEL", s.logLevel ?? "info"],
    ["FRONTEND_URL", url],
    // Portal links use HELPCENTER_URL, else FRONTEND_URL (lib/chatwoot_app.rb help_center_root), and
    // both hosts count as Chatwoot's own, not a portal's custom domain (concerns/domain_helper.rb).
    ...(s.helpCenterDomain ? ([["HELPCENTER_URL", `https://${s.helpCenterDomain}`]] as Entry[]) : []),
    ["FORCE_SSL", "true"],
    ["DEFAULT_LOCALE", s.defaultLocale ?? s.locale],
    ["ENABLE_ACCOUNT_SIGNUP", "false"],
    ["ENABLE_RACK_ATTACK", "true"],
    ...storageEntries(s, secrets),
    ["SAFE_FETCH_ALLOW_PRIVATE_NETWORK", String(s.allowPrivateNetworkWebhooks)],
    ["# Secrets: generated by Pulumi or restored from chatwoot:* overrides"],
    ["SECRET_KEY_BASE", secrets.SECRET_KEY_BASE],
    ["ACTIVE_RECORD_ENCRYPTION_PRIMARY_KEY", secrets.ACTIVE_RECORD_ENCRYPTION_PRIMARY_KEY],
    ["ACTIVE_RECORD_ENCRYPTION_DETERMINISTIC_KEY", secrets.ACTIVE_RECORD_ENCRYPTION_DETERMINISTIC_KEY],
    ["ACTIVE_RECORD_ENCRYPTION_KEY_DERIVATION_SALT", secrets.ACTIVE_RECORD_ENCRYPTION_KEY_DERIVATION_SALT],
    ["# Postgres (pgvector) and Redis, reachable only on the compose backend network"],
    ["POSTGRES_HOST", "postgres"],
    ["POSTGRES_PORT", "5432"],
    ["POSTGRES_USERNAME", "postgres"],
    ["POSTGRES_PASSWORD", secrets.POSTGRES_PASSWORD],
    // The Postgres image creates "chatwoot"; Rails would otherwise look for chatwoot_production.
    ["POSTGRES_DATABASE", "chatwoot"],
    ["REDIS_URL", "redis://redis:6379"],
    ["REDIS_PASSWORD", secrets.REDIS_PASSWORD],
    ["# Mail"],
    ...smtpEntries(s, secrets),
    ...(s.sentry ? ([["# Chatwoot's error tracking"], ["SENTRY_DSN", required(secrets, "SENTRY_DSN", "chatwoot:sentryDsn is set")]] as Entry[]) : []),
    ...googleEntries(s, secrets),
    ...inboundEntries(s, secrets),
    ...extraEntries(s.extraEnv ?? {}),
    ...extraSecretEntries(s.extraSecretEnvNames ?? [], secrets),
    [`${SCOPE_MARKER}backup]`],
    ...backupEntries(s, secrets),
    [`${SCOPE_MARKER}compose]`],
    ["# Read by compose.yaml and the Caddyfile"],
    ["CHATWOOT_DOMAIN", s.domain],
    // Caddy's site addresses: it serves, and gets a certificate for, each of them.
    ["CHATWOOT_SITE_ADDRESSES", [s.domain, ...(s.helpCenterDomain ? [s.helpCenterDomain] : [])].join(", ")],
    ["CHATWOOT_DATA_DIR", s.dataDir],
    ["CHATWOOT_FRAME_MODE", s.embedAllowedOrigins.length > 0 ? "allowlist" : "any"],
    // The Caddyfile prepends 'self' (quotes cannot live in this file).
    ["CHATWOOT_FRAME_ORIGINS", s.embedAllowedOrigins.join(" ")],
    ["CHATWOOT_RAILS_PORT", String(chatwoot.railsPort)],
    // Only when narrowed: an env file that did not change re-runs no step (compose.yaml's default is everyone).
    ...(s.adminAllowedCidrs && !opensEverything(s.adminAllowedCidrs) ? ([["CHATWOOT_ADMIN_CIDRS", s.adminAllowedCidrs.join(" ")]] as Entry[]) : []),
    [`${SCOPE_MARKER}host]`],
    ...alertEntries(s.alerts, secrets),
    ...tuningEntries(s.tuning),
  ];
  return [...entries.map((e) => (e.length === 1 ? e[0] : envLine(e[0], e[1]))), ENV_FILE_END].join("\n") + "\n";
}

function smtpEntries(s: EnvSettings, secrets: EnvSecrets): Entry[] {
  if (!s.smtp) {
    return [["MAILER_SENDER_EMAIL", `Chatwoot <noreply@${s.domain}>`]];
  }
  const m = s.smtp;
  const entries: Entry[] = [
    ["MAILER_SENDER_EMAIL", m.senderEmail],
    ["SMTP_ADDRESS", m.address],
    ["SMTP_PORT", String(m.port)],
    ["SMTP_DOMAIN", m.domain ?? s.domain],
    ["SMTP_AUTHENTICATION", m.authentication],
    // Written explicitly: Chatwoot defaults it to true (config/initializers/mailer.rb).
    ["SMTP_ENABLE_STARTTLS_AUTO", String(m.security === "starttls")],
  ];
  if (m.security === "tls") {
    // mailer.rb sets ssl/tls only when these are present; without them port 465 cannot work.
    entries.push(["SMTP_SSL", "true"], ["SMTP_TLS", "true"]);
  }
  if (m.username !== undefined) entries.push(["SMTP_USERNAME", m.username]);
  if (secrets.SMTP_PASSWORD !== undefined) entries.push(["SMTP_PASSWORD", secrets.SMTP_PASSWORD]);
  return entries;
}

/**
 * Active Storage's service and, for a bucket, the variables config/storage.yml's s3_compatible
 * service reads (STORAGE_BUCKET_NAME, STORAGE_REGION, STORAGE_ENDPOINT, STORAGE_FORCE_PATH_STYLE,
 * STORAGE_ACCESS_KEY_ID, STORAGE_SECRET_ACCESS_KEY); DIRECT_UPLOADS_ENABLED for browser uploads.
 */
function storageEntries(s: EnvSettings, secrets: EnvSecrets): Entry[] {
  if (!s.storage) return [["ACTIVE_STORAGE_SERVICE", "local"]];
  const b = s.storage;
  return [
    ["ACTIVE_STORAGE_SERVICE", "s3_compatible"],
    ["STORAGE_BUCKET_NAME", b.bucket],
    ["STORAGE_REGION", b.region],
    ["STORAGE_ENDPOINT", b.endpoint],
    ["STORAGE_FORCE_PATH_STYLE", String(b.forcePathStyle)],
    ["STORAGE_ACCESS_KEY_ID", required(secrets, "STORAGE_ACCESS_KEY_ID", 'chatwoot:storage.service is "s3Compatible"')],
    ["STORAGE_SECRET_ACCESS_KEY", required(secrets, "STORAGE_SECRET_ACCESS_KEY", 'chatwoot:storage.service is "s3Compatible"')],
    ...(b.directUploads ? ([["DIRECT_UPLOADS_ENABLED", "true"]] as Entry[]) : []),
  ];
}

function googleEntries(s: EnvSettings, secrets: EnvSecrets): Entry[] {
  if (!s.googleSignIn) return [];
  return [
    ["# Sign in with Google (chatwoot:googleSignIn)"],
    ["GOOGLE_OAUTH_CLIENT_ID", s.googleSignIn.clientId],
    ["GOOGLE_OAUTH_CLIENT_SECRET", required(secrets, "GOOGLE_OAUTH_CLIENT_SECRET", "chatwoot:googleSignIn is set")],
    // The redirect URI to register with Google: OmniAuth's callback path on this site.
    ["GOOGLE_OAUTH_CALLBACK_URL", `https://${s.domain}${chatwoot.signIn.googleLoginCallbackPath}`],
  ];
}

function inboundEntries(s: EnvSettings, secrets: EnvSecrets): Entry[] {
  if (!s.inboundEmail) return [];
  const secretName = INBOUND_EMAIL_SECRET_ENV[s.inboundEmail.service] as SecretEnvName;
  return [
    ["# Inbound e-mail (chatwoot:inboundEmail): replies reach their conversation"],
    ["MAILER_INBOUND_EMAIL_DOMAIN", s.inboundEmail.domain],
    ["RAILS_INBOUND_EMAIL_SERVICE", s.inboundEmail.service],
    [secretName, required(secrets, secretName, "chatwoot:inboundEmail is set")],
  ];
}

function extraEntries(extra: Record<string, string>): Entry[] {
  const names = Object.keys(extra).sort();
  if (names.length === 0) return [];
  return [["# chatwoot:extraEnv"], ...names.map((n): Entry => [n, extra[n]!])];
}

function extraSecretEntries(names: string[], secrets: EnvSecrets): Entry[] {
  if (names.length === 0) return [];
  const values = secrets.EXTRA_SECRET_ENV ?? {};
  return [
    ["# chatwoot:extraSecretEnv"],
    ...[...names].sort().map((n): Entry => {
      if (values[n] === undefined) throw new Error(`env value for ${n} is missing (chatwoot:extraSecretEnv names it)`);
      return [n, values[n]!];
    }),
  ];
}

/**
 * Names chatwoot:extraEnv may not set: everything this renderer writes, and the families the stack
 * owns (database, Redis, secrets, storage, mail, backups, alerts, the domain and its URLs).
 */
export function ownedEnvName(name: string, rendered: ReadonlySet<string>): boolean {
  if ((EXTRA_ENV_ALLOWED as readonly string[]).includes(name) && !rendered.has(name)) return false;
  return (
    rendered.has(name) ||
    (ENV_SECRET_NAMES as readonly string[]).includes(name) ||
    /^(POSTGRES_|REDIS_|ACTIVE_RECORD_ENCRYPTION_|ACTIVE_STORAGE_|STORAGE_|SMTP_|MAILER_|BACKUP_|RESTIC_|ALERT_|CHATWOOT_|TUNING_|S3_|AWS_|GCS_|AZURE_STORAGE_|AZURE_APP_)/.test(name) ||
    ["WEB_CONCURRENCY", "RAILS_MAX_THREADS", "SIDEKIQ_CONCURRENCY", "SECRET_KEY_BASE", "DATABASE_URL", "FRONTEND_URL", "FORCE_SSL", "RAILS_ENV", "NODE_ENV", "INSTALLATION_ENV", "DIRECT_UPLOADS_ENABLED"].includes(name)
  );
}

/** A secret of the env file under its own name (all but the extraSecretEnv map). */
type SecretEnvName = Exclude<keyof EnvSecrets, "EXTRA_SECRET_ENV">;

function required(secrets: EnvSecrets, name: SecretEnvName, because: string): string {
  const v = secrets[name];
  if (v === undefined) throw new Error(`env value for ${name} is missing (${because})`);
  return v;
}

function alertEntries(a: AlertEnvSettings, secrets: EnvSecrets): Entry[] {
  const entries: Entry[] = [["# Read by the host's watchdog (scripts/watchdog.py), by no container"]];
  if (a.email.length > 0) entries.push(["ALERT_EMAIL_TO", a.email.join(", ")]);
  if (a.webhook) {
    entries.push(["ALERT_WEBHOOK_URL", required(secrets, "ALERT_WEBHOOK_URL", "chatwoot:alertWebhookUrl is set")], ["ALERT_WEBHOOK_FORMAT", a.webhookFormat]);
  }
  if (a.ping) entries.push(["ALERT_PING_URL", required(secrets, "ALERT_PING_URL", "chatwoot:alertPingUrl is set")]);
  entries.push(["ALERT_REPEAT_HOURS", String(a.repeatHours)]);
  // Only when set: an env file that did not change does not re-run write-env and deploy.
  if (a.lockMaxMinutes !== undefined) entries.push(["ALERT_LOCK_MAX_MINUTES", String(a.lockMaxMinutes)]);
  return entries;
}

/** Which kind of repository the backup settings point at. */
export function backupRepositoryKind(b: BackupEnvSettings): "sftp" | "s3" {
  return b.repository?.startsWith("s3:") ? "s3" : "sftp";
}

function backupEntries(s: EnvSettings, secrets: EnvSecrets): Entry[] {
  const b = s.backup;
  if (!b) return [["# Backups: disabled (chatwoot:backup.enabled)"], ["BACKUP_ENABLED", "false"]];
  const required = (name: SecretEnvName): string => {
    const v = secrets[name];
    if (v === undefined) throw new Error(`env value for ${name} is missing (backups are enabled)`);
    return v;
  };
  const entries: Entry[] = [
    ["# Backups (restic), run by the compose backup service"],
    ["BACKUP_ENABLED", "true"],
    ["RESTIC_REPOSITORY", b.repository ?? required("RESTIC_REPOSITORY")],
    ["RESTIC_PASSWORD", required("RESTIC_PASSWORD")],
  ];
  if (backupRepositoryKind(b) === "s3") {
    entries.push(["BACKUP_S3_ACCESS_KEY_ID", required("BACKUP_S3_ACCESS_KEY_ID")], ["BACKUP_S3_SECRET_ACCESS_KEY", required("BACKUP_S3_SECRET_ACCESS_KEY")]);
  } else {
    entries.push(["BACKUP_SSH_KEY", required("BACKUP_SSH_KEY")]);
  }
  entries.push(
    ["BACKUP_DATABASE_EVERY", String(b.every.database)],
    ["BACKUP_FILES_EVERY", String(b.every.files)],
    ["BACKUP_CHECK_EVERY", String(b.every.check)],
    ["BACKUP_KEEP_HOURLY", String(b.retention.hourly)],
    ["BACKUP_KEEP_DAILY", String(b.retention.daily)],
    ["BACKUP_KEEP_WEEKLY", String(b.retention.weekly)],
    ["BACKUP_KEEP_MONTHLY", String(b.retention.monthly)],
  );
  return entries;
}

/** Why a value cannot be written to the env file, or undefined when it can. */
export function envValueProblem(value: string): string | undefined {
  if (value.includes("'")) return "must not contain a single quote (')";
  if (/[\r\n]/.test(value)) return "must not contain a line break";
  if (value.includes("\0")) return "must not contain a NUL character";
  if (value.endsWith("\\")) return "must not end with a backslash (\\)";
  return undefined;
}

/** The last line of every rendered env file: write-env installs only a file that has it. */
export const ENV_FILE_END = "# end of env file";

/** One `NAME='value'` line; throws (naming only the variable) for a value it cannot encode. */
export function envLine(name: string, value: string): string {
  return `${name}=${quote(name, value)}`;
}

function quote(name: string, value: string): string {
  const problem = envValueProblem(value);
  // Names only: the value may be a secret.
  if (problem) throw new Error(`env value for ${name} ${problem}`);
  return `'${value}'`;
}

/** The env file as a reviewer may see it: every secret replaced by a marker. */
export function renderMaskedEnvFile(s: EnvSettings, hasSmtpPassword: boolean): string {
  const markers = Object.fromEntries(ENV_SECRET_NAMES.map((n) => [n, SECRET_MARKER])) as unknown as EnvSecrets;
  if (!hasSmtpPassword) delete markers.SMTP_PASSWORD;
  markers.RESTIC_REPOSITORY = STORAGE_BOX_MARKER;
  markers.EXTRA_SECRET_ENV = Object.fromEntries((s.extraSecretEnvNames ?? []).map((n) => [n, SECRET_MARKER]));
  return renderEnvFile(s, markers);
}

/** Whether a CIDR list lets every address in (both 0.0.0.0/0 and ::/0). */
function opensEverything(cidrs: string[]): boolean {
  return cidrs.includes("0.0.0.0/0") && cidrs.includes("::/0");
}

/** Parses an env file written by renderEnvFile (used by tests and the plan diff). */
export function parseEnvFile(text: string): Map<string, string> {
  const out = new Map<string, string>();
  for (const line of text.split("\n")) {
    const m = /^([A-Z][A-Z0-9_]*)='([^']*)'$/.exec(line);
    if (m) out.set(m[1]!, m[2]!);
  }
  return out;
}
