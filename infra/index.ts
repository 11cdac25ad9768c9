/** Pulumi entry point: everything happens in chatwootStack(); this file only names the outputs. */
import { chatwootStack } from "./program";

export const { url, ipv4, ipv6 } = chatwootStack();
