/** Small syntactic checks shared by the config schema. Pure functions, no Pulumi. */
import { isIP } from "node:net";
import ipaddr from "ipaddr.js";

const LABEL = /^(?!-)[a-z0-9-]{1,63}(?<!-)$/;

/** A lowercase fully qualified DNS name with at least two labels, e.g. chat.example.com. */
export function isHostname(v: string): boolean {
  if (typeof v !== "string" || v.length > 253 || v !== v.toLowerCase()) return false;
  const labels = v.split(".");
  return labels.length >= 2 && labels.every((l) => LABEL.test(l)) && !/^[0-9]+$/.test(labels.at(-1)!);
}

/** Whether a hostname is a DNS zone's apex or inside it. */
export function inZone(host: string, zone: string): boolean {
  return host === zone || host.endsWith(`.${zone}`);
}

export function isCidr(v: string): boolean {
  const m = /^([^/]+)\/([0-9]{1,3})$/.exec(v);
  if (!m) return false;
  const family = isIP(m[1]!);
  const bits = Number(m[2]);
  return (family === 4 && bits <= 32) || (family === 6 && bits <= 128);
}

const PUBLIC_KEY_TYPES = new Set([
  "ssh-ed25519",
  "ssh-rsa",
  "ecdsa-sha2-nistp256",
  "ecdsa-sha2-nistp384",
  "ecdsa-sha2-nistp521",
  "sk-ssh-ed25519@openssh.com",
  "sk-ecdsa-sha2-nistp256@openssh.com",
]);

/** Checks an authorized_keys-style line: known type, base64 blob whose embedded type matches. */
export function parseOpenSshPublicKey(line: string): { type?: string; problem?: string } {
  const expected = 'must be an OpenSSH public key line such as "ssh-ed25519 AAAA… comment"';
  if (typeof line !== "string") return { problem: expected };
  // A second line would be a second authorized_keys entry, unchecked (with options such as command=).
  if (/[\r\n\0]/.test(line.trim())) return { problem: "must be one key on one line (it contains a line break)" };
  const parts = line.trim().split(/\s+/);
  if (parts.length < 2) return { problem: expected };
  const [type, blob] = parts as [string, string];
  if (line.includes("PRIVATE KEY")) return { problem: "is a private key; give the public key (.pub) here" };
  if (!PUBLIC_KEY_TYPES.has(type)) return { problem: `has unsupported key type "${type}"; ${expected}` };
  if (!/^[A-Za-z0-9+/]+={0,2}$/.test(blob)) return { problem: `${expected} (the key data is not base64)` };
  const raw = Buffer.from(blob, "base64");
  if (raw.length < 4) return { problem: `${expected} (the key data is truncated)` };
  const len = raw.readUInt32BE(0);
  if (raw.length < 4 + len || raw.subarray(4, 4 + len).toString("latin1") !== type) {
    return { problem: `${expected} (the key data does not match its type "${type}")` };
  }
  return { type };
}

/**
 * True for hosts Chatwoot's SafeFetch (the ssrf_filter gem) refuses to call, and more: loopback,
 * private, link-local, unique-local, CGNAT, multicast, reserved and documentation addresses,
 * IPv4 written as IPv4-mapped IPv6 (::ffff:10.0.0.5), NAT64 (64:ff9b::/96), 6to4 and Teredo
 * (which embed an IPv4 address), and single-label or .localhost/.internal names. Only plain
 * public unicast passes. Hosts come from WHATWG URL parsing, which already normalises numeric
 * IPv4 spellings (0x7f000001 → 127.0.0.1).
 */
export function isPrivateOrLocalHost(host: string): boolean {
  const h = host.replace(/^\[|\]$/g, "").toLowerCase();
  if (h === "localhost" || h.endsWith(".localhost") || h.endsWith(".internal") || h.endsWith(".local") || (!h.includes(".") && !h.includes(":"))) {
    return true;
  }
  if (!ipaddr.isValid(h)) return false;
  let addr = ipaddr.parse(h);
  if (addr.kind() === "ipv6" && (addr as ipaddr.IPv6).isIPv4MappedAddress()) addr = (addr as ipaddr.IPv6).toIPv4Address();
  return addr.range() !== "unicast";
}

/** The armour of a private key file: its label ("OPENSSH", "RSA", "EC") and base64 body. */
export function parsePrivateKeyArmour(text: string): { label: string; body: string } | undefined {
  const m = /^-----BEGIN ([A-Z]+) PRIVATE KEY-----\n([A-Za-z0-9+/=\s]+?)\n-----END \1 PRIVATE KEY-----\s*$/.exec(text.trim() + "\n");
  return m ? { label: m[1]!, body: m[2]!.replace(/\s+/g, "") } : undefined;
}

/** A private key file's text from its label and base64 body (the inverse of parsePrivateKeyArmour). */
export function formatPrivateKeyArmour(label: string, body: string): string {
  return `-----BEGIN ${label} PRIVATE KEY-----\n${body}\n-----END ${label} PRIVATE KEY-----\n`;
}

/**
 * The public key blob embedded in an unencrypted OpenSSH private key ("openssh-key-v1" format),
 * base64-encoded as in an authorized_keys line; undefined for other formats (PEM) or encrypted keys.
 */
export function publicBlobOfOpenSshPrivateKey(text: string): string | undefined {
  const armour = parsePrivateKeyArmour(text);
  if (armour?.label !== "OPENSSH") return undefined;
  const raw = Buffer.from(armour.body, "base64");
  const magic = "openssh-key-v1\0";
  if (raw.subarray(0, magic.length).toString("latin1") !== magic) return undefined;
  let off = magic.length;
  const str = (): Buffer | undefined => {
    if (off + 4 > raw.length) return undefined;
    const len = raw.readUInt32BE(off);
    if (off + 4 + len > raw.length) return undefined;
    const s = raw.subarray(off + 4, off + 4 + len);
    off += 4 + len;
    return s;
  };
  const cipher = str()?.toString("latin1");
  str(); // kdf name
  str(); // kdf options
  if (cipher !== "none" || off + 4 > raw.length) return undefined;
  off += 4; // number of keys
  return str()?.toString("base64");
}
