/**
 * The one place that reads stack configuration.
 *
 * Every `chatwoot:*` key is validated here, before any resource is registered, so bad input never
 * reaches Hetzner. Messages name the key (`chatwoot:<key>`) and say what is expected; they quote a
 * given value only for keys that cannot hold a credential. Secret values leave this module only as
 * secret Outputs. The schema is in `schema.ts`, the rules across keys in `rules.ts`, the secret
 * keys in `secret-keys.ts`, warnings in `warnings.ts`.
 */
import * as pulumi from "@pulumi/pulumi";
import type { z } from "zod";
import { crossFieldProblems, neededForUp, smtpSecurity } from "./rules";
import { CONFIG_NAMESPACE, namespaceProblems } from "./names";
import { extraSecretEnvNames, SECRET_KEYS, secretRules, UNREADABLE_SECRET, type SecretKey, type SecretValues } from "./secret-keys";
import { warningsFor } from "./warnings";
import { kubernetesWarnings, KUBERNETES_DEFAULT, targetProblems, targetUpProblems } from "./kubernetes";
import { clusterTypeProblems, clusterUpProblems, clusterWarnings } from "./cluster";
import { closest } from "./fields";
import { ECHO_SAFE_KEYS, NON_STRING_KEYS, publicSchema, type ParsedPublicConfig } from "./schema";
import { defaultServerType } from "../facts/hetzner";

export { CONFIG_NAMESPACE } from "./names";
export { SECRET_KEYS, UNREADABLE_SECRET } from "./secret-keys";
export { durationSeconds, resticRepositoryProblem, type BackupConfig } from "./backup";
export { DEPRECATED_SERVER_TYPES, LOCATIONS, STORAGE_BOX_LOCATIONS } from "../facts/hetzner";

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

/** Public settings after validation, with computed defaults filled in. */
export type PublicConfig = Omit<ParsedPublicConfig, "serverType" | "smtp" | "sshPublicKeys" | "kubernetes" | "domain" | "account" | "admin"> & {
  /** Set on the targets that run Chatwoot (validated); the cluster target reads none of the three. */
  domain: string;
  account: NonNullable<ParsedPublicConfig["account"]>;
  admin: NonNullable<ParsedPublicConfig["admin"]>;
  serverType: string;
  /** Always set on the server target (validated); empty on the Kubernetes target. */
  sshPublicKeys: string[];
  /** The Kubernetes target's settings, defaults filled in (read only on that target). */
  kubernetes: NonNullable<ParsedPublicConfig["kubernetes"]>;
  smtp?: Omit<NonNullable<ParsedPublicConfig["smtp"]>, "security" | "enableStarttlsAuto"> & {
    security: "starttls" | "tls" | "none";
  };
};

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
  /** An existing webhook's signing secret that the apps already verify (an adopted installation). */
  webhookSecret?: pulumi.Output<string>;
}

/** Credentials for an existing restic repository (`backup.target` = "repository"). */
export interface BackupCredentials {
  s3AccessKeyId?: pulumi.Output<string>;
  s3SecretAccessKey?: pulumi.Output<string>;
  sftpPrivateKey?: pulumi.Output<string>;
}

export interface ChatwootConfig extends PublicConfig {
  /** Admin password; generated when absent. */
  adminPassword?: pulumi.Output<string>;
  smtpPassword?: pulumi.Output<string>;
  /** Where the watchdog posts alerts (chatwoot:alertWebhookUrl). */
  alertWebhookUrl?: pulumi.Output<string>;
  /** The dead-man's-switch ping URL (chatwoot:alertPingUrl). */
  alertPingUrl?: pulumi.Output<string>;
  /** Chatwoot's own error tracking (chatwoot:sentryDsn, SENTRY_DSN). */
  sentryDsn?: pulumi.Output<string>;
  /** The Google OAuth client's secret (chatwoot:googleOauthClientSecret). */
  googleOauthClientSecret?: pulumi.Output<string>;
  /** The Azure app's client secret for Microsoft 365 inboxes (chatwoot:microsoftOauthClientSecret). */
  microsoftOauthClientSecret?: pulumi.Output<string>;
  /** The inbound e-mail ingress password or signing key (chatwoot:inboundEmailSecret). */
  inboundEmailSecret?: pulumi.Output<string>;
  /** The cluster's controllers' Hetzner API token (chatwoot:hcloudControllerToken, cluster target). */
  hcloudControllerToken?: pulumi.Output<string>;
  /** Captain's OpenAI key, an installation config the bootstrap sets (chatwoot:captainOpenAiApiKey). */
  captainOpenAiApiKey?: pulumi.Output<string>;
  /** URLs the server downloads an adopted installation's dump and files from (chatwoot:adopt*Url). */
  adoptUrls: { database?: pulumi.Output<string>; storage?: pulumi.Output<string> };
  /** Credentials of the attachments' bucket (chatwoot:storage, s3Compatible). */
  storageCredentials: { accessKeyId?: pulumi.Output<string>; secretAccessKey?: pulumi.Output<string> };
  overrides: SecretOverrides;
  backupCredentials: BackupCredentials;
  /** chatwoot:extraSecretEnv: secrets Chatwoot reads only from its env, by variable name. */
  extraSecretEnv?: pulumi.Output<Record<string, string>>;
  /** Its names (not secret): the masked env file and the plan list them. */
  extraSecretEnvNames: string[];
  /** Things that are allowed but that an operator should see in every preview. */
  warnings: string[];
}

/** Raw key/value view of config, as Pulumi stores it (`namespace:key` → string). */
export interface RawConfig {
  values: Record<string, string>;
  isSecret(fullKey: string): boolean;
}

/**
 * Reads and validates `chatwoot:*` (and the other namespaces this stack reads). `forUp` adds the
 * checks only `pulumi up` needs; previews and the offline plan report those as warnings instead.
 */
export function loadConfig(raw: RawConfig = runtimeConfig(), forUp = !pulumi.runtime.isDryRun()): ChatwootConfig {
  const problems: string[] = namespaceProblems(raw.values);
  const prefix = `${CONFIG_NAMESPACE}:`;
  const publicInput: Record<string, unknown> = {};
  const secretInput: SecretValues = {};
  const knownKeys = [...Object.keys(publicSchema.shape), ...SECRET_KEYS];

  for (const [fullKey, value] of Object.entries(raw.values).sort(([a], [b]) => a.localeCompare(b))) {
    if (!fullKey.startsWith(prefix)) continue;
    const key = fullKey.slice(prefix.length);
    if (!knownKeys.includes(key)) {
      const hint = closest(key, knownKeys);
      problems.push(`${fullKey} is not a known setting${hint ? ` (did you mean chatwoot:${hint}?)` : ""}`);
      continue;
    }
    // Every value is bounded before anything parses it (and never quoted when it is too long).
    if (value.length > MAX_VALUE_CHARS) {
      problems.push(`${fullKey} is too long: at most ${MAX_VALUE_CHARS} characters`);
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
        problems.push(`${fullKey} must be JSON (set it with pulumi config set --path or --json)`);
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
  const upOnly = parsed.success
    ? parsed.data.target === "cluster"
      ? clusterUpProblems(Object.keys(secretInput))
      : [...neededForUp(parsed.data, secretInput), ...targetUpProblems(parsed.data.target, Object.keys(secretInput), parsed.data.kubernetes)]
    : [];
  if (parsed.success) {
    problems.push(...crossFieldProblems(parsed.data, secretInput));
    problems.push(...targetProblems(parsed.data.target, Object.keys(publicInput), Object.keys(secretInput), parsed.data));
    if (parsed.data.target === "cluster" && parsed.data.cluster) problems.push(...clusterTypeProblems(parsed.data.cluster, parsed.data.location));
  }
  if (forUp) problems.push(...upOnly);
  if (problems.length > 0) throw new ConfigError(problems);

  const data = parsed.data!;
  const asSecret = (key: SecretKey) => (secretInput[key] === undefined ? undefined : pulumi.secret(secretInput[key]!));
  const { smtp, serverType, sshPublicKeys, kubernetes, domain, account, admin, ...rest } = data;
  return {
    ...rest,
    // Present on the targets that run Chatwoot (targetProblems); placeholders the cluster target never reads.
    domain: domain ?? "",
    account: account ?? { name: "" },
    admin: admin ?? { email: "", name: "" },
    sshPublicKeys: sshPublicKeys ?? [],
    kubernetes: kubernetes ?? KUBERNETES_DEFAULT,
    serverType: serverType ?? defaultServerType(data.location),
    smtp: smtp && (({ security: _s, enableStarttlsAuto: _e, ...m }) => ({ ...m, security: smtpSecurity(smtp) }))(smtp),
    embedAllowedOrigins: [...new Set(data.embedAllowedOrigins.map((o) => o.replace(/\/$/, "")))],
    disableFeatures: [...new Set(data.disableFeatures)].sort(),
    adminPassword: asSecret("adminPassword"),
    smtpPassword: asSecret("smtpPassword"),
    alertWebhookUrl: asSecret("alertWebhookUrl"),
    alertPingUrl: asSecret("alertPingUrl"),
    sentryDsn: asSecret("sentryDsn"),
    googleOauthClientSecret: asSecret("googleOauthClientSecret"),
    microsoftOauthClientSecret: asSecret("microsoftOauthClientSecret"),
    inboundEmailSecret: asSecret("inboundEmailSecret"),
    captainOpenAiApiKey: asSecret("captainOpenAiApiKey"),
    hcloudControllerToken: asSecret("hcloudControllerToken"),
    adoptUrls: { database: asSecret("adoptDatabaseUrl"), storage: asSecret("adoptStorageUrl") },
    ...(extraSecretEnvNames(secretInput.extraSecretEnv) === undefined
      ? { extraSecretEnvNames: [] }
      : {
          extraSecretEnv: pulumi.secret(JSON.parse(secretInput.extraSecretEnv!) as Record<string, string>),
          extraSecretEnvNames: extraSecretEnvNames(secretInput.extraSecretEnv)!,
        }),
    storageCredentials: { accessKeyId: asSecret("storageAccessKeyId"), secretAccessKey: asSecret("storageSecretAccessKey") },
    overrides: {
      secretKeyBase: asSecret("secretKeyBase"),
      encryptionPrimaryKey: asSecret("encryptionPrimaryKey"),
      encryptionDeterministicKey: asSecret("encryptionDeterministicKey"),
      encryptionKeyDerivationSalt: asSecret("encryptionKeyDerivationSalt"),
      postgresPassword: asSecret("postgresPassword"),
      backupPassword: asSecret("backupPassword"),
      webhookSecret: asSecret("webhookSecret"),
    },
    backupCredentials: {
      s3AccessKeyId: asSecret("backupS3AccessKeyId"),
      s3SecretAccessKey: asSecret("backupS3SecretAccessKey"),
      sftpPrivateKey: asSecret("backupSftpPrivateKey"),
    },
    warnings: [
      ...upOnly.map((p) => `pulumi up will refuse to run: ${p}`),
      ...(data.target === "cluster" ? clusterWarnings(data.cluster!, data.sshAllowedCidrs) : warningsFor(data, raw, secretInput)),
      ...(data.target === "kubernetes" ? kubernetesWarnings(kubernetes ?? KUBERNETES_DEFAULT) : []),
    ],
  };
}

/** The longest value any key takes (a list of SSH keys is the longest legitimate one). */
const MAX_VALUE_CHARS = 65536;

/**
 * Whether a value given to an echo-safe key may be quoted back: short enough to be a location, a
 * type, a version or a number, not a credential typed into the wrong key.
 */
function quotable(given: unknown): boolean {
  return typeof given === "number" || typeof given === "boolean" || (typeof given === "string" && given.length <= 16);
}

function describeIssue(issue: z.core.$ZodIssue, input: Record<string, unknown>): string {
  const path = issue.path.map(String);
  const key = `${CONFIG_NAMESPACE}:${path.join(".")}`;
  if (issue.code === "unrecognized_keys") {
    return `${key === `${CONFIG_NAMESPACE}:` ? CONFIG_NAMESPACE : key} has unknown field(s) ${issue.keys.map((k) => `"${k}"`).join(", ")}`;
  }
  const given = valueAt(input, issue.path);
  if (given === undefined) return `${key} is required: it ${issue.message}`;
  // Quote the value only where it cannot be a credential (list positions count as their list).
  const echoable = ECHO_SAFE_KEYS.has(path.filter((s) => !/^[0-9]+$/.test(s)).join("."));
  return echoable && quotable(given) ? `${key} ${issue.message}, got ${quote(given)}` : `${key} ${issue.message}`;
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
  const s = JSON.stringify(v) ?? String(v);
  return s.length > 80 ? `${s.slice(0, 77)}...` : s;
}

function runtimeConfig(): RawConfig {
  const runtime = pulumi.runtime as unknown as { isConfigSecret(k: string): boolean };
  return { values: pulumi.runtime.allConfig(), isSecret: (k) => runtime.isConfigSecret(k) };
}
