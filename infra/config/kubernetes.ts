/**
 * `chatwoot:target` and `chatwoot:kubernetes`: which kind of stack this is, and the settings of
 * the Kubernetes target (infra/kubernetes). The rules below say which keys belong to which target,
 * so that a server setting on a Kubernetes stack (or the reverse) is an error, not silently ignored.
 */
import { z } from "zod";
import { durationSeconds } from "./backup";
import { clusterTargetProblems } from "./cluster";

const p = "chatwoot:";

export const TARGETS = ["server", "kubernetes", "cluster"] as const;
export type Target = (typeof TARGETS)[number];

/** A DNS-1123 label: a namespace, a storage class, an issuer. */
const dnsLabel = (what: string) =>
  z.string().regex(/^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$/, { message: `must be a ${what}: lowercase letters, digits and '-', at most 63` });

/** A Kubernetes quantity in the forms this stack writes (Kubernetes' own parser is stricter about nothing we accept). */
const cpu = z.string().regex(/^([1-9][0-9]{0,2}|[1-9][0-9]{0,5}m)$/, { message: 'must be CPU cores such as "2" or "500m"' });
const memory = z.string().regex(/^[1-9][0-9]{0,5}(Mi|Gi)$/, { message: 'must be memory such as "1Gi" or "768Mi"' });

const tier = (replicas: number, cpuDefault: string, memoryDefault: string) =>
  z
    .object({
      replicas: z.number({ message: "must be a whole number" }).int().min(1, { message: "must be at least 1" }).max(50, { message: "must be at most 50" }).default(replicas),
      /** Requests; the memory request is also the limit (a Rails process that outgrows it restarts, not the node). */
      cpu: cpu.default(cpuDefault),
      memory: memory.default(memoryDefault),
    })
    .strict()
    .default({ replicas, cpu: cpuDefault, memory: memoryDefault });

/** S3 bucket and endpoint of the database's backups, in the style of chatwoot:storage. */
const postgresBackupSchema = z
  .object(
    {
      bucket: z.string().regex(/^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/, { message: "must be a bucket name: 3 to 63 lowercase letters, digits, dots and hyphens" }),
      /** Prefix inside the bucket (default: the stack's name). */
      path: z.string().regex(/^[a-z0-9][a-z0-9/_-]{0,100}$/, { message: "must be a path such as chatwoot/production" }).optional(),
      endpoint: z.string().regex(/^https:\/\/[a-z0-9.-]+(:[0-9]{1,5})?\/?$/, { message: "must be an https endpoint without a path, e.g. https://fsn1.your-objectstorage.com" }),
      region: z.string().regex(/^[a-z0-9-]{2,32}$/, { message: "must be a region name such as fsn1 or eu-central-1" }).optional(),
      /** How long base backups and WAL are kept (Barman's recovery window). */
      retentionDays: z.number({ message: "must be a whole number of days" }).int().min(1).max(3650).default(30),
      /** How often a base backup runs; WAL is archived continuously in between. */
      every: z
        .enum(["1d", "12h", "6h"], { message: 'must be "1d", "12h" or "6h"' })
        .default("1d")
        .transform((v) => durationSeconds(v)),
    },
    { message: 'must be an object like {"bucket": "chatwoot-db", "endpoint": "https://fsn1.your-objectstorage.com"}' },
  )
  .strict();

export const kubernetesSchema = z
  .object(
    {
      /** The namespace everything lives in; created unless it is "default". */
      namespace: dnsLabel("namespace name").default("chatwoot"),
      /**
       * The cluster stack (`<org>/<project>/<stack>`) whose `kubeconfig` output this stack deploys
       * to. Without it, the Kubernetes provider's own settings (kubernetes:kubeconfig, KUBECONFIG).
       */
      clusterStack: z.string().regex(/^[A-Za-z0-9_.-]+\/[A-Za-z0-9_.-]+\/[A-Za-z0-9_.-]+$/, { message: "must be a stack reference such as acme/chatwoot/cluster" }).optional(),
      web: tier(2, "500m", "1536Mi"),
      sidekiq: tier(2, "500m", "1536Mi"),
      /** The StorageClass of PostgreSQL's and Redis's volumes (hcloud-volumes: Hetzner's CSI driver). */
      storageClass: dnsLabel("StorageClass name").default("hcloud-volumes"),
      /** The cert-manager ClusterIssuer of the site's certificate. */
      clusterIssuer: dnsLabel("ClusterIssuer name").default("letsencrypt"),
      /** Traefik's entry point for HTTPS (k3s's Traefik: websecure). */
      entryPoint: dnsLabel("Traefik entry point name").default("websecure"),
      postgres: z
        .object({
          instances: z.number({ message: "must be a whole number" }).int().min(1, { message: "must be at least 1" }).max(5, { message: "must be at most 5" }).default(2),
          storageGb: z.number({ message: "must be a whole number of GB" }).int().min(10, { message: "must be at least 10 (GB)" }).max(10240).default(20),
        })
        .strict()
        .default({ instances: 2, storageGb: 20 }),
      redis: z
        .object({ storageGb: z.number({ message: "must be a whole number of GB" }).int().min(1).max(100).default(2) })
        .strict()
        .default({ storageGb: 2 }),
      /** The database's backups through the Barman Cloud plugin; credentials are chatwoot:backupS3AccessKeyId and backupS3SecretAccessKey. */
      postgresBackup: postgresBackupSchema.optional(),
    },
    { message: 'must be an object like {"namespace": "chatwoot"}' },
  )
  .strict();

export type KubernetesConfig = z.infer<typeof kubernetesSchema>;
export const KUBERNETES_DEFAULT: KubernetesConfig = kubernetesSchema.parse({});

/**
 * Keys that only the server target reads: on a Kubernetes stack they would do nothing, which an
 * operator must hear about. (alerts: the watchdog runs on the server; the cluster has its own.)
 */
export const SERVER_ONLY_KEYS = [
  "location",
  "serverType",
  "image",
  "volumeSizeGb",
  "sshPublicKeys",
  "sshAllowedCidrs",
  "serverBackups",
  "deleteProtection",
  "dnsZone",
  "tuning",
  "backup",
  "adopt",
  "restoreFrom",
  "alerts",
] as const;

/** What the targets that run Chatwoot require, and what each must be. */
const APP_REQUIRED = {
  domain: "must be a fully qualified hostname",
  account: 'must be an object like {"name": "Acme Support", "locale": "en"}',
  admin: 'must be an object like {"email": "ops@example.com", "name": "Ops"}',
};

/** Secret keys that only the server target reads. */
export const SERVER_ONLY_SECRET_KEYS = ["backupPassword", "backupSftpPrivateKey", "adoptDatabaseUrl", "adoptStorageUrl", "alertWebhookUrl", "alertPingUrl"] as const;

/** What is wrong with the keys given for the chosen target (`given`: the public keys set). */
export function targetProblems(
  target: Target,
  given: readonly string[],
  givenSecrets: readonly string[],
  c: { storage: { service: string }; kubernetes?: KubernetesConfig },
): string[] {
  const problems: string[] = [];
  if (target === "cluster") return clusterTargetProblems(given, givenSecrets);
  for (const [key, expected] of Object.entries(APP_REQUIRED)) {
    if (!given.includes(key)) problems.push(`${p}${key} is required: it ${expected}`);
  }
  if (given.includes("cluster")) problems.push(`${p}cluster is only used when ${p}target is "cluster"`);
  if (givenSecrets.includes("hcloudControllerToken")) problems.push(`${p}hcloudControllerToken is only used when ${p}target is "cluster"`);
  if (target === "server") {
    if (given.includes("kubernetes")) problems.push(`${p}kubernetes is only used when ${p}target is "kubernetes"`);
    if (!given.includes("sshPublicKeys")) problems.push(`${p}sshPublicKeys is required: it must list at least one OpenSSH public key (every deploy reaches the server over SSH)`);
    return problems;
  }
  for (const key of SERVER_ONLY_KEYS) {
    if (given.includes(key)) problems.push(`${p}${key} is a setting of the server target; remove it on ${p}target "kubernetes" (see docs/kubernetes.md)`);
  }
  for (const key of SERVER_ONLY_SECRET_KEYS) {
    if (givenSecrets.includes(key)) problems.push(`${p}${key} is a setting of the server target; remove it on ${p}target "kubernetes" (see docs/kubernetes.md)`);
  }
  if (c.storage.service !== "s3Compatible") {
    problems.push(`${p}storage.service must be "s3Compatible" on ${p}target "kubernetes": several web pods serve attachments, so they live in a bucket, not on a volume`);
  }
  const backup = c.kubernetes?.postgresBackup;
  if (!backup && (givenSecrets.includes("backupS3AccessKeyId") || givenSecrets.includes("backupS3SecretAccessKey"))) {
    problems.push(`${p}backupS3AccessKeyId and backupS3SecretAccessKey are only used with ${p}kubernetes.postgresBackup on ${p}target "kubernetes"`);
  }
  return problems;
}

/** What only `pulumi up` needs (a preview and the offline plan warn instead). */
export function targetUpProblems(target: Target, givenSecrets: readonly string[], k: KubernetesConfig | undefined): string[] {
  const hasKeys = givenSecrets.includes("backupS3AccessKeyId") && givenSecrets.includes("backupS3SecretAccessKey");
  if (target === "kubernetes" && k?.postgresBackup && !hasKeys) {
    return [`${p}kubernetes.postgresBackup needs ${p}backupS3AccessKeyId and ${p}backupS3SecretAccessKey: pulumi config set --secret ${p}backupS3AccessKeyId …`];
  }
  return [];
}

/** Warnings a reviewer should see in every preview of a Kubernetes stack. */
export function kubernetesWarnings(k: KubernetesConfig): string[] {
  const warnings: string[] = [];
  if (k.web.replicas < 2) warnings.push(`${p}kubernetes.web.replicas is 1: every rolling upgrade and node loss interrupts the site`);
  if (k.sidekiq.replicas < 2) warnings.push(`${p}kubernetes.sidekiq.replicas is 1: background jobs stop while its node is lost`);
  if (k.postgres.instances < 2) warnings.push(`${p}kubernetes.postgres.instances is 1: no replica to fail over to; losing its node loses the database until restored`);
  if (!k.postgresBackup) warnings.push(`${p}kubernetes.postgresBackup is not set: the database has no backup outside the cluster`);
  return warnings;
}
