/**
 * Chatwoot on a Kubernetes cluster, as one component. The constructor reads as the order things
 * happen in: check the operators → secrets → PostgreSQL and Redis → migrate → roll the workload →
 * the edge → bootstrap → read its result back. Verify runs after it (kubernetes/stack.ts).
 *
 * What each object looks like is in the pure renderers beside this file; this file only wires
 * them into resources and dependencies.
 */
import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import * as fs from "node:fs";
import * as path from "node:path";
import type { KubernetesConfig } from "../config/kubernetes";
import { REQUIRED_CRDS } from "../facts/kubernetes";
import type { BootstrapSettings } from "../chatwoot/bootstrap";
import { renderBootstrapInput } from "../chatwoot/bootstrap";
import { sha256 } from "../lib/hash";
import { repoRoot } from "../lib/repo";
import { secretChecksum } from "./app-env";
import { renderObjectStore, renderPostgresCluster, renderPostgresDatabase, renderRedisConf, renderRedisService, renderRedisStatefulSet, renderScheduledBackup, type CustomObject } from "./data";
import { renderCertificate, renderIngressRoute, renderMiddlewares, type EdgeInput } from "./ingress";
import { BOOTSTRAP_SCRIPT_FILES, renderBootstrapJob, renderBootstrapRbac, renderMigrationJob } from "./jobs";
import { kubernetesNames, labelsFor, type KubernetesNames } from "./names";
import { renderDisruptionBudget, renderSidekiqDeployment, renderWebDeployment, renderWebService } from "./workload";

export interface ChatwootOnKubernetesArgs {
  /** chatwoot:kubernetes, defaults filled in. */
  config: KubernetesConfig;
  /** The stack's name and its label value (config/names.ts). */
  stack: string;
  stackLabel: string;
  /** The release tag (chatwoot:chatwootVersion). */
  version: string;
  /** The app Secret's data (app-env.ts); secret. */
  appEnv: pulumi.Output<Record<string, string>>;
  /** The key of the pod annotations' checksums (SECRET_KEY_BASE); secret. */
  checksumKey: pulumi.Output<string>;
  /** The database owner's password and Redis's (the same values the app Secret holds). */
  postgresPassword: pulumi.Output<string>;
  redisPassword: pulumi.Output<string>;
  /** The S3 credentials of the database's backups (chatwoot:backupS3*), with postgresBackup. */
  backupCredentials?: { accessKeyId: pulumi.Output<string>; secretAccessKey: pulumi.Output<string> };
  /** The site's edge (domain, framing, admin networks). */
  edge: Omit<EdgeInput, "names" | "stackLabel" | "clusterIssuer" | "entryPoint">;
  /** What the bootstrap converges to, and its secrets. */
  bootstrap: BootstrapSettings;
  adminPassword: pulumi.Output<string>;
  webhookSecret: pulumi.Output<string>;
  secretInstallationConfigs: Record<string, pulumi.Output<string>>;
}

/** An object rendered from an Output (a checksum, a name) as resource args: metadata and spec each an Output. */
function fromOutput<T extends { metadata?: unknown; spec?: unknown }>(o: pulumi.Output<T>, metadata?: T["metadata"]): T {
  // Each field is an Input of its own type; the SDK's lifted types cannot say so. Metadata known
  // without the Output keeps the object's name known in a preview.
  return { metadata: metadata ?? o.apply((x) => x.metadata), spec: o.apply((x) => x.spec) } as unknown as T;
}

export class ChatwootOnKubernetes extends pulumi.ComponentResource {
  /** bootstrap.rb's result line, read back from the result Secret (secret). */
  public readonly bootstrapResult: pulumi.Output<string>;
  /** The migration Job's name (it names the release). */
  public readonly migrationJob: pulumi.Output<string>;
  public readonly ingressRoute: k8s.apiextensions.CustomResource;

  private readonly names: KubernetesNames;
  private readonly opts: pulumi.CustomResourceOptions;

  constructor(name: string, private readonly args: ChatwootOnKubernetesArgs, opts?: pulumi.ComponentResourceOptions) {
    super("chatwoot:kubernetes:ChatwootOnKubernetes", name, {}, opts);
    this.names = kubernetesNames(args.config.namespace);
    this.opts = { parent: this };
    const namespace = this.namespace();
    const crds = this.requireOperators();
    const secrets = this.secrets(namespace);
    const data = this.database(crds, secrets);
    const migrate = this.migrate([...data, secrets.appEnv]);
    const workload = this.workload(migrate, secrets.appEnv);
    this.ingressRoute = this.edge(crds, workload.service);
    const result = this.runBootstrap(workload.deployments, secrets.appEnv);
    this.bootstrapResult = result;
    this.migrationJob = migrate.metadata.name;
    this.registerOutputs({ migrationJob: this.migrationJob });
  }

  private namespace(): pulumi.Resource[] {
    if (this.names.namespace === "default") return [];
    return [new k8s.core.v1.Namespace("namespace", { metadata: { name: this.names.namespace, labels: labelsFor("namespace", this.args.stackLabel) } }, this.opts)];
  }

  /**
   * Reads each CRD the custom resources need, named after the operator that installs it: when
   * one is missing, `pulumi preview` fails on "requires-<operator>-<crd>", before anything is created.
   */
  private requireOperators(): pulumi.Resource[] {
    const needed = Object.entries(REQUIRED_CRDS).filter(([operator]) => operator !== "barman-cloud-plugin" || this.args.config.postgresBackup);
    return needed.flatMap(([operator, crds]) =>
      crds.map((crd) => k8s.apiextensions.v1.CustomResourceDefinition.get(`requires-${operator}-${crd}`, crd, this.opts)),
    );
  }

  private secrets(namespace: pulumi.Resource[]) {
    const n = this.names;
    const a = this.args;
    const meta = (name: string, component: string) => ({ name, namespace: n.namespace, labels: labelsFor(component, a.stackLabel) });
    const opts = { ...this.opts, dependsOn: namespace };
    const appEnv = new k8s.core.v1.Secret("app-env", { metadata: meta(n.appEnvSecret, "app"), type: "Opaque", stringData: a.appEnv }, opts);
    const postgresApp = new k8s.core.v1.Secret(
      "postgres-app",
      { metadata: meta(n.postgresAppSecret, "postgres"), type: "kubernetes.io/basic-auth", stringData: pulumi.secret(a.postgresPassword.apply((password) => ({ username: "chatwoot", password }))) },
      opts,
    );
    const redisConfig = new k8s.core.v1.Secret("redis-config", { metadata: meta(n.redisConfigSecret, "redis"), type: "Opaque", stringData: pulumi.secret(a.redisPassword.apply((p) => ({ "redis.conf": renderRedisConf(p) }))) }, opts);
    const b = a.config.postgresBackup;
    const backup =
      b && a.backupCredentials
        ? new k8s.core.v1.Secret(
            "postgres-backup-s3",
            {
              metadata: meta(n.postgresBackupSecret, "postgres"),
              type: "Opaque",
              // Backup-only: read by the database's pods through the ObjectStore, never by Chatwoot's.
              stringData: pulumi.secret(
                pulumi.all([a.backupCredentials.accessKeyId, a.backupCredentials.secretAccessKey]).apply(([id, key]) => ({ ACCESS_KEY_ID: id, ACCESS_SECRET_KEY: key, ...(b.region ? { REGION: b.region } : {}) })),
              ),
            },
            opts,
          )
        : undefined;
    return { appEnv, postgresApp, redisConfig, backup, namespace };
  }

  private custom(name: string, object: CustomObject | undefined, dependsOn: pulumi.Resource[], extra: pulumi.CustomResourceOptions = {}) {
    return object && new k8s.apiextensions.CustomResource(name, object, { ...this.opts, dependsOn, ...extra });
  }

  private database(crds: pulumi.Resource[], s: ReturnType<ChatwootOnKubernetes["secrets"]>): pulumi.Resource[] {
    const i = { names: this.names, stackLabel: this.args.stackLabel, config: this.args.config, stack: this.args.stack };
    const objectStore = this.custom("postgres-object-store", renderObjectStore(i), [...crds, ...(s.backup ? [s.backup] : [])]);
    const clusterObject = renderPostgresCluster(i);
    // The migration waits until the operator reports the cluster Ready (pulumi-kubernetes' waitFor).
    clusterObject.metadata.annotations = { "pulumi.com/waitFor": "condition=Ready" };
    const cluster = this.custom("postgres", clusterObject, [...crds, s.postgresApp, ...s.namespace, ...(objectStore ? [objectStore] : [])], {
      // The conversations live here: deleting or replacing the cluster must be a deliberate step
      // (pulumi state unprotect), never the side effect of a config change (docs/kubernetes.md).
      protect: true,
      customTimeouts: { create: "30m", update: "30m" },
    })!;
    const databaseObject = renderPostgresDatabase(i);
    databaseObject.metadata.annotations = { "pulumi.com/waitFor": "jsonpath={.status.applied}=true" };
    const database = this.custom("postgres-database", databaseObject, [cluster])!;
    this.custom("postgres-scheduled-backup", renderScheduledBackup(i), [cluster]);
    const checksum = pulumi.unsecret(pulumi.all([this.args.redisPassword, this.args.checksumKey]).apply(([p, key]) => secretChecksum({ "redis.conf": renderRedisConf(p) }, key)));
    const redis = new k8s.apps.v1.StatefulSet("redis", fromOutput(checksum.apply((c) => renderRedisStatefulSet(i, c)), renderRedisStatefulSet(i, "").metadata), { ...this.opts, dependsOn: [s.redisConfig, s.appEnv] });
    const redisService = new k8s.core.v1.Service("redis", renderRedisService(i), { ...this.opts, dependsOn: s.namespace });
    return [cluster, database, redis, redisService];
  }

  private migrate(dependsOn: pulumi.Resource[]): k8s.batch.v1.Job {
    const job = renderMigrationJob({ names: this.names, stackLabel: this.args.stackLabel, version: this.args.version });
    // pulumi-kubernetes waits for the Job to complete and fails `pulumi up` when it fails; the
    // Deployments depend on it, so they change only after a successful migration.
    return new k8s.batch.v1.Job("migrate", job, { ...this.opts, dependsOn, customTimeouts: { create: "35m" } });
  }

  private workload(migrate: k8s.batch.v1.Job, appEnv: k8s.core.v1.Secret) {
    const a = this.args;
    const envChecksum = pulumi.unsecret(pulumi.all([a.appEnv, a.checksumKey]).apply(([env, key]) => secretChecksum(env, key)));
    const input = (c: string) => ({ names: this.names, stackLabel: a.stackLabel, version: a.version, tiers: a.config, envChecksum: c });
    const opts = { ...this.opts, dependsOn: [migrate, appEnv], customTimeouts: { create: "20m", update: "20m" } };
    const web = new k8s.apps.v1.Deployment("web", fromOutput(envChecksum.apply((c) => renderWebDeployment(input(c))), renderWebDeployment(input("")).metadata), opts);
    const sidekiq = new k8s.apps.v1.Deployment("sidekiq", fromOutput(envChecksum.apply((c) => renderSidekiqDeployment(input(c))), renderSidekiqDeployment(input("")).metadata), opts);
    const service = new k8s.core.v1.Service("web", renderWebService({ names: this.names, stackLabel: a.stackLabel }), { ...this.opts, dependsOn: [web] });
    for (const tier of ["web", "sidekiq"] as const) {
      new k8s.policy.v1.PodDisruptionBudget(tier, renderDisruptionBudget({ names: this.names, stackLabel: a.stackLabel }, tier), { ...this.opts, dependsOn: [web, sidekiq] });
    }
    return { deployments: [web, sidekiq], service };
  }

  private edge(crds: pulumi.Resource[], service: k8s.core.v1.Service): k8s.apiextensions.CustomResource {
    const a = this.args;
    const i: EdgeInput = { ...a.edge, names: this.names, stackLabel: a.stackLabel, clusterIssuer: a.config.clusterIssuer, entryPoint: a.config.entryPoint };
    const middlewares = renderMiddlewares(i).map((m) => this.custom(`middleware-${m.metadata.name}`, m, crds)!);
    const certificate = this.custom("certificate", renderCertificate(i), crds)!;
    return this.custom("ingress-route", renderIngressRoute(i), [...crds, ...middlewares, certificate, service])!;
  }

  /** The bootstrap Job, its identity, its input, and its result read back. */
  private runBootstrap(deployments: pulumi.Resource[], appEnv: k8s.core.v1.Secret): pulumi.Output<string> {
    const a = this.args;
    const n = this.names;
    const ji = { names: n, stackLabel: a.stackLabel, version: a.version };
    const meta = (name: string) => ({ name, namespace: n.namespace, labels: labelsFor("bootstrap", a.stackLabel) });
    const rbac = renderBootstrapRbac(ji);
    const sa = new k8s.core.v1.ServiceAccount("bootstrap", rbac.serviceAccount, this.opts);
    const role = new k8s.rbac.v1.Role("bootstrap", rbac.role, this.opts);
    const binding = new k8s.rbac.v1.RoleBinding("bootstrap", rbac.roleBinding, { ...this.opts, dependsOn: [sa, role] });
    const scriptFiles = Object.fromEntries(Object.entries(BOOTSTRAP_SCRIPT_FILES).map(([name, file]) => [name, fs.readFileSync(path.join(repoRoot, file), "utf8")]));
    const scripts = new k8s.core.v1.ConfigMap("bootstrap-scripts", { metadata: meta(n.bootstrapScripts), data: scriptFiles }, this.opts);
    const input = pulumi
      .all([a.adminPassword, a.webhookSecret, pulumi.all(a.secretInstallationConfigs)])
      .apply(([password, webhookSecret, secretConfigs]) => renderBootstrapInput(a.bootstrap, { password, webhookSecret, secretConfigs }));
    const inputSecret = new k8s.core.v1.Secret("bootstrap-input", { metadata: meta(n.bootstrapInputSecret), type: "Opaque", stringData: pulumi.secret(input.apply((json) => ({ "input.json": json }))) }, this.opts);
    const resultSecret = new k8s.core.v1.Secret("bootstrap-result", { metadata: meta(n.bootstrapResultSecret), type: "Opaque" }, {
      ...this.opts,
      // The bootstrap Job writes `data` (its ServiceAccount may only patch this Secret); the
      // program only creates it, so its own empty data never overwrites a result.
      ignoreChanges: ["data", "stringData"],
    });
    // A new name whenever what the bootstrap converges to changes: the release, the settings, the
    // scripts, or a secret it sets (through an HMAC, so the name reveals nothing of them).
    const jobName = pulumi.unsecret(
      pulumi.all([input, a.checksumKey]).apply(([json, key]) =>
        `chatwoot-bootstrap-${secretChecksum({ input: json, version: a.version, scripts: sha256(JSON.stringify(scriptFiles)) }, key).slice(0, 12)}`,
      ),
    );
    const job = new k8s.batch.v1.Job("bootstrap", fromOutput(jobName.apply((name) => renderBootstrapJob(ji, name))), {
      ...this.opts,
      dependsOn: [...deployments, binding, scripts, inputSecret, resultSecret, appEnv],
      customTimeouts: { create: "15m" },
    });
    // Read after the Job completed: its id is known only then, so a preview never reads a stale result.
    const read = k8s.core.v1.Secret.get("bootstrap-result-read", job.metadata.apply((m) => `${m.namespace}/${n.bootstrapResultSecret}`), { ...this.opts, dependsOn: [job] });
    return pulumi.secret(read.data.apply((d) => Buffer.from(d?.result ?? "", "base64").toString("utf8")));
  }
}
