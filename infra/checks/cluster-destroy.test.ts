/**
 * ops/cluster-destroy.sh with stand-ins for pulumi and kubectl that record their calls: the order
 * that leaves nothing billed, and a stop at the first failed step.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import { afterEach, beforeEach, expect, it } from "vitest";
import { repoRoot } from "../lib/repo";
import { describeWithTools, run, tempDir } from "../test/tools";

describeWithTools("ops/cluster-destroy.sh", ["bash"], () => {
  let dir: string;
  beforeEach(() => {
    dir = tempDir("cluster-destroy");
    // TEST STAND-INS for pulumi and kubectl: each records its arguments; behaviour from files in $STATE.
    const stand = (name: string, body: string) => fs.writeFileSync(path.join(dir, name), `#!/bin/sh\necho "${name} $*" >> "$STATE/calls"\n${body}\n`, { mode: 0o755 });
    stand(
      "pulumi",
      [
        'case "$*" in',
        '  "stack output --stack "*" --show-secrets kubeconfig") echo "apiVersion: v1 # kubeconfig-sentinel" ;;',
        '  "destroy --stack app"*) [ -e "$STATE/fail-app" ] && exit 1 ;;',
        "esac",
        "exit 0",
      ].join("\n"),
    );
    stand(
      "kubectl",
      [
        'case "$*" in',
        '  "delete pv --all"*) [ -e "$STATE/pv-stays" ] || rm -f "$STATE/pv" ;;',
        '  "get pv -o name") [ -e "$STATE/pv" ] && echo persistentvolume/pvc-1 ;;',
        '  "get services"*) : ;;',
        "esac",
        "exit 0",
      ].join("\n"),
    );
    fs.writeFileSync(path.join(dir, "pv"), "");
  });
  afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

  const destroy = (extraEnv: Record<string, string> = {}) =>
    run("bash", [path.join(repoRoot, "ops/cluster-destroy.sh"), "--app", "app", "--cluster", "cluster", "--yes"], {
      env: { ...process.env, PATH: `${dir}:${process.env.PATH}`, STATE: dir, ...extraEnv },
      timeout: 600_000,
    });
  const calls = () => fs.readFileSync(path.join(dir, "calls"), "utf8").trim().split("\n");

  it("destroys the app stack, then the load balancer and the volumes, then the cluster", () => {
    const r = destroy();
    expect(r.stderr).toBe("");
    expect(r.status).toBe(0);
    const c = calls();
    const at = (prefix: string) => c.findIndex((x) => x.startsWith(prefix));
    expect(at("pulumi destroy --stack app")).toBeGreaterThan(at("pulumi stack output --stack cluster"));
    expect(at("kubectl -n kube-system delete helmchart traefik")).toBeGreaterThan(at("pulumi destroy --stack app"));
    expect(at("kubectl delete pv --all")).toBeGreaterThan(at("kubectl -n kube-system delete helmchart traefik"));
    expect(at("pulumi destroy --stack cluster")).toBe(c.length - 1);
    // The kubeconfig never reaches a command line, and its file is gone.
    expect(c.join("\n")).not.toContain("kubeconfig-sentinel");
  });

  it("stops before touching the cluster when the app stack's destroy fails", () => {
    fs.writeFileSync(path.join(dir, "fail-app"), "");
    const r = destroy();
    expect(r.status).toBe(1);
    expect(r.stderr).toContain("pulumi destroy --stack app failed");
    expect(calls().some((x) => x.startsWith("kubectl"))).toBe(false);
    expect(calls().some((x) => x.startsWith("pulumi destroy --stack cluster"))).toBe(false);
  });

  it("does not destroy the cluster while a volume is left, and says so", () => {
    fs.writeFileSync(path.join(dir, "pv-stays"), "");
    // One poll is enough to show the refusal; the script's wait is bounded (60 × 5 s) for real clusters.
    fs.writeFileSync(path.join(dir, "sleep"), "#!/bin/sh\nexit 0\n", { mode: 0o755 });
    const r = destroy();
    expect(r.status).toBe(1);
    expect(r.stderr).toContain("0 LoadBalancer Service(s) and 1 PersistentVolume(s) are still there; the cluster stack was not destroyed");
    expect(calls().some((x) => x.startsWith("pulumi destroy --stack cluster"))).toBe(false);
  });

  it("refuses to start without both stacks", () => {
    const r = run("bash", [path.join(repoRoot, "ops/cluster-destroy.sh"), "--app", "app"], { env: { ...process.env, PATH: `${dir}:${process.env.PATH}`, STATE: dir } });
    expect(r.status).toBe(2);
    expect(r.stderr).toContain("usage: cluster-destroy.sh --app");
  });
});
