/**
 * The schema of the public `chatwoot:*` keys: types, ranges and defaults, with messages that say
 * what is expected. Cross-field rules, secrets and warnings are in `config-rules.ts`.
 */
import ipaddr from "ipaddr.js";
import { z } from "zod";
import { chatwoot, INBOUND_EMAIL_SERVICES } from "./chatwoot-facts";
import { adoptSchema } from "./config-adopt";
import { googleSignInSchema, microsoftSignInSchema } from "./config-sign-in";
import { STORAGE_DEFAULT, storageSchema } from "./config-storage";
import { envSafe, hostname } from "./config-zod";
import { DEPRECATED_SERVER_TYPES, LOCATIONS, SERVER_TYPES, STORAGE_BOX_LOCATIONS, STORAGE_BOX_TYPES } from "./hetzner-facts";
import { envValueProblem } from "./render/env";
import { isHostname, parseOpenSshPublicKey } from "./validate";

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

/** Rails' log levels (ActiveSupport::Logger). */
export const LOG_LEVELS = ["debug", "info", "warn", "error", "fatal"] as const;

/**
 * A sender as Chatwoot's mailer takes it: `local@domain` or `Display Name <local@domain>`, with a
 * plain display name (letters, digits, spaces and . , - _ & ( ) only) and a dot-atom local part.
 */
export function isSenderAddress(v: string): boolean {
  const m = /^(?:([\p{L}\p{N} .,&()_-]{1,64}) <([^<>\s]+)>|([^<>\s]+))$/u.exec(v);
  if (!m) return false;
  const address = m[2] ?? m[3]!;
  const at = address.lastIndexOf("@");
  const [local, domain] = [address.slice(0, at), address.slice(at + 1)];
  return at > 0 && /^[A-Za-z0-9!#%&*+/=?^_{|}~-]+(\.[A-Za-z0-9!#%&*+/=?^_{|}~-]+)*$/.test(local) && isHostname(domain);
}

/** Why a CIDR is not usable in a Hetzner firewall rule, or undefined when it is. */
export function cidrProblem(v: string): string | undefined {
  const expected = "must be a CIDR such as 203.0.113.0/24 or 2001:db8::/32";
  if (!ipaddr.isValidCIDR(v)) return expected;
  // ipaddr.js reads "/024" as 24; Hetzner's API does not.
  if (!/\/(0|[1-9][0-9]{0,2})$/.test(v)) return `${expected} (the prefix length without leading zeros)`;
  const [addr, bits] = ipaddr.parseCIDR(v);
  const network = addr.kind() === "ipv4" ? ipaddr.IPv4.networkAddressFromCIDR(v) : ipaddr.IPv6.networkAddressFromCIDR(v);
  if (network.toString() !== addr.toString()) {
    // Hetzner refuses it ("is not the start of the cidr block"), at apply time only.
    return `has host bits set: the network is ${network.toString()}/${bits}`;
  }
  return undefined;
}

/** A non-empty list of network CIDRs, everyone by default; `why` says why it cannot be empty. */
const cidrList = (why: string) =>
  z
    .array(
      z.string().superRefine((v, ctx) => {
        const problem = cidrProblem(v);
        if (problem) ctx.addIssue({ code: "custom", message: problem });
      }),
      { message: "must be a list of CIDRs" },
    )
    .min(1, { message: `must list at least one CIDR (${why})` })
    .max(64, { message: "must list at most 64 CIDRs" })
    .default(["0.0.0.0/0", "::/0"]);

/** A duration such as 15m, 1h or 7d, as seconds; between `minSeconds` and 90 days. */
const duration = (minSeconds: number) =>
  z
    .string({ message: 'must be a duration such as "15m", "1h" or "7d"' })
    .regex(/^[1-9][0-9]{0,5}[mhd]$/, { message: 'must be a duration such as "15m", "1h" or "7d"' })
    .transform(durationSeconds)
    .refine((s) => s >= minSeconds, { message: `must be at least ${minSeconds / 60} minutes` })
    .refine((s) => s <= 90 * 86400, { message: "must be at most 90 days" });

export function durationSeconds(v: string): number {
  const unit = { m: 60, h: 3600, d: 86400 }[v.slice(-1) as "m" | "h" | "d"];
  return Number(v.slice(0, -1)) * unit;
}

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
      return u.username && !u.username.startsWith("-") && isHostname(u.hostname) ? undefined : expected;
    } catch {
      return expected;
    }
  }
  // User and host as restic passes them to ssh: neither may look like an option (-oProxyCommand=…).
  const short = /^sftp:([^@:/\s]+)@([^:/\s]+):(\S+)$/.exec(v);
  if (short) {
    const [, user, host] = short as unknown as [string, string, string];
    return /^[A-Za-z0-9._][A-Za-z0-9._-]*$/.test(user) && isHostname(host.toLowerCase()) ? undefined : `${expected} (a user name and a host name)`;
  }
  if (/^sftp:/.test(v)) return expected;
  if (/^s3:http:\/\//.test(v)) return "must use https (s3:https://…): the S3 credentials would cross the network in clear text";
  if (/^s3:https:\/\//.test(v)) {
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
            type: z.enum(STORAGE_BOX_TYPES, { message: `must be a Storage Box type: ${STORAGE_BOX_TYPES.join(", ")}` }).default("bx11"),
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

/** "did you mean" for a name close to one of `known` (case or up to two edits). */
export function closest(name: string, known: readonly string[]): string | undefined {
  const lower = name.toLowerCase();
  return known.find((k) => k.toLowerCase() === lower) ?? known.find((k) => editDistance(k.toLowerCase(), lower) <= 2);
}

export function editDistance(a: string, b: string): number {
  const d = Array.from({ length: a.length + 1 }, (_, i) => [i, ...Array<number>(b.length).fill(0)]);
  for (let j = 1; j <= b.length; j++) d[0]![j] = j;
  for (let i = 1; i <= a.length; i++) {
    for (let j = 1; j <= b.length; j++) {
      d[i]![j] = Math.min(d[i - 1]![j]! + 1, d[i]![j - 1]! + 1, d[i - 1]![j - 1]! + (a[i - 1] === b[j - 1] ? 0 : 1));
    }
  }
  return d[a.length]![b.length]!;
}

const featureName = z.string().superRefine((v, ctx) => {
  if (chatwoot.features.includes(v)) return;
  const hint = closest(v, chatwoot.features);
  ctx.addIssue({
    code: "custom",
    message: `names "${v}", which is not a Chatwoot ${chatwoot.factsVersion} feature (config/features.yml)${hint ? `; did you mean "${hint}"?` : ""}`,
  });
});

const locale = z.string().superRefine((v, ctx) => {
  if (chatwoot.locales.includes(v)) return;
  const hint = v.includes("_") && chatwoot.locales.includes(v.split("_")[0]!) ? v.split("_")[0] : closest(v, chatwoot.locales);
  ctx.addIssue({
    code: "custom",
    message: `must be one of Chatwoot's locales (${chatwoot.locales.join(" ")})${hint ? `; did you mean "${hint}"?` : ""}`,
  });
});

/** How the mail server wants TLS: STARTTLS on 587/25, implicit TLS on 465, or none. */
export const SMTP_SECURITY = ["starttls", "tls", "none"] as const;

export const publicSchema = z
  .object({
    domain: hostname("fully qualified hostname"),
    /**
     * The help center's own hostname (HELPCENTER_URL): portal links point there, and Chatwoot
     * serves its portals on it as on the main domain. Caddy gets a certificate for it too.
     */
    helpCenterDomain: hostname("help center hostname").optional(),
    location: z.enum(LOCATIONS, { message: `must be one of ${LOCATIONS.join(", ")}` }).default("nbg1"),
    /** Defaults by location (hetzner-facts.ts), after parsing. */
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
        } else if (!SERVER_TYPES.includes(v)) {
          ctx.addIssue({ code: "custom", message: `is not a Hetzner server type; one of ${SERVER_TYPES.join(", ")}` });
        }
      })
      .optional(),
    image: z
      .enum(["ubuntu-24.04", "ubuntu-22.04"], {
        // cloud-init installs docker.io and docker-compose-v2 from the Ubuntu archive: the LTS
        // releases whose archive has both (24.04 is the one this stack is tested with).
        message: 'must be "ubuntu-24.04" or "ubuntu-22.04" (Ubuntu LTS images whose archive has docker.io and docker-compose-v2)',
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
      .min(1, { message: "must list at least one OpenSSH public key" })
      .superRefine((keys, ctx) => {
        const blobs = keys.map((k) => k.trim().split(/\s+/)[1]);
        blobs.forEach((b, i) => {
          if (blobs.indexOf(b) !== i) ctx.addIssue({ code: "custom", path: [i], message: `lists the same key as entry ${blobs.indexOf(b)}` });
        });
      }),
    sshAllowedCidrs: cidrList("SSH is how every deploy reaches the server"),
    /**
     * Who may reach /super_admin and Sidekiq's dashboard (/monitoring/sidekiq) through Caddy; the
     * rest of the site stays public. Open by default, with a warning: both need a SuperAdmin login.
     */
    adminAllowedCidrs: cidrList("the SuperAdmin console is how installation settings change"),
    serverBackups: z.boolean({ message: "must be true or false" }).default(true),
    /**
     * Pulumi `protect` and Hetzner delete protection on the data volume and the primary IPs. Only
     * ever false for a deliberate replacement (a lost volume, a move to another location) or a
     * destroy; docs/disaster-recovery.md says when.
     */
    deleteProtection: z.boolean({ message: "must be true or false" }).default(true),
    dnsZone: hostname("DNS zone name").optional(),
    chatwootVersion: z
      .string()
      .regex(/^v[0-9]+\.[0-9]+\.[0-9]+(-ce)?$/, { message: 'must be a release tag such as "v4.15.1" or "v4.15.1-ce"' })
      .refine((v) => chatwoot.isAtLeastMinimumVersion(v), {
        message: `must be ${chatwoot.minimumVersion} or newer (older releases cannot close signup)`,
      })
      .default(chatwoot.defaultVersion),
    embedAllowedOrigins: z.array(httpsOrigin, { message: "must be a list of https origins" }).default([]),
    account: z
      .object(
        {
          name: z.string().trim().min(1, { message: "must not be empty" }).max(255),
          locale: locale.default("en"),
          /** An adopted installation's account id (what its apps use as CHATWOOT_ACCOUNT_ID): it must exist. */
          id: z.number({ message: "must be a positive whole number" }).int().positive({ message: "must be a positive whole number" }).optional(),
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
        {
          name: z.string().trim().min(1, { message: "must not be empty" }).max(255),
          /** An adopted installation's API inbox id (CHATWOOT_INBOX_ID): it must be an API inbox of the account. */
          id: z.number({ message: "must be a positive whole number" }).int().positive({ message: "must be a positive whole number" }).optional(),
        },
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
            .array(z.enum(chatwoot.webhookEvents as [string, ...string[]], { message: `must be one of ${chatwoot.webhookEvents.join(", ")}` }))
            .min(1, { message: "must list at least one event" })
            .default([...chatwoot.defaultWebhookEvents]),
        },
        { message: 'must be an object like {"url": "https://app.example.com/hooks/chatwoot"}' },
      )
      .strict()
      .optional(),
    disableFeatures: z.array(featureName, { message: "must be a list of Chatwoot feature names such as campaigns" }).default([]),
    /** Overrides of what scripts/tuning.sh computes from the server's vCPUs and memory. */
    tuning: z
      .object(
        {
          webConcurrency: z.number().int().min(0).max(64, { message: "must be 0 (Puma's single mode) to 64" }).optional(),
          railsMaxThreads: z.number().int().min(1).max(32, { message: "must be 1 to 32" }).optional(),
          sidekiqConcurrency: z.number().int().min(1).max(50, { message: "must be 1 to 50" }).optional(),
          postgres: z
            .object({
              sharedBuffersMb: z.number().int().min(32).max(262144, { message: "must be 32 to 262144 (MB)" }).optional(),
              effectiveCacheSizeMb: z.number().int().min(64).max(1048576, { message: "must be 64 to 1048576 (MB)" }).optional(),
              workMemMb: z.number().int().min(1).max(2048, { message: "must be 1 to 2048 (MB)" }).optional(),
              maintenanceWorkMemMb: z.number().int().min(16).max(8192, { message: "must be 16 to 8192 (MB)" }).optional(),
              maxConnections: z.number().int().min(20).max(5000, { message: "must be 20 to 5000" }).optional(),
            })
            .strict()
            .default({}),
          memoryLimitsMb: z
            .object(
              Object.fromEntries(
                (["rails", "sidekiq", "postgres", "redis"] as const).map((k) => [k, z.number().int().min(256).max(1048576, { message: "must be 256 to 1048576 (MB)" }).optional()]),
              ) as Record<"rails" | "sidekiq" | "postgres" | "redis", z.ZodOptional<z.ZodNumber>>,
            )
            .strict()
            .default({}),
        },
        { message: 'must be an object like {"webConcurrency": 2, "postgres": {"sharedBuffersMb": 1024}}' },
      )
      .strict()
      .default({ postgres: {}, memoryLimitsMb: {} }),
    /** Installation-wide names (installation configs the bootstrap sets): white-labelling. */
    installation: z
      .object(
        {
          name: z.string().regex(/^[^\p{Cc}]{1,100}$/u, { message: "must be 1 to 100 characters without control characters" }).optional(),
          brandName: z.string().regex(/^[^\p{Cc}]{1,100}$/u, { message: "must be 1 to 100 characters without control characters" }).optional(),
        },
        { message: 'must be an object like {"name": "Acme Support", "brandName": "Acme"}' },
      )
      .strict()
      .default({}),
    /** DEFAULT_LOCALE, the installation's default; the account's locale when unset. */
    defaultLocale: locale.optional(),
    /** "Sign in with Google" (GOOGLE_OAUTH_*, config-sign-in.ts); the client secret is chatwoot:googleOauthClientSecret. */
    googleSignIn: googleSignInSchema.optional(),
    /** The Azure app behind "Sign in with Microsoft" for Microsoft 365 inboxes (config-sign-in.ts); its secret is chatwoot:microsoftOauthClientSecret. */
    microsoftSignIn: microsoftSignInSchema.optional(),
    /**
     * Inbound e-mail for conversation continuity (Rails' Action Mailbox): replies to
     * reply+<id>@<domain> land in their conversation. The ingress credential is a secret key.
     */
    inboundEmail: z
      .object(
        {
          domain: hostname("mail domain"),
          service: z.enum(INBOUND_EMAIL_SERVICES, { message: `must be one of ${INBOUND_EMAIL_SERVICES.join(", ")}` }),
        },
        { message: 'must be an object like {"domain": "reply.example.com", "service": "relay"}' },
      )
      .strict()
      .optional(),
    /** Rails' LOG_LEVEL (config/environments/production.rb reads it; Chatwoot's default is info). */
    logLevel: z.enum(LOG_LEVELS, { message: `must be one of ${LOG_LEVELS.join(", ")}` }).default("info"),
    /**
     * Anything else Chatwoot reads from its environment, for Rails and Sidekiq. Keys the stack
     * writes itself are refused (config-rules.ts), values are encoded like the rest of the .env.
     */
    extraEnv: z
      .record(z.string(), envSafe(z.string()), { message: 'must be an object like {"ENABLE_INBOX_EVENTS": "true"}' })
      .superRefine((env, ctx) => {
        for (const name of Object.keys(env)) {
          if (!/^[A-Z][A-Z0-9_]*$/.test(name)) {
            ctx.addIssue({ code: "custom", path: [name], message: "must be an environment variable name: capital letters, digits and _ (starting with a letter)" });
          }
        }
      })
      .default({}),
    smtp: z
      .object(
        {
          address: hostname("mail server hostname"),
          port: z.number().int().min(1).max(65535).default(587),
          username: envSafe(z.string().min(1)).optional(),
          domain: hostname("HELO domain").optional(),
          senderEmail: envSafe(z.string()).superRefine((v, ctx) => {
            if (!isSenderAddress(v)) {
              ctx.addIssue({ code: "custom", message: "must be an address such as support@example.com or Support <support@example.com>" });
            }
          }),
          authentication: z.enum(["plain", "login", "cram_md5"]).default("login"),
          /** Default: "tls" on port 465, else "starttls". */
          security: z
            .enum(SMTP_SECURITY, { message: 'must be "starttls" (port 587), "tls" (implicit TLS, port 465) or "none"' })
            .optional(),
          /** Older spelling of `security: "starttls"` (true) or `"none"` (false). */
          enableStarttlsAuto: z.boolean().optional(),
        },
        { message: 'must be an object like {"address": "smtp.example.com", "senderEmail": "support@example.com"}' },
      )
      .strict()
      .optional(),
    /** The host's watchdog (scripts/watchdog.py): where its alerts go. URLs are secret keys. */
    alerts: z
      .object(
        {
          email: z
            .array(
              envSafe(z.string()).superRefine((v, ctx) => {
                if (!isSenderAddress(v) || v.includes("<")) ctx.addIssue({ code: "custom", message: "must be a list of addresses such as ops@example.com" });
              }),
              { message: "must be a list of addresses such as ops@example.com" },
            )
            .default([]),
          webhookFormat: z.enum(["slack", "json"], { message: 'must be "slack" (Slack-compatible {"text": …}) or "json"' }).default("slack"),
          repeatHours: z.number().int().min(1).max(168, { message: "must be a whole number of hours from 1 to 168" }).default(6),
          /** How long a deploy may hold the host lock before the watchdog stops holding alerts back (the watchdog's default: 30). */
          lockMaxMinutes: z.number().int({ message: "must be a whole number of minutes from 5 to 1440" }).min(5, { message: "must be a whole number of minutes from 5 to 1440" }).max(1440, { message: "must be a whole number of minutes from 5 to 1440" }).optional(),
        },
        { message: 'must be an object like {"email": ["ops@example.com"]} (webhook and ping URLs are secret keys)' },
      )
      .strict()
      .default({ email: [], webhookFormat: "slack", repeatHours: 6 }),
    allowPrivateNetworkWebhooks: z.boolean({ message: "must be true or false" }).default(false),
    backup: backupSchema.default(backupSchema.parse({})),
    /** The platform app whose token the outputs carry; an adopted installation's existing one by its name. */
    platformApp: z
      .object({ name: z.string().trim().min(1, { message: "must not be empty" }).max(255) }, { message: 'must be an object like {"name": "VisualKit Platform"}' })
      .strict()
      .optional(),
    /** Attachments: the data volume, or an S3-compatible bucket (config-storage.ts). */
    storage: storageSchema.default(STORAGE_DEFAULT),
    /** Another installation's data to start from (config-adopt.ts, scripts/adopt.sh). */
    adopt: adoptSchema.optional(),
    restoreFrom: z
      .string()
      .regex(/^(latest|[0-9a-f]{8,64})$/, { message: 'must be "latest" or a restic snapshot id (8 to 64 hex characters)' })
      .optional(),
  })
  .strict();

export type ParsedPublicConfig = z.infer<typeof publicSchema>;

/** Keys whose values Pulumi stores as JSON (objects, lists, numbers, booleans). */
export const NON_STRING_KEYS = new Set([
  "volumeSizeGb",
  "sshPublicKeys",
  "sshAllowedCidrs",
  "adminAllowedCidrs",
  "serverBackups",
  "deleteProtection",
  "embedAllowedOrigins",
  "account",
  "admin",
  "inbox",
  "webhook",
  "disableFeatures",
  "smtp",
  "alerts",
  "extraEnv",
  "tuning",
  "googleSignIn",
  "microsoftSignIn",
  "inboundEmail",
  "installation",
  "allowPrivateNetworkWebhooks",
  "backup",
  "platformApp",
  "storage",
  "adopt",
]);

/**
 * Keys whose given value may be quoted back in an error message. Everything else may hold a
 * credential (a URL with user:password@, a mistyped secret) and is never echoed.
 */
export const ECHO_SAFE_KEYS = new Set([
  "location",
  "serverType",
  "image",
  "volumeSizeGb",
  "serverBackups",
  "deleteProtection",
  "chatwootVersion",
  "restoreFrom",
  "smtp.port",
  "smtp.authentication",
  "smtp.security",
  "alerts.webhookFormat",
  "logLevel",
  "defaultLocale",
  "inboundEmail.service",
  "alerts.repeatHours",
  "alerts.lockMaxMinutes",
  "backup.target",
  "backup.storageBox.type",
  "backup.storageBox.location",
  "account.id",
  "inbox.id",
  "storage.service",
  "storage.region",
  "storage.forcePathStyle",
  "storage.directUploads",
  "adopt.withoutOldKeys",
]);
