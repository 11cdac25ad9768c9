/**
 * The schema of the public `chatwoot:*` keys: types, ranges and defaults, with messages that say
 * what is expected. Each concern with more than a few keys has its own file (backup, mail, alerts,
 * tuning, storage, sign-in, adopt); cross-field rules, secrets and warnings are in `rules.ts`.
 */
import { z } from "zod";
import { chatwoot } from "../facts/chatwoot";
import { DEPRECATED_SERVER_TYPES, LOCATIONS, SERVER_TYPES } from "../facts/hetzner";
import { adoptSchema } from "./adopt";
import { alertsSchema } from "./alerts";
import { backupSchema } from "./backup";
import { cidrList, featureName, httpsOrigin, LOG_LEVELS, locale, webhookUrl } from "./fields";
import { inboundEmailSchema, smtpSchema } from "./mail";
import { googleSignInSchema, microsoftSignInSchema } from "./sign-in";
import { STORAGE_DEFAULT, storageSchema } from "./storage";
import { tuningSchema } from "./tuning";
import { clusterSchema } from "./cluster";
import { kubernetesSchema, TARGETS } from "./kubernetes";
import { envSafe, hostname } from "./zod";
import { parseOpenSshPublicKey } from "./validate";

export const publicSchema = z
  .object({
    /** Which kind of stack: one Hetzner server ("server") or an existing Kubernetes cluster ("kubernetes", infra/kubernetes). */
    target: z.enum(TARGETS, { message: `must be one of ${TARGETS.join(", ")}` }).default("server"),
    /** The Kubernetes target's settings (kubernetes.ts). */
    kubernetes: kubernetesSchema.optional(),
    /** The cluster target's settings: a k3s cluster on Hetzner Cloud (cluster.ts). */
    cluster: clusterSchema.optional(),
    /** Required on the targets that run Chatwoot (kubernetes.ts, targetProblems); the cluster target has none. */
    domain: hostname("fully qualified hostname").optional(),
    /**
     * The help center's own hostname (HELPCENTER_URL): portal links point there, and Chatwoot
     * serves its portals on it as on the main domain. Caddy gets a certificate for it too.
     */
    helpCenterDomain: hostname("help center hostname").optional(),
    location: z.enum(LOCATIONS, { message: `must be one of ${LOCATIONS.join(", ")}` }).default("nbg1"),
    /** Defaults by location (facts/hetzner.ts), after parsing. */
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
      })
      // Required on the server target only (kubernetes.ts, targetProblems).
      .optional(),
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
          /** Default "en"; an adopted account (with `id`) keeps the locale it has unless this is set. */
          locale: locale.optional(),
          /** An adopted installation's account id (what its apps use as CHATWOOT_ACCOUNT_ID): it must exist. */
          id: z.number({ message: "must be a positive whole number" }).int().positive({ message: "must be a positive whole number" }).optional(),
        },
        { message: 'must be an object like {"name": "Acme Support", "locale": "en"}' },
      )
      .strict()
      // English unless set, except for an adopted account, which keeps its own.
      .transform((a) => (a.id === undefined && a.locale === undefined ? { ...a, locale: "en" } : a))
      .optional(),
    admin: z
      .object(
        {
          email: z.email({ message: "must be an email address" }),
          name: z.string().trim().min(1, { message: "must not be empty" }).max(255),
          /**
           * Whether the bootstrap makes the admin a SuperAdmin (the /super_admin console). Default:
           * true, except for an adopted account (with `account.id`), whose users keep their type.
           */
          superAdmin: z.boolean({ message: "must be true or false" }).optional(),
        },
        { message: 'must be an object like {"email": "ops@example.com", "name": "Ops"}' },
      )
      .strict()
      .optional(),
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
    /** Overrides of what scripts/tuning.sh computes from the server's vCPUs and memory (tuning.ts). */
    tuning: tuningSchema,
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
    /** "Sign in with Google" (GOOGLE_OAUTH_*, sign-in.ts); the client secret is chatwoot:googleOauthClientSecret. */
    googleSignIn: googleSignInSchema.optional(),
    /** The Azure app behind "Sign in with Microsoft" for Microsoft 365 inboxes (sign-in.ts); its secret is chatwoot:microsoftOauthClientSecret. */
    microsoftSignIn: microsoftSignInSchema.optional(),
    /** Inbound e-mail for conversation continuity (mail.ts); the ingress credential is a secret key. */
    inboundEmail: inboundEmailSchema,
    /** Rails' LOG_LEVEL (config/environments/production.rb reads it; Chatwoot's default is info). */
    logLevel: z.enum(LOG_LEVELS, { message: `must be one of ${LOG_LEVELS.join(", ")}` }).default("info"),
    /**
     * Anything else Chatwoot reads from its environment, for Rails and Sidekiq. Keys the stack
     * writes itself are refused (rules.ts), values are encoded like the rest of the .env.
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
    /** The outgoing mail server (mail.ts); its password is chatwoot:smtpPassword. */
    smtp: smtpSchema,
    /** Where the host's watchdog sends its alerts (alerts.ts); the URLs are secret keys. */
    alerts: alertsSchema,
    allowPrivateNetworkWebhooks: z.boolean({ message: "must be true or false" }).default(false),
    /** Off-site backups with restic (backup.ts). */
    backup: backupSchema.default(backupSchema.parse({})),
    /** The platform app whose token the outputs carry; an adopted installation's existing one by its name. */
    platformApp: z
      .object({ name: z.string().trim().min(1, { message: "must not be empty" }).max(255) }, { message: 'must be an object like {"name": "VisualKit Platform"}' })
      .strict()
      .optional(),
    /** Attachments: the data volume, or an S3-compatible bucket (storage.ts). */
    storage: storageSchema.default(STORAGE_DEFAULT),
    /** Another installation's data to start from (adopt.ts, scripts/adopt.sh). */
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
  "kubernetes",
  "cluster",
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
  "target",
  "kubernetes.namespace",
  "kubernetes.storageClass",
  "kubernetes.clusterIssuer",
  "kubernetes.entryPoint",
  "kubernetes.web.replicas",
  "kubernetes.sidekiq.replicas",
  "kubernetes.postgres.instances",
  "kubernetes.postgres.storageGb",
  "kubernetes.postgresBackup.every",
  "cluster.controlPlanes",
  "cluster.agents",
  "cluster.controlPlaneType",
  "cluster.agentType",
  "cluster.appReplicas",
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
