/** Pulumi entry point: everything happens in chatwootStack(); this file only names the outputs. */
import { chatwootStack, type StackOutputs } from "./program";
import type { KubernetesStackOutputs } from "./kubernetes/stack";

// The server target sets the addresses; the Kubernetes target the migration Job. An output left
// undefined is not exported.
const outputs: Partial<StackOutputs & KubernetesStackOutputs> = chatwootStack();

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
