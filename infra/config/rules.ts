/**
 * Rules over the parsed configuration that a schema cannot express: keys that must be set together,
 * names the stack writes itself, and secrets that only `pulumi up` needs. Secret keys are in
 * `secret-keys.ts`, the namespace and stack-name rules in `names.ts`, warnings in `warnings.ts`.
 * Messages name keys and problems; they never quote a value that may be secret.
 */
import { adoptFileProblems, adoptProblems } from "./adopt";
import { signInUpProblems } from "./sign-in";
import { storageProblems, storageUpProblems } from "./storage";
import { KEY_PREFIX } from "./names";
import type { ParsedPublicConfig } from "./schema";
import { extraSecretEnvNames, privateOutboundUrlProblems, SECRET_LOOKING_NAME, type SecretValues } from "./secret-keys";
import { locationsOfServerType } from "../facts/hetzner";
import { ownedEnvName, renderMaskedEnvFile } from "../chatwoot/env";
import { parseEnvFile } from "../chatwoot/env-file";
import { inZone, isPrivateOrLocalHost } from "./validate";

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
const p = KEY_PREFIX;

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
  if (c.domain && c.dnsZone && !inZone(c.domain, c.dnsZone)) {
    problems.push(`${p}dnsZone "${c.dnsZone}" must contain ${p}domain "${c.domain}"`);
  }
  if (c.helpCenterDomain !== undefined && c.helpCenterDomain === c.domain) {
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
  // chatwoot:backup is the server target's restic backup (config/kubernetes.ts checks the other target).
  if (c.target !== "server") return problems;
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

