/**
 * The app Secret's data: the "app" scope of the server target's env file, rendered by the same
 * code (chatwoot/env.ts), with the addresses of the cluster's PostgreSQL and Redis instead of the
 * compose services'. Backup-only secrets are in another scope and never reach it. Pure.
 */
import { createHmac } from "node:crypto";
import { envScope, parseEnvFile } from "../chatwoot/env-file";
import { databaseUrl, renderEnvFile } from "../chatwoot/env";
import { NO_ALERTS, type EnvSecrets, type EnvSettings } from "../chatwoot/env-settings";
import { cnpgReadWriteService } from "../facts/kubernetes";
import type { KubernetesNames } from "./names";

/** The database role the CNPG cluster's initdb creates and Chatwoot connects as (not a superuser). */
export const DATABASE_OWNER = "chatwoot";
export const DATABASE_NAME = "chatwoot";

/** What differs from the server target: where PostgreSQL and Redis are. */
function clusterAddresses(n: KubernetesNames, postgresPassword: string): Record<string, string> {
  const host = `${cnpgReadWriteService(n.postgresCluster)}.${n.namespace}.svc`;
  return {
    INSTALLATION_ENV: "kubernetes",
    POSTGRES_HOST: host,
    POSTGRES_PORT: "5432",
    POSTGRES_USERNAME: DATABASE_OWNER,
    POSTGRES_DATABASE: DATABASE_NAME,
    DATABASE_URL: databaseUrl({ host, username: DATABASE_OWNER, database: DATABASE_NAME, password: postgresPassword }),
    // In full: Kubernetes expands $(VAR) only in env[].value, command and args, never in envFrom,
    // so a URL built from REDIS_PASSWORD there would reach Rails as literal text. Chatwoot reads
    // the password from REDIS_PASSWORD (lib/redis/config.rb), as on the server target.
    REDIS_URL: `redis://${n.redisService}.${n.namespace}.svc:6379`,
  };
}

/** The env settings of the Kubernetes target: the server target's, without its host-only parts. */
export function kubernetesEnvSettings(s: EnvSettings): EnvSettings {
  const { backup: _b, tuning: _t, ...rest } = s;
  return { ...rest, alerts: NO_ALERTS };
}

/** The app Secret's data, name → value. */
export function renderAppEnv(settings: EnvSettings, secrets: EnvSecrets, n: KubernetesNames): Record<string, string> {
  const env = Object.fromEntries(parseEnvFile(envScope(renderEnvFile(kubernetesEnvSettings(settings), secrets), "app")));
  return { ...env, ...clusterAddresses(n, secrets.POSTGRES_PASSWORD) };
}

/**
 * A checksum of secret data for a pod annotation (pods roll when it changes). An HMAC keyed by
 * SECRET_KEY_BASE, not a bare hash: a hash of a short configured secret (an SMTP password) could
 * be guessed offline from the annotation, which anyone who may read pods can see.
 */
export function secretChecksum(data: Record<string, string>, key: string): string {
  const canonical = JSON.stringify(Object.keys(data).sort().map((k) => [k, data[k]]));
  return createHmac("sha256", key).update(canonical).digest("hex").slice(0, 32);
}
