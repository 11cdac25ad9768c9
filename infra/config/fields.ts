/**
 * Field types that more than one part of the configuration uses: origins, URLs, CIDR lists,
 * senders, Chatwoot feature names and locales (checked against the facts, with "did you mean").
 */
import ipaddr from "ipaddr.js";
import { z } from "zod";
import { chatwoot } from "../facts/chatwoot";
import { isHostname } from "./validate";

export const httpsOrigin = z.string().refine(
  (v) => {
    try {
      const u = new URL(v);
      return u.protocol === "https:" && u.origin === v.replace(/\/$/, "") && isHostname(u.hostname);
    } catch {
      return false;
    }
  },
  { message: "must be an https origin without a path, e.g. https://app.example.com" },
);

export const webhookUrl = z.string().refine(
  (v) => {
    try {
      const u = new URL(v);
      return (u.protocol === "https:" || u.protocol === "http:") && u.hostname.length > 0;
    } catch {
      return false;
    }
  },
  { message: "must be an http(s) URL" },
);

/** Rails' log levels (ActiveSupport::Logger). */
export const LOG_LEVELS = ["debug", "info", "warn", "error", "fatal"] as const;

/**
 * A sender as Chatwoot's mailer takes it: `local@domain` or `Display Name <local@domain>`, with a
 * plain display name (letters, digits, spaces and . , - _ & ( ) only) and a dot-atom local part.
 */
export function isSenderAddress(v: string): boolean {
  const m = /^(?:([\p{L}\p{N} .,&()_-]{1,64}) <([^<>\s]+)>|([^<>\s]+))$/u.exec(v);
  if (!m) return false;
  const address = m[2] ?? m[3]!;
  const at = address.lastIndexOf("@");
  const [local, domain] = [address.slice(0, at), address.slice(at + 1)];
  return at > 0 && /^[A-Za-z0-9!#%&*+/=?^_{|}~-]+(\.[A-Za-z0-9!#%&*+/=?^_{|}~-]+)*$/.test(local) && isHostname(domain);
}

/** Why a CIDR is not usable in a Hetzner firewall rule, or undefined when it is. */
export function cidrProblem(v: string): string | undefined {
  const expected = "must be a CIDR such as 203.0.113.0/24 or 2001:db8::/32";
  if (!ipaddr.isValidCIDR(v)) return expected;
  // ipaddr.js reads "/024" as 24; Hetzner's API does not.
  if (!/\/(0|[1-9][0-9]{0,2})$/.test(v)) return `${expected} (the prefix length without leading zeros)`;
  const [addr, bits] = ipaddr.parseCIDR(v);
  const network = addr.kind() === "ipv4" ? ipaddr.IPv4.networkAddressFromCIDR(v) : ipaddr.IPv6.networkAddressFromCIDR(v);
  if (network.toString() !== addr.toString()) {
    // Hetzner refuses it ("is not the start of the cidr block"), at apply time only.
    return `has host bits set: the network is ${network.toString()}/${bits}`;
  }
  return undefined;
}

/** A non-empty list of network CIDRs, everyone by default; `why` says why it cannot be empty. */
export const cidrList = (why: string) =>
  z
    .array(
      z.string().superRefine((v, ctx) => {
        const problem = cidrProblem(v);
        if (problem) ctx.addIssue({ code: "custom", message: problem });
      }),
      { message: "must be a list of CIDRs" },
    )
    .min(1, { message: `must list at least one CIDR (${why})` })
    .max(64, { message: "must list at most 64 CIDRs" })
    .default(["0.0.0.0/0", "::/0"]);

/** "did you mean" for a name close to one of `known` (case or up to two edits). */
export function closest(name: string, known: readonly string[]): string | undefined {
  const lower = name.toLowerCase();
  return known.find((k) => k.toLowerCase() === lower) ?? known.find((k) => editDistance(k.toLowerCase(), lower) <= 2);
}

export function editDistance(a: string, b: string): number {
  const d = Array.from({ length: a.length + 1 }, (_, i) => [i, ...Array<number>(b.length).fill(0)]);
  for (let j = 1; j <= b.length; j++) d[0]![j] = j;
  for (let i = 1; i <= a.length; i++) {
    for (let j = 1; j <= b.length; j++) {
      d[i]![j] = Math.min(d[i - 1]![j]! + 1, d[i]![j - 1]! + 1, d[i - 1]![j - 1]! + (a[i - 1] === b[j - 1] ? 0 : 1));
    }
  }
  return d[a.length]![b.length]!;
}

export const featureName = z.string().superRefine((v, ctx) => {
  if (chatwoot.features.includes(v)) return;
  const hint = closest(v, chatwoot.features);
  ctx.addIssue({
    code: "custom",
    message: `names "${v}", which is not a Chatwoot ${chatwoot.factsVersion} feature (config/features.yml)${hint ? `; did you mean "${hint}"?` : ""}`,
  });
});

export const locale = z.string().superRefine((v, ctx) => {
  if (chatwoot.locales.includes(v)) return;
  const hint = v.includes("_") && chatwoot.locales.includes(v.split("_")[0]!) ? v.split("_")[0] : closest(v, chatwoot.locales);
  ctx.addIssue({
    code: "custom",
    message: `must be one of Chatwoot's locales (${chatwoot.locales.join(" ")})${hint ? `; did you mean "${hint}"?` : ""}`,
  });
});
