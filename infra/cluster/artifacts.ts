/**
 * What lands on the cluster's nodes, for the offline plan's `--out` and its diff: the user data of
 * each kind of node and the add-on manifests. None holds a secret (the token and the controllers'
 * Secret travel on stdin, join.ts). Pure.
 */
import { stringify } from "yaml";
import type { ChatwootConfig } from "../config/load";
import { addonManifestFiles, renderAddons } from "./addons";
import { renderNodeCloudInit } from "./k3s";
import { privateIp } from "./nodes";

export function clusterArtifacts(config: ChatwootConfig, namePrefix: string): Record<string, string> {
  const c = config.cluster!;
  const ha = c.controlPlanes === 3;
  const manifests = addonManifestFiles({ location: config.location, loadBalancerName: `${namePrefix}-ingress`, acmeEmail: c.acmeEmail });
  const join = privateIp("server", 0);
  return {
    "cloud-init-control-plane-0.yaml": renderNodeCloudInit({ role: "server", privateIp: privateIp("server", 0), ha }, manifests, config.sshPublicKeys),
    ...(ha ? { "cloud-init-control-plane-1.yaml": renderNodeCloudInit({ role: "server", privateIp: privateIp("server", 1), joinServerIp: join, ha }, {}, config.sshPublicKeys) } : {}),
    "cloud-init-agent-0.yaml": renderNodeCloudInit({ role: "agent", privateIp: privateIp("agent", 0), joinServerIp: join, ha }, {}, config.sshPublicKeys),
    "addons.yaml": renderAddons({ location: config.location, loadBalancerName: `${namePrefix}-ingress`, acmeEmail: c.acmeEmail }).map((o) => stringify(o)).join("---\n"),
  };
}
