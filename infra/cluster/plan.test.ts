/** The offline plan of the cluster example: it lists every resource, writes the nodes' files, and its diff works. */
import * as fs from "node:fs";
import * as path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { parse, stringify } from "yaml";
import { repoRoot } from "../lib/repo";
import { diffSnapshots } from "../plan/diff";
import { takeSnapshot } from "../plan/snapshot";
import { tempDir } from "../test/tools";
import { runPlan } from "../test/plan-cli";

const EXAMPLE = path.join(repoRoot, "docs/examples/Pulumi.cluster.yaml");

describe("the offline plan of the cluster example stack", () => {
  let dir: string;
  beforeAll(() => {
    dir = tempDir("cluster-plan");
  });
  afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

  it("exits 0, lists every resource and writes the nodes' user data and the add-ons", () => {
    const r = runPlan(["--config", EXAMPLE, "--out", dir]);
    expect(r.stderr).toBe("");
    expect(r.status).toBe(0);
    for (const line of [
      "+ hcloud:index/network:Network  cluster-network",
      "+ hcloud:index/networkSubnet:NetworkSubnet  cluster-subnet",
      "+ hcloud:index/firewall:Firewall  cluster-firewall",
      "+ hcloud:index/placementGroup:PlacementGroup  cluster-agents",
      "+ hcloud:index/server:Server  cluster-cp-2  [ignores changes to userData]",
      "+ hcloud:index/server:Server  cluster-agent-2  [ignores changes to userData]",
      "+ command:remote:Command  cluster-kubeconfig",
      "  kubeconfig: [secret]",
    ]) {
      expect(r.stdout).toContain(line);
    }
    expect(fs.readdirSync(dir).sort()).toEqual(["addons.yaml", "cloud-init-agent-0.yaml", "cloud-init-control-plane-0.yaml", "cloud-init-control-plane-1.yaml"]);
  });

  it("--diff shows a changed add-on as a diff of the files and an update of the first control plane's ignored user data", async () => {
    const config = parse(fs.readFileSync(EXAMPLE, "utf8"));
    const write = (name: string, patch: Record<string, unknown>) => {
      const file = path.join(dir, `Pulumi.${name}.yaml`);
      fs.writeFileSync(file, stringify({ config: { ...config.config, "chatwoot:cluster": { ...config.config["chatwoot:cluster"], ...patch } } }));
      return file;
    };
    const base = await takeSnapshot("cluster", write("base", {}));
    const head = await takeSnapshot("cluster", write("head", { acmeEmail: "certs@example.com" }));
    const diff = diffSnapshots(base, head, { base: "base", head: "head" });
    expect(diff.changed).toBe(true);
    expect(diff.text).toContain("+++ addons.yaml (head)");
    expect(diff.text).toMatch(/^\+\s+email: certs@example\.com$/m);
    // User data is ignored after create: no server is replaced for it.
    expect(diff.replaced).toEqual([]);
  });
});
