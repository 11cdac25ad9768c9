/** chatwoot:target and chatwoot:kubernetes: each key belongs to one target, and bad values name their key. */
import { describe, expect, it } from "vitest";
import { load, problemsOf } from "../test/config-load";
import { kubernetesConfig, kubernetesSecrets, TEST_PUBLIC_KEY } from "../test/fixtures";

const k8s = (patch: Record<string, unknown> = {}, secrets: Record<string, string> = kubernetesSecrets) => load({ ...kubernetesConfig, ...patch }, secrets);

describe("chatwoot:target", () => {
  it("is the server by default, and a Kubernetes stack needs no SSH key", () => {
    const c = k8s();
    expect(c.target).toBe("kubernetes");
    expect(c.sshPublicKeys).toEqual([]);
    expect(c.kubernetes.web.replicas).toBe(2);
    expect(c.kubernetes.postgres.instances).toBe(2);
  });

  it("still requires SSH keys on the server target", () => {
    const { target: _t, kubernetes: _k, storage: _s, ...serverish } = kubernetesConfig;
    expect(problemsOf(() => load(serverish, { smtpPassword: kubernetesSecrets.smtpPassword }))).toContain(
      "chatwoot:sshPublicKeys is required: it must list at least one OpenSSH public key (every deploy reaches the server over SSH)",
    );
  });

  it("refuses an unknown target, quoting it (a target is no secret)", () => {
    expect(problemsOf(() => k8s({ target: "swarm" }))).toEqual(['chatwoot:target must be one of server, kubernetes, cluster, got "swarm"']);
  });

  it("refuses local attachments on Kubernetes, naming the key", () => {
    const { storage: _s, ...rest } = kubernetesConfig;
    const problems = problemsOf(() => load(rest, { smtpPassword: kubernetesSecrets.smtpPassword }));
    expect(problems).toContain(
      'chatwoot:storage.service must be "s3Compatible" on chatwoot:target "kubernetes": several web pods serve attachments, so they live in a bucket, not on a volume',
    );
  });

  it("refuses server settings on a Kubernetes stack instead of ignoring them", () => {
    const problems = problemsOf(() => k8s({ sshPublicKeys: [TEST_PUBLIC_KEY], serverType: "cx33", backup: { enabled: false } }, { ...kubernetesSecrets, alertPingUrl: "https://hc-ping.example.com/abc-123" }));
    for (const key of ["sshPublicKeys", "serverType", "backup", "alertPingUrl"]) {
      expect(problems).toContain(`chatwoot:${key} is a setting of the server target; remove it on chatwoot:target "kubernetes" (see docs/kubernetes.md)`);
    }
  });

  it("refuses chatwoot:kubernetes on the server target", () => {
    expect(problemsOf(() => load({ domain: "chat.example.com", sshPublicKeys: [TEST_PUBLIC_KEY], account: { name: "A" }, admin: { email: "ops@example.com", name: "Ops" }, kubernetes: {} }, {}))).toContain(
      'chatwoot:kubernetes is only used when chatwoot:target is "kubernetes"',
    );
  });

  it("requires the backup bucket's keys for pulumi up, and only warns in a preview", () => {
    const secrets = { ...kubernetesSecrets } as Record<string, string>;
    delete secrets.backupS3AccessKeyId;
    delete secrets.backupS3SecretAccessKey;
    expect(problemsOf(() => k8s({}, secrets))).toEqual([
      "chatwoot:kubernetes.postgresBackup needs chatwoot:backupS3AccessKeyId and chatwoot:backupS3SecretAccessKey: pulumi config set --secret chatwoot:backupS3AccessKeyId …",
    ]);
    const preview = load(kubernetesConfig, secrets, { forUp: false });
    expect(preview.warnings.some((w) => w.startsWith("pulumi up will refuse to run: chatwoot:kubernetes.postgresBackup needs"))).toBe(true);
    // Without postgresBackup, the keys would do nothing.
    expect(problemsOf(() => k8s({ kubernetes: {} }))).toContain('chatwoot:backupS3AccessKeyId and backupS3SecretAccessKey are only used with chatwoot:kubernetes.postgresBackup on chatwoot:target "kubernetes"');
  });

  it("checks the Kubernetes settings, naming each key", () => {
    const problems = problemsOf(() =>
      k8s({ kubernetes: { namespace: "Chat_woot", web: { replicas: 0, memory: "1.5GB" }, postgres: { instances: 9 }, storageClass: "", colour: "blue" } }),
    );
    expect(problems).toEqual(
      expect.arrayContaining([
        expect.stringMatching(/^chatwoot:kubernetes\.namespace must be a namespace name/),
        "chatwoot:kubernetes.web.replicas must be at least 1, got 0",
        'chatwoot:kubernetes.web.memory must be memory such as "1Gi" or "768Mi"',
        "chatwoot:kubernetes.postgres.instances must be at most 5, got 9",
        expect.stringMatching(/^chatwoot:kubernetes\.storageClass must be a StorageClass name/),
        'chatwoot:kubernetes has unknown field(s) "colour"',
      ]),
    );
  });

  it("warns about a single replica, a single database instance and no database backup", () => {
    const c = k8s({ kubernetes: { web: { replicas: 1 }, postgres: { instances: 1 } } }, { smtpPassword: "smtp-Password-Sentinel-1", storageAccessKeyId: "StorageKeySentinel2", storageSecretAccessKey: "storage-Secret-Sentinel-3" });
    expect(c.warnings).toEqual(
      expect.arrayContaining([
        "chatwoot:kubernetes.web.replicas is 1: every rolling upgrade and node loss interrupts the site",
        "chatwoot:kubernetes.postgres.instances is 1: no replica to fail over to; losing its node loses the database until restored",
        "chatwoot:kubernetes.postgresBackup is not set: the database has no backup outside the cluster",
      ]),
    );
    // The server target's warnings (SSH, the watchdog's alerts, Hetzner's backups) do not apply.
    expect(c.warnings.filter((w) => /SSH|watchdog|serverBackups/.test(w))).toEqual([]);
  });
});

describe("chatwoot:target cluster", () => {
  const cluster = { target: "cluster", location: "nbg1", sshPublicKeys: [TEST_PUBLIC_KEY], sshAllowedCidrs: ["198.51.100.0/24"], cluster: { acmeEmail: "ops@example.com" } };
  const token = { hcloudControllerToken: "a".repeat(64) };

  it("needs no domain, account or admin, and defaults to one control plane and three agents", () => {
    const c = load(cluster, token);
    expect(c.cluster).toEqual({ controlPlanes: 1, controlPlaneType: "cx23", agents: 3, agentType: "cx33", acmeEmail: "ops@example.com", appReplicas: 2 });
  });

  it("refuses the app targets' keys on a cluster stack, naming each", () => {
    const problems = problemsOf(() => load({ ...cluster, domain: "chat.example.com", storage: { service: "local" } }, { ...token, smtpPassword: "x-Smtp-1" }));
    for (const key of ["domain", "storage", "smtpPassword"]) {
      expect(problems).toContain(`chatwoot:${key} is not a setting of chatwoot:target "cluster" (it belongs to the server or the Kubernetes stack)`);
    }
  });

  it("still requires the app targets' keys there, and the cluster's keys only on the cluster", () => {
    const problems = problemsOf(() => load({ target: "kubernetes", cluster: { acmeEmail: "ops@example.com" } }, { hcloudControllerToken: "a".repeat(64) }));
    expect(problems).toEqual(
      expect.arrayContaining([
        "chatwoot:domain is required: it must be a fully qualified hostname",
        'chatwoot:account is required: it must be an object like {"name": "Acme Support", "locale": "en"}',
        'chatwoot:cluster is only used when chatwoot:target is "cluster"',
        'chatwoot:hcloudControllerToken is only used when chatwoot:target is "cluster"',
      ]),
    );
  });

  it("checks its values, refuses a type not sold in the location, and needs the controllers' token for pulumi up", () => {
    expect(problemsOf(() => load({ ...cluster, cluster: { acmeEmail: "nope", controlPlanes: 2, agents: 11 } }, token))).toEqual(
      expect.arrayContaining([
        "chatwoot:cluster.acmeEmail must be an email address",
        "chatwoot:cluster.controlPlanes must be 1 or 3, got 2",
        "chatwoot:cluster.agents must be at most 10 (a spread placement group holds 10 servers), got 11",
      ]),
    );
    expect(problemsOf(() => load({ ...cluster, location: "ash" }, token))).toEqual([
      'chatwoot:cluster.controlPlaneType "cx23" is not sold in ash; choose a CPX or CCX type there',
      'chatwoot:cluster.agentType "cx33" is not sold in ash; choose a CPX or CCX type there',
    ]);
    expect(problemsOf(() => load(cluster, {}))).toEqual([
      "chatwoot:hcloudControllerToken is required: the cloud controller manager and the CSI driver call the Hetzner API with it (pulumi config set --secret chatwoot:hcloudControllerToken)",
    ]);
    expect(problemsOf(() => load(cluster, { hcloudControllerToken: "short" }))).toEqual(["chatwoot:hcloudControllerToken must be a Hetzner Cloud API token (64 letters and digits)"]);
  });
});
