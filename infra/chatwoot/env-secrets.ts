/**
 * The secrets a Chatwoot installation's env holds and the secret installation configs its
 * bootstrap sets, by name, from validated config and the generated secrets: the same for every
 * target (the server's .env, the Kubernetes app Secret).
 */
import * as pulumi from "@pulumi/pulumi";
import { INBOUND_EMAIL_SECRET_ENV } from "../facts/chatwoot";
import type { ChatwootConfig } from "../config/load";
import { SIGN_IN_SECRET_INSTALLATION_CONFIGS } from "../config/sign-in";
import type { EnvSecrets } from "./env-settings";
import type { ChatwootSecrets } from "./secrets";

/**
 * Secret installation configs the bootstrap sets. A sign-in secret only counts with its client id
 * (a lone secret is only warned about), so the two always arrive together.
 */
export function secretInstallationConfigsFor(config: ChatwootConfig): Record<string, pulumi.Output<string>> {
  const pairs: [string, pulumi.Output<string> | undefined][] = [
    ["CAPTAIN_OPEN_AI_API_KEY", config.captainOpenAiApiKey],
    [SIGN_IN_SECRET_INSTALLATION_CONFIGS.googleOauthClientSecret, config.googleSignIn && config.googleOauthClientSecret],
    [SIGN_IN_SECRET_INSTALLATION_CONFIGS.microsoftOauthClientSecret, config.microsoftSignIn && config.microsoftOauthClientSecret],
  ];
  return Object.fromEntries(pairs.filter((e): e is [string, pulumi.Output<string>] => e[1] !== undefined));
}

/**
 * The secrets the env file holds, one named entry each: a new secret is one line here (and its
 * name in EnvSecrets). The backup component contributes its own entries.
 */
export function envSecretsFor(config: ChatwootConfig, secrets: ChatwootSecrets, backup?: { envSecrets: pulumi.Input<Partial<EnvSecrets>> }): pulumi.Output<EnvSecrets> {
  const named = envSecretInputs(config, secrets);
  return pulumi.all([pulumi.all(named), backup?.envSecrets]).apply(([values, backupEnv]) => ({
    ...(Object.fromEntries(Object.entries(values).filter(([, v]) => v !== undefined)) as unknown as EnvSecrets),
    ...backupEnv,
  }));
}

function envSecretInputs(config: ChatwootConfig, secrets: ChatwootSecrets): Record<string, pulumi.Input<string | Record<string, string>> | undefined> {
  return {
    SECRET_KEY_BASE: secrets.secretKeyBase,
    ACTIVE_RECORD_ENCRYPTION_PRIMARY_KEY: secrets.encryptionPrimaryKey,
    ACTIVE_RECORD_ENCRYPTION_DETERMINISTIC_KEY: secrets.encryptionDeterministicKey,
    ACTIVE_RECORD_ENCRYPTION_KEY_DERIVATION_SALT: secrets.encryptionKeyDerivationSalt,
    POSTGRES_PASSWORD: secrets.postgresPassword,
    REDIS_PASSWORD: secrets.redisPassword,
    SMTP_PASSWORD: config.smtpPassword,
    ALERT_WEBHOOK_URL: config.alertWebhookUrl,
    ALERT_PING_URL: config.alertPingUrl,
    SENTRY_DSN: config.sentryDsn,
    GOOGLE_OAUTH_CLIENT_SECRET: config.googleOauthClientSecret,
    ...(config.inboundEmail ? { [INBOUND_EMAIL_SECRET_ENV[config.inboundEmail.service]]: config.inboundEmailSecret } : {}),
    STORAGE_ACCESS_KEY_ID: config.storageCredentials.accessKeyId,
    STORAGE_SECRET_ACCESS_KEY: config.storageCredentials.secretAccessKey,
    EXTRA_SECRET_ENV: config.extraSecretEnv,
  };
}
