/**
 * The Kubernetes target under Pulumi's mock engine: which objects it registers, in which order
 * (migrate → workload → bootstrap → verify), what makes pods roll and Jobs re-run, and that no
 * secret reaches an object other than a Secret, a command's text or a plain output.
 */
import { beforeAll, describe, expect, it } from "vitest";
import { evaluate, isSecretValue, type Evaluation, type PlannedResource } from "../plan/engine";
import { plainStrings } from "../test/evaluation";
import { kubernetesConfig, kubernetesSecrets, pulumiConfig } from "../test/fixtures";
import { ENV_CHECKSUM_ANNOTATION } from "./workload";

/** The stack with some values changed; `without` drops secret keys. */
const evaluateWith = (values: Record<string, unknown> = {}, secrets: Record<string, string> = {}, without: string[] = []) =>
  evaluate({
    stack: "cluster-app",
    ...pulumiConfig({ ...kubernetesConfig, ...values }, Object.fromEntries(Object.entries({ ...kubernetesSecrets, ...secrets }).filter(([k]) => !without.includes(k)))),
  });

const objectOf = (ev: Evaluation, type: string, name: string): PlannedResource => {
  const r = ev.resources.find((x) => x.type === type && x.name === name);
  if (!r) throw new Error(`no ${type} ${name}`);
  return r;
};
const K = {
  job: "kubernetes:batch/v1:Job",
  deployment: "kubernetes:apps/v1:Deployment",
  secret: "kubernetes:core/v1:Secret",
  cluster: "kubernetes:postgresql.cnpg.io/v1:Cluster",
  crd: "kubernetes:apiextensions.k8s.io/v1:CustomResourceDefinition",
};
const jobName = (ev: Evaluation, name: string) => (objectOf(ev, K.job, name).inputs.metadata as { name: string }).name;
const podAnnotations = (ev: Evaluation, name: string) =>
  (objectOf(ev, K.deployment, name).inputs.spec as { template: { metadata: { annotations: Record<string, string> } } }).template.metadata.annotations;

describe("the Kubernetes target's object graph", () => {
  let ev: Evaluation;
  beforeAll(async () => {
    ev = await evaluateWith();
  });

  it("registers no Hetzner server resource, and the workload, CNPG, Redis, Jobs and edge", () => {
    expect(ev.resources.filter((r) => r.type.startsWith("hcloud:"))).toEqual([]);
    const names = ev.resources.filter((r) => r.type.startsWith("kubernetes:") && !r.read).map((r) => `${r.type.split(":").at(-1)}/${r.name}`);
    for (const n of ["Deployment/web", "Deployment/sidekiq", "Service/web", "PodDisruptionBudget/web", "PodDisruptionBudget/sidekiq", "StatefulSet/redis", "Cluster/postgres", "Database/postgres-database", "ObjectStore/postgres-object-store", "ScheduledBackup/postgres-scheduled-backup", "Job/migrate", "Job/bootstrap", "IngressRoute/ingress-route", "Certificate/certificate", "Secret/app-env"]) {
      expect(names).toContain(n);
    }
  });

  it("orders migrate → workload → bootstrap → verify, and the migration after PostgreSQL and Redis", () => {
    const deps = (type: string, name: string) => objectOf(ev, type, name).options.dependsOn;
    expect(deps(K.job, "migrate")).toEqual(expect.arrayContaining([`${K.cluster}::postgres`, "kubernetes:postgresql.cnpg.io/v1:Database::postgres-database", "kubernetes:apps/v1:StatefulSet::redis", `${K.secret}::app-env`]));
    for (const d of ["web", "sidekiq"]) expect(deps(K.deployment, d)).toContain(`${K.job}::migrate`);
    expect(deps(K.job, "bootstrap")).toEqual(expect.arrayContaining([`${K.deployment}::web`, `${K.deployment}::sidekiq`]));
    expect(deps(K.secret, "bootstrap-result-read")).toEqual([`${K.job}::bootstrap`]);
    expect(deps("command:local:Command", "chatwoot-verify")).toEqual(["chatwoot:kubernetes:ChatwootOnKubernetes::chatwoot"]);
  });

  it("reads the operators' CRDs before any custom resource, named after the operator to install", () => {
    const reads = ev.resources.filter((r) => r.type === K.crd).map((r) => r.name);
    expect(reads).toEqual(expect.arrayContaining(["requires-cloudnative-pg-clusters.postgresql.cnpg.io", "requires-cert-manager-certificates.cert-manager.io", "requires-traefik-ingressroutes.traefik.io", "requires-barman-cloud-plugin-objectstores.barmancloud.cnpg.io"]));
    expect(ev.resources.filter((r) => r.type === K.crd).every((r) => r.read)).toBe(true);
    expect(objectOf(ev, K.cluster, "postgres").options.dependsOn).toContain(`${K.crd}::requires-cloudnative-pg-clusters.postgresql.cnpg.io`);
    // Without postgresBackup, the plugin is not required.
    return evaluateWith({ kubernetes: {} }, {}, ["backupS3AccessKeyId", "backupS3SecretAccessKey"]).then((noBackup) => {
      expect(noBackup.resources.some((r) => r.name.startsWith("requires-barman-cloud-plugin"))).toBe(false);
      expect(noBackup.resources.some((r) => r.name === "postgres-object-store")).toBe(false);
    });
  });

  it("names the migration Job by the release and the Job's spec, not by unrelated settings", async () => {
    expect(jobName(ev, "migrate")).toMatch(/^chatwoot-migrate-v4-15-1-[0-9a-f]{8}$/);
    const next = await evaluateWith({ chatwootVersion: "v4.15.2" });
    expect(jobName(next, "migrate")).toMatch(/^chatwoot-migrate-v4-15-2-/);
    const scaled = await evaluateWith({ kubernetes: { ...kubernetesConfig.kubernetes, web: { replicas: 4 } } });
    expect(jobName(scaled, "migrate")).toBe(jobName(ev, "migrate"));
    // The bootstrap re-runs with the release, with its settings, and with a secret it sets.
    expect(jobName(next, "bootstrap")).not.toBe(jobName(ev, "bootstrap"));
    expect(jobName(scaled, "bootstrap")).toBe(jobName(ev, "bootstrap"));
    const renamed = await evaluateWith({ inbox: { name: "Escalations" } });
    expect(jobName(renamed, "bootstrap")).not.toBe(jobName(ev, "bootstrap"));
    const newPassword = await evaluateWith({}, { adminPassword: "A-new-Admin-password-1!" });
    expect(jobName(newPassword, "bootstrap")).not.toBe(jobName(ev, "bootstrap"));
  });

  it("rolls the pods when the app Secret changes, and only then", async () => {
    const before = podAnnotations(ev, "web")[ENV_CHECKSUM_ANNOTATION];
    expect(before).toMatch(/^[0-9a-f]{32}$/);
    expect(podAnnotations(ev, "sidekiq")[ENV_CHECKSUM_ANNOTATION]).toBe(before);
    const rotated = await evaluateWith({}, { smtpPassword: "another-Smtp-Password-9" });
    expect(podAnnotations(rotated, "web")[ENV_CHECKSUM_ANNOTATION]).not.toBe(before);
    const scaled = await evaluateWith({ kubernetes: { ...kubernetesConfig.kubernetes, sidekiq: { replicas: 3 } } });
    expect(podAnnotations(scaled, "web")[ENV_CHECKSUM_ANNOTATION]).toBe(before);
  });

  it("keeps every secret out of non-Secret objects, the verify command and the plain outputs", () => {
    const appEnv = objectOf(ev, K.secret, "app-env").inputs.stringData;
    expect(isSecretValue(appEnv)).toBe(true);
    const env = (appEnv as { value: Record<string, string> }).value;
    const secrets = [
      ...Object.values(kubernetesSecrets),
      env.SECRET_KEY_BASE!,
      env.POSTGRES_PASSWORD!,
      env.REDIS_PASSWORD!,
      env.ACTIVE_RECORD_ENCRYPTION_PRIMARY_KEY!,
      JSON.parse((objectOf(ev, K.secret, "bootstrap-input").inputs.stringData as { value: Record<string, string> }).value["input.json"]!).admin.password,
      "FakeApiAccessToken000001",
    ];
    expect(secrets.every((s) => typeof s === "string" && s.length >= 8)).toBe(true);
    const leaks: string[] = [];
    for (const r of ev.resources) {
      if (r.type === K.secret) continue;
      const text = JSON.stringify(r.inputs, (_k, v) => (isSecretValue(v) ? "[secret]" : v));
      for (const s of secrets) if (text.includes(s)) leaks.push(`${r.type}::${r.name}`);
    }
    for (const [k, v] of Object.entries(ev.outputs)) {
      if (ev.secretOutputs.includes(k)) continue;
      for (const s of secrets) if (plainStrings(v).some((x) => x.includes(s))) leaks.push(`output ${k}`);
    }
    expect(leaks).toEqual([]);
    // Backup-only credentials never reach the app pods' Secret.
    expect(Object.keys(env).filter((k) => /^(BACKUP_|RESTIC_)/.test(k))).toEqual([]);
    expect(Object.values(env)).not.toContain(kubernetesSecrets.backupS3SecretAccessKey);
    expect(ev.secretOutputs).toEqual(expect.arrayContaining(["adminPassword", "apiAccessToken", "platformToken", "webhookSecret"]));
    expect(ev.outputs.accountId).toBe(1);
  });

  it("protects the database cluster and says why the bootstrap result ignores changes", () => {
    expect(objectOf(ev, K.cluster, "postgres").options.protect).toBe(true);
    expect(objectOf(ev, K.secret, "bootstrap-result").options.ignoreChanges).toEqual(["data", "stringData"]);
  });
});
