/**
 * The cluster target: its user data against the real cloud-init and shellcheck, its k3s config as
 * data, and its resource graph under Pulumi's mock engine (placement, firewall, order, options,
 * and no secret in a command's text, user data or plain output).
 */
import { createHash } from "node:crypto";
import * as fs from "node:fs";
import * as path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { parse } from "yaml";
import { evaluate, isSecretValue, type Evaluation } from "../plan/engine";
import { plainStrings } from "../test/evaluation";
import { pulumiConfig, TEST_PUBLIC_KEY } from "../test/fixtures";
import { describeWithTools, run, tempDir } from "../test/tools";
import { CONTROL_PLANE_TAINT, K3S } from "../facts/cluster";
import { addonManifestFiles, renderAddons } from "./addons";
import { renderInstallScript, renderK3sConfig, renderNodeCloudInit } from "./k3s";
import { renderControllersSecretCommand, renderIngressAddressCommand, renderJoinDropIn, renderStartCommand } from "./join";
import { clusterFirewallRules, privateIp } from "./nodes";

export const clusterConfig = {
  target: "cluster",
  location: "nbg1",
  sshPublicKeys: [TEST_PUBLIC_KEY],
  sshAllowedCidrs: ["198.51.100.0/24"],
  cluster: { controlPlanes: 3, agents: 3, acmeEmail: "ops@example.com" },
};
const TOKEN = "HcloudControllerTokenSentinel".padEnd(64, "x");

describe("k3s on each node", () => {
  it("runs the server with the external cloud provider, no servicelb or local storage, on the private network, tainted", () => {
    expect(renderK3sConfig({ role: "server", privateIp: "10.0.1.10", ha: true })).toEqual({
      "node-ip": "10.0.1.10",
      "advertise-address": "10.0.1.10",
      "kubelet-arg": ["cloud-provider=external"],
      "disable-cloud-controller": true,
      disable: ["servicelb", "local-storage"],
      "node-taint": [CONTROL_PLANE_TAINT],
      "flannel-backend": "vxlan",
      "secrets-encryption": true,
      "write-kubeconfig-mode": "0600",
      "cluster-init": true,
    });
    const joining = renderK3sConfig({ role: "server", privateIp: "10.0.1.11", joinServerIp: "10.0.1.10", ha: true });
    expect(joining.server).toBe("https://10.0.1.10:6443");
    expect(joining["cluster-init"]).toBeUndefined();
    expect(renderK3sConfig({ role: "server", privateIp: "10.0.1.10", ha: false })["cluster-init"]).toBeUndefined();
    expect(renderK3sConfig({ role: "agent", privateIp: "10.0.1.20", joinServerIp: "10.0.1.10", ha: false })).toEqual({
      "node-ip": "10.0.1.20",
      "kubelet-arg": ["cloud-provider=external"],
      server: "https://10.0.1.10:6443",
    });
  });

  it("pins k3s and the sha256 of its binary, and fetches no checksum from beside the binary", () => {
    const script = renderInstallScript();
    expect(script).toContain(`version=\${K3S_VERSION:-${K3S.version}}`);
    expect(script).toContain(`then expected=${K3S.binarySha256}; fi`);
    expect(script).toContain('"$base/k3s"');
    expect(script).toContain("sha256sum -c -");
    expect(script).not.toContain("sha256sum-amd64.txt\"");
    expect(K3S.version).toMatch(/^v1\.36\.\d+\+k3s\d+$/);
    expect(K3S.binarySha256).toMatch(/^[0-9a-f]{64}$/);
  });

  it("keeps the token out of the user data; it arrives on the start step's stdin", () => {
    const all = [renderNodeCloudInit({ role: "server", privateIp: "10.0.1.10", ha: true }, addonManifestFiles({ location: "nbg1", loadBalancerName: "lb", acmeEmail: "ops@example.com" }))];
    for (const u of all) expect(u).not.toMatch(/token:/);
    expect(renderStartCommand("server", "cp-0")).not.toMatch(/token/i);
    expect(parse(renderJoinDropIn("SecretToken", ["203.0.113.10"]))).toEqual({ token: "SecretToken", "tls-san": ["203.0.113.10"] });
  });

  it("addresses nodes on the private subnet: control planes from .10, agents from .20", () => {
    expect([privateIp("server", 0), privateIp("server", 2), privateIp("agent", 0), privateIp("agent", 4)]).toEqual(["10.0.1.10", "10.0.1.12", "10.0.1.20", "10.0.1.24"]);
  });

  it("opens 22 and 6443 only to the allowed networks, and nothing else but ping", () => {
    const rules = clusterFirewallRules(["198.51.100.0/24"], ["192.0.2.0/24"]);
    expect(Object.keys(rules)).toEqual(["ssh", "kube-api", "icmp"]);
    expect(rules.ssh!.sourceIps).toEqual(["198.51.100.0/24"]);
    expect(rules["kube-api"]!.sourceIps).toEqual(["192.0.2.0/24"]);
    expect(rules["kube-api"]!.port).toBe("6443");
  });
});

describeWithTools("the cluster's scripts and user data, checked by their tools", ["cloud-init", "shellcheck"], () => {
  let dir: string;
  beforeAll(() => {
    dir = tempDir("cluster-cloud-init");
  });
  afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

  const manifests = addonManifestFiles({ location: "nbg1", loadBalancerName: "lb", acmeEmail: "ops@example.com" });
  for (const [name, userData] of [
    ["first control plane", renderNodeCloudInit({ role: "server", privateIp: "10.0.1.10", ha: true }, manifests, [TEST_PUBLIC_KEY])],
    ["joining control plane", renderNodeCloudInit({ role: "server", privateIp: "10.0.1.11", joinServerIp: "10.0.1.10", ha: true })],
    ["agent", renderNodeCloudInit({ role: "agent", privateIp: "10.0.1.20", joinServerIp: "10.0.1.10", ha: true }, {}, [TEST_PUBLIC_KEY])],
  ] as const) {
    it(`passes cloud-init schema: ${name}`, () => {
      const file = path.join(dir, `${name.replace(/ /g, "-")}.yaml`);
      fs.writeFileSync(file, userData);
      const r = run("cloud-init", ["schema", "--config-file", file]);
      expect(r.stderr + r.stdout).toMatch(/Valid (cloud-config|schema)/);
      expect(r.stderr).not.toMatch(/Error|Deprecat/);
      expect(r.status).toBe(0);
    });
  }

  it("shellcheck passes the install script and the start steps", () => {
    const files = {
      "install.sh": renderInstallScript(),
      "start-server.sh": `#!/bin/sh\n${renderStartCommand("server", "cp-0")}\n`,
      "start-agent.sh": `#!/bin/sh\n${renderStartCommand("agent", "agent-0")}\n`,
      "ingress-address.sh": `#!/bin/sh\n${renderIngressAddressCommand()}\n`,
      "controllers-secret.sh": `#!/bin/sh\n${renderControllersSecretCommand()}\n`,
    };
    for (const [name, text] of Object.entries(files)) {
      fs.writeFileSync(path.join(dir, name), text);
      const r = run("shellcheck", ["-s", "sh", path.join(dir, name)]);
      expect(r.stdout, name).toBe("");
      expect(r.status, name).toBe(0);
    }
  });
});

describe("the add-ons' pins", () => {
  const charts = renderAddons({ location: "nbg1", loadBalancerName: "lb", acmeEmail: "ops@example.com" })
    .filter((o) => o.kind === "HelmChart") as { metadata: { name: string }; spec: { version: string; valuesContent: string } }[];
  const chart = (name: string) => charts.find((c) => c.metadata.name === name)!;

  it("installs every chart at an exact version, in the lines the cluster is built for", () => {
    for (const c of charts) expect(c.spec.version, c.metadata.name).toMatch(/^v?\d+\.\d+\.\d+$/);
    expect(chart("hcloud-cloud-controller-manager").spec.version).toMatch(/^1\.35\./);
    expect(chart("hcloud-csi").spec.version).toMatch(/^2\.22\./);
    expect(chart("cert-manager").spec.version).toMatch(/^v1\.21\./);
  });

  it("runs the Barman Cloud plugin 0.14 whatever the chart's default: both of its images are pinned by tag", () => {
    const values = parse(chart("plugin-barman-cloud").spec.valuesContent) as { image: { tag: string }; sidecarImage: { tag: string } };
    expect(values.image.tag).toMatch(/^v0\.14\.\d+$/);
    expect(values.sidecarImage.tag).toBe(values.image.tag);
  });
});

describe("the cluster stack under the mock engine", () => {
  let ev: Evaluation;
  beforeAll(async () => {
    ev = await evaluate({ stack: "cluster", ...pulumiConfig(clusterConfig, { hcloudControllerToken: TOKEN }) });
  });
  const servers = () => ev.resources.filter((r) => r.type === "hcloud:index/server:Server");

  it("creates 3 control planes and 3 agents, the agents alone in the spread placement group", () => {
    expect(servers().map((s) => s.name)).toEqual(["cluster-cp-0", "cluster-cp-1", "cluster-cp-2", "cluster-agent-0", "cluster-agent-1", "cluster-agent-2"]);
    const placement = ev.resources.find((r) => r.type === "hcloud:index/placementGroup:PlacementGroup")!;
    expect(placement.inputs.type).toBe("spread");
    for (const s of servers()) expect("placementGroupId" in s.inputs).toBe(s.name.includes("agent"));
    for (const s of servers()) {
      expect(s.options.ignoreChanges).toEqual(["userData"]);
      expect((s.inputs.networks as { ip: string }[])[0]!.ip).toMatch(/^10\.0\.1\.\d+$/);
    }
  });

  it("starts the first control plane, then the others one by one, then the agents", () => {
    const deps = (name: string) => ev.resources.find((r) => r.name === name)!.options.dependsOn;
    expect(deps("cluster-start-chatwoot-cluster-cp-0")).toEqual([]);
    expect(deps("cluster-start-chatwoot-cluster-cp-1")).toEqual(["command:remote:Command::cluster-start-chatwoot-cluster-cp-0"]);
    expect(deps("cluster-start-chatwoot-cluster-cp-2")).toEqual(["command:remote:Command::cluster-start-chatwoot-cluster-cp-1"]);
    expect(deps("cluster-start-chatwoot-cluster-agent-0")).toEqual(["command:remote:Command::cluster-start-chatwoot-cluster-cp-2"]);
  });

  it("keeps the join token and the controllers' token out of command text, user data and plain outputs", () => {
    const start = ev.resources.find((r) => r.name === "cluster-start-chatwoot-cluster-cp-0")!;
    expect(isSecretValue(start.inputs.stdin)).toBe(true);
    const joinToken = parse(String((start.inputs.stdin as { value: string }).value)).token as string;
    expect(joinToken.length).toBe(48);
    const leaks = ev.resources.filter((r) => plainStrings(r.inputs).some((s) => s.includes(joinToken) || s.includes(TOKEN))).map((r) => r.name);
    expect(leaks).toEqual([]);
    expect(ev.secretOutputs).toContain("kubeconfig");
    for (const [k, v] of Object.entries(ev.outputs)) if (!ev.secretOutputs.includes(k)) expect(JSON.stringify(v)).not.toContain(TOKEN);
  });

  it("warns about what Pulumi does not own, and about agents fewer than the app's replicas", async () => {
    expect(ev.warnings.some((w) => w.startsWith("Pulumi does not own the load balancer and the volumes"))).toBe(true);
    const small = await evaluate({ stack: "cluster", ...pulumiConfig({ ...clusterConfig, cluster: { controlPlanes: 1, agents: 1, acmeEmail: "ops@example.com" } }, { hcloudControllerToken: TOKEN }) });
    expect(small.warnings).toEqual(
      expect.arrayContaining([
        "chatwoot:cluster.controlPlanes is 1: no HA; while it is down, nothing is scheduled or healed (the running pods keep serving)",
        expect.stringMatching(/^chatwoot:cluster\.agents is 1, fewer than the 2 replicas per tier/),
      ]),
    );
  });
});

describeWithTools("the k3s install script on its failure paths", ["sh", "sha256sum"], () => {
  let dir: string;
  beforeAll(() => {
    dir = tempDir("k3s-install");
  });
  afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

  const sha = (s: string) => createHash("sha256").update(s).digest("hex");
  /** The release the tests pin: its binary's content is "k3s-binary". */
  const PIN = { version: "v1.36.9+k3s1", sha256: sha("k3s-binary") };
  /**
   * Runs the script (pinned to PIN) with a TEST STAND-IN curl that serves files of `release/` (a
   * missing file fails, as curl -f does), and records what was fetched.
   */
  const install = (files: Record<string, string>, env: Record<string, string> = {}) => {
    const root = fs.mkdtempSync(path.join(dir, "root-"));
    const release = fs.mkdtempSync(path.join(dir, "release-"));
    for (const [name, content] of Object.entries(files)) fs.writeFileSync(path.join(release, name), content);
    const bin = fs.mkdtempSync(path.join(dir, "bin-"));
    const fetched = path.join(dir, `fetched-${path.basename(root)}`);
    fs.writeFileSync(path.join(bin, "curl"), `#!/bin/sh\nfor last; do :; done\necho "$last" >> "${fetched}"\nout=""\nwhile [ $# -gt 0 ]; do [ "$1" = -o ] && out=$2; shift; done\nf="${release}/$(basename "$last")"\n[ -e "$f" ] || exit 22\ncp "$f" "$out"\n`, { mode: 0o755 });
    const script = path.join(dir, "install.sh");
    fs.writeFileSync(script, renderInstallScript(PIN));
    const r = run("sh", [script], { env: { ...process.env, PATH: `${bin}:${process.env.PATH}`, K3S_INSTALL_ROOT: root, ...env } });
    const urls = fs.existsSync(fetched) ? fs.readFileSync(fetched, "utf8").trim().split("\n") : [];
    return { ...r, urls, binary: path.join(root, "usr/local/bin/k3s") };
  };

  it("installs the pinned release's binary when it matches the pinned sha256, fetching nothing else, with kubectl beside it", () => {
    const r = install({ k3s: "k3s-binary", "sha256sum-amd64.txt": `${sha("k3s-binary")}  k3s\n` });
    expect(r.stderr).toBe("");
    expect(r.status).toBe(0);
    expect(r.urls).toEqual([`${K3S.releaseUrl}/v1.36.9%2Bk3s1/k3s`]);
    expect(fs.readFileSync(r.binary, "utf8")).toBe("k3s-binary");
    expect(fs.readlinkSync(path.join(path.dirname(r.binary), "kubectl"))).toBe("/usr/local/bin/k3s");
  });

  it("installs nothing when the binary does not match the pin, even where the release's own checksum file agrees with it, or when the download fails", () => {
    const cases = [
      [{ k3s: "replaced", "sha256sum-amd64.txt": `${sha("replaced")}  k3s\n` }, "the binary of v1.36.9+k3s1 does not match its pinned sha256"],
      [{ "sha256sum-amd64.txt": `${sha("k3s-binary")}  k3s\n` }, "downloading v1.36.9+k3s1 failed"],
    ] as const;
    for (const [files, message] of cases) {
      const r = install(files);
      expect(r.status, message).toBe(1);
      expect(r.stderr).toContain(message);
      expect(fs.existsSync(r.binary), message).toBe(false);
    }
  });

  it("installs another release (an upgrade) only with its own sha256, refusing before any download without one or with a malformed one", () => {
    const next = { k3s: "k3s-next" };
    const without = install(next, { K3S_VERSION: "v1.36.10+k3s1" });
    expect(without.status).toBe(1);
    expect(without.stderr).toContain("K3S_VERSION=v1.36.10+k3s1 needs K3S_SHA256");
    expect(without.urls).toEqual([]);
    const malformed = install(next, { K3S_VERSION: "v1.36.10+k3s1", K3S_SHA256: "ABC" });
    expect(malformed.status).toBe(1);
    expect(malformed.stderr).toContain("K3S_SHA256 must be 64 lowercase hex digits");
    expect(malformed.urls).toEqual([]);
    // The old release's pin does not stand in for the new one's.
    const oldPin = install(next, { K3S_VERSION: "v1.36.10+k3s1", K3S_SHA256: PIN.sha256 });
    expect(oldPin.status).toBe(1);
    expect(oldPin.stderr).toContain("does not match its pinned sha256");
    const upgraded = install(next, { K3S_VERSION: "v1.36.10+k3s1", K3S_SHA256: sha("k3s-next") });
    expect(upgraded.stderr).toBe("");
    expect(upgraded.status).toBe(0);
    expect(upgraded.urls).toEqual([`${K3S.releaseUrl}/v1.36.10%2Bk3s1/k3s`]);
    expect(fs.readFileSync(upgraded.binary, "utf8")).toBe("k3s-next");
  });
});

describeWithTools("the start step when cloud-init could not install k3s", ["sh"], () => {
  it("fails saying where to look, before writing the token anywhere", () => {
    if (fs.existsSync("/usr/local/bin/k3s")) throw new Error("this check needs a machine without k3s installed");
    const dir = tempDir("k3s-start");
    try {
      // TEST STAND-IN for cloud-init: its status wait returns at once.
      fs.writeFileSync(path.join(dir, "cloud-init"), "#!/bin/sh\nexit 0\n", { mode: 0o755 });
      const r = run("sh", ["-c", renderStartCommand("server", "cp-0")], { env: { ...process.env, PATH: `${dir}:${process.env.PATH}` }, input: "token: SecretToken\n" });
      expect(r.status).toBe(1);
      expect(r.stderr).toBe("k3s is not installed: see /var/log/cloud-init-output.log (its checksum or download failed)\n");
      expect(fs.existsSync("/etc/rancher/k3s/config.yaml.d/10-join.yaml")).toBe(false);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});

