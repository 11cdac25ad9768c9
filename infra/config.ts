/**
 * The one place that reads stack configuration.
 *
 * Every `chatwoot:*` key is validated here, before any resource is registered, so bad input never
 * reaches Hetzner. Messages name the key (`chatwoot:<key>`) and say what is expected; they never
 * echo the value of a secret key. Secret values leave this module only as secret Outputs.
 */
import * as pulumi from "@pulumi/pulumi";
import { z } from "zod";
import { chatwoot } from "./chatwoot-facts";
import { envValueProblem } from "./render/env";
import {
  isCidr,
  isHostname,
  isPrivateOrLocalHost,
  parseOpenSshPublicKey,
  parsePrivateKeyArmour,
  publicBlobOfOpenSshPrivateKey,
} from "./validate";

export const CONFIG_NAMESPACE = "chatwoot";

/** Raised for any invalid configuration; Pulumi prints a RunError's message without a stack trace. */
export class ConfigError extends pulumi.RunError {
  constructor(readonly problems: string[]) {
    super(
      problems.length === 1
        ? `Invalid configuration: ${problems[0]}`
        : `Invalid configuration:\n${problems.map((p) => `  - ${p}`).join("\n")}`,
    );
    this.name = "ConfigError";
  }
}

export const LOCATIONS = ["fsn1", "nbg1", "hel1", "ash", "hil", "sin"] as const;

/** Server types Hetzner deprecated in October 2025, with the type that replaces each. */
export const DEPRECATED_SERVER_TYPES: Readonly<Record<string, string>> = {
  cx22: "cx23",
  cx32: "cx33",
  cx42: "cx43",
  cx52: "cx53",
  cpx11: "cpx12",
  cpx21: "cpx22",
  cpx31: "cpx32",
  cpx41: "cpx42",
  cpx51: "cpx52",
};

/**
 * Stands in for a secret the offline plan cannot decrypt (a `secure:` value in Pulumi.<stack>.yaml).
 * Its presence counts; its content is not validated.
 */
export const UNREADABLE_SECRET = "<encrypted in the stack file>";

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
] as const;
type SecretKey = (typeof SECRET_KEYS)[number];

const hostname = (what: string) =>
  z.string().refine(isHostname, { message: `must be a ${what} such as chat.example.com` });

const httpsOrigin = z.string().refine(
  (v) => {
    try {
      const u = new URL(v);
      return u.protocol === "https:" && u.origin === v.replace(/\/$/, "") && isHostname(u.hostname);
    } catch {
      return false;
    }
  },
  { message: "must be an https origin without a path, e.g. https://app.example.com" },
);

const webhookUrl = z.string().refine(
  (v) => {
    try {
      const u = new URL(v);
      return (u.protocol === "https:" || u.protocol === "http:") && u.hostname.length > 0;
    } catch {
      return false;
    }
  },
  { message: "must be an http(s) URL" },
);

/** A string that ends up in the env file, which cannot hold quotes or line breaks. */
const envSafe = (base: z.ZodString) =>
  base.superRefine((v, ctx) => {
    const problem = envValueProblem(v);
    if (problem) ctx.addIssue({ code: "custom", message: problem });
  });

/** A duration such as 15m, 1h or 7d, as seconds; at least `minSeconds`. */
const duration = (minSeconds: number) =>
  z
    .string({ message: 'must be a duration such as "15m", "1h" or "7d"' })
    .regex(/^[1-9][0-9]*[mhd]$/, { message: 'must be a duration such as "15m", "1h" or "7d"' })
    .transform(durationSeconds)
    .refine((s) => s >= minSeconds, { message: `must be at least ${minSeconds / 60} minutes` });

export function durationSeconds(v: string): number {
  const unit = { m: 60, h: 3600, d: 86400 }[v.slice(-1) as "m" | "h" | "d"];
  return Number(v.slice(0, -1)) * unit;
}

/** Locations that offer Storage Boxes. */
export const STORAGE_BOX_LOCATIONS = ["fsn1", "nbg1", "hel1"] as const;

const keepCount = (what: string) =>
  z.number({ message: `must be a whole number of ${what} snapshots to keep` }).int().min(0).max(1000);

/** restic repository URLs this product knows how to authenticate to. */
const resticRepository = z.string().superRefine((v, ctx) => {
  const problem = resticRepositoryProblem(v);
  if (problem) ctx.addIssue({ code: "custom", message: problem });
});

export function resticRepositoryProblem(v: string): string | undefined {
  const expected = 'must be a restic repository URL such as "sftp:user@host:chatwoot" or "s3:https://host/bucket/chatwoot"';
  if (envValueProblem(v)) return expected;
  if (/^sftp:\/\//.test(v)) {
    try {
      const u = new URL(v);
      if (u.password) return "must not contain a password (use chatwoot:backupSftpPrivateKey)";
      return u.username && u.hostname ? undefined : expected;
    } catch {
      return expected;
    }
  }
  if (/^sftp:[^@:/\s]+@[^:/\s]+:\S+$/.test(v)) return undefined;
  if (/^s3:https?:\/\//.test(v)) {
    try {
      const u = new URL(v.slice(3));
      if (u.username || u.password) return "must not contain credentials (use chatwoot:backupS3AccessKeyId and backupS3SecretAccessKey)";
      return u.pathname.length > 1 ? undefined : `${expected} (a bucket is required)`;
    } catch {
      return expected;
    }
  }
  return expected;
}

const backupSchema = z
  .object(
    {
      enabled: z.boolean({ message: "must be true or false" }).default(true),
      target: z
        .enum(["storageBox", "repository"], {
          message: 'must be "storageBox" (provisioned by this stack) or "repository" (an existing restic repository)',
        })
        .default("storageBox"),
      storageBox: z
        .object(
          {
            type: z.string().regex(/^bx[0-9]+$/, { message: "must be a Storage Box type such as bx11" }).default("bx11"),
            location: z
              .enum(STORAGE_BOX_LOCATIONS, { message: `must be one of ${STORAGE_BOX_LOCATIONS.join(", ")}` })
              .optional(),
          },
          { message: 'must be an object like {"type": "bx11", "location": "hel1"}' },
        )
        .strict()
        .default({ type: "bx11" }),
      repository: resticRepository.optional(),
      schedule: z
        .object(
          {
            database: duration(300).default(durationSeconds("15m")),
            files: duration(300).default(durationSeconds("1h")),
            check: duration(3600).default(durationSeconds("7d")),
          },
          { message: 'must be an object like {"database": "15m", "files": "1h", "check": "7d"}' },
        )
        .strict()
        .default({ database: durationSeconds("15m"), files: durationSeconds("1h"), check: durationSeconds("7d") }),
      retention: z
        .object(
          {
            hourly: keepCount("hourly").default(48),
            daily: keepCount("daily").default(14),
            weekly: keepCount("weekly").default(8),
            monthly: keepCount("monthly").default(12),
          },
          { message: 'must be an object like {"hourly": 48, "daily": 14, "weekly": 8, "monthly": 12}' },
        )
        .strict()
        .default({ hourly: 48, daily: 14, weekly: 8, monthly: 12 })
        .refine((r) => r.hourly + r.daily + r.weekly + r.monthly > 0, {
          message: "must keep at least one snapshot",
        }),
    },
    { message: 'must be an object like {"enabled": true, "target": "storageBox"}' },
  )
  .strict();

export type BackupConfig = z.infer<typeof backupSchema>;

const publicSchema = z
  .object({
    domain: hostname("fully qualified hostname"),
    location: z.enum(LOCATIONS, { message: `must be one of ${LOCATIONS.join(", ")}` }).default("nbg1"),
    serverType: z
      .string()
      .regex(/^[a-z]+[0-9]+[a-z]*$/, { message: "must be a Hetzner server type name such as cx33" })
      .superRefine((v, ctx) => {
        const replacement = DEPRECATED_SERVER_TYPES[v];
        if (replacement) {
          ctx.addIssue({
            code: "custom",
            message: `"${v}" is deprecated by Hetzner and no longer orderable; use "${replacement}"`,
          });
        }
      })
      .default("cx33"),
    image: z
      .string()
      .regex(/^ubuntu-[0-9]{2}\.04$/, {
        // cloud-init installs Docker and the compose plugin from the Ubuntu archive.
        message: 'must be an Ubuntu LTS image name such as "ubuntu-24.04" (names, not numeric ids)',
      })
      .default("ubuntu-24.04"),
    volumeSizeGb: z
      .number({ message: "must be a whole number of GB" })
      .int({ message: "must be a whole number of GB" })
      .min(10, { message: "must be at least 10 (GB)" })
      .max(10240, { message: "must be at most 10240 (GB)" })
      .default(20),
    sshPublicKeys: z
      .array(
        z.string().superRefine((v, ctx) => {
          const problem = parseOpenSshPublicKey(v).problem;
          if (problem) ctx.addIssue({ code: "custom", message: problem });
        }),
        { message: 'must be a list of OpenSSH public keys, e.g. ["ssh-ed25519 AAAA… you@host"]' },
      )
      .min(1, { message: "must list at least one OpenSSH public key" }),
    sshAllowedCidrs: z
      .array(z.string().refine(isCidr, { message: "must be a CIDR such as 203.0.113.0/24 or 2001:db8::/32" }), {
        message: "must be a list of CIDRs",
      })
      .min(1, { message: "must list at least one CIDR (SSH is how every deploy reaches the server)" })
      .default(["0.0.0.0/0", "::/0"]),
    serverBackups: z.boolean({ message: "must be true or false" }).default(true),
    dnsZone: hostname("DNS zone name").optional(),
    chatwootVersion: z
      .string()
      .regex(/^v[0-9]+\.[0-9]+\.[0-9]+(-ce)?$/, { message: 'must be a release tag such as "v4.15.1" or "v4.15.1-ce"' })
      .refine((v) => chatwoot.isAtLeastMinimumVersion(v), {
        message: `must be ${chatwoot.minimumVersion} or newer (webhook signing and /health are needed)`,
      })
      .default(chatwoot.defaultVersion),
    embedAllowedOrigins: z.array(httpsOrigin, { message: "must be a list of https origins" }).default([]),
    account: z
      .object(
        {
          name: z.string().trim().min(1, { message: "must not be empty" }).max(255),
          locale: z
            .string()
            .regex(/^[a-z]{2}(_[A-Z]{2})?$/, { message: 'must be a locale code such as "en" or "pt_BR"' })
            .default("en"),
        },
        { message: 'must be an object like {"name": "Acme Support", "locale": "en"}' },
      )
      .strict(),
    admin: z
      .object(
        {
          email: z.email({ message: "must be an email address" }),
          name: z.string().trim().min(1, { message: "must not be empty" }).max(255),
        },
        { message: 'must be an object like {"email": "ops@example.com", "name": "Ops"}' },
      )
      .strict(),
    inbox: z
      .object(
        { name: z.string().trim().min(1, { message: "must not be empty" }).max(255) },
        { message: 'must be an object like {"name": "API"}' },
      )
      .strict()
      .default({ name: "API" }),
    webhook: z
      .object(
        {
          url: webhookUrl,
          name: z.string().trim().min(1).max(255).default("pulumi-managed"),
          subscriptions: z
            .array(z.enum(chatwoot.webhookEvents, { message: `must be one of ${chatwoot.webhookEvents.join(", ")}` }))
            .min(1, { message: "must list at least one event" })
            .default([...chatwoot.defaultWebhookEvents]),
        },
        { message: 'must be an object like {"url": "https://app.example.com/hooks/chatwoot"}' },
      )
      .strict()
      .optional(),
    disableFeatures: z
      .array(z.string().regex(/^[a-z][a-z0-9_]*$/, { message: "must be a Chatwoot feature name such as campaigns" }))
      .default([]),
    smtp: z
      .object(
        {
          address: hostname("mail server hostname"),
          port: z.number().int().min(1).max(65535).default(587),
          username: envSafe(z.string().min(1)).optional(),
          domain: hostname("HELO domain").optional(),
          senderEmail: envSafe(
            z.string().regex(/^([^<>]+ <)?[^\s@<>]+@[^\s@<>]+>?$/, {
              message: "must be an address such as support@example.com or Support <support@example.com>",
            }),
          ),
          authentication: z.enum(["plain", "login", "cram_md5"]).default("login"),
          enableStarttlsAuto: z.boolean().default(true),
        },
        { message: 'must be an object like {"address": "smtp.example.com", "senderEmail": "support@example.com"}' },
      )
      .strict()
      .optional(),
    allowPrivateNetworkWebhooks: z.boolean({ message: "must be true or false" }).default(false),
    backup: backupSchema.default(backupSchema.parse({})),
    restoreFrom: z
      .string()
      .regex(/^(latest|[0-9a-f]{8,64})$/, { message: 'must be "latest" or a restic snapshot id (8 to 64 hex characters)' })
      .optional(),
  })
  .strict();

/** Validation rules for secret keys; messages never include the value. */
const secretRules: Record<SecretKey, (v: string) => string | undefined> = {
  sshPrivateKey: (v) =>
    ["OPENSSH", "RSA", "EC"].includes(parsePrivateKeyArmour(v)?.label ?? "")
      ? undefined
      : "must be an unencrypted OpenSSH or PEM private key (set it with: pulumi config set --secret chatwoot:sshPrivateKey < ~/.ssh/id_ed25519)",
  adminPassword: (v) => chatwoot.passwordProblem(v),
  smtpPassword: (v) => (v.length > 0 ? envValueProblem(v) : "must not be empty"),
  secretKeyBase: (v) =>
    /^[0-9a-zA-Z]{64,}$/.test(v) ? undefined : "must be at least 64 alphanumeric characters (e.g. openssl rand -hex 64)",
  encryptionPrimaryKey: (v) => alnum32(v),
  encryptionDeterministicKey: (v) => alnum32(v),
  encryptionKeyDerivationSalt: (v) => alnum32(v),
  postgresPassword: (v) => (/^[0-9a-zA-Z]{16,}$/.test(v) ? undefined : "must be at least 16 letters and digits (as in the host's .env)"),
  backupPassword: (v) => (v.length >= 16 ? envValueProblem(v) : "must be at least 16 characters"),
  backupS3AccessKeyId: (v) => (/^[A-Za-z0-9]{8,128}$/.test(v) ? undefined : "must be an access key id (8 to 128 letters and digits)"),
  backupS3SecretAccessKey: (v) => (v.length >= 16 ? envValueProblem(v) : "must be at least 16 characters"),
  backupSftpPrivateKey: (v) =>
    ["OPENSSH", "RSA", "EC"].includes(parsePrivateKeyArmour(v)?.label ?? "")
      ? undefined
      : "must be an unencrypted OpenSSH or PEM private key (pulumi config set --secret chatwoot:backupSftpPrivateKey < key)",
};
function alnum32(v: string): string | undefined {
  return /^[0-9a-zA-Z]{32,}$/.test(v) ? undefined : "must be at least 32 alphanumeric characters (as rails db:encryption:init prints)";
}

export type PublicConfig = z.infer<typeof publicSchema>;

/** Disaster-recovery overrides: used instead of generated values when set. */
export interface SecretOverrides {
  secretKeyBase?: pulumi.Output<string>;
  encryptionPrimaryKey?: pulumi.Output<string>;
  encryptionDeterministicKey?: pulumi.Output<string>;
  encryptionKeyDerivationSalt?: pulumi.Output<string>;
  /** Postgres password of an existing data volume (its cluster was initialised with it). */
  postgresPassword?: pulumi.Output<string>;
  /** restic repository password, for a repository this stack's state did not create. */
  backupPassword?: pulumi.Output<string>;
}

/** Credentials for an existing restic repository (`backup.target` = "repository"). */
export interface BackupCredentials {
  s3AccessKeyId?: pulumi.Output<string>;
  s3SecretAccessKey?: pulumi.Output<string>;
  sftpPrivateKey?: pulumi.Output<string>;
}

export interface ChatwootConfig extends PublicConfig {
  /** Private half of one of `sshPublicKeys`; required by `pulumi up`, optional for previews. */
  sshPrivateKey?: pulumi.Output<string>;
  /** Admin password; generated when absent. */
  adminPassword?: pulumi.Output<string>;
  smtpPassword?: pulumi.Output<string>;
  overrides: SecretOverrides;
  backupCredentials: BackupCredentials;
  /** Things that are allowed but that an operator should see in every preview. */
  warnings: string[];
}

/** Raw key/value view of config, as Pulumi stores it (`namespace:key` → string). */
export interface RawConfig {
  values: Record<string, string>;
  isSecret(fullKey: string): boolean;
}

const NON_STRING_KEYS = new Set([
  "volumeSizeGb",
  "sshPublicKeys",
  "sshAllowedCidrs",
  "serverBackups",
  "embedAllowedOrigins",
  "account",
  "admin",
  "inbox",
  "webhook",
  "disableFeatures",
  "smtp",
  "allowPrivateNetworkWebhooks",
  "backup",
]);

/**
 * Reads and validates `chatwoot:*`. `forUp` adds the checks only `pulumi up` needs (credentials
 * for the deploy steps); previews and the offline plan report those as warnings instead.
 */
export function loadConfig(raw: RawConfig = runtimeConfig(), forUp = !pulumi.runtime.isDryRun()): ChatwootConfig {
  const problems: string[] = [];
  const prefix = `${CONFIG_NAMESPACE}:`;
  const publicInput: Record<string, unknown> = {};
  const secretInput: Partial<Record<SecretKey, string>> = {};
  const knownKeys = new Set<string>([...Object.keys(publicSchema.shape), ...SECRET_KEYS]);

  for (const [fullKey, value] of Object.entries(raw.values).sort(([a], [b]) => a.localeCompare(b))) {
    if (!fullKey.startsWith(prefix)) continue;
    const key = fullKey.slice(prefix.length);
    if (!knownKeys.has(key)) {
      problems.push(`${fullKey} is not a known setting${suggest(key, knownKeys)}`);
      continue;
    }
    if ((SECRET_KEYS as readonly string[]).includes(key)) {
      if (!raw.isSecret(fullKey)) {
        problems.push(`${fullKey} must be stored encrypted: pulumi config set --secret ${fullKey} …`);
        continue;
      }
      secretInput[key as SecretKey] = value;
      continue;
    }
    if (raw.isSecret(fullKey)) {
      // Harmless but confusing: a public value hidden from previews.
      problems.push(`${fullKey} is not a secret; set it without --secret so previews can show it`);
      continue;
    }
    if (NON_STRING_KEYS.has(key)) {
      try {
        publicInput[key] = JSON.parse(value);
      } catch {
        problems.push(`${fullKey} must be JSON (set it with pulumi config set --path or --json), got ${quote(value)}`);
      }
    } else {
      publicInput[key] = value;
    }
  }

  const parsed = publicSchema.safeParse(publicInput);
  if (!parsed.success) {
    for (const issue of parsed.error.issues) problems.push(describeIssue(issue, publicInput));
  }
  for (const key of SECRET_KEYS) {
    const value = secretInput[key];
    if (value === undefined || value === UNREADABLE_SECRET) continue;
    const problem = secretRules[key](value);
    if (problem) problems.push(`${prefix}${key} ${problem}`);
  }
  const upOnly = parsed.success ? neededForUp(parsed.data, secretInput) : [];
  if (parsed.success) problems.push(...crossFieldProblems(parsed.data, secretInput));
  if (forUp) problems.push(...upOnly);
  if (problems.length > 0) throw new ConfigError(problems);

  const data = parsed.data!;
  const asSecret = (key: SecretKey) => (secretInput[key] === undefined ? undefined : pulumi.secret(secretInput[key]!));
  return {
    ...data,
    embedAllowedOrigins: [...new Set(data.embedAllowedOrigins.map((o) => o.replace(/\/$/, "")))],
    disableFeatures: [...new Set(data.disableFeatures)].sort(),
    sshPrivateKey: asSecret("sshPrivateKey"),
    adminPassword: asSecret("adminPassword"),
    smtpPassword: asSecret("smtpPassword"),
    overrides: {
      secretKeyBase: asSecret("secretKeyBase"),
      encryptionPrimaryKey: asSecret("encryptionPrimaryKey"),
      encryptionDeterministicKey: asSecret("encryptionDeterministicKey"),
      encryptionKeyDerivationSalt: asSecret("encryptionKeyDerivationSalt"),
      postgresPassword: asSecret("postgresPassword"),
      backupPassword: asSecret("backupPassword"),
    },
    backupCredentials: {
      s3AccessKeyId: asSecret("backupS3AccessKeyId"),
      s3SecretAccessKey: asSecret("backupS3SecretAccessKey"),
      sftpPrivateKey: asSecret("backupSftpPrivateKey"),
    },
    warnings: [...upOnly.map((p) => `pulumi up will refuse to run: ${p}`), ...warningsFor(data)],
  };
}

function crossFieldProblems(c: PublicConfig, secrets: Partial<Record<SecretKey, string>>): string[] {
  const problems: string[] = [];
  const p = `${CONFIG_NAMESPACE}:`;
  const privateKey = secrets.sshPrivateKey;
  if (privateKey !== undefined && privateKey !== UNREADABLE_SECRET) {
    const blob = publicBlobOfOpenSshPrivateKey(privateKey);
    if (blob !== undefined && !c.sshPublicKeys.some((k) => k.trim().split(/\s+/)[1] === blob)) {
      // Deploys would lock themselves out: the host's authorized_keys is set from sshPublicKeys.
      problems.push(`${p}sshPrivateKey is not the private half of any key in ${p}sshPublicKeys`);
    }
  }
  if (c.dnsZone && c.domain !== c.dnsZone && !c.domain.endsWith(`.${c.dnsZone}`)) {
    problems.push(`${p}dnsZone "${c.dnsZone}" must contain ${p}domain "${c.domain}"`);
  }
  if (c.webhook && !c.allowPrivateNetworkWebhooks && isPrivateOrLocalHost(new URL(c.webhook.url).hostname)) {
    problems.push(
      `${p}webhook.url points at a private or local address, which Chatwoot refuses to call; ` +
        `set ${p}allowPrivateNetworkWebhooks to true if that is intended`,
    );
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

function backupProblems(c: PublicConfig, secrets: Partial<Record<SecretKey, string>>): string[] {
  const p = `${CONFIG_NAMESPACE}:`;
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
function neededForUp(c: PublicConfig, secrets: Partial<Record<SecretKey, string>>): string[] {
  const p = `${CONFIG_NAMESPACE}:`;
  const problems: string[] = [];
  if (secrets.sshPrivateKey === undefined) {
    problems.push(`${p}sshPrivateKey is required: pulumi config set --secret ${p}sshPrivateKey < <private key file>`);
  }
  if (c.smtp?.username && secrets.smtpPassword === undefined) {
    problems.push(`${p}smtpPassword is required when ${p}smtp.username is set: pulumi config set --secret ${p}smtpPassword`);
  }
  return problems;
}

function warningsFor(c: PublicConfig): string[] {
  const warnings: string[] = [];
  const p = `${CONFIG_NAMESPACE}:`;
  if (c.sshAllowedCidrs.some((cidr) => cidr.endsWith("/0"))) {
    warnings.push(`SSH (port 22) is open to the whole internet; narrow ${p}sshAllowedCidrs to your admin networks`);
  }
  if (c.embedAllowedOrigins.length === 0) {
    warnings.push(
      `no ${p}embedAllowedOrigins: X-Frame-Options is removed, so any site can frame the dashboard; list the origins that embed it`,
    );
  }
  if (!c.serverBackups) {
    warnings.push(`${p}serverBackups is false: Hetzner will keep no server backups`);
  }
  if (!c.backup.enabled) {
    warnings.push(`${p}backup.enabled is false: nothing is backed up off the server; losing the volume loses every conversation`);
  }
  if (c.restoreFrom) {
    warnings.push(
      `${p}restoreFrom is set: a server that comes up with an empty database restores backup snapshot "${c.restoreFrom}" before migrating`,
    );
  }
  if (!c.smtp) {
    warnings.push(`no ${p}smtp: Chatwoot cannot send mail (password resets, notifications, invitations)`);
  }
  return warnings;
}

function describeIssue(issue: z.core.$ZodIssue, input: Record<string, unknown>): string {
  const key = `${CONFIG_NAMESPACE}:${issue.path.map(String).join(".")}`;
  if (issue.code === "unrecognized_keys") {
    return `${key === `${CONFIG_NAMESPACE}:` ? CONFIG_NAMESPACE : key} has unknown field(s) ${issue.keys.map((k) => `"${k}"`).join(", ")}`;
  }
  const given = valueAt(input, issue.path);
  if (given === undefined) return `${key} is required: it ${issue.message}`;
  return `${key} ${issue.message}, got ${quote(given)}`;
}

function valueAt(obj: unknown, path: readonly PropertyKey[]): unknown {
  let cur: unknown = obj;
  for (const seg of path) {
    if (cur === null || typeof cur !== "object") return undefined;
    cur = (cur as Record<PropertyKey, unknown>)[seg];
  }
  return cur;
}

function quote(v: unknown): string {
  const s = typeof v === "string" ? JSON.stringify(v) : JSON.stringify(v) ?? String(v);
  return s.length > 80 ? `${s.slice(0, 77)}...` : s;
}

function suggest(key: string, known: Set<string>): string {
  const lower = key.toLowerCase();
  const close = [...known].find((k) => k.toLowerCase() === lower || editDistance(k.toLowerCase(), lower) <= 2);
  return close ? ` (did you mean chatwoot:${close}?)` : "";
}

function editDistance(a: string, b: string): number {
  const d = Array.from({ length: a.length + 1 }, (_, i) => [i, ...Array<number>(b.length).fill(0)]);
  for (let j = 1; j <= b.length; j++) d[0]![j] = j;
  for (let i = 1; i <= a.length; i++) {
    for (let j = 1; j <= b.length; j++) {
      d[i]![j] = Math.min(d[i - 1]![j]! + 1, d[i]![j - 1]! + 1, d[i - 1]![j - 1]! + (a[i - 1] === b[j - 1] ? 0 : 1));
    }
  }
  return d[a.length]![b.length]!;
}

function runtimeConfig(): RawConfig {
  const runtime = pulumi.runtime as unknown as { isConfigSecret(k: string): boolean };
  return { values: pulumi.runtime.allConfig(), isSecret: (k) => runtime.isConfigSecret(k) };
}
