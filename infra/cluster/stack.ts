/**
 * The cluster target's stack (chatwoot:target "cluster"): a k3s cluster on Hetzner Cloud, ready
 * for the Kubernetes target, which reads its `kubeconfig` output through a StackReference.
 */
import * as pulumi from "@pulumi/pulumi";
import * as random from "@pulumi/random";
import type { ChatwootConfig } from "../config/load";
import { addonManifestFiles } from "./addons";
import { startCluster } from "./join";
import { ClusterNodes } from "./nodes";

export interface ClusterStackOutputs {
  /** The admin kubeconfig (secret); its server is the first control plane's public address. */
  kubeconfig: pulumi.Output<string>;
  apiServer: pulumi.Output<string>;
  /** What the Kubernetes stack's settings name (its defaults). */
  storageClass: pulumi.Output<string>;
  clusterIssuer: pulumi.Output<string>;
  entryPoint: pulumi.Output<string>;
  /** Created by the cloud controller from Traefik's Service, not by Pulumi: its name in the Hetzner console. */
  loadBalancerName: pulumi.Output<string>;
  /** Its addresses, read from the Service once the controller has created it: point the site's DNS here. */
  loadBalancerAddresses: pulumi.Output<string[]>;
  ingressClass: pulumi.Output<string>;
  nodes: pulumi.Output<string[]>;
}

export function clusterStack(config: ChatwootConfig, namePrefix: string, labels: Record<string, string>): ClusterStackOutputs {
  const c = config.cluster!;
  const loadBalancerName = `${namePrefix}-ingress`;
  // The join token, generated like every other secret. Not protected, so that a destroy of the
  // cluster needs no extra step; nothing replaces it unless its length changes here, which would
  // strand every node (they joined with it).
  const token = new random.RandomPassword("cluster-join-token", { length: 48, special: false });
  const nodes = new ClusterNodes("cluster", {
    namePrefix,
    location: config.location,
    controlPlanes: c.controlPlanes,
    controlPlaneType: c.controlPlaneType,
    agents: c.agents,
    agentType: c.agentType,
    sshPublicKeys: config.sshPublicKeys,
    sshAllowedCidrs: config.sshAllowedCidrs,
    apiAllowedCidrs: c.apiAllowedCidrs ?? config.sshAllowedCidrs,
    manifests: addonManifestFiles({ location: config.location, loadBalancerName, acmeEmail: c.acmeEmail }),
    labels,
  });
  // The controllers' token: required by `pulumi up` (config rules); a preview plans without it.
  const hcloudToken = config.hcloudControllerToken ?? pulumi.secret("<not set: chatwoot:hcloudControllerToken>");
  const started = startCluster(
    "cluster",
    { nodes: nodes.nodes, token: token.result, deployKey: nodes.deployKey.privateKeyOpenssh, hcloudToken, networkId: nodes.network.id },
    nodes,
  );
  return {
    kubeconfig: started.kubeconfig,
    apiServer: started.apiServer,
    storageClass: pulumi.output("hcloud-volumes"),
    clusterIssuer: pulumi.output("letsencrypt"),
    entryPoint: pulumi.output("websecure"),
    loadBalancerName: pulumi.output(loadBalancerName),
    loadBalancerAddresses: started.ingressAddresses,
    ingressClass: pulumi.output("traefik"),
    nodes: pulumi.output(nodes.nodes.map((n) => n.name)),
  };
}
