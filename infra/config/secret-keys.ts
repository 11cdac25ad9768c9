/**
 * The secret `chatwoot:*` keys (set with `pulumi config set --secret`) and what each must look like.
 * Messages never include the value.
 */
import { chatwoot } from "../facts/chatwoot";
import { envValueProblem } from "../chatwoot/env-file";
import { KEY_PREFIX } from "./names";
import { storageSecretRules } from "./storage";
import { signInSecretRules } from "./sign-in";
import { isPrivateOrLocalHost, parsePrivateKeyArmour } from "./validate";

const p = KEY_PREFIX;

/** Keys whose values must be stored encrypted (`pulumi config set --secret`). */
export const SECRET_KEYS = [
  "sshPrivateKey",
  "adminPassword",
  "smtpPassword",
  "secretKeyBase",
  "encryptionPrimaryKey",
  "encryptionDeterministicKey",
  "encryptionKeyDerivationSalt",
  "postgresPassword",
  "backupPassword",
  "backupS3AccessKeyId",
  "backupS3SecretAccessKey",
  "backupSftpPrivateKey",
  "alertWebhookUrl",
  "alertPingUrl",
  "sentryDsn",
  "googleOauthClientSecret",
  "microsoftOauthClientSecret",
  "inboundEmailSecret",
  "captainOpenAiApiKey",
  "webhookSecret",
  "adoptDatabaseUrl",
  "adoptStorageUrl",
  "storageAccessKeyId",
  "storageSecretAccessKey",
  "extraSecretEnv",
  "hcloudControllerToken",
] as const;
export type SecretKey = (typeof SECRET_KEYS)[number];
export type SecretValues = Partial<Record<SecretKey, string>>;

/**
 * Stands in for a secret the offline plan cannot decrypt (a `secure:` value in Pulumi.<stack>.yaml).
 * Its presence counts; its content is not validated.
 */
export const UNREADABLE_SECRET = "<encrypted in the stack file>";

const privateKey = (how: string) => (v: string) =>
  ["OPENSSH", "RSA", "EC"].includes(parsePrivateKeyArmour(v)?.label ?? "")
    ? undefined
    : `must be an unencrypted OpenSSH or PEM private key (${how})`;

function alnum32(v: string): string | undefined {
  return /^[0-9a-zA-Z]{32,}$/.test(v) ? undefined : "must be at least 32 alphanumeric characters (as rails db:encryption:init prints)";
}

/** Validation rules for secret keys; messages never include the value. */
export const secretRules: Record<SecretKey, (v: string) => string | undefined> = {
  // No longer used (deploys connect with the stack's own key): only warned about, never read.
  sshPrivateKey: () => undefined,
  adminPassword: (v) => chatwoot.passwordProblem(v),
  smtpPassword: (v) => (v.length > 0 ? envValueProblem(v) : "must not be empty"),
  secretKeyBase: (v) =>
    /^[0-9a-zA-Z]{64,}$/.test(v) ? undefined : "must be at least 64 alphanumeric characters (e.g. openssl rand -hex 64)",
  encryptionPrimaryKey: alnum32,
  encryptionDeterministicKey: alnum32,
  encryptionKeyDerivationSalt: alnum32,
  postgresPassword: (v) => (/^[0-9a-zA-Z]{16,}$/.test(v) ? undefined : "must be at least 16 letters and digits (as in the host's .env)"),
  backupPassword: (v) => (v.length >= 16 ? envValueProblem(v) : "must be at least 16 characters"),
  backupS3AccessKeyId: (v) => (/^[A-Za-z0-9]{8,128}$/.test(v) ? undefined : "must be an access key id (8 to 128 letters and digits)"),
  backupS3SecretAccessKey: (v) => (v.length >= 16 ? envValueProblem(v) : "must be at least 16 characters"),
  backupSftpPrivateKey: privateKey("pulumi config set --secret chatwoot:backupSftpPrivateKey < key"),
  alertWebhookUrl: (v) => httpsUrl(v, "a webhook URL such as https://hooks.slack.com/services/…"),
  alertPingUrl: (v) => httpsUrl(v, "a ping URL such as https://hc-ping.com/<uuid>"),
  sentryDsn: (v) => httpsUrl(v, "a Sentry DSN such as https://<key>@o0.ingest.sentry.io/<project>"),
  // Hetzner Cloud API tokens are 64 letters and digits.
  hcloudControllerToken: (v) => (/^[A-Za-z0-9]{64}$/.test(v) ? undefined : "must be a Hetzner Cloud API token (64 letters and digits)"),
  captainOpenAiApiKey: (v) => (/^\S{20,}$/.test(v) ? undefined : "must be an OpenAI API key (at least 20 characters, no spaces)"),
  inboundEmailSecret: (v) => (v.length >= 12 ? envValueProblem(v) : "must be at least 12 characters (the ingress password or the service's signing key)"),
  // An existing webhook's signing secret that the apps verify (an adopted installation).
  webhookSecret: (v) => (/^[\x21-\x7e]{16,}$/.test(v) ? undefined : "must be at least 16 printable characters without spaces (the webhook's signing secret)"),
  adoptDatabaseUrl: (v) => httpsUrl(v, "an https URL the server downloads the pg_dump file from"),
  adoptStorageUrl: (v) => httpsUrl(v, "an https URL the server downloads the storage tar archive from"),
  extraSecretEnv: (v) => extraSecretEnvProblem(v),
  ...signInSecretRules,
  ...storageSecretRules,
};

/** An environment variable name whose value is likely a credential: it belongs in extraSecretEnv. */
export const SECRET_LOOKING_NAME = /(SECRET|PASSWORD|PASSWD|TOKEN|PRIVATE|CREDENTIAL|SIGNING|_KEY$|_KEY_|API_KEY|DSN$|AUTH)/;

/** The names of chatwoot:extraSecretEnv (a JSON object), or undefined when it is not one. */
export function extraSecretEnvNames(v: string | undefined): string[] | undefined {
  if (v === undefined || v === UNREADABLE_SECRET) return undefined;
  try {
    const o = JSON.parse(v) as unknown;
    return typeof o === "object" && o !== null && !Array.isArray(o) ? Object.keys(o).sort() : undefined;
  } catch {
    return undefined;
  }
}

/** Why chatwoot:extraSecretEnv is not usable; names the variable, never its value. */
function extraSecretEnvProblem(v: string): string | undefined {
  const expected = `must be a JSON object of variable names and secret values: pulumi config set --secret ${p}extraSecretEnv '{"FB_APP_SECRET": "…"}'`;
  let o: unknown;
  try {
    o = JSON.parse(v);
  } catch {
    return expected;
  }
  if (typeof o !== "object" || o === null || Array.isArray(o)) return expected;
  for (const [name, value] of Object.entries(o)) {
    if (!/^[A-Z][A-Z0-9_]{0,127}$/.test(name)) return `has a name that is not an environment variable name (capital letters, digits and _, starting with a letter)`;
    if (typeof value !== "string" || value.length === 0) return `${name} must be a non-empty string`;
    const problem = envValueProblem(value);
    if (problem) return `${name} ${problem}`;
  }
  return undefined;
}

/** An https URL the .env can hold; the message names what is expected, never the value. */
function httpsUrl(v: string, what: string): string | undefined {
  if (v.length > MAX_URL_CHARS) return `must be at most ${MAX_URL_CHARS} characters (${what})`;
  // The URL parser forgives "https:/host" and "https:host"; curl and Python do not.
  if (!/^https:\/\/[^/\\]/i.test(v)) return `must be an https URL starting with https:// (${what})`;
  let url: URL;
  try {
    url = new URL(v);
  } catch {
    return `must be ${what}`;
  }
  if (url.protocol !== "https:") return `must be an https URL (${what})`;
  return envValueProblem(v);
}

/** The longest URL a secret URL key takes (alerts, Sentry, adoption downloads). */
export const MAX_URL_CHARS = 2048;

/** The secret URLs the host calls: the same private-address rule as webhook.url applies to them. */
const OUTBOUND_URL_KEYS = ["alertWebhookUrl", "alertPingUrl", "sentryDsn", "adoptDatabaseUrl", "adoptStorageUrl"] as const;

/** Which of those point at a private, local or special address (never quoting them). */
export function privateOutboundUrlProblems(secrets: SecretValues, allowPrivate: boolean): string[] {
  if (allowPrivate) return [];
  return OUTBOUND_URL_KEYS.filter((k) => {
    const v = secrets[k];
    if (v === undefined || v === UNREADABLE_SECRET) return false;
    try {
      return isPrivateOrLocalHost(new URL(v).hostname);
    } catch {
      return false;
    }
  }).map(
    (k) =>
      `${p}${k} points at a private, local or special address (including IPv4-mapped, NAT64 and multicast forms); ` +
      `set ${p}allowPrivateNetworkWebhooks to true if that is intended`,
  );
}
