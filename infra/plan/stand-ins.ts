/**
 * What the mock engine answers for provider-computed outputs in apply and compare mode: addresses
 * from documentation ranges, deterministic fake secrets, and the bootstrap's result line, so that
 * outputs derived from them resolve under test. Pure.
 */
import * as pulumi from "@pulumi/pulumi";
import { createHash } from "node:crypto";
import { formatPrivateKeyArmour } from "../config/validate";

/** Deterministic stand-in for a provider-generated value. */
function fake(seed: string, length: number, alphabet = "0123456789abcdef"): string {
  let out = "";
  for (let i = 0; out.length < length; i++) {
    for (const byte of createHash("sha256").update(`${seed}#${i}`).digest()) {
      out += alphabet[byte % alphabet.length];
    }
  }
  return out.slice(0, length);
}

/** What bootstrap.rb prints, with stand-in ids and tokens (apply mode only). */
export const FAKE_BOOTSTRAP_RESULT = JSON.stringify({
  account_id: 1,
  admin_user_id: 1,
  inbox_id: 2,
  inbox_identifier: "FakeInboxIdentifier00001",
  webhook_id: 3,
  api_access_token: "FakeApiAccessToken000001",
  platform_token: "FakePlatformToken0000001",
});

/** Provider-computed outputs in apply mode: addresses from documentation ranges, fake secrets. */
export function computedState(a: pulumi.runtime.MockResourceArgs, id: string): Record<string, unknown> {
  const i = a.inputs as Record<string, any>;
  switch (a.type) {
    // As the provider returns them (verified-facts.md): an ipv6 primary IP's ipAddress is the
    // network address of its /64 and ipNetwork the /64; the server answers on …::1.
    case "hcloud:index/primaryIp:PrimaryIp":
      return i.type === "ipv6" ? { ipAddress: "2001:db8:10::", ipNetwork: "2001:db8:10::/64" } : { ipAddress: "203.0.113.10" };
    case "hcloud:index/server:Server":
      return { ipv4Address: "203.0.113.10", ipv6Address: "2001:db8:10::1", ipv6Network: "2001:db8:10::/64", status: "running" };
    case "hcloud:index/volume:Volume":
      return { linuxDevice: `/dev/disk/by-id/scsi-0HC_Volume_${id}` };
    case "hcloud:index/storageBox:StorageBox":
      return { username: `u${id}`, server: `u${id}.your-storagebox.de`, system: "FSN1-BX000" };
    case "tls:index/privateKey:PrivateKey":
      return {
        privateKeyOpenssh: pulumi.secret(formatPrivateKeyArmour("OPENSSH", fake(a.name, 64))),
        publicKeyOpenssh: `ssh-ed25519 AAAAC3NzaC1lZDI1NTE5${fake(a.name, 48, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789")}\n`,
      };
    case "random:index/randomBytes:RandomBytes":
      return { hex: pulumi.secret(fake(a.name, i.length * 2)), base64: pulumi.secret(fake(a.name, i.length)) };
    case "random:index/randomPassword:RandomPassword": {
      const alnum = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
      const specials = i.special === false ? "" : "Aa1!";
      return { result: pulumi.secret(fake(a.name, i.length - specials.length, alnum) + specials) };
    }
    case "kubernetes:core/v1:Secret":
      // The Kubernetes target's bootstrap result, as its Job leaves it (read back after the Job).
      return a.name === "bootstrap-result-read" ? { data: pulumi.secret({ result: Buffer.from(FAKE_BOOTSTRAP_RESULT).toString("base64") }) } : {};
    case "command:remote:Command":
      // The bootstrap's result line, so outputs derived from it resolve under test.
      return a.name.endsWith("-bootstrap")
        ? { stdout: pulumi.secret(FAKE_BOOTSTRAP_RESULT), stderr: pulumi.secret("") }
        : { stdout: "", stderr: "" };
    default:
      return {};
  }
}

