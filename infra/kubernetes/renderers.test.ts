/** The Kubernetes target's pure renderers, as data. */
import { describe, expect, it } from "vitest";
import { chatwoot } from "../facts/chatwoot";
import { MIGRATION_DEADLINE_SECONDS, SIDEKIQ_GRACE_SECONDS, SIDEKIQ_SHUTDOWN_SECONDS } from "../facts/kubernetes";
import { KUBERNETES_DEFAULT } from "../config/kubernetes";
import { envScope, parseEnvFile } from "../chatwoot/env-file";
import { renderEnvFile } from "../chatwoot/env";
import { envSecrets, envSettings } from "../test/fixtures";
import { renderAppEnv, secretChecksum } from "./app-env";
import { backupCron, renderPostgresCluster, renderRedisConf, renderRedisStatefulSet } from "./data";
import { renderBootstrapJob, renderMigrationJob } from "./jobs";
import { kubernetesNames, migrationJobName } from "./names";
import { renderSidekiqDeployment, renderWebDeployment } from "./workload";

const names = kubernetesNames("chatwoot");
const workload = { names, stackLabel: "prod", version: "v4.15.1", tiers: KUBERNETES_DEFAULT, envChecksum: "0".repeat(32) };

describe("the app Secret's data", () => {
  const env = renderAppEnv(envSettings, envSecrets, names);

  it("is the server target's app scope, pointed at the cluster's PostgreSQL and Redis", () => {
    const server = Object.fromEntries(parseEnvFile(envScope(renderEnvFile(envSettings, envSecrets), "app")));
    const changed = Object.keys(env).filter((k) => env[k] !== server[k]).sort();
    expect(changed).toEqual(["DATABASE_URL", "INSTALLATION_ENV", "POSTGRES_HOST", "POSTGRES_USERNAME", "REDIS_URL"].sort());
    expect(env.POSTGRES_HOST).toBe("chatwoot-postgres-rw.chatwoot.svc");
    expect(env.POSTGRES_USERNAME).toBe("chatwoot");
    expect(env.DATABASE_URL).toBe(`postgresql://chatwoot:${encodeURIComponent(envSecrets.POSTGRES_PASSWORD)}@chatwoot-postgres-rw.chatwoot.svc:5432/chatwoot?prepared_statements=false`);
    expect(env.SECRET_KEY_BASE).toBe(envSecrets.SECRET_KEY_BASE);
  });

  it("spells REDIS_URL out in full: envFrom never expands $(VAR)", () => {
    expect(env.REDIS_URL).toBe("redis://chatwoot-redis.chatwoot.svc:6379");
    expect(Object.values(env).filter((v) => v.includes("$("))).toEqual([]);
  });

  it("holds no backup, alert or proxy variable: those are the server's", () => {
    expect(Object.keys(env).filter((k) => /^(RESTIC_|BACKUP_|ALERT_|CHATWOOT_|TUNING_)/.test(k))).toEqual([]);
    expect(Object.values(env)).not.toContain(envSecrets.RESTIC_PASSWORD);
  });

  it("has a checksum that changes with any value and reveals nothing without the key", () => {
    const a = secretChecksum(env, "key-1");
    expect(secretChecksum({ ...env }, "key-1")).toBe(a);
    expect(secretChecksum({ ...env, SMTP_PASSWORD: "other" }, "key-1")).not.toBe(a);
    expect(secretChecksum(env, "key-2")).not.toBe(a);
  });
});

describe("the workload", () => {
  it("gives Sidekiq time to push its jobs back before SIGKILL", () => {
    const pod = (renderSidekiqDeployment(workload) as any).spec.template.spec;
    expect(pod.containers[0].command).toEqual(["bundle", "exec", "sidekiq", "-C", "config/sidekiq.yml", "-t", String(SIDEKIQ_SHUTDOWN_SECONDS)]);
    expect(pod.terminationGracePeriodSeconds).toBe(SIDEKIQ_GRACE_SECONDS);
    expect(SIDEKIQ_GRACE_SECONDS).toBeGreaterThan(SIDEKIQ_SHUTDOWN_SECONDS);
  });

  it("rolls web without ever having fewer ready pods than replicas, and probes as HTTPS behind a proxy", () => {
    const d = renderWebDeployment(workload) as any;
    expect(d.spec.replicas).toBe(2);
    expect(d.spec.strategy.rollingUpdate).toEqual({ maxSurge: 1, maxUnavailable: 0 });
    const c = d.spec.template.spec.containers[0];
    for (const probe of [c.startupProbe, c.livenessProbe, c.readinessProbe]) {
      expect(probe.httpGet.httpHeaders).toEqual([{ name: "X-Forwarded-Proto", value: "https" }]);
      expect(probe.httpGet.port).toBe(chatwoot.railsPort);
    }
    expect(c.envFrom).toEqual([{ secretRef: { name: "chatwoot-app-env" } }]);
    expect(d.spec.template.metadata.annotations).toEqual({ "chatwoot.hetzner/app-env-checksum": "0".repeat(32) });
    expect(d.spec.template.spec.topologySpreadConstraints.map((t: any) => t.topologyKey)).toEqual(["kubernetes.io/hostname", "topology.kubernetes.io/zone"]);
  });
});

describe("the Jobs", () => {
  const migrate = renderMigrationJob({ names, stackLabel: "prod", version: "v4.15.1" }) as any;

  it("migrates once, within a deadline and the statement timeout, then closes the onboarding", () => {
    expect(migrate.spec.backoffLimit).toBe(0);
    expect(migrate.spec.activeDeadlineSeconds).toBe(MIGRATION_DEADLINE_SECONDS);
    const [init] = migrate.spec.template.spec.initContainers;
    expect(init.command).toEqual(["bundle", "exec", "rails", "db:chatwoot_prepare"]);
    expect(init.env).toEqual([{ name: "POSTGRES_STATEMENT_TIMEOUT", value: "600s" }]);
    const [close] = migrate.spec.template.spec.containers;
    expect(close.command.join(" ")).toContain(`DEL ${chatwoot.onboardingRedisKey}`);
    // The password from the Secret into the environment, never into the command line.
    expect(close.env).toEqual([{ name: "REDISCLI_AUTH", valueFrom: { secretKeyRef: { name: "chatwoot-app-env", key: "REDIS_PASSWORD" } } }]);
  });

  it("names the migration by the release and by its spec", () => {
    expect(migrate.metadata.name).toBe(migrationJobName("v4.15.1", migrate.spec));
    expect(migrationJobName("v4.15.1-ce", migrate.spec)).toMatch(/^chatwoot-migrate-v4-15-1-ce-[0-9a-f]{8}$/);
    expect(migrationJobName("v4.15.1", { ...migrate.spec, backoffLimit: 1 })).not.toBe(migrate.metadata.name);
  });

  it("keeps the bootstrap's result out of the pod's log", () => {
    const job = renderBootstrapJob({ names, stackLabel: "prod", version: "v4.15.1" }, "chatwoot-bootstrap-abc") as any;
    const c = job.spec.template.spec.containers[0];
    expect(c.command[2]).toMatch(/rails runner \/chatwoot-bootstrap\/bootstrap\.rb <\/chatwoot-bootstrap-input\/input\.json >\/tmp\/chatwoot-bootstrap\.out && ruby \/chatwoot-bootstrap\/bootstrap_result\.rb /);
    expect(job.spec.template.spec.serviceAccountName).toBe("chatwoot-bootstrap");
  });
});

describe("PostgreSQL and Redis", () => {
  const data = { names, stackLabel: "prod", config: { ...KUBERNETES_DEFAULT, postgresBackup: { bucket: "db", endpoint: "https://s3.example.com", retentionDays: 30, every: 86400 } }, stack: "prod" };

  it("keeps primary and replica on different nodes and archives WAL through the Barman plugin", () => {
    const spec = renderPostgresCluster(data).spec as any;
    expect(spec.affinity.podAntiAffinityType).toBe("required");
    expect(spec.instances).toBe(2);
    expect(spec.plugins).toEqual([{ name: "barman-cloud.cloudnative-pg.io", isWALArchiver: true, parameters: { barmanObjectName: "chatwoot-postgres-backups" } }]);
    expect(renderPostgresCluster({ ...data, config: KUBERNETES_DEFAULT }).spec.plugins).toBeUndefined();
  });

  it("puts Redis's password in its config file, not in its command or pod spec", () => {
    expect(renderRedisConf("redis-Secret-1")).toContain("requirepass redis-Secret-1\n");
    expect(renderRedisConf("x")).toContain("appendonly yes");
    expect(JSON.stringify(renderRedisStatefulSet(data, "sum"))).not.toContain("redis-Secret-1");
  });

  it("writes CNPG's six-field schedules", () => {
    expect(backupCron(86400)).toBe("0 15 3 * * *");
    expect(backupCron(21600)).toBe("0 15 */6 * * *");
  });
});
