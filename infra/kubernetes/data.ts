/**
 * PostgreSQL through the CloudNativePG operator (a Cluster, a Database with pgvector, backups
 * through the Barman Cloud plugin) and Redis as a single-replica StatefulSet. Pure renderers of
 * plain objects, tested as data and dry-run against a real kube-apiserver with the operators' CRDs.
 *
 * Redis holds Sidekiq's queues and ActionCable's pub/sub: transient data. It is kept across
 * restarts (AOF on a volume) so queued jobs survive a rollout, but it is not backed up; losing it
 * loses queued jobs, not conversations.
 */
import type * as k8s from "@pulumi/kubernetes";
import type { KubernetesConfig } from "../config/kubernetes";
import { BARMAN_PLUGIN, images } from "../facts/kubernetes";
import { DATABASE_NAME, DATABASE_OWNER } from "./app-env";
import { labelsFor, selectorFor, type KubernetesNames } from "./names";

export interface DataInput {
  names: KubernetesNames;
  stackLabel: string;
  config: KubernetesConfig;
  /** The stack's name: the default prefix of the backups in their bucket. */
  stack: string;
}

/** A CustomResource's arguments as plain data. */
export interface CustomObject {
  apiVersion: string;
  kind: string;
  metadata: { name: string; namespace: string; labels?: Record<string, string>; annotations?: Record<string, string> };
  spec: Record<string, unknown>;
}

export function renderPostgresCluster(i: DataInput): CustomObject {
  const backup = i.config.postgresBackup;
  return {
    apiVersion: "postgresql.cnpg.io/v1",
    kind: "Cluster",
    metadata: { name: i.names.postgresCluster, namespace: i.names.namespace, labels: labelsFor("postgres", i.stackLabel) },
    spec: {
      instances: i.config.postgres.instances,
      imageName: images.postgres,
      // Primary and replica never share a node: losing one node never loses both copies.
      affinity: { enablePodAntiAffinity: true, podAntiAffinityType: "required", topologyKey: "kubernetes.io/hostname" },
      storage: { size: `${i.config.postgres.storageGb}Gi`, storageClass: i.config.storageClass },
      bootstrap: {
        // The owner's password is the stack's generated one (a basic-auth Secret), like every other secret.
        initdb: { database: DATABASE_NAME, owner: DATABASE_OWNER, secret: { name: i.names.postgresAppSecret } },
      },
      ...(backup ? { plugins: [{ name: BARMAN_PLUGIN, isWALArchiver: true, parameters: { barmanObjectName: i.names.objectStore } }] } : {}),
    },
  };
}

/** The database, declaratively: pgvector created by the operator (a superuser), so Chatwoot's migration finds it. */
export function renderPostgresDatabase(i: DataInput): CustomObject {
  return {
    apiVersion: "postgresql.cnpg.io/v1",
    kind: "Database",
    metadata: { name: i.names.postgresDatabase, namespace: i.names.namespace, labels: labelsFor("postgres", i.stackLabel) },
    spec: {
      cluster: { name: i.names.postgresCluster },
      name: DATABASE_NAME,
      owner: DATABASE_OWNER,
      // The database outlives this object: deleting the object must never drop conversations.
      databaseReclaimPolicy: "retain",
      extensions: [{ name: "vector", ensure: "present" }],
    },
  };
}

export function renderObjectStore(i: DataInput): CustomObject | undefined {
  const b = i.config.postgresBackup;
  if (!b) return undefined;
  const path = b.path ?? `chatwoot/${i.stack}`;
  return {
    apiVersion: "barmancloud.cnpg.io/v1",
    kind: "ObjectStore",
    metadata: { name: i.names.objectStore, namespace: i.names.namespace, labels: labelsFor("postgres", i.stackLabel) },
    spec: {
      retentionPolicy: `${b.retentionDays}d`,
      configuration: {
        destinationPath: `s3://${b.bucket}/${path}`,
        endpointURL: b.endpoint.replace(/\/$/, ""),
        s3Credentials: {
          accessKeyId: { name: i.names.postgresBackupSecret, key: "ACCESS_KEY_ID" },
          secretAccessKey: { name: i.names.postgresBackupSecret, key: "ACCESS_SECRET_KEY" },
          ...(b.region ? { region: { name: i.names.postgresBackupSecret, key: "REGION" } } : {}),
        },
        wal: { compression: "gzip" },
        data: { compression: "gzip" },
      },
    },
  };
}

/** CNPG's schedule is a six-field cron (seconds first). */
export function backupCron(everySeconds: number): string {
  if (everySeconds === 86400) return "0 15 3 * * *";
  return `0 15 */${everySeconds / 3600} * * *`;
}

export function renderScheduledBackup(i: DataInput): CustomObject | undefined {
  const b = i.config.postgresBackup;
  if (!b) return undefined;
  return {
    apiVersion: "postgresql.cnpg.io/v1",
    kind: "ScheduledBackup",
    metadata: { name: i.names.scheduledBackup, namespace: i.names.namespace, labels: labelsFor("postgres", i.stackLabel) },
    spec: {
      schedule: backupCron(b.every),
      backupOwnerReference: "self",
      cluster: { name: i.names.postgresCluster },
      method: "plugin",
      pluginConfiguration: { name: BARMAN_PLUGIN },
      immediate: true,
    },
  };
}

/** redis.conf: the password lives in a file from a Secret, never in a command line. */
export function renderRedisConf(password: string): string {
  return ["appendonly yes", "appendfsync everysec", "dir /data", `requirepass ${password}`, ""].join("\n");
}

export function renderRedisStatefulSet(i: DataInput, configChecksum: string): k8s.types.input.apps.v1.StatefulSet {
  const selector = selectorFor("redis", i.stackLabel);
  return {
    metadata: { name: i.names.redis, namespace: i.names.namespace, labels: labelsFor("redis", i.stackLabel) },
    spec: {
      serviceName: i.names.redisService,
      replicas: 1,
      selector: { matchLabels: selector },
      template: {
        metadata: { labels: labelsFor("redis", i.stackLabel), annotations: { "chatwoot.hetzner/redis-config-checksum": configChecksum } },
        spec: {
          terminationGracePeriodSeconds: 30,
          // Rescheduled 30 s after its node stops answering, not the default 300 s: realtime and jobs wait for it.
          tolerations: ["node.kubernetes.io/not-ready", "node.kubernetes.io/unreachable"].map((key) => ({ key, operator: "Exists", effect: "NoExecute", tolerationSeconds: 30 })),
          containers: [
            {
              name: "redis",
              image: images.redis,
              command: ["redis-server", "/etc/redis/redis.conf"],
              ports: [{ name: "redis", containerPort: 6379 }],
              env: [{ name: "REDISCLI_AUTH", valueFrom: { secretKeyRef: { name: i.names.appEnvSecret, key: "REDIS_PASSWORD" } } }],
              readinessProbe: { exec: { command: ["redis-cli", "ping"] }, periodSeconds: 5, timeoutSeconds: 3 },
              livenessProbe: { exec: { command: ["redis-cli", "ping"] }, periodSeconds: 15, timeoutSeconds: 5, failureThreshold: 4 },
              resources: { requests: { cpu: "100m", memory: "256Mi" }, limits: { memory: "512Mi" } },
              volumeMounts: [
                { name: "data", mountPath: "/data" },
                { name: "config", mountPath: "/etc/redis", readOnly: true },
              ],
            },
          ],
          volumes: [{ name: "config", secret: { secretName: i.names.redisConfigSecret } }],
        },
      },
      volumeClaimTemplates: [
        {
          metadata: { name: "data" },
          spec: { accessModes: ["ReadWriteOnce"], storageClassName: i.config.storageClass, resources: { requests: { storage: `${i.config.redis.storageGb}Gi` } } },
        },
      ],
    },
  };
}

export function renderRedisService(i: DataInput): k8s.types.input.core.v1.Service {
  return {
    metadata: { name: i.names.redisService, namespace: i.names.namespace, labels: labelsFor("redis", i.stackLabel) },
    spec: { type: "ClusterIP", selector: selectorFor("redis", i.stackLabel), ports: [{ name: "redis", port: 6379, targetPort: "redis" }] },
  };
}
