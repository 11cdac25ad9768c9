/**
 * The release's one-off steps as Jobs: migrate (then close the installation onboarding), and the
 * bootstrap, which runs scripts/bootstrap.rb unchanged and leaves its result in a Secret that only
 * its own ServiceAccount may write. Pure renderers, tested as data and against a real apiserver.
 *
 * Order (infra/kubernetes/app.ts): migrate → the Deployments roll → bootstrap → verify. A failed
 * migration fails `pulumi up` before the Deployments change, so the old pods keep serving.
 */
import type * as k8s from "@pulumi/kubernetes";
import { chatwoot } from "../facts/chatwoot";
import { BOOTSTRAP_DEADLINE_SECONDS, images, MIGRATION_DEADLINE_SECONDS, MIGRATION_STATEMENT_TIMEOUT } from "../facts/kubernetes";
import { labelsFor, migrationJobName, type KubernetesNames } from "./names";

type Job = k8s.types.input.batch.v1.Job;

export interface JobInput {
  names: KubernetesNames;
  stackLabel: string;
  version: string;
}

/** Where the bootstrap's scripts and its input are mounted in its pod. */
export const BOOTSTRAP_SCRIPTS_DIR = "/chatwoot-bootstrap";
export const BOOTSTRAP_INPUT_DIR = "/chatwoot-bootstrap-input";
/**
 * The files of the scripts ConfigMap, by their name there: the server's bootstrap.rb unchanged, and
 * the writer of its result (beside this file: it is no part of the server's bundle).
 */
export const BOOTSTRAP_SCRIPT_FILES = { "bootstrap.rb": "scripts/bootstrap.rb", "bootstrap_result.rb": "infra/kubernetes/bootstrap_result.rb" } as const;

/** The Job's spec without its name (the name is derived from it: migrationJobName). */
function migrationSpec(i: JobInput): NonNullable<Job["spec"]> {
  const redisHost = `${i.names.redisService}.${i.names.namespace}.svc`;
  return {
    // One attempt: a migration that failed half-way is for an operator to look at, not to retry blindly.
    backoffLimit: 0,
    activeDeadlineSeconds: MIGRATION_DEADLINE_SECONDS,
    template: {
      metadata: { labels: labelsFor("migrate", i.stackLabel) },
      spec: {
        restartPolicy: "Never",
        initContainers: [
          {
            name: "migrate",
            image: images.chatwoot(i.version),
            command: ["bundle", "exec", "rails", "db:chatwoot_prepare"],
            envFrom: [{ secretRef: { name: i.names.appEnvSecret } }],
            // As deploy.sh runs it: no migration statement may hold its locks for longer.
            env: [{ name: "POSTGRES_STATEMENT_TIMEOUT", value: MIGRATION_STATEMENT_TIMEOUT }],
            resources: { requests: { cpu: "250m", memory: "1Gi" }, limits: { memory: "1536Mi" } },
          },
        ],
        containers: [
          {
            // A new database's seed opens /installation/onboarding to whoever comes first: close it
            // before any pod of this release serves (the ingress refuses the path as well).
            name: "close-onboarding",
            image: images.redis,
            command: [
              "sh",
              "-c",
              `reply=$(redis-cli -h ${redisHost} DEL ${chatwoot.onboardingRedisKey}) || exit 1; case "$reply" in 0|1) echo "onboarding closed" ;; *) echo "unexpected reply from Redis" >&2; exit 1 ;; esac`,
            ],
            env: [{ name: "REDISCLI_AUTH", valueFrom: { secretKeyRef: { name: i.names.appEnvSecret, key: "REDIS_PASSWORD" } } }],
            resources: { requests: { cpu: "10m", memory: "16Mi" }, limits: { memory: "64Mi" } },
          },
        ],
      },
    },
  };
}

export function renderMigrationJob(i: JobInput): Job {
  const spec = migrationSpec(i);
  return {
    metadata: { name: migrationJobName(i.version, spec), namespace: i.names.namespace, labels: labelsFor("migrate", i.stackLabel) },
    spec,
  };
}

/** The bootstrap Job; `name` changes whenever what it converges to changes (app.ts). */
export function renderBootstrapJob(i: JobInput, name: string): Job {
  const out = "/tmp/chatwoot-bootstrap.out";
  return {
    metadata: { name, namespace: i.names.namespace, labels: labelsFor("bootstrap", i.stackLabel) },
    spec: {
      backoffLimit: 1,
      activeDeadlineSeconds: BOOTSTRAP_DEADLINE_SECONDS,
      template: {
        metadata: { labels: labelsFor("bootstrap", i.stackLabel) },
        spec: {
          restartPolicy: "Never",
          serviceAccountName: i.names.bootstrapServiceAccount,
          containers: [
            {
              name: "bootstrap",
              image: images.chatwoot(i.version),
              // The result line carries the API and platform tokens: it goes to a file and from
              // there to the result Secret, never to the pod's log.
              command: [
                "sh",
                "-c",
                `bundle exec rails runner ${BOOTSTRAP_SCRIPTS_DIR}/bootstrap.rb <${BOOTSTRAP_INPUT_DIR}/input.json >${out} && ruby ${BOOTSTRAP_SCRIPTS_DIR}/bootstrap_result.rb ${out}`,
              ],
              envFrom: [{ secretRef: { name: i.names.appEnvSecret } }],
              env: [{ name: "CHATWOOT_BOOTSTRAP_RESULT_SECRET", value: i.names.bootstrapResultSecret }],
              resources: { requests: { cpu: "250m", memory: "1Gi" }, limits: { memory: "1536Mi" } },
              volumeMounts: [
                { name: "scripts", mountPath: BOOTSTRAP_SCRIPTS_DIR, readOnly: true },
                { name: "input", mountPath: BOOTSTRAP_INPUT_DIR, readOnly: true },
              ],
            },
          ],
          volumes: [
            { name: "scripts", configMap: { name: i.names.bootstrapScripts } },
            { name: "input", secret: { secretName: i.names.bootstrapInputSecret } },
          ],
        },
      },
    },
  };
}

/** The bootstrap's identity: it may read and patch its result Secret, and nothing else. */
export function renderBootstrapRbac(i: JobInput): {
  serviceAccount: k8s.types.input.core.v1.ServiceAccount;
  role: k8s.types.input.rbac.v1.Role;
  roleBinding: k8s.types.input.rbac.v1.RoleBinding;
} {
  const meta = (name: string) => ({ name, namespace: i.names.namespace, labels: labelsFor("bootstrap", i.stackLabel) });
  const name = i.names.bootstrapServiceAccount;
  return {
    serviceAccount: { metadata: meta(name), automountServiceAccountToken: true },
    role: {
      metadata: meta(name),
      // resourceNames cannot restrict create, so the Secret exists first (app.ts) and is only patched.
      rules: [{ apiGroups: [""], resources: ["secrets"], resourceNames: [i.names.bootstrapResultSecret], verbs: ["get", "patch"] }],
    },
    roleBinding: {
      metadata: meta(name),
      roleRef: { apiGroup: "rbac.authorization.k8s.io", kind: "Role", name },
      subjects: [{ kind: "ServiceAccount", name, namespace: i.names.namespace }],
    },
  };
}
