/**
 * The offline plan of a Kubernetes stack: `npm run plan` lists the objects, `--out` writes
 * manifests.yaml with every secret masked, and the plan diff shows a masked unified diff of it.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { parse, stringify } from "yaml";
import { repoRoot } from "../lib/repo";
import { diffSnapshots } from "../plan/diff";
import { takeSnapshot } from "../plan/snapshot";
import { tempDir } from "../test/tools";
import { runPlan } from "../test/plan-cli";

const EXAMPLE = path.join(repoRoot, "docs/examples/Pulumi.kubernetes.yaml");
const plan = runPlan;

describe("the offline plan of the Kubernetes example stack", () => {
  let dir: string;
  beforeAll(() => {
    dir = tempDir("k8s-plan");
  });
  afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

  it("exits 0 and lists the workload, CNPG, Redis, the Jobs and the ingress", () => {
    const r = plan(["--config", EXAMPLE, "--out", dir]);
    expect(r.stderr).toBe("");
    expect(r.status).toBe(0);
    for (const line of [
      "+ kubernetes:apps/v1:Deployment  web",
      "+ kubernetes:apps/v1:Deployment  sidekiq",
      "+ kubernetes:postgresql.cnpg.io/v1:Cluster  postgres  [protected]",
      "+ kubernetes:postgresql.cnpg.io/v1:Database  postgres-database",
      "+ kubernetes:apps/v1:StatefulSet  redis",
      "+ kubernetes:batch/v1:Job  migrate",
      "+ kubernetes:batch/v1:Job  bootstrap",
      "+ kubernetes:traefik.io/v1alpha1:IngressRoute  ingress-route",
      "> kubernetes:apiextensions.k8s.io/v1:CustomResourceDefinition  requires-cloudnative-pg-clusters.postgresql.cnpg.io  (read: must exist)",
    ]) {
      expect(r.stdout).toContain(line);
    }
    expect(r.stdout).toContain("Rendered artifacts (secrets masked)");
    expect(fs.readdirSync(dir)).toEqual(["manifests.yaml"]);
  });

  it("masks every Secret's values in manifests.yaml and keeps their keys", () => {
    const docs = fs.readFileSync(path.join(dir, "manifests.yaml"), "utf8").split(/^---$/m).slice(1).map((d) => parse(d));
    const secrets = docs.filter((d) => d.kind === "Secret" && d.stringData);
    expect(secrets.length).toBeGreaterThanOrEqual(4);
    for (const s of secrets) for (const v of Object.values(s.stringData)) expect(v).toBe("<secret>");
    const appEnv = secrets.find((s) => s.metadata.name === "chatwoot-app-env");
    expect(Object.keys(appEnv.stringData)).toEqual(expect.arrayContaining(["SECRET_KEY_BASE", "POSTGRES_PASSWORD", "REDIS_URL", "STORAGE_SECRET_ACCESS_KEY"]));
  });

  it("shows a change as a masked unified diff of manifests.yaml", async () => {
    const config = parse(fs.readFileSync(EXAMPLE, "utf8"));
    const write = (name: string, patch: Record<string, unknown>) => {
      const file = path.join(dir, `Pulumi.${name}.yaml`);
      fs.writeFileSync(file, stringify({ config: { ...config.config, ...patch, "chatwoot:smtpPassword": { secure: "v1:AAAA:ciphertext" } } }));
      return file;
    };
    const base = await takeSnapshot("k8s", write("base", {}));
    const head = await takeSnapshot("k8s", write("head", { "chatwoot:chatwootVersion": "v4.15.2" }));
    const diff = diffSnapshots(base, head, { base: "base", head: "head" });
    expect(diff.changed).toBe(true);
    expect(diff.text).toContain("--- manifests.yaml (base)");
    expect(diff.text).toContain("+++ manifests.yaml (head)");
    expect(diff.text).toMatch(/^-\s+image: chatwoot\/chatwoot:v4\.15\.1$/m);
    expect(diff.text).toMatch(/^\+\s+image: chatwoot\/chatwoot:v4\.15\.2$/m);
    expect(diff.text).toMatch(/^\+\s+name: chatwoot-migrate-v4-15-2-[0-9a-f]{8}$/m);
    // Secrets appear masked or not at all.
    expect(diff.text).not.toMatch(/FakeApi|stand-in|encrypted in the stack file/);
    const same = diffSnapshots(base, await takeSnapshot("k8s", write("again", {})), { base: "base", head: "again" });
    expect(same.changed).toBe(false);
  });
});
