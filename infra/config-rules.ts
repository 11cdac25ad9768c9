/**
 * Rules over the parsed configuration that a schema cannot express: secret values, keys that
 * must be set together, other namespaces' keys, the stack name, and warnings an operator should
 * see in every preview. Messages name keys and problems; they never quote a value that may be
 * secret.
 */
import { parse as parseDomain } from "tldts";
import { chatwoot, DATABASE_READ_ENV_PREFIXES } from "./chatwoot-facts";
import { adoptFileProblems, adoptProblems, adoptWarnings } from "./config-adopt";
import { signInSecretRules, signInUpProblems, signInWarnings } from "./config-sign-in";
import { storageProblems, storageSecretRules, storageUpProblems } from "./config-storage";
import { closest, editDistance, type ParsedPublicConfig } from "./config-schema";
import { LABEL_VALUE, locationsOfServerType, SERVER_NAME } from "./hetzner-facts";
import { envValueProblem, ownedEnvName, renderMaskedEnvFile, parseEnvFile } from "./render/env";
import { inZone, isPrivateOrLocalHost, parsePrivateKeyArmour } from "./validate";

export const CONFIG_NAMESPACE = "chatwoot";

/** Every name the env renderer writes, with every optional part switched on. */
const RENDERED_ENV_NAMES: ReadonlySet<string> = new Set(
  parseEnvFile(
    renderMaskedEnvFile(
      {
        domain: "chat.example.com",
        helpCenterDomain: "help.example.com",
        locale: "en",
        dataDir: "/srv/chatwoot",
        embedAllowedOrigins: [],
        allowPrivateNetworkWebhooks: false,
        alerts: { email: ["ops@example.com"], webhook: true, webhookFormat: "slack", ping: true, repeatHours: 6 },
        sentry: true,
        googleSignIn: { clientId: "x.apps.googleusercontent.com" },
        inboundEmail: { domain: "reply.example.com", service: "relay" },
        smtp: { address: "smtp.example.com", port: 465, username: "u", senderEmail: "a@example.com", authentication: "login", security: "tls" },
        backup: { repository: "s3:https://s3.example.com/b", every: { database: 900, files: 3600, check: 604800 }, retention: { hourly: 1, daily: 1, weekly: 1, monthly: 1 } },
      },
      true,
    ),
  ).keys(),
);
const p = `${CONFIG_NAMESPACE}:`;

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

/** The `hcloud:*` keys the provider reads (@pulumi/hcloud 1.41.0, config/vars.d.ts). */
export const HCLOUD_KEYS = ["token", "endpoint", "endpointHetzner", "pollFunction", "pollInterval"];

/**
 * Keys of other namespaces this stack reads or that look like a typo of one: `chatwot:domain`
 * would otherwise be ignored silently, and `hcloud:tokn` would leave the provider without a token.
 */
export function namespaceProblems(values: Record<string, string>): string[] {
  const problems: string[] = [];
  for (const fullKey of Object.keys(values).sort()) {
    const colon = fullKey.indexOf(":");
    if (colon < 0) continue;
    const ns = fullKey.slice(0, colon);
    const key = fullKey.slice(colon + 1);
    if (ns === CONFIG_NAMESPACE) continue;
    if (ns === "hcloud") {
      if (!HCLOUD_KEYS.includes(key)) {
        const hint = closest(key, HCLOUD_KEYS);
        problems.push(`${fullKey} is not a setting of the hcloud provider${hint ? ` (did you mean hcloud:${hint}?)` : ` (known: ${HCLOUD_KEYS.join(", ")})`}`);
      }
      continue;
    }
    for (const known of [CONFIG_NAMESPACE, "hcloud"]) {
      if (ns.toLowerCase() === known || editDistance(ns.toLowerCase(), known) <= 2) {
        problems.push(`${fullKey} is in the unknown namespace "${ns}" (did you mean ${known}:${key}?)`);
      }
    }
  }
  return problems;
}

/** Names derived from the stack name: valid Hetzner server names and label values, or a clear error. */
export function stackNames(stack: string): { namePrefix: string; label: string } | { problem: string } {
  const slug = stack
    .toLowerCase()
    .replace(/[^a-z0-9-]+/g, "-")
    .replace(/-+/g, "-")
    .replace(/^-|-$/g, "")
    .slice(0, 32)
    .replace(/-$/, "");
  const namePrefix = `chatwoot-${slug}`;
  if (!slug || !SERVER_NAME.test(namePrefix) || !LABEL_VALUE.test(slug)) {
    return {
      problem: `the stack name must contain letters or digits: Hetzner resource names and labels are derived from it (pulumi stack rename <name>)`,
    };
  }
  return { namePrefix, label: slug };
}

export function crossFieldProblems(c: ParsedPublicConfig, secrets: SecretValues): string[] {
  const problems: string[] = [];
  if (c.serverType) {
    const where = locationsOfServerType(c.serverType);
    if (where && !where.includes(c.location)) {
      problems.push(
        `${p}serverType "${c.serverType}" is not sold in ${c.location} (only in ${where.join(", ")}); ` +
          `choose another type for ${c.location} or leave ${p}serverType unset for the location's default`,
      );
    }
  }
  const owned = Object.keys(c.extraEnv).filter((name) => ownedEnvName(name, RENDERED_ENV_NAMES));
  if (owned.length > 0) {
    problems.push(`${p}extraEnv may not set ${owned.join(", ")}: the stack writes ${owned.length === 1 ? "it" : "them"} itself (use the setting for it, see README)`);
  }
  // extraEnv is plain text (previews, the plan, state): a credential there would leak.
  const secretLooking = Object.keys(c.extraEnv).filter((name) => !owned.includes(name) && SECRET_LOOKING_NAME.test(name));
  if (secretLooking.length > 0) {
    problems.push(
      `${p}extraEnv holds ${secretLooking.join(", ")}, which look${secretLooking.length === 1 ? "s" : ""} like a secret: extraEnv is shown in previews and kept in clear text; ` +
        `put it in ${p}extraSecretEnv instead (pulumi config set --secret ${p}extraSecretEnv '{"${secretLooking[0]}": "…"}')`,
    );
  }
  const secretNames = extraSecretEnvNames(secrets.extraSecretEnv) ?? [];
  const ownedSecret = secretNames.filter((name) => ownedEnvName(name, RENDERED_ENV_NAMES));
  if (ownedSecret.length > 0) {
    problems.push(`${p}extraSecretEnv may not set ${ownedSecret.join(", ")}: the stack writes ${ownedSecret.length === 1 ? "it" : "them"} itself (use the setting for it, see README)`);
  }
  const both = secretNames.filter((name) => name in c.extraEnv);
  if (both.length > 0) problems.push(`${both.join(", ")} ${both.length === 1 ? "is" : "are"} in both ${p}extraEnv and ${p}extraSecretEnv: keep one`);
  if (c.alerts.email.length > 0 && !c.smtp) {
    problems.push(`${p}alerts.email needs ${p}smtp: the watchdog sends its mail through Chatwoot's SMTP settings`);
  }
  if (c.dnsZone && !inZone(c.domain, c.dnsZone)) {
    problems.push(`${p}dnsZone "${c.dnsZone}" must contain ${p}domain "${c.domain}"`);
  }
  if (c.helpCenterDomain === c.domain) {
    problems.push(`${p}helpCenterDomain must differ from ${p}domain (leave it unset to serve the help center on ${c.domain})`);
  }
  if (c.webhook) problems.push(...webhookUrlProblems(c.webhook.url, c.allowPrivateNetworkWebhooks));
  problems.push(...privateOutboundUrlProblems(secrets, c.allowPrivateNetworkWebhooks));
  problems.push(...storageProblems(c.storage, secrets));
  problems.push(...adoptProblems(c.adopt, secrets, { restoreFrom: c.restoreFrom, storageService: c.storage.service }));
  if (c.webhook === undefined && secrets.webhookSecret !== undefined) problems.push(`${p}webhookSecret is only used with ${p}webhook`);
  if (c.smtp) {
    const s = c.smtp;
    if (s.security && s.enableStarttlsAuto !== undefined && (s.security === "starttls") !== s.enableStarttlsAuto) {
      problems.push(`${p}smtp.enableStarttlsAuto contradicts ${p}smtp.security; remove enableStarttlsAuto`);
    }
    if (s.port === 465 && smtpSecurity(s) === "starttls") {
      problems.push(`${p}smtp.port 465 is implicit TLS: set ${p}smtp.security to "tls", or use port 587 with STARTTLS`);
    }
  }
  const encryptionKeys = ["encryptionPrimaryKey", "encryptionDeterministicKey", "encryptionKeyDerivationSalt"] as const;
  const given = encryptionKeys.filter((k) => secrets[k] !== undefined);
  if (given.length > 0 && given.length < encryptionKeys.length) {
    const missing = encryptionKeys.filter((k) => secrets[k] === undefined).map((k) => p + k);
    problems.push(`${missing.join(", ")} must be set too: the three ActiveRecord encryption keys are restored together`);
  }
  problems.push(...backupProblems(c, secrets));
  return problems;
}

/** Why the webhook URL is not acceptable; never quotes it (it may carry a token in its path). */
function webhookUrlProblems(url: string, allowPrivate: boolean): string[] {
  const u = new URL(url);
  const problems: string[] = [];
  if (u.username || u.password) {
    problems.push(`${p}webhook.url must not contain credentials (user:password@): Chatwoot would send them with every event, and they would sit in its database`);
  }
  const isPrivate = isPrivateOrLocalHost(u.hostname);
  if (isPrivate && !allowPrivate) {
    problems.push(
      `${p}webhook.url points at a private, local or special address (including IPv4-mapped, NAT64 and multicast forms), ` +
        `which Chatwoot refuses to call; set ${p}allowPrivateNetworkWebhooks to true if that is intended`,
    );
  }
  if (u.protocol === "http:" && !(isPrivate && allowPrivate)) {
    problems.push(`${p}webhook.url must use https: every conversation and message would cross the internet in clear text`);
  }
  return problems;
}

/** The effective SMTP transport security. */
export function smtpSecurity(s: NonNullable<ParsedPublicConfig["smtp"]>): "starttls" | "tls" | "none" {
  if (s.security) return s.security;
  if (s.enableStarttlsAuto === false) return "none";
  return s.port === 465 ? "tls" : "starttls";
}

function backupProblems(c: ParsedPublicConfig, secrets: SecretValues): string[] {
  const b = c.backup;
  const problems: string[] = [];
  const repositoryOnly = ["backupS3AccessKeyId", "backupS3SecretAccessKey", "backupSftpPrivateKey"] as const;
  if (c.restoreFrom && !b.enabled) {
    problems.push(`${p}restoreFrom needs ${p}backup.enabled to be true: restores come from the backup repository`);
  }
  if (!b.enabled) return problems;
  if (b.target === "storageBox") {
    if (b.repository) problems.push(`${p}backup.repository is only used when ${p}backup.target is "repository"`);
    for (const k of repositoryOnly) {
      if (secrets[k] !== undefined) problems.push(`${p}${k} is only used when ${p}backup.target is "repository"`);
    }
    return problems;
  }
  if (!b.repository) {
    problems.push(`${p}backup.repository is required when ${p}backup.target is "repository": a restic URL such as "s3:https://host/bucket/chatwoot"`);
    return problems;
  }
  if (b.repository.startsWith("s3:")) {
    for (const k of ["backupS3AccessKeyId", "backupS3SecretAccessKey"] as const) {
      if (secrets[k] === undefined) problems.push(`${p}${k} is required for an s3: backup repository: pulumi config set --secret ${p}${k}`);
    }
    if (secrets.backupSftpPrivateKey !== undefined) problems.push(`${p}backupSftpPrivateKey is only used for an sftp: backup repository`);
  } else {
    if (secrets.backupSftpPrivateKey === undefined) {
      problems.push(`${p}backupSftpPrivateKey is required for an sftp: backup repository: pulumi config set --secret ${p}backupSftpPrivateKey < key`);
    }
    for (const k of ["backupS3AccessKeyId", "backupS3SecretAccessKey"] as const) {
      if (secrets[k] !== undefined) problems.push(`${p}${k} is only used for an s3: backup repository`);
    }
  }
  return problems;
}

/** Secrets that only `pulumi up` needs; a preview or the offline plan can go without them. */
export function neededForUp(c: ParsedPublicConfig, secrets: SecretValues): string[] {
  const problems: string[] = [];
  problems.push(...signInUpProblems(c, secrets));
  if (c.inboundEmail && secrets.inboundEmailSecret === undefined) {
    problems.push(`${p}inboundEmailSecret is required when ${p}inboundEmail is set: pulumi config set --secret ${p}inboundEmailSecret`);
  }
  problems.push(...storageUpProblems(c.storage, secrets), ...adoptFileProblems(c.adopt));
  if (c.smtp?.username && secrets.smtpPassword === undefined) {
    problems.push(`${p}smtpPassword is required when ${p}smtp.username is set: pulumi config set --secret ${p}smtpPassword`);
  }
  return problems;
}

/** The registrable domain (eTLD+1) of a host, from the public suffix list. */
function site(host: string): string {
  return parseDomain(host).domain ?? host;
}

/** True when a set of CIDRs together covers every IPv4 or every IPv6 address (or all IPv4 via ::ffff:0:0/96). */
function opensEverything(cidrs: string[]): boolean {
  const coverage = { ipv4: 0, ipv6: 0 };
  for (const cidr of cidrs) {
    const [addr, bits] = cidr.split("/") as [string, string];
    if (addr.includes(":")) {
      if (/^::ffff:0:0$|^::ffff:0\.0\.0\.0$/i.test(addr) && Number(bits) <= 96) coverage.ipv4 += 1;
      else coverage.ipv6 += 2 ** -Number(bits);
    } else {
      coverage.ipv4 += 2 ** -Number(bits);
    }
  }
  // Overlaps count twice, so this can only over-warn; CIDRs are validated as network addresses.
  return coverage.ipv4 >= 1 || coverage.ipv6 >= 1;
}

export function warningsFor(c: ParsedPublicConfig, raw: { values: Record<string, string>; isSecret(k: string): boolean }, secrets: SecretValues): string[] {
  const warnings: string[] = [];
  warnings.push(...signInWarnings(c, secrets));
  if (secrets.inboundEmailSecret !== undefined && !c.inboundEmail) warnings.push(`${p}inboundEmailSecret is set but unused: set ${p}inboundEmail too`);
  if (c.alerts.email.length === 0 && secrets.alertWebhookUrl === undefined && secrets.alertPingUrl === undefined) {
    warnings.push(
      `no alerts: the watchdog checks the site, disks and backups every minute but tells no one; set ${p}alerts.email, ${p}alertWebhookUrl or ${p}alertPingUrl`,
    );
  }
  if (opensEverything(c.adminAllowedCidrs)) {
    warnings.push(
      `/super_admin and /monitoring/sidekiq are reachable from the whole internet (behind the SuperAdmin login); narrow ${p}adminAllowedCidrs to your admin networks`,
    );
  }
  if (opensEverything(c.sshAllowedCidrs)) {
    warnings.push(`SSH (port 22) is open to the whole internet; narrow ${p}sshAllowedCidrs to your admin networks`);
  }
  if (c.embedAllowedOrigins.length === 0) {
    warnings.push(
      `no ${p}embedAllowedOrigins: X-Frame-Options is removed, so any site can frame the dashboard; list the origins that embed it`,
    );
  }
  for (const origin of c.embedAllowedOrigins) {
    const host = new URL(origin).hostname;
    if (site(host) !== site(c.domain)) {
      warnings.push(
        `${p}embedAllowedOrigins: ${origin} is another site than ${c.domain}: Chatwoot's session cookies are SameSite=Lax, ` +
          `which browsers do not send inside a cross-site iframe, so the embedded dashboard cannot stay logged in. ` +
          `Serve Chatwoot on a subdomain of the embedding site (e.g. support.${site(host)}) instead`,
      );
    }
  }
  if (c.helpCenterDomain && !(c.dnsZone && inZone(c.helpCenterDomain, c.dnsZone))) {
    warnings.push(
      `${p}helpCenterDomain ${c.helpCenterDomain} is not in a ${p}dnsZone this stack manages: point its A and AAAA records at the server ` +
        `(the ipv4 and ipv6 outputs), or Caddy cannot get its certificate`,
    );
  }
  if (!c.serverBackups) warnings.push(`${p}serverBackups is false: Hetzner will keep no server backups`);
  if (!c.deleteProtection) {
    warnings.push(
      `${p}deleteProtection is false: the data volume and the primary IPs can be deleted or replaced; set it back to true once the replacement is done`,
    );
  }
  if (!c.backup.enabled) {
    warnings.push(`${p}backup.enabled is false: nothing is backed up off the server; losing the volume loses every conversation`);
  }
  warnings.push(...adoptWarnings(c.adopt));
  if (c.restoreFrom) {
    warnings.push(
      `${p}restoreFrom is set: a server that comes up with an empty database restores backup snapshot "${c.restoreFrom}" before migrating`,
    );
  }
  if (!c.smtp) {
    warnings.push(`no ${p}smtp: Chatwoot cannot send mail (password resets, notifications, invitations)`);
  } else if (c.smtp.port === 25 || c.smtp.port === 465) {
    warnings.push(
      `${p}smtp.port ${c.smtp.port}: Hetzner blocks outgoing ports 25 and 465 on new Cloud accounts until you ask them to lift it; port 587 with STARTTLS works`,
    );
  }
  const dbRead = [...Object.keys(c.extraEnv), ...(extraSecretEnvNames(secrets.extraSecretEnv) ?? [])].filter((n) =>
    DATABASE_READ_ENV_PREFIXES.some((prefix) => n.startsWith(prefix)),
  );
  if (dbRead.length > 0) {
    warnings.push(
      `${dbRead.join(", ")} (in ${p}extraEnv or ${p}extraSecretEnv): Chatwoot ${chatwoot.factsVersion} reads ${dbRead.length === 1 ? "it" : "them"} from its installation configs, ` +
        `not its environment, once db:migrate has seeded them: set ${dbRead.length === 1 ? "it" : "them"} in the super admin console (/super_admin/app_configs) instead`,
    );
  }
  if ((c.installation.name !== undefined || c.installation.brandName !== undefined) && !c.chatwootVersion.endsWith("-ce")) {
    warnings.push(
      `${p}installation.name and brandName are paid-plan settings in Chatwoot's default (enterprise) image: on the free plan it resets them every night ` +
        `and shows the super admin "Unauthorized premium changes detected"; use the community image (${p}chatwootVersion ${c.chatwootVersion}-ce) or a paid plan`,
    );
  }
  const release = c.chatwootVersion.replace(/-ce$/, "");
  if (release !== chatwoot.factsVersion && chatwoot.isAtLeast(release, chatwoot.factsVersion)) {
    warnings.push(
      `${p}chatwootVersion ${c.chatwootVersion} is newer than ${chatwoot.factsVersion}, the release this program's Chatwoot facts were read at ` +
        `(feature names, locales, installation configs, the adoption bounds): they may be stale for ${c.chatwootVersion}`,
    );
  }
  if (c.smtp && smtpSecurity(c.smtp) === "none" && c.smtp.username) {
    warnings.push(
      `${p}smtp.security is "none" with ${p}smtp.username set: the SMTP login and password cross the network in clear text; use "starttls" (port 587) or "tls" (465)`,
    );
  }
  if (secrets.sshPrivateKey !== undefined) {
    warnings.push(
      `${p}sshPrivateKey is no longer used: deploys connect with the stack's own deploy key; remove it with: pulumi config rm ${p}sshPrivateKey`,
    );
  }
  if ("hcloud:token" in raw.values) {
    if (!raw.isSecret("hcloud:token")) {
      warnings.push("hcloud:token is stored in plain text in the stack file: pulumi config set --secret hcloud:token");
    }
    warnings.push(
      "hcloud:token in the stack file takes precedence over the HCLOUD_TOKEN environment variable (the provider reads config first), " +
        "so a read-only token given to CI in HCLOUD_TOKEN is ignored; prefer HCLOUD_TOKEN and pulumi config rm hcloud:token",
    );
  }
  return warnings;
}
