/**
 * Starts k3s on every node, in order, over SSH with the cluster's deploy key: the first control
 * plane, then the others, then the agents. Each start step writes the join token (and the API's
 * public address, for its certificate) as a config drop-in from stdin, so the token is in no
 * command text, no user data and no log. Then the Hetzner controllers' Secret is applied from
 * stdin, and the admin kubeconfig is read back (secret) with the API's public address in it.
 */
import * as command from "@pulumi/command";
import * as pulumi from "@pulumi/pulumi";
import { stringify } from "yaml";
import { K3S_PATHS } from "../facts/cluster";
import { renderHcloudSecret } from "./addons";
import { unitName, type Role } from "./k3s";
import type { ClusterNode } from "./nodes";

export const JOIN_DROP_IN = `${K3S_PATHS.configDropIns}/10-join.yaml`;

/** The start step's script: secret-free; the drop-in arrives on stdin. Waits until the node is Ready. */
export function renderStartCommand(role: Role, nodeName: string): string {
  const unit = unitName(role);
  return [
    "set -eu",
    `# start k3s ${role} on ${nodeName}`,
    // cloud-init must have installed the binary: fail with the reason instead of a unit error.
    `cloud-init status --wait >/dev/null || true`,
    `test -x ${K3S_PATHS.binary} || { echo "k3s is not installed: see /var/log/cloud-init-output.log (its checksum or download failed)" >&2; exit 1; }`,
    `umask 077; mkdir -p ${K3S_PATHS.configDropIns}`,
    `tmp=$(mktemp ${JOIN_DROP_IN}.XXXXXX); cat >"$tmp"; mv -f "$tmp" ${JOIN_DROP_IN}`,
    `systemctl enable --now ${unit}`,
    ...(role === "server"
      ? [`timeout 600 sh -c 'until ${K3S_PATHS.binary} kubectl get --raw /readyz >/dev/null 2>&1; do sleep 3; done' || { echo "the k3s API did not become ready; see: journalctl -u ${unit}" >&2; exit 1; }`]
      : [`timeout 600 sh -c 'until systemctl is-active --quiet ${unit}; do sleep 3; done'`]),
  ].join("\n");
}

/** The drop-in: the token, and for servers the public address the API's certificate must name. */
export function renderJoinDropIn(token: string, tlsSans: string[]): string {
  return stringify({ token, ...(tlsSans.length ? { "tls-san": tlsSans } : {}) });
}

/**
 * Applies the controllers' Secret from stdin. kubectl's own messages stay on the node (a failed
 * apply could quote the manifest): the step says only that it failed and where to look.
 */
export function renderControllersSecretCommand(): string {
  return [
    "set -eu",
    "# the Hetzner controllers' Secret (from stdin)",
    "log=$(mktemp); trap 'rm -f \"$log\"' EXIT",
    `if ! ${K3S_PATHS.binary} kubectl apply -f - >/dev/null 2>"$log"; then`,
    `  echo "applying the Hetzner controllers' Secret (kube-system/hcloud) failed ($(grep -o -m 1 'Error from server ([A-Za-z]*)\\|error: [a-z ]*' "$log" | head -n 1)); kubectl's messages stay on the node; is the API up? k3s kubectl get --raw /readyz" >&2`,
    "  exit 1",
    "fi",
  ].join("\n");
}

export interface JoinArgs {
  nodes: ClusterNode[];
  token: pulumi.Output<string>;
  deployKey: pulumi.Output<string>;
  hcloudToken: pulumi.Output<string>;
  networkId: pulumi.Output<string>;
}

/**
 * Waits until the cloud controller has given Traefik's LoadBalancer Service its Hetzner load
 * balancer, and prints its addresses (one per line). Bounded: the add-ons install in a few
 * minutes; after 15 the step fails, naming what to look at.
 */
export function renderIngressAddressCommand(): string {
  const jsonpath = "{range .status.loadBalancer.ingress[*]}{.ip}{'\\n'}{end}";
  return [
    "set -eu",
    "# the ingress load balancer's addresses, once the cloud controller has created it",
    `for _ in $(seq 180); do ips=$(${K3S_PATHS.binary} kubectl -n kube-system get service traefik -o jsonpath="${jsonpath}" 2>/dev/null || true); [ -n "$ips" ] && { printf '%s\\n' "$ips"; exit 0; }; sleep 5; done`,
    `echo "Traefik's load balancer has no address after 15 minutes; see: kubectl -n kube-system describe service traefik, and the hcloud-cloud-controller-manager's logs" >&2`,
    "exit 1",
  ].join("\n");
}

export function startCluster(
  name: string,
  a: JoinArgs,
  parent: pulumi.Resource,
): { kubeconfig: pulumi.Output<string>; apiServer: pulumi.Output<string>; ingressAddresses: pulumi.Output<string[]> } {
  const connection = (n: ClusterNode) => ({ host: n.server.ipv4Address, user: "root", privateKey: a.deployKey, dialErrorLimit: 30 });
  const [first, ...rest] = a.nodes;
  if (!first || first.role !== "server") throw new Error("the cluster needs a control-plane server first");
  const apiServer = first.server.ipv4Address;
  const start = (n: ClusterNode, after: pulumi.Resource[]) =>
    new command.remote.Command(
      `${name}-start-${n.name}`,
      {
        connection: connection(n),
        create: renderStartCommand(n.role, n.name),
        stdin: pulumi.secret(pulumi.all([a.token, n.server.ipv4Address]).apply(([t, ip]) => renderJoinDropIn(t, n.role === "server" ? [ip] : []))),
        // A replaced server must be started again.
        triggers: [n.server.id],
      },
      { parent, dependsOn: after, additionalSecretOutputs: ["stdout", "stderr"] },
    );
  const firstStarted = start(first, []);
  const servers = rest.filter((n) => n.role === "server");
  // Servers join one at a time: etcd grows its quorum member by member.
  let previous: pulumi.Resource = firstStarted;
  for (const n of servers) previous = start(n, [previous]);
  const agents = rest.filter((n) => n.role === "agent").map((n) => start(n, [previous]));

  const secret = new command.remote.Command(
    `${name}-hcloud-secret`,
    {
      connection: connection(first),
      create: renderControllersSecretCommand(),
      stdin: pulumi.secret(pulumi.all([a.hcloudToken, a.networkId]).apply(([t, id]) => renderHcloudSecret(t, id))),
    },
    { parent, dependsOn: [firstStarted], additionalSecretOutputs: ["stdout", "stderr"] },
  );
  const read = new command.remote.Command(
    `${name}-kubeconfig`,
    { connection: connection(first), create: `cat ${K3S_PATHS.kubeconfig}`, triggers: [first.server.id] },
    { parent, dependsOn: [firstStarted, secret, ...agents], additionalSecretOutputs: ["stdout"] },
  );
  const ingress = new command.remote.Command(
    `${name}-ingress-address`,
    { connection: connection(first), create: renderIngressAddressCommand(), triggers: [first.server.id] },
    { parent, dependsOn: [secret, ...agents] },
  );
  const ingressAddresses = ingress.stdout.apply((out) => out.split("\n").map((l) => l.trim()).filter(Boolean));
  const kubeconfig = pulumi.secret(
    pulumi.all([read.stdout, apiServer]).apply(([text, ip]) => text.replace("https://127.0.0.1:6443", `https://${ip}:6443`)),
  );
  return { kubeconfig, apiServer, ingressAddresses };
}
