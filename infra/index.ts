/** Pulumi entry point: everything happens in chatwootStack(); this file only names the outputs. */
import { chatwootStack, type StackOutputs } from "./program";
import type { KubernetesStackOutputs } from "./kubernetes/stack";
import type { ClusterStackOutputs } from "./cluster/stack";

// Each target sets its own outputs (the server its addresses, the Kubernetes target the migration
// Job, the cluster its kubeconfig); an output left undefined is not exported.
const outputs: Partial<StackOutputs & KubernetesStackOutputs & ClusterStackOutputs> = chatwootStack();

export const url = outputs.url;
export const ipv4 = outputs.ipv4;
export const ipv6 = outputs.ipv6;
export const accountId = outputs.accountId;
export const inboxId = outputs.inboxId;
export const inboxIdentifier = outputs.inboxIdentifier;
export const webhookId = outputs.webhookId;
export const backupRepository = outputs.backupRepository;
export const migrationJob = outputs.migrationJob;
// Secrets: `pulumi stack output <name> --show-secrets`.
export const adminPassword = outputs.adminPassword;
export const apiAccessToken = outputs.apiAccessToken;
export const platformToken = outputs.platformToken;
export const webhookSecret = outputs.webhookSecret;
export const backupPassword = outputs.backupPassword;
// The cluster target's (kubeconfig is secret).
export const kubeconfig = outputs.kubeconfig;
export const apiServer = outputs.apiServer;
export const storageClass = outputs.storageClass;
export const clusterIssuer = outputs.clusterIssuer;
export const entryPoint = outputs.entryPoint;
export const loadBalancerName = outputs.loadBalancerName;
export const loadBalancerAddresses = outputs.loadBalancerAddresses;
export const ingressClass = outputs.ingressClass;
export const nodes = outputs.nodes;
