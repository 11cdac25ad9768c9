/**
 * The Kubernetes target's objects against a real kube-apiserver (v1.37, etcd 3.7, built from the
 * Go module proxy) with the operators' CRDs applied: every object of manifests.yaml, as
 * `npm run plan -- --out` writes it, must pass a server-side dry-run apply; objects the server must
 * reject are rejected; and the bootstrap's result writer works with exactly its RBAC, and no more.
 * Nothing runs pods here: what the objects do on a cluster is the e2e workflow's part.
 */
import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as path from "node:path";
import { afterAll, beforeAll, expect, it } from "vitest";
import { parseAllDocuments, stringify } from "yaml";
import { repoRoot } from "../lib/repo";
import { describeWithTools, tempDir } from "../test/tools";
import { runPlan } from "../test/plan-cli";
import { startControlPlane, type ControlPlane } from "../test/kube-apiserver";
import { kubernetesNames } from "./names";

const EXAMPLE = path.join(repoRoot, "docs/examples/Pulumi.kubernetes.yaml");
const CRDS = path.join(repoRoot, "infra/test/crds");
const names = kubernetesNames("chatwoot");

type Obj = { apiVersion: string; kind: string; metadata: { name: string; namespace?: string }; spec?: any; [k: string]: unknown };

describeWithTools("the Kubernetes target's objects on a real kube-apiserver", ["go", "ruby"], () => {
  let cp: ControlPlane;
  let dir: string;
  let manifests: string;
  let objects: Obj[];

  const apply = (docs: Obj[] | string, extra: string[] = []) =>
    cp.kubectl(["apply", "--server-side", "--field-manager", "pulumi-kubernetes", "-f", "-", ...extra], typeof docs === "string" ? docs : docs.map((d) => stringify(d)).join("---\n"));
  const dryRun = (docs: Obj[] | string) => apply(docs, ["--dry-run=server"]);
  const find = (kind: string, name?: string) => objects.find((o) => o.kind === kind && (name === undefined || o.metadata.name === name))!;

  beforeAll(async () => {
    dir = tempDir("k8s-dry-run");
    const plan = runPlan(["--config", EXAMPLE, "--out", dir]);
    if (plan.status !== 0) throw new Error(`npm run plan failed: ${plan.stderr}`);
    manifests = fs.readFileSync(path.join(dir, "manifests.yaml"), "utf8");
    objects = parseAllDocuments(manifests).map((d) => d.toJS() as Obj).filter(Boolean);
    cp = await startControlPlane();
    const crds = cp.kubectl(["apply", "--server-side", "-f", CRDS]);
    if (crds.status !== 0) throw new Error(`applying the CRDs failed: ${crds.stderr}`);
    await cp.crdsEstablished();
    // Namespaced objects are checked against an existing namespace (a dry-run creates nothing).
    const ns = apply([find("Namespace")]);
    if (ns.status !== 0) throw new Error(`creating the namespace failed: ${ns.stderr}`);
  });
  afterAll(() => {
    cp?.stop();
    if (dir) fs.rmSync(dir, { recursive: true, force: true });
  });

  it("accepts every object of manifests.yaml: 0 rejections", () => {
    expect(objects.length).toBeGreaterThanOrEqual(25);
    const r = dryRun(manifests);
    expect(r.stderr).toBe("");
    expect(r.status).toBe(0);
    // One line per object: "<kind>/<name> serverside-applied (server dry run)".
    const applied = r.stdout.trim().split("\n").filter((l) => l.endsWith("(server dry run)"));
    expect(applied).toHaveLength(objects.length);
  });

  it("has every kind the target needs in manifests.yaml", () => {
    const kinds = new Set(objects.map((o) => o.kind));
    for (const k of ["Deployment", "Service", "PodDisruptionBudget", "StatefulSet", "Job", "Secret", "Cluster", "Database", "ObjectStore", "ScheduledBackup", "Middleware", "IngressRoute", "Certificate", "Role", "RoleBinding", "ServiceAccount", "ConfigMap"]) {
      expect(kinds, k).toContain(k);
    }
  });

  it("rejects an unknown field in a custom resource, and in a core object", () => {
    const cluster = structuredClone(find("Cluster"));
    cluster.spec.storage.sizee = "20Gi";
    const r = dryRun([cluster]);
    expect(r.status).not.toBe(0);
    expect(r.stderr).toMatch(/spec\.storage\.sizee: field not declared in schema/);

    const web = structuredClone(find("Deployment", names.web));
    web.spec.template.spec.containers[0].livenessProbes = {};
    const w = dryRun([web]);
    expect(w.status).not.toBe(0);
    expect(w.stderr).toMatch(/livenessProbes: field not declared in schema/);
  });

  it("rejects a bad quantity and a CRD bound", () => {
    const web = structuredClone(find("Deployment", names.web));
    web.spec.template.spec.containers[0].resources.requests.memory = "1.5 GB";
    const r = dryRun([web]);
    expect(r.status).not.toBe(0);
    expect(r.stderr).toMatch(/quantities must match the regular expression/);

    const cluster = structuredClone(find("Cluster"));
    cluster.spec.instances = 0;
    const c = dryRun([cluster]);
    expect(c.status).not.toBe(0);
    expect(c.stderr).toMatch(/spec\.instances.*should be greater than or equal to 1/);
  });

  it("rejects a changed template of an existing Job: a new release needs a new Job name", () => {
    const migrate = objects.find((o) => o.kind === "Job" && o.metadata.name.startsWith("chatwoot-migrate-"))!;
    expect(migrate).toBeDefined();
    const created = apply([migrate]);
    expect(created.stderr).toBe("");
    expect(created.status).toBe(0);
    const changed = structuredClone(migrate);
    changed.spec.template.spec.initContainers[0].image = "chatwoot/chatwoot:v4.15.2";
    const r = dryRun([changed]);
    expect(r.status).not.toBe(0);
    expect(r.stderr).toMatch(/field is immutable/);
  });

  it("lets the bootstrap's ServiceAccount write its result Secret, and nothing else", () => {
    const rbac = ["ServiceAccount", "Role", "RoleBinding"].map((k) => find(k, names.bootstrapServiceAccount));
    const result = find("Secret", names.bootstrapResultSecret);
    const other: Obj = { apiVersion: "v1", kind: "Secret", metadata: { name: "another-secret", namespace: "chatwoot" }, type: "Opaque", stringData: { keep: "unchanged" } } as Obj;
    const created = apply([...rbac, result, other]);
    expect(created.stderr).toBe("");
    const token = cp.kubectl(["create", "token", names.bootstrapServiceAccount, "-n", "chatwoot", "--duration", "10m"]);
    expect(token.status).toBe(0);
    fs.writeFileSync(path.join(dir, "token"), token.stdout.trim(), { mode: 0o600 });
    fs.writeFileSync(path.join(dir, "namespace"), "chatwoot");
    const line = JSON.stringify({ account_id: 1, inbox_id: 2, inbox_identifier: "abc", webhook_id: null, api_access_token: "TokenThatMustNotLeak1", platform_token: "PlatformThatMustNotLeak1" });
    fs.writeFileSync(path.join(dir, "out"), `Rails said something\nCHATWOOT_BOOTSTRAP_RESULT ${line}\n`);
    const writer = (secret: string, file = "out") =>
      spawnSync("ruby", [path.join(repoRoot, "infra/kubernetes/bootstrap_result.rb"), path.join(dir, file)], {
        encoding: "utf8",
        timeout: 120_000,
        env: {
          ...process.env,
          CHATWOOT_BOOTSTRAP_RESULT_SECRET: secret,
          KUBERNETES_API_URL: cp.server,
          KUBERNETES_CA_FILE: cp.caFile,
          KUBERNETES_TOKEN_FILE: path.join(dir, "token"),
          KUBERNETES_NAMESPACE_FILE: path.join(dir, "namespace"),
        },
      });

    const ok = writer(names.bootstrapResultSecret);
    expect(ok.stderr).toBe("");
    expect(ok.status).toBe(0);
    expect(ok.stdout).toBe(`bootstrap result stored in Secret ${names.bootstrapResultSecret}\n`);
    const stored = cp.kubectl(["get", "secret", names.bootstrapResultSecret, "-n", "chatwoot", "-o", "jsonpath={.data.result}"]);
    expect(Buffer.from(stored.stdout, "base64").toString("utf8")).toBe(line);

    // Any other Secret: refused by RBAC, and the error names only the status.
    const denied = writer("another-secret");
    expect(denied.status).toBe(1);
    expect(denied.stderr).toMatch(/HTTP 403/);
    expect(cp.kubectl(["get", "secret", "another-secret", "-n", "chatwoot", "-o", "jsonpath={.data.keep}"]).stdout).toBe(Buffer.from("unchanged").toString("base64"));

    // No result line, or a result without its tokens: nothing is written.
    fs.writeFileSync(path.join(dir, "cut"), `CHATWOOT_BOOTSTRAP_RESULT {"account_id": 1`);
    fs.writeFileSync(path.join(dir, "partial"), `CHATWOOT_BOOTSTRAP_RESULT {"account_id": 1, "inbox_id": 2}\n`);
    expect(writer(names.bootstrapResultSecret, "cut").stderr).toMatch(/not JSON/);
    expect(writer(names.bootstrapResultSecret, "partial").stderr).toMatch(/lacks inbox_identifier, api_access_token, platform_token/);
    expect(writer(names.bootstrapResultSecret, "missing").stderr).toMatch(/no bootstrap output/);
    expect(Buffer.from(cp.kubectl(["get", "secret", names.bootstrapResultSecret, "-n", "chatwoot", "-o", "jsonpath={.data.result}"]).stdout, "base64").toString()).toBe(line);
    for (const r of [ok, denied]) expect(r.stdout + r.stderr).not.toMatch(/MustNotLeak/);
  });
});
