/** Pulumi entry point: everything happens in chatwootStack(); this file only names the outputs. */
import { chatwootStack } from "./program";

export const {
  url,
  ipv4,
  ipv6,
  accountId,
  inboxId,
  inboxIdentifier,
  webhookId,
  backupRepository,
  // Secrets: `pulumi stack output <name> --show-secrets`.
  adminPassword,
  apiAccessToken,
  platformToken,
  webhookSecret,
  backupPassword,
} = chatwootStack();
