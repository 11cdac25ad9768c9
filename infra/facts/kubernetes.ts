/**
 * Facts the Kubernetes target relies on, each with where it was read. Versions of the cluster's
 * operators are the cluster's business (the cluster stack pins them); these are what this stack's
 * objects assume of them.
 */

/** The CRDs this stack's custom resources need, by the operator that installs them. */
export const REQUIRED_CRDS = {
  // CloudNativePG 1.30 (postgresql.cnpg.io/v1), the operator's manifest.
  "cloudnative-pg": ["clusters.postgresql.cnpg.io", "databases.postgresql.cnpg.io", "scheduledbackups.postgresql.cnpg.io"],
  // The Barman Cloud plugin 0.14 (barmancloud.cnpg.io/v1): only with chatwoot:kubernetes.postgresBackup.
  "barman-cloud-plugin": ["objectstores.barmancloud.cnpg.io"],
  // cert-manager 1.21 (cert-manager.io/v1).
  "cert-manager": ["certificates.cert-manager.io"],
  // Traefik v3 (traefik.io/v1alpha1), which k3s ships.
  traefik: ["middlewares.traefik.io", "ingressroutes.traefik.io"],
} as const;

export const images = {
  /** Chatwoot's image (hub.docker.com/r/chatwoot/chatwoot), as the server target runs it. */
  chatwoot: (version: string) => `chatwoot/chatwoot:${version}`,
  /**
   * CloudNativePG's `standard` operand image: PostgreSQL 16 (the server target's major, so a dump
   * moves across unchanged) with pgvector (cloudnative-pg/postgres-containers README).
   */
  postgres: "ghcr.io/cloudnative-pg/postgresql:16.13-standard-trixie",
  /** The Redis the server target runs (docker/compose.yaml). */
  redis: "redis:7.4-alpine",
} as const;

/** The Barman Cloud plugin's name, as CNPG's Cluster.spec.plugins and ScheduledBackup refer to it (plugin-barman-cloud docs). */
export const BARMAN_PLUGIN = "barman-cloud.cloudnative-pg.io";

/** The CNPG Cluster's read-write Service: `<cluster>-rw` (CloudNativePG docs, "Service management"). */
export const cnpgReadWriteService = (cluster: string) => `${cluster}-rw`;

/**
 * Sidekiq's own shutdown timeout (-t, as on the server target) and the pod's grace period: the
 * kubelet sends SIGTERM, Sidekiq stops fetching, finishes or pushes back its jobs within -t, and
 * the grace period leaves it 10 s more to exit before SIGKILL.
 */
export const SIDEKIQ_SHUTDOWN_SECONDS = 25;
export const SIDEKIQ_GRACE_SECONDS = SIDEKIQ_SHUTDOWN_SECONDS + 10;

/** Puma finishes in-flight requests on SIGTERM; the endpoints are removed first (preStop sleep). */
export const WEB_PRESTOP_SECONDS = 5;
export const WEB_GRACE_SECONDS = 30;

/** The migration Job's deadline, and the statement timeout each migration statement gets (as deploy.sh sets it). */
export const MIGRATION_DEADLINE_SECONDS = 1800;
export const MIGRATION_STATEMENT_TIMEOUT = "600s";
/** The bootstrap Job's deadline. */
export const BOOTSTRAP_DEADLINE_SECONDS = 600;
