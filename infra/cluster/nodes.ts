/**
 * The cluster's Hetzner resources: a private network, a firewall, the deploy key, a spread
 * placement group for the agents, and the servers. Constructor steps: network → firewall → key →
 * control plane → agents. The servers' k3s is installed by their user data and started by join.ts.
 */
import * as hcloud from "@pulumi/hcloud";
import * as pulumi from "@pulumi/pulumi";
import * as tls from "@pulumi/tls";
import { NETWORK, NETWORK_ZONES } from "../facts/cluster";
import type { Location } from "../facts/hetzner";
import { renderNodeCloudInit, type Role } from "./k3s";

export interface ClusterNodesArgs {
  /** Prefix of every Hetzner name (chatwoot-<stack>). */
  namePrefix: string;
  location: Location;
  controlPlanes: 1 | 3;
  controlPlaneType: string;
  agents: number;
  agentType: string;
  /** Operators' keys, for SSH into any node. */
  sshPublicKeys: string[];
  sshAllowedCidrs: string[];
  apiAllowedCidrs: string[];
  /** The add-on manifests the first control-plane server's k3s applies (file → YAML). */
  manifests: Record<string, string>;
  labels: Record<string, string>;
}

export interface ClusterNode {
  role: Role;
  name: string;
  privateIp: string;
  server: hcloud.Server;
}

/** Inbound rules on the public interfaces, by purpose; everything else inbound is dropped. */
export function clusterFirewallRules(sshAllowedCidrs: string[], apiAllowedCidrs: string[]): Record<string, hcloud.types.input.FirewallRule> {
  return {
    ssh: { direction: "in", protocol: "tcp", port: "22", sourceIps: sshAllowedCidrs, description: "SSH: the start steps and operators" },
    "kube-api": { direction: "in", protocol: "tcp", port: "6443", sourceIps: apiAllowedCidrs, description: "Kubernetes API: kubectl and the Kubernetes stack" },
    icmp: { direction: "in", protocol: "icmp", sourceIps: ["0.0.0.0/0", "::/0"], description: "Ping and path MTU discovery" },
    // No 80/443: the load balancer reaches Traefik over the private network, which the firewall does not filter.
  };
}

/** Private addresses: control planes from .10, agents from .20 of the nodes' subnet. */
export function privateIp(role: Role, index: number): string {
  const base = NETWORK.subnet.split(".").slice(0, 3).join(".");
  return `${base}.${(role === "server" ? 10 : 20) + index}`;
}

export class ClusterNodes extends pulumi.ComponentResource {
  public readonly network: hcloud.Network;
  public readonly nodes: ClusterNode[];
  public readonly deployKey: tls.PrivateKey;

  constructor(name: string, private readonly args: ClusterNodesArgs, opts?: pulumi.ComponentResourceOptions) {
    super("chatwoot:cluster:ClusterNodes", name, {}, opts);
    const { network, subnet } = this.privateNetwork(name);
    this.network = network;
    const firewall = new hcloud.Firewall(`${name}-firewall`, { name: args.namePrefix, rules: Object.values(clusterFirewallRules(args.sshAllowedCidrs, args.apiAllowedCidrs)), labels: args.labels }, { parent: this });
    this.deployKey = new tls.PrivateKey(`${name}-deploy-key`, { algorithm: "ED25519" }, { parent: this });
    const sshKey = new hcloud.SshKey(`${name}-deploy-key`, { name: `${args.namePrefix}-deploy`, publicKey: this.deployKey.publicKeyOpenssh, labels: args.labels }, { parent: this });
    const placement = new hcloud.PlacementGroup(`${name}-agents`, { name: `${args.namePrefix}-agents`, type: "spread", labels: args.labels }, { parent: this });
    const server = (role: Role, index: number) =>
      this.server(name, role, index, { network, subnet, firewall, sshKey, placement: role === "agent" ? placement : undefined });
    this.nodes = [
      ...Array.from({ length: args.controlPlanes }, (_, i) => server("server", i)),
      ...Array.from({ length: args.agents }, (_, i) => server("agent", i)),
    ];
    this.registerOutputs({});
  }

  private privateNetwork(name: string) {
    const network = new hcloud.Network(`${name}-network`, { name: this.args.namePrefix, ipRange: NETWORK.range, labels: this.args.labels }, { parent: this });
    const subnet = new hcloud.NetworkSubnet(
      `${name}-subnet`,
      { networkId: network.id.apply(Number), type: "cloud", networkZone: NETWORK_ZONES[this.args.location], ipRange: NETWORK.subnet },
      { parent: this },
    );
    return { network, subnet };
  }

  private server(
    name: string,
    role: Role,
    index: number,
    d: { network: hcloud.Network; subnet: hcloud.NetworkSubnet; firewall: hcloud.Firewall; sshKey: hcloud.SshKey; placement?: hcloud.PlacementGroup },
  ): ClusterNode {
    const a = this.args;
    const nodeName = `${a.namePrefix}-${role === "server" ? "cp" : "agent"}-${index}`;
    const ip = privateIp(role, index);
    const first = role === "server" && index === 0;
    const userData = renderNodeCloudInit(
      { role, privateIp: ip, joinServerIp: first ? undefined : privateIp("server", 0), ha: a.controlPlanes === 3 },
      first ? a.manifests : {},
      a.sshPublicKeys,
    );
    const server = new hcloud.Server(
      `${name}-${role === "server" ? "cp" : "agent"}-${index}`,
      {
        name: nodeName,
        serverType: role === "server" ? a.controlPlaneType : a.agentType,
        image: "ubuntu-24.04",
        location: a.location,
        sshKeys: [d.sshKey.id],
        userData,
        publicNets: [{ ipv4Enabled: true, ipv6Enabled: true }],
        networks: [{ networkId: d.network.id.apply(Number), ip }],
        firewallIds: [d.firewall.id.apply(Number)],
        ...(d.placement ? { placementGroupId: d.placement.id.apply(Number) } : {}),
        labels: { ...a.labels, role },
        shutdownBeforeDeletion: true,
      },
      {
        parent: this,
        dependsOn: [d.subnet],
        // User data runs at first boot only; a change to it (a new k3s version, other add-on
        // versions) must not replace running nodes. Upgrades are the one-node-at-a-time procedure
        // of docs/cluster.md, and a replaced node gets the current user data.
        ignoreChanges: ["userData"],
      },
    );
    return { role, name: nodeName, privateIp: ip, server };
  }
}
