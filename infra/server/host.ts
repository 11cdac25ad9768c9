/**
 * The Hetzner side: a disposable server wired to things that outlive it (primary IPs, the data
 * volume), a firewall, reverse DNS and, optionally, the domain's A/AAAA records.
 */
import * as hcloud from "@pulumi/hcloud";
import * as pulumi from "@pulumi/pulumi";
import * as tls from "@pulumi/tls";
import { ipv6ServerAddress } from "../facts/hetzner";
import { shortHash } from "../lib/hash";
import { inZone } from "../config/validate";

export interface HetznerHostArgs {
  /** Prefix of every Hetzner resource name, e.g. "chatwoot-production". */
  namePrefix: string;
  /**
   * Hetzner location, e.g. nbg1. A change would replace the volume and the primary IPs, which are
   * protected: the engine refuses at preview (docs/disaster-recovery.md, "Moving to another location").
   */
  location: string;
  /** Server type, e.g. cx33. Changing it rescales in place (with a power-off). */
  serverType: string;
  /** OS image name, e.g. ubuntu-24.04. */
  image: string;
  /** Size of the data volume in GB; it can only grow. */
  volumeSizeGb: number;
  /** Sources allowed to reach port 22. */
  sshAllowedCidrs: string[];
  /** Hetzner's own server backups (they do not cover the volume). @default true */
  serverBackups: boolean;
  /** Pulumi `protect` and Hetzner delete protection on the volume and the primary IPs. @default true */
  deleteProtection: boolean;
  /** Public hostname, used for reverse DNS and DNS records. */
  domain: string;
  /** Hetzner DNS zone that holds `domain`; when set, A/AAAA records are managed here. */
  dnsZone?: string;
  /** The help center's own hostname: its A/AAAA records too, when it is in `dnsZone`. */
  helpCenterDomain?: string;
  /** cloud-init user data; any change replaces the server. */
  userData: string;
  /** Labels put on every Hetzner resource. */
  labels: Record<string, string>;
}

const ANYWHERE = ["0.0.0.0/0", "::/0"];

/** Inbound firewall rules by purpose. Everything else inbound is dropped. */
export function firewallRules(sshAllowedCidrs: string[]): Record<string, hcloud.types.input.FirewallRule> {
  return {
    ssh: { direction: "in", protocol: "tcp", port: "22", sourceIps: sshAllowedCidrs, description: "SSH: deploys and operators" },
    http: { direction: "in", protocol: "tcp", port: "80", sourceIps: ANYWHERE, description: "HTTP: ACME challenges, redirect to HTTPS" },
    https: { direction: "in", protocol: "tcp", port: "443", sourceIps: ANYWHERE, description: "HTTPS" },
    http3: { direction: "in", protocol: "udp", port: "443", sourceIps: ANYWHERE, description: "HTTP/3 (QUIC)" },
    icmp: { direction: "in", protocol: "icmp", sourceIps: ANYWHERE, description: "Ping and path MTU discovery" },
  };
}

/** Record name of `domain` inside `zone`: "@" for the apex, else the relative part. */
export function recordName(domain: string, zone: string): string {
  return domain === zone ? "@" : domain.slice(0, -(zone.length + 1));
}

export class HetznerHost extends pulumi.ComponentResource {
  public readonly server: hcloud.Server;
  public readonly serverId: pulumi.Output<string>;
  public readonly volumeId: pulumi.Output<string>;
  public readonly ipv4: pulumi.Output<string>;
  /** The address the server answers on: `…::1` of its IPv6 primary IP's /64. */
  public readonly ipv6: pulumi.Output<string>;
  /** The stack's own deploy key: Hetzner puts it on every new server; the deploy steps log in with it. */
  public readonly deployKey: tls.PrivateKey;
  /** Resolves once the volume is attached to the current server. */
  public readonly volumeAttachment: hcloud.VolumeAttachment;

  private readonly args: HetznerHostArgs;

  constructor(name: string, args: HetznerHostArgs, opts?: pulumi.ComponentResourceOptions) {
    super("chatwoot:index:HetznerHost", name, {}, opts);
    this.args = args;

    this.deployKey = this.createDeployKey(name);
    const sshKey = this.registerDeployKey(name, this.deployKey);
    const firewall = this.createFirewall(name);
    const ips = this.createPrimaryIps(name);
    const addresses = { v4: ips.v4.ipAddress, v6: ips.v6.ipAddress.apply(ipv6ServerAddress) };
    const volume = this.createDataVolume(name);
    this.server = this.createServer(name, { sshKey, firewall, ips });
    this.volumeAttachment = this.attachVolume(name, volume);
    this.createReverseDns(name, ips, addresses);
    if (args.dnsZone) this.createDnsRecords(name, args.dnsZone, addresses);

    this.serverId = this.server.id;
    this.volumeId = volume.id;
    this.ipv4 = addresses.v4;
    this.ipv6 = addresses.v6;
    this.registerOutputs({ serverId: this.serverId, volumeId: this.volumeId, ipv4: this.ipv4, ipv6: this.ipv6 });
  }

  /**
   * The deploy key is the stack's, not an operator's. Operators come and go (their keys are only
   * in authorized_keys, written by the deploy steps), so the server's `sshKeys` and the steps'
   * connection never change with them: a replacement server is reachable after any rotation, and a
   * rotation re-runs nothing but the authorized_keys update. Generated per stack, its fingerprint
   * never collides with a key already in the Hetzner project (Hetzner rejects duplicates).
   * Replacing it on purpose (`pulumi up --replace`) rebuilds the server, keeping the volume.
   */
  private createDeployKey(name: string): tls.PrivateKey {
    return new tls.PrivateKey(`${name}-deploy-key`, { algorithm: "ED25519" }, { parent: this });
  }

  private registerDeployKey(name: string, key: tls.PrivateKey): hcloud.SshKey {
    const publicKey = key.publicKeyOpenssh.apply((k) => k.trim());
    return new hcloud.SshKey(
      `${name}-deploy-ssh-key`,
      {
        // Named by content: a replaced key never collides with its predecessor's name.
        name: pulumi.interpolate`${this.args.namePrefix}-deploy-${publicKey.apply(shortHash)}`,
        publicKey,
        labels: this.args.labels,
      },
      { parent: this },
    );
  }

  private createFirewall(name: string): hcloud.Firewall {
    const rules = Object.values(firewallRules(this.args.sshAllowedCidrs));
    return new hcloud.Firewall(`${name}-firewall`, { name: this.args.namePrefix, rules, labels: this.args.labels }, { parent: this });
  }

  private createPrimaryIps(name: string): { v4: hcloud.PrimaryIp; v6: hcloud.PrimaryIp } {
    const ip = (family: "ipv4" | "ipv6") =>
      new hcloud.PrimaryIp(
        `${name}-${family}`,
        {
          name: `${this.args.namePrefix}-${family}`,
          type: family,
          location: this.args.location,
          // Kept when the server goes, so DNS keeps pointing at the rebuilt server.
          autoDelete: false,
          deleteProtection: this.args.deleteProtection,
          labels: this.args.labels,
        },
        {
          parent: this,
          // protect: losing the address breaks DNS, rDNS and every allowlist that names it
          // (lifted only with chatwoot:deleteProtection false, for a deliberate move).
          protect: this.args.deleteProtection,
          // deleteBeforeReplace: a primary IP is replaced only by a move to another location, and
          // its name is unique per project; created first, the new one would fail with Hetzner's
          // 409 uniqueness_error. The server it belongs to is replaced in the same move anyway.
          deleteBeforeReplace: true,
        },
      );
    return { v4: ip("ipv4"), v6: ip("ipv6") };
  }

  private createDataVolume(name: string): hcloud.Volume {
    return new hcloud.Volume(
      `${name}-data`,
      {
        name: `${this.args.namePrefix}-data`,
        size: this.args.volumeSizeGb,
        location: this.args.location,
        format: "ext4",
        // Mounted explicitly by device id in the deploy steps: automount is unreliable on re-attach.
        automount: false,
        // The provider never lifts it before a delete: a replacement needs it applied as false first.
        deleteProtection: this.args.deleteProtection,
        labels: this.args.labels,
      },
      {
        parent: this,
        // protect: the volume is the installation (database, uploads, certificates); lifted only
        // with chatwoot:deleteProtection false, for a deliberate replacement from backup.
        protect: this.args.deleteProtection,
        // Names are unique per project: a replacement can only be created once the old volume is
        // gone. It is only ever replaced when its data is already lost or moved to a backup.
        deleteBeforeReplace: true,
      },
    );
  }

  private createServer(
    name: string,
    deps: { sshKey: hcloud.SshKey; firewall: hcloud.Firewall; ips: { v4: hcloud.PrimaryIp; v6: hcloud.PrimaryIp } },
  ): hcloud.Server {
    return new hcloud.Server(
      `${name}-server`,
      {
        name: this.args.namePrefix,
        serverType: this.args.serverType,
        image: this.args.image,
        location: this.args.location,
        sshKeys: [deps.sshKey.id],
        userData: this.args.userData,
        publicNets: [
          {
            ipv4Enabled: true,
            ipv4: deps.ips.v4.id.apply(Number),
            ipv6Enabled: true,
            ipv6: deps.ips.v6.id.apply(Number),
          },
        ],
        firewallIds: [deps.firewall.id.apply(Number)],
        backups: this.args.serverBackups,
        // An ACPI shutdown first: the host's chatwoot.service stops the containers (Postgres
        // cleanly) and the volume is unmounted before Hetzner detaches it with the deletion.
        shutdownBeforeDeletion: true,
        labels: this.args.labels,
      },
      {
        parent: this,
        // The replacement can only take over the primary IPs once the old server has released them.
        deleteBeforeReplace: true,
        // No ignoreChanges: on a diff-driven replacement the engine would copy ignored inputs from
        // the old state (stale key ids after a rotation). sshKeys only changes with the deploy key.
      },
    );
  }

  private attachVolume(name: string, volume: hcloud.Volume): hcloud.VolumeAttachment {
    return new hcloud.VolumeAttachment(
      `${name}-data-attachment`,
      { volumeId: volume.id.apply(Number), serverId: this.server.id.apply(Number), automount: false },
      {
        parent: this,
        // Not detached on its own while the old server runs (that would yank the disk from under
        // Postgres): the server's deletion, after its clean shutdown, takes the attachment with it.
        deletedWith: this.server,
      },
    );
  }

  private createReverseDns(
    name: string,
    ips: { v4: hcloud.PrimaryIp; v6: hcloud.PrimaryIp },
    addresses: { v4: pulumi.Output<string>; v6: pulumi.Output<string> },
  ): void {
    for (const family of ["v4", "v6"] as const) {
      // On the primary IP, not the server, so it survives a server rebuild.
      new hcloud.Rdns(
        `${name}-rdns-${family}`,
        { primaryIpId: ips[family].id.apply(Number), ipAddress: addresses[family], dnsPtr: this.args.domain },
        { parent: this },
      );
    }
  }

  private createDnsRecords(name: string, zone: string, addresses: { v4: pulumi.Output<string>; v6: pulumi.Output<string> }): void {
    const records = { A: addresses.v4, AAAA: addresses.v6 };
    const help = this.args.helpCenterDomain;
    const hosts: [string, string][] = [["", this.args.domain], ...(help && inZone(help, zone) ? ([["help-center-", help]] as [string, string][]) : [])];
    for (const [prefix, host] of hosts) {
      for (const [type, address] of Object.entries(records)) {
        new hcloud.ZoneRrset(
          `${name}-dns-${prefix}${type.toLowerCase()}`,
          { zone, name: recordName(host, zone), type, ttl: 300, records: [{ value: address }], labels: this.args.labels },
          { parent: this },
        );
      }
    }
  }
}
