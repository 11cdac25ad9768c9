/**
 * The names of the Kubernetes target's objects, in one place. The app Secret is the project's own
 * name (`chatwoot-app-env`), never `<release>-env` like the official chart's: two writers of one
 * Secret would silently overwrite each other's keys.
 */
import { createHash } from "node:crypto";

export interface KubernetesNames {
  namespace: string;
  appEnvSecret: string;
  web: string;
  sidekiq: string;
  webService: string;
  postgresCluster: string;
  postgresAppSecret: string;
  postgresDatabase: string;
  postgresBackupSecret: string;
  objectStore: string;
  scheduledBackup: string;
  redis: string;
  redisService: string;
  redisConfigSecret: string;
  bootstrapServiceAccount: string;
  bootstrapResultSecret: string;
  bootstrapInputSecret: string;
  bootstrapScripts: string;
  certificate: string;
  tlsSecret: string;
  ingressRoute: string;
}

export function kubernetesNames(namespace: string): KubernetesNames {
  return {
    namespace,
    appEnvSecret: "chatwoot-app-env",
    web: "chatwoot-web",
    sidekiq: "chatwoot-sidekiq",
    webService: "chatwoot-web",
    postgresCluster: "chatwoot-postgres",
    postgresAppSecret: "chatwoot-postgres-app",
    postgresDatabase: "chatwoot",
    postgresBackupSecret: "chatwoot-postgres-backup-s3",
    objectStore: "chatwoot-postgres-backups",
    scheduledBackup: "chatwoot-postgres-daily",
    redis: "chatwoot-redis",
    redisService: "chatwoot-redis",
    redisConfigSecret: "chatwoot-redis-config",
    bootstrapServiceAccount: "chatwoot-bootstrap",
    bootstrapResultSecret: "chatwoot-bootstrap-result",
    bootstrapInputSecret: "chatwoot-bootstrap-input",
    bootstrapScripts: "chatwoot-bootstrap-scripts",
    certificate: "chatwoot-site",
    tlsSecret: "chatwoot-site-tls",
    ingressRoute: "chatwoot",
  };
}

/** A release tag as a DNS label part: v4.15.1-ce → v4-15-1-ce. */
export function releaseSlug(version: string): string {
  return version.toLowerCase().replace(/[^a-z0-9]+/g, "-").replace(/^-|-$/g, "");
}

/**
 * The migration Job's name: the release, and a hash of the Job's spec. A Job's pod template is
 * immutable, so a new release (or a changed spec) is a new Job, which the engine creates before
 * the Deployments roll; the old one is deleted after.
 */
export function migrationJobName(version: string, spec: unknown): string {
  return `chatwoot-migrate-${releaseSlug(version)}-${createHash("sha256").update(JSON.stringify(spec)).digest("hex").slice(0, 8)}`;
}

/** Labels on everything, and the selector labels of each tier. */
export function labelsFor(component: string, stackLabel: string): Record<string, string> {
  return {
    "app.kubernetes.io/name": "chatwoot",
    "app.kubernetes.io/component": component,
    "app.kubernetes.io/instance": stackLabel,
    "app.kubernetes.io/managed-by": "pulumi",
  };
}

export function selectorFor(component: string, stackLabel: string): Record<string, string> {
  return { "app.kubernetes.io/name": "chatwoot", "app.kubernetes.io/component": component, "app.kubernetes.io/instance": stackLabel };
}
