/**
 * Facts about Chatwoot that the program relies on, in one place. The lists themselves live in
 * `facts/chatwoot-upstream.json` (each names the upstream file it was read from, at tag v4.15.1), so the
 * Ruby test stand-ins read exactly the same data as the config validation.
 */
import facts from "./chatwoot-upstream.json";

const webhookEvents = facts.webhookEvents.values as readonly string[];

function versionTuple(tag: string): number[] {
  return tag.replace(/^v/, "").replace(/-ce$/, "").split(".").map(Number);
}

function isAtLeast(tag: string, minimum: string): boolean {
  const [a, b] = [versionTuple(tag), versionTuple(minimum)];
  for (let i = 0; i < 3; i++) {
    if (a[i]! !== b[i]!) return a[i]! > b[i]!;
  }
  return true;
}

const passwordSpecials = facts.passwordSpecials.value;
const passwordSpecialsShown = passwordSpecials.replace(" ", "space ");

export const chatwoot = {
  /** The release deployed by default (Renovate keeps it current; the facts above are read at `factsVersion`). */
  defaultVersion: "v4.15.1",
  /** The release the lists in facts/chatwoot-upstream.json were read from. */
  factsVersion: facts.version,
  /**
   * Oldest release on which signup can really be closed: up to v4.11.2 the signup check compared
   * the stored boolean with the string 'false' (fixed by chatwoot#13745, first tagged v4.12.0).
   */
  minimumVersion: "v4.12.0",
  webhookEvents,
  defaultWebhookEvents: ["conversation_created", "conversation_status_changed", "message_created"] as const,
  /** `Account.locale` values: anything else makes Rails raise ArgumentError. */
  locales: facts.locales.values as readonly string[],
  /** Account feature flag names. */
  features: facts.features.values as readonly string[],
  passwordSpecials,
  /** Redis key (with Redis::Alfred's namespace) that opens /installation/onboarding to anyone. */
  onboardingRedisKey: facts.onboardingRedisKey.value,
  /** Settings kept in installation_configs that the bootstrap may set (GlobalConfigService reads them from the table). */
  installationConfigs: facts.installationConfigs.values as readonly string[],
  /** How agents can sign in, and the OAuth redirect paths to register with Google and Microsoft. */
  signIn: facts.signIn,
  /** Rails serves on this port inside the container. */
  railsPort: 3000,
  isAtLeastMinimumVersion(tag: string): boolean {
    return isAtLeast(tag, this.minimumVersion);
  },
  isAtLeast,
  /**
   * Why Chatwoot would reject a password, or undefined when it is fine. Never quotes the password
   * or any of its characters: the message may end up in a log or a pull request.
   */
  passwordProblem(password: string): string | undefined {
    const { min, max } = facts.passwordLength;
    const chars = [...password];
    const allowed = (ch: string) => /^[A-Za-z0-9]$/.test(ch) || passwordSpecials.includes(ch);
    if (chars.some((ch) => !allowed(ch))) {
      return (
        "contains a character Chatwoot's password rules reject (only A-Z, a-z, 0-9 and the specials " +
        `${passwordSpecialsShown} are accepted; no accented letters, tabs or emoji)`
      );
    }
    const missing: string[] = [];
    if (!/[A-Z]/.test(password)) missing.push("an uppercase letter");
    if (!/[a-z]/.test(password)) missing.push("a lowercase letter");
    if (!/[0-9]/.test(password)) missing.push("a digit");
    if (!chars.some((ch) => passwordSpecials.includes(ch))) missing.push(`one of the specials ${passwordSpecialsShown}`);
    if (chars.length < min || chars.length > max) {
      return `must be ${min} to ${max} characters long${missing.length ? ` and contain ${missing.join(", ")}` : ""}`;
    }
    return missing.length ? `must contain ${missing.join(", ")} (Chatwoot's password rules)` : undefined;
  },
};

/**
 * Action Mailbox ingresses Chatwoot can take inbound mail from, and the variable each one's
 * credential is read from (Rails' Action Mailbox ingresses; the variable names as Chatwoot's .env.example lists them:
 * RAILS_INBOUND_EMAIL_*, MAILGUN_INGRESS_SIGNING_KEY, MANDRILL_INGRESS_API_KEY).
 */
export const INBOUND_EMAIL_SERVICES = ["relay", "postmark", "sendgrid", "mailgun", "mandrill"] as const;
export const INBOUND_EMAIL_SECRET_ENV: Record<(typeof INBOUND_EMAIL_SERVICES)[number], string> = {
  relay: "RAILS_INBOUND_EMAIL_PASSWORD",
  postmark: "RAILS_INBOUND_EMAIL_PASSWORD",
  sendgrid: "RAILS_INBOUND_EMAIL_PASSWORD",
  mailgun: "MAILGUN_INGRESS_SIGNING_KEY",
  mandrill: "MANDRILL_INGRESS_API_KEY",
};


/**
 * Variables Chatwoot reads from its environment that the stack has no setting for, although their
 * families (POSTGRES_, REDIS_, SMTP_) are the stack's own: extraEnv may set them.
 * POSTGRES_STATEMENT_TIMEOUT (config/database.yml, default 14s), REDIS_ALFRED_SIZE (lib/redis/config.rb),
 * SMTP_OPENSSL_VERIFY_MODE, SMTP_OPEN_TIMEOUT and SMTP_READ_TIMEOUT (config/initializers/mailer.rb).
 */
export const EXTRA_ENV_ALLOWED = ["POSTGRES_STATEMENT_TIMEOUT", "REDIS_ALFRED_SIZE", "SMTP_OPENSSL_VERIFY_MODE", "SMTP_OPEN_TIMEOUT", "SMTP_READ_TIMEOUT"] as const;

/**
 * Families Chatwoot v4.15.1 reads from its installation configs (config/installation_config.yml,
 * lib/global_config_service.rb): once db:migrate has seeded their rows, the environment is never
 * read again, so setting them in the env file does nothing. They are set in /super_admin.
 */
export const DATABASE_READ_ENV_PREFIXES = ["FB_", "SLACK_", "WHATSAPP_", "INSTAGRAM_"] as const;

/**
 * Adopting another installation's database (scripts/adopt.sh). v4.0.0's first migration
 * (db/migrate/20250104200055_create_captain_tables.rb) makes pgvector mandatory: a dump whose
 * newest migration is older is from 3.x. Upgrades from 3.x straight to 4.2 or later fail on
 * existing data (chatwoot#12088, open); users go through v4.1.0 first.
 */
export const ADOPTION = {
  firstV4Migration: "20250104200055",
  /**
   * v4.2.0's db/migrate/20250416182131_flip_chatwoot_v4_default_feature_flag_installation_config.rb
   * calls Account#enable_features!, which needs the accounts.settings column v4.1 adds: data from
   * 3.x or v4.0.x fails there (chatwoot#12088 and #11614 quote it). A dump older than it must
   * have that column, i.e. have been through v4.1.
   */
  v41NeededBefore: "20250416182131",
  /** The newest migration of each release the facts were read at (db/schema.rb's version). */
  newestMigration: { "v4.15.1": "20260611184600" } as Record<string, string>,
  /** The release a 3.x dump is adopted with before upgrading further. */
  intermediateForV3: "v4.1.0",
  /** Targets from this release on refuse a 3.x dump. */
  v3DirectLimit: "v4.2.0",
} as const;
