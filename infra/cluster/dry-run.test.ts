/**
 * Every Kubernetes object the cluster stack installs (the add-ons' HelmChart and HelmChartConfig
 * manifests, the ClusterIssuer, the Hetzner controllers' Secret) against a real kube-apiserver with
 * k3s's HelmChart CRDs (from github.com/k3s-io/helm-controller, read from the Go module cache) and
 * cert-manager's: a server-side dry-run must accept them all, and reject a broken one.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import { afterAll, beforeAll, expect, it } from "vitest";
import { parse, stringify } from "yaml";
import { repoRoot } from "../lib/repo";
import { startControlPlane, type ControlPlane } from "../test/kube-apiserver";
import { describeWithTools, run } from "../test/tools";
import { renderAddons, renderHcloudSecret } from "./addons";
import { renderControllersSecretCommand, renderIngressAddressCommand } from "./join";
import { K3S, K3S_PATHS } from "../facts/cluster";

/** The helm-controller release whose CRDs the dry-run applies: the one k3s embeds (facts/cluster.ts). */
const HELM_CONTROLLER = `github.com/k3s-io/helm-controller@${K3S.helmController}`;

describeWithTools("the cluster's add-ons on a real kube-apiserver", ["go"], () => {
  let cp: ControlPlane;
  const addons = renderAddons({ location: "nbg1", loadBalancerName: "chatwoot-test-ingress", acmeEmail: "ops@example.com" });
  const dryRun = (yaml: string) => cp.kubectl(["apply", "--server-side", "--dry-run=server", "-f", "-"], yaml);

  beforeAll(async () => {
    const download = run("go", ["mod", "download", "-json", HELM_CONTROLLER], { env: { ...process.env, GOFLAGS: "-mod=mod" } });
    if (download.status !== 0) throw new Error(`go mod download ${HELM_CONTROLLER} failed: ${download.stderr}`);
    const crdDir = path.join(JSON.parse(download.stdout).Dir, "pkg/crds/yaml/generated");
    cp = await startControlPlane();
    for (const file of [...fs.readdirSync(crdDir).map((f) => path.join(crdDir, f)), path.join(repoRoot, "infra/test/crds/cm-clusterissuers.yaml")]) {
      const r = cp.kubectl(["apply", "--server-side", "-f", file]);
      if (r.status !== 0) throw new Error(`applying ${file} failed: ${r.stderr}`);
    }
    await cp.crdsEstablished();
  });
  afterAll(() => cp?.stop());

  it("accepts every add-on manifest and the controllers' Secret", () => {
    const docs = [...addons.map((o) => stringify(o)), renderHcloudSecret("x".repeat(64), "123456")].join("---\n");
    const r = dryRun(docs);
    expect(r.stderr).toBe("");
    expect(r.status).toBe(0);
    expect(r.stdout.trim().split("\n").filter((l) => l.endsWith("(server dry run)"))).toHaveLength(addons.length + 1);
    expect(addons.map((o) => o.kind).sort()).toEqual(["ClusterIssuer", "HelmChart", "HelmChart", "HelmChart", "HelmChart", "HelmChart", "HelmChartConfig"]);
  });

  it("rejects an add-on with a field its CRD does not declare, and an issuer without its ACME server", () => {
    const chart = parse(stringify(addons[0])) as { spec: Record<string, unknown> };
    chart.spec.versoin = "1.0.0";
    const r = dryRun(stringify(chart));
    expect(r.status).not.toBe(0);
    expect(r.stderr).toMatch(/spec\.versoin: field not declared in schema/);
    const issuer = parse(stringify(addons.find((o) => o.kind === "ClusterIssuer"))) as { spec: { acme: Record<string, unknown> } };
    delete issuer.spec.acme.server;
    const i = dryRun(stringify(issuer));
    expect(i.status).not.toBe(0);
    expect(i.stderr).toMatch(/spec\.acme\.server: Required value/);
  });

  it("reads the ingress load balancer's addresses from Traefik's Service once the controller has set them", () => {
    const service = { apiVersion: "v1", kind: "Service", metadata: { name: "traefik", namespace: "kube-system" }, spec: { type: "LoadBalancer", ports: [{ name: "websecure", port: 443 }] } };
    expect(cp.kubectl(["apply", "--server-side", "-f", "-"], stringify(service)).status).toBe(0);
    // The step's own script, with this control plane's kubectl in place of the node's k3s.
    const script = renderIngressAddressCommand().replaceAll(`${K3S_PATHS.binary} kubectl`, `kubectl --kubeconfig ${cp.kubeconfig}`);
    const kubectlDir = path.dirname(cp.kubectlPath);
    const status = { status: { loadBalancer: { ingress: [{ ip: "198.51.100.7", ipMode: "Proxy" }, { ip: "2001:db8::7", ipMode: "Proxy" }] } } };
    const patched = cp.kubectl(["-n", "kube-system", "patch", "service", "traefik", "--subresource=status", "--type=merge", "-p", JSON.stringify(status)]);
    expect(patched.stderr).toBe("");
    const r = run("sh", ["-c", script], { env: { ...process.env, PATH: `${kubectlDir}:${process.env.PATH}` } });
    expect(r.stderr).toBe("");
    expect(r.stdout).toBe("198.51.100.7\n2001:db8::7\n");
  });

  it("applies the controllers' Secret from stdin, and on a failure says so without quoting the manifest", () => {
    const script = renderControllersSecretCommand().replaceAll(`${K3S_PATHS.binary} kubectl`, `kubectl --kubeconfig ${cp.kubeconfig}`);
    const env = { ...process.env, PATH: `${path.dirname(cp.kubectlPath)}:${process.env.PATH}` };
    const token = "TokenSentinel".padEnd(64, "q");
    const ok = run("sh", ["-c", script], { env, input: renderHcloudSecret(token, "42") });
    expect(ok.stderr).toBe("");
    expect(ok.status).toBe(0);
    expect(cp.kubectl(["-n", "kube-system", "get", "secret", "hcloud", "-o", "jsonpath={.data.token}"]).stdout).toBe(Buffer.from(token).toString("base64"));
    // A manifest the server refuses (an unknown field beside the token): exit 1, no token in the message.
    const broken = renderHcloudSecret(token, "42").replace("stringData:", "stringDatta: {}\nstringData:");
    const bad = run("sh", ["-c", script], { env, input: broken });
    expect(bad.status).toBe(1);
    expect(bad.stderr).toMatch(/^applying the Hetzner controllers' Secret \(kube-system\/hcloud\) failed \(.+\); kubectl's messages stay on the node/);
    expect(bad.stdout + bad.stderr).not.toContain("TokenSentinel");
  });
});
