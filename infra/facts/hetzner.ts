/**
 * Facts about Hetzner Cloud that the program relies on, in one place. Sources: the Hetzner Cloud
 * API reference (docs.hetzner.cloud), terraform-provider-hcloud v1.68.0 (bundled by @pulumi/hcloud
 * 1.41.0) and hcloud-go, as noted per fact.
 */
import ipaddr from "ipaddr.js";

/** Cloud locations this stack can be deployed to. */
export const LOCATIONS = ["fsn1", "nbg1", "hel1", "ash", "hil", "sin"] as const;
export type Location = (typeof LOCATIONS)[number];

const EU: readonly Location[] = ["fsn1", "nbg1", "hel1"];

/**
 * Where each server type family is sold. Hetzner lists this per type in `GET /server_types`
 * (`locations`); the CX (shared Intel/AMD) and CAX (Arm) lines are sold in the EU locations only,
 * so e.g. `cx33` in `ash` fails at create time, not at preview. Families not listed are not
 * restricted here (Hetzner still has the last word at create time).
 */
export const SERVER_TYPE_FAMILY_LOCATIONS: Readonly<Record<string, readonly Location[]>> = {
  cx: EU,
  cax: EU,
};

/** The default server type for a location: 4 vCPU / 8 GB, the smallest size Chatwoot is comfortable on. */
export function defaultServerType(location: Location): string {
  return EU.includes(location) ? "cx33" : "cpx32";
}

/** The family of a server type name: "cx33" → "cx", "ccx13" → "ccx". */
export function serverTypeFamily(serverType: string): string {
  return /^[a-z]+/.exec(serverType)?.[0] ?? serverType;
}

/** The locations a server type can be created in, or undefined when not restricted here. */
export function locationsOfServerType(serverType: string): readonly Location[] | undefined {
  return SERVER_TYPE_FAMILY_LOCATIONS[serverTypeFamily(serverType)];
}

/** Server types Hetzner deprecated in October 2025, with the type that replaces each. */
export const DEPRECATED_SERVER_TYPES: Readonly<Record<string, string>> = {
  cx22: "cx23",
  cx32: "cx33",
  cx42: "cx43",
  cx52: "cx53",
  cpx11: "cpx12",
  cpx21: "cpx22",
  cpx31: "cpx32",
  cpx41: "cpx42",
  cpx51: "cpx52",
};

/**
 * Server types that can be ordered (GET /server_types, 2026): CX Gen3 (cost-optimized x86), CPX
 * Gen2 (regular performance), CAX (Arm64) and CCX (dedicated vCPU). The deprecated ones above are
 * refused with their replacement named. Hetzner's terraform provider docs (#1233, #1491) and
 * kube-hetzner's server type validation list the same names.
 */
export const SERVER_TYPES: readonly string[] = [
  "cx23", "cx33", "cx43", "cx53",
  "cpx12", "cpx22", "cpx32", "cpx42", "cpx52", "cpx62",
  "cax11", "cax21", "cax31", "cax41",
  "ccx13", "ccx23", "ccx33", "ccx43", "ccx53", "ccx63",
];

/** Storage Box types (BX11 1 TB, BX21 5 TB, BX31 10 TB, BX41 20 TB; hetzner.com/storage/storage-box). */
export const STORAGE_BOX_TYPES = ["bx11", "bx21", "bx31", "bx41"] as const;

/** Locations that offer Storage Boxes. */
export const STORAGE_BOX_LOCATIONS = ["fsn1", "nbg1", "hel1"] as const;

/**
 * Label values (API reference, "Labels"): empty, or up to 63 characters that start and end with
 * an alphanumeric and hold only alphanumerics, `-`, `_` and `.` in between.
 */
export const LABEL_VALUE = /^(([a-z0-9A-Z](?:[-_.]|[a-z0-9A-Z]){0,62})?[a-z0-9A-Z]$|$)/;

/**
 * How long the provider waits for a server's ACPI shutdown (`shutdownBeforeDeletion`) before it
 * deletes the server anyway: about 31 s of polling (terraform-provider-hcloud v1.68.0's server
 * delete, as the review under the real engine measured it). Whatever stops on shutdown must fit.
 */
export const SHUTDOWN_BEFORE_DELETION_SECONDS = 31;

/** Server names must be valid RFC 1123 hostnames (API reference, "Create a Server"). */
export const SERVER_NAME = /^(?!-)[a-z0-9-]{1,63}(?<!-)$/;

/**
 * The address a server answers on in its IPv6 primary IP's /64. hcloud-go parses the API's `ip`
 * of an ipv6 primary IP as a network (`PrimaryIPFromSchema`), so the provider's `ipAddress` is the
 * network address (`2a01:4f8:1c1c:abcd::`) and `ipNetwork` the /64; the server itself is `…::1`,
 * which is also what the provider's `Server.ipv6Address` returns (`internal/server/resource.go`:
 * network + "1"; terraform-provider-hcloud#600, #619). AAAA records and rDNS must use this one.
 */
export function ipv6ServerAddress(networkAddress: string): string {
  const addr = networkAddress.replace(/\/[0-9]+$/, "");
  if (!ipaddr.IPv6.isValid(addr)) throw new Error(`not an IPv6 address: ${networkAddress}`);
  const parts = ipaddr.IPv6.parse(addr).parts;
  if (parts[7] === 0) parts[7] = 1;
  return new ipaddr.IPv6(parts).toRFC5952String();
}
