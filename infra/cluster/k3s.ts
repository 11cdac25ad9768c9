/**
 * What each node of the cluster runs: its k3s config (as data) and its cloud-init user data, which
 * installs the pinned k3s from its release, checked against its pinned sha256, and starts
 * nothing. The join token never appears here (user data is readable through the Hetzner API): the
 * start step (join.ts) writes it over SSH, on stdin, as a drop-in, and starts k3s. Pure.
 */
import * as path from "node:path";
import { stringify } from "yaml";
import { CONTROL_PLANE_TAINT, K3S, K3S_PATHS } from "../facts/cluster";

export type Role = "server" | "agent";

export interface NodeSettings {
  role: Role;
  /** The node's address on the private network: k3s talks over it, never over a public address. */
  privateIp: string;
  /** The first control-plane server's private address; undefined for the first server itself. */
  joinServerIp?: string;
  /** Three servers: the first initialises the embedded etcd (cluster-init). */
  ha: boolean;
}

/** k3s's config.yaml for one node (k3s server/agent flags as keys). */
export function renderK3sConfig(n: NodeSettings): Record<string, unknown> {
  const common = {
    "node-ip": n.privateIp,
    // The cloud controller manager (an add-on) initialises nodes: k3s's own stays off.
    "kubelet-arg": ["cloud-provider=external"],
    ...(n.joinServerIp ? { server: `https://${n.joinServerIp}:6443` } : {}),
  };
  if (n.role === "agent") return common;
  return {
    ...common,
    "advertise-address": n.privateIp,
    "disable-cloud-controller": true,
    // The load balancer comes from the cloud controller, volumes from Hetzner's CSI driver.
    disable: ["servicelb", "local-storage"],
    "node-taint": [CONTROL_PLANE_TAINT],
    "flannel-backend": "vxlan",
    "secrets-encryption": true,
    "write-kubeconfig-mode": "0600",
    ...(n.ha && !n.joinServerIp ? { "cluster-init": true } : {}),
  };
}

/** The systemd unit of a role: started by the start step, never by cloud-init. */
export function renderK3sUnit(role: Role): string {
  return [
    "[Unit]",
    `Description=k3s ${role} (${K3S.version}; upgrades: docs/cluster.md)`,
    "Wants=network-online.target",
    "After=network-online.target",
    "",
    "[Service]",
    "Type=notify",
    `ExecStart=${K3S_PATHS.binary} ${role}`,
    "KillMode=process",
    "Delegate=yes",
    "LimitNOFILE=1048576",
    "LimitNPROC=infinity",
    "LimitCORE=infinity",
    "TasksMax=infinity",
    "TimeoutStartSec=0",
    "Restart=always",
    "RestartSec=5s",
    "",
    "[Install]",
    "WantedBy=multi-user.target",
    "",
  ].join("\n");
}

/** The unit's file name: k3s.service for servers, k3s-agent.service for agents (as k3s's installer names them). */
export const unitName = (role: Role) => (role === "server" ? "k3s.service" : "k3s-agent.service");

/** A k3s release and the sha256 of its linux/amd64 `k3s` binary. */
export interface K3sPin {
  version: string;
  sha256: string;
}

/**
 * Installs the pinned binary, checked against the pinned sha256 (facts/cluster.ts), never against
 * a hash fetched beside it. Another version (the upgrade procedure) must come with its own sha256.
 * A mismatch or a failed download leaves no binary, and the start step then fails saying so.
 * `pin`: the tests' own release; production's is the facts file's.
 */
export function renderInstallScript(pin: K3sPin = { version: K3S.version, sha256: K3S.binarySha256 }): string {
  return [
    "#!/bin/sh",
    `# Installs k3s ${pin.version} from its release, checked against its pinned sha256.`,
    "# K3S_VERSION with K3S_SHA256 installs another release (the upgrade procedure, docs/cluster.md);",
    "# K3S_INSTALL_ROOT installs under another root (an image being built, the tests).",
    "set -eu",
    `version=\${K3S_VERSION:-${pin.version}}`,
    'expected=${K3S_SHA256:-}',
    `if [ -z "$expected" ] && [ "$version" = "${pin.version}" ]; then expected=${pin.sha256}; fi`,
    'case "$expected" in',
    '  "") echo "k3s: K3S_VERSION=$version needs K3S_SHA256, the sha256 of that release\'s k3s binary (its sha256sum-amd64.txt, checked against a second source); nothing was installed" >&2; exit 1 ;;',
    '  *[!0-9a-f]*) echo "k3s: K3S_SHA256 must be 64 lowercase hex digits; nothing was installed" >&2; exit 1 ;;',
    'esac',
    '[ ${#expected} -eq 64 ] || { echo "k3s: K3S_SHA256 must be 64 lowercase hex digits; nothing was installed" >&2; exit 1; }',
    'root=${K3S_INSTALL_ROOT:-}',
    `base="${K3S.releaseUrl}/$(printf %s "$version" | sed 's/+/%2B/g')"`,
    "work=$(mktemp -d)",
    'trap \'rm -rf "$work"\' EXIT',
    'curl -fsSL --retry 5 -o "$work/k3s" "$base/k3s" || { echo "k3s: downloading $version failed" >&2; exit 1; }',
    'echo "$expected  $work/k3s" | sha256sum -c - >/dev/null 2>&1 || { echo "k3s: the binary of $version does not match its pinned sha256; nothing was installed" >&2; exit 1; }',
    `mkdir -p "$root${path.posix.dirname(K3S_PATHS.binary)}"`,
    // Through a temporary name and a rename: a running k3s keeps its binary until the restart.
    `install -m 0755 "$work/k3s" "$root${K3S_PATHS.binary}.new" && mv -f "$root${K3S_PATHS.binary}.new" "$root${K3S_PATHS.binary}"`,
    `for tool in kubectl crictl ctr; do ln -sf ${K3S_PATHS.binary} "$root/usr/local/bin/$tool"; done`,
    "",
  ].join("\n");
}

export const INSTALL_SCRIPT_PATH = "/usr/local/lib/chatwoot-cluster/install-k3s.sh";

/**
 * The user data of one node; `manifests` (file name → YAML) only on the first server;
 * `authorizedKeys`: the operators' SSH keys (the deploy key comes from Hetzner's SSH key).
 */
export function renderNodeCloudInit(n: NodeSettings, manifests: Record<string, string> = {}, authorizedKeys: string[] = []): string {
  const files = [
    { path: K3S_PATHS.config, permissions: "0600", content: stringify(renderK3sConfig(n)) },
    { path: `/etc/systemd/system/${unitName(n.role)}`, permissions: "0644", content: renderK3sUnit(n.role) },
    { path: INSTALL_SCRIPT_PATH, permissions: "0755", content: renderInstallScript() },
    ...Object.entries(manifests)
      .sort(([a], [b]) => a.localeCompare(b))
      .map(([name, content]) => ({ path: `${K3S_PATHS.manifests}/${name}`, permissions: "0600", content })),
  ];
  const doc = {
    ...(authorizedKeys.length ? { ssh_authorized_keys: authorizedKeys.map((k) => k.trim()) } : {}),
    package_update: true,
    packages: ["curl", "ca-certificates"],
    write_files: files,
    runcmd: [["mkdir", "-p", `${K3S_PATHS.configDropIns}`], ["sh", INSTALL_SCRIPT_PATH], ["systemctl", "daemon-reload"]],
  };
  return `#cloud-config\n${stringify(doc, { lineWidth: 0 })}`;
}
