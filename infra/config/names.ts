/**
 * Names: the config namespace and the keys of other namespaces, and the names Hetzner resources get
 * from the stack's name.
 */
import { closest, editDistance } from "./fields";
import { LABEL_VALUE, SERVER_NAME } from "../facts/hetzner";

export const CONFIG_NAMESPACE = "chatwoot";
/** "chatwoot:", the way every message names a key. */
export const KEY_PREFIX = `${CONFIG_NAMESPACE}:`;
/** The `hcloud:*` keys the provider reads (@pulumi/hcloud 1.41.0, config/vars.d.ts). */
export const HCLOUD_KEYS = ["token", "endpoint", "endpointHetzner", "pollFunction", "pollInterval"];

/**
 * Keys of other namespaces this stack reads or that look like a typo of one: `chatwot:domain`
 * would otherwise be ignored silently, and `hcloud:tokn` would leave the provider without a token.
 */
export function namespaceProblems(values: Record<string, string>): string[] {
  const problems: string[] = [];
  for (const fullKey of Object.keys(values).sort()) {
    const colon = fullKey.indexOf(":");
    if (colon < 0) continue;
    const ns = fullKey.slice(0, colon);
    const key = fullKey.slice(colon + 1);
    if (ns === CONFIG_NAMESPACE) continue;
    if (ns === "hcloud") {
      if (!HCLOUD_KEYS.includes(key)) {
        const hint = closest(key, HCLOUD_KEYS);
        problems.push(`${fullKey} is not a setting of the hcloud provider${hint ? ` (did you mean hcloud:${hint}?)` : ` (known: ${HCLOUD_KEYS.join(", ")})`}`);
      }
      continue;
    }
    for (const known of [CONFIG_NAMESPACE, "hcloud"]) {
      if (ns.toLowerCase() === known || editDistance(ns.toLowerCase(), known) <= 2) {
        problems.push(`${fullKey} is in the unknown namespace "${ns}" (did you mean ${known}:${key}?)`);
      }
    }
  }
  return problems;
}

/** Names derived from the stack name: valid Hetzner server names and label values, or a clear error. */
export function stackNames(stack: string): { namePrefix: string; label: string } | { problem: string } {
  const slug = stack
    .toLowerCase()
    .replace(/[^a-z0-9-]+/g, "-")
    .replace(/-+/g, "-")
    .replace(/^-|-$/g, "")
    .slice(0, 32)
    .replace(/-$/, "");
  const namePrefix = `chatwoot-${slug}`;
  if (!slug || !SERVER_NAME.test(namePrefix) || !LABEL_VALUE.test(slug)) {
    return {
      problem: `the stack name must contain letters or digits: Hetzner resource names and labels are derived from it (pulumi stack rename <name>)`,
    };
  }
  return { namePrefix, label: slug };
}

/** The name prefix of a stack whose name is valid (stackNames checked it). */
export function namePrefixOf(stack: string): string {
  const names = stackNames(stack);
  if ("problem" in names) throw new Error(names.problem);
  return names.namePrefix;
}
