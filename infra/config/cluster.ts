/**
 * `chatwoot:cluster`: the cluster target, a k3s cluster on Hetzner Cloud for the Kubernetes target
 * (infra/cluster). It reads only these keys and chatwoot:location, sshPublicKeys and
 * sshAllowedCidrs; any other key on this target is an error that names it.
 */
import { z } from "zod";
import { cidrList } from "./fields";
import { opensEverything } from "./warnings";
import { locationsOfServerType, SERVER_TYPES, type Location } from "../facts/hetzner";

const p = "chatwoot:";

const serverType = z
  .string()
  .refine((v) => SERVER_TYPES.includes(v), { message: `must be a Hetzner server type: one of ${SERVER_TYPES.join(", ")}` });

export const clusterSchema = z
  .object(
    {
      /** 1 (no HA: the API stops with it, the workload keeps serving) or 3 (embedded etcd quorum). */
      controlPlanes: z.union([z.literal(1), z.literal(3)], { message: "must be 1 or 3" }).default(1),
      controlPlaneType: serverType.default("cx23"),
      /** Worker nodes, in a spread placement group (different physical hosts). */
      agents: z.number({ message: "must be a whole number" }).int().min(1, { message: "must be at least 1" }).max(10, { message: "must be at most 10 (a spread placement group holds 10 servers)" }).default(3),
      agentType: serverType.default("cx33"),
      /** Who may reach the Kubernetes API (6443); default: chatwoot:sshAllowedCidrs. */
      apiAllowedCidrs: cidrList("kubectl and the Kubernetes stack reach the cluster through it").unwrap().optional(),
      /** The ACME account's e-mail of the ClusterIssuer (Let's Encrypt's expiry notices). */
      acmeEmail: z.email({ message: "must be an email address" }),
      /** The replicas the Kubernetes stack asks for per tier: fewer agents are warned about. */
      appReplicas: z.number({ message: "must be a whole number" }).int().min(1).max(50).default(2),
    },
    { message: 'must be an object like {"acmeEmail": "ops@example.com"}' },
  )
  .strict();

export type ClusterConfig = z.infer<typeof clusterSchema>;

/** The keys the cluster target reads; every other given key is refused on it. */
const CLUSTER_KEYS = ["target", "cluster", "location", "sshPublicKeys", "sshAllowedCidrs"];
const CLUSTER_SECRET_KEYS = ["hcloudControllerToken"];

export function clusterTargetProblems(given: readonly string[], givenSecrets: readonly string[]): string[] {
  const problems: string[] = [];
  if (!given.includes("cluster")) problems.push(`${p}cluster is required on ${p}target "cluster": it must be an object like {"acmeEmail": "ops@example.com"}`);
  if (!given.includes("sshPublicKeys")) problems.push(`${p}sshPublicKeys is required: it must list at least one OpenSSH public key (the nodes are set up over SSH)`);
  for (const key of [...given.filter((k) => !CLUSTER_KEYS.includes(k)), ...givenSecrets.filter((k) => !CLUSTER_SECRET_KEYS.includes(k))]) {
    problems.push(`${p}${key} is not a setting of ${p}target "cluster" (it belongs to the server or the Kubernetes stack)`);
  }
  return problems;
}

/** Server types sold where the cluster is (the CX and CAX lines are EU-only). */
export function clusterTypeProblems(c: ClusterConfig, location: Location): string[] {
  return (["controlPlaneType", "agentType"] as const)
    .filter((k) => !(locationsOfServerType(c[k]) ?? [location]).includes(location))
    .map((k) => `${p}cluster.${k} "${c[k]}" is not sold in ${location}; choose a CPX or CCX type there`);
}

/** What only `pulumi up` needs. */
export function clusterUpProblems(givenSecrets: readonly string[]): string[] {
  return givenSecrets.includes("hcloudControllerToken")
    ? []
    : [`${p}hcloudControllerToken is required: the cloud controller manager and the CSI driver call the Hetzner API with it (pulumi config set --secret ${p}hcloudControllerToken)`];
}


export function clusterWarnings(c: ClusterConfig, sshAllowedCidrs: string[]): string[] {
  const warnings: string[] = [];
  if (c.controlPlanes === 1) warnings.push(`${p}cluster.controlPlanes is 1: no HA; while it is down, nothing is scheduled or healed (the running pods keep serving)`);
  if (opensEverything(sshAllowedCidrs)) warnings.push(`SSH (port 22) on every node is open to the whole internet; narrow ${p}sshAllowedCidrs`);
  if (opensEverything(c.apiAllowedCidrs ?? sshAllowedCidrs)) warnings.push(`the Kubernetes API (port 6443) is open to the whole internet; narrow ${p}cluster.apiAllowedCidrs`);
  if (c.agents < c.appReplicas) {
    warnings.push(`${p}cluster.agents is ${c.agents}, fewer than the ${c.appReplicas} replicas per tier the Kubernetes stack asks for: replicas share nodes, and one node's loss takes several`);
  }
  if (c.agents < 2) warnings.push(`${p}cluster.agents is 1: PostgreSQL's replica has no other node (its anti-affinity is required), and a node's loss stops the site`);
  warnings.push(
    "Pulumi does not own the load balancer and the volumes: the cloud controller and the CSI driver create them. " +
      "Before destroying this stack, destroy the Kubernetes stack (its Services and PVCs), or they stay billed (docs/cluster.md)",
  );
  return warnings;
}
