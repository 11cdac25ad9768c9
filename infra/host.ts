/**
 * The Hetzner side: a disposable server wired to things that outlive it (primary IPs, the data
 * volume), a firewall, reverse DNS and, optionally, the domain's A/AAAA records.
 */
import * as hcloud from "@pulumi/hcloud";
import * as pulumi from "@pulumi/pulumi";
import { shortHash } from "./render/hash";

export interface HetznerHostArgs {
  /** Prefix of every Hetzner resource name, e.g. "chatwoot-production". */
  namePrefix: string;
  /** Hetzner location, e.g. nbg1. Changing it replaces the server, IPs and volume. */
  location: string;
  /** Server type, e.g. cx33. Changing it rescales in place (with a power-off). */
  serverType: string;
  /** OS image name, e.g. ubuntu-24.04. */
  image: string;
  /** Size of the data volume in GB; it can only grow. */
  volumeSizeGb: number;
  /** OpenSSH public keys allowed to log in as root. */
  sshPublicKeys: string[];
  /** Sources allowed to reach port 22. */
  sshAllowedCidrs: string[];
  /** Hetzner's own server backups (they do not cover the volume). @default true */
  serverBackups: boolean;
  /** Public hostname, used for reverse DNS and DNS records. */
  domain: string;
  /** Hetzner DNS zone that holds `domain`; when set, A/AAAA records are managed here. */
  dnsZone?: string;
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
  public readonly ipv6: pulumi.Output<string>;
  /** Resolves once the volume is attached to the current server. */
  public readonly volumeAttachment: hcloud.VolumeAttachment;

  private readonly args: HetznerHostArgs;

  constructor(name: string, args: HetznerHostArgs, opts?: pulumi.ComponentResourceOptions) {
    super("chatwoot:index:HetznerHost", name, {}, opts);
    this.args = args;

    const sshKeys = this.createSshKeys(name);
    const firewall = this.createFirewall(name);
    const ips = this.createPrimaryIps(name);
    const volume = this.createDataVolume(name);
    this.server = this.createServer(name, { sshKeys, firewall, ips });
    this.volumeAttachment = this.attachVolume(name, volume);
    this.createReverseDns(name, ips);
    if (args.dnsZone) this.createDnsRecords(name, args.dnsZone, ips);

    this.serverId = this.server.id;
    this.volumeId = volume.id;
    this.ipv4 = ips.v4.ipAddress;
    this.ipv6 = ips.v6.ipAddress;
    this.registerOutputs({ serverId: this.serverId, volumeId: this.volumeId, ipv4: this.ipv4, ipv6: this.ipv6 });
  }

  private createSshKeys(name: string): hcloud.SshKey[] {
    // Named by content, so reordering the config list changes nothing.
    return this.args.sshPublicKeys.map((publicKey) => {
      const id = shortHash(publicKey.trim().split(/\s+/).slice(0, 2).join(" "));
      return new hcloud.SshKey(
        `${name}-ssh-${id}`,
        { name: `${this.args.namePrefix}-${id}`, publicKey, labels: this.args.labels },
        { parent: this },
      );
    });
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
          deleteProtection: true,
          labels: this.args.labels,
        },
        // protect: losing the address breaks DNS, rDNS and every allowlist that names it.
        { parent: this, protect: true },
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
        deleteProtection: true,
        labels: this.args.labels,
      },
      // protect: the volume is the installation (database, uploads, certificates).
      { parent: this, protect: true },
    );
  }

  private createServer(
    name: string,
    deps: { sshKeys: hcloud.SshKey[]; firewall: hcloud.Firewall; ips: { v4: hcloud.PrimaryIp; v6: hcloud.PrimaryIp } },
  ): hcloud.Server {
    return new hcloud.Server(
      `${name}-server`,
      {
        name: this.args.namePrefix,
        serverType: this.args.serverType,
        image: this.args.image,
        location: this.args.location,
        sshKeys: deps.sshKeys.map((k) => k.id),
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
        labels: this.args.labels,
      },
      {
        parent: this,
        // The replacement can only take over the primary IPs once the old server has released them.
        deleteBeforeReplace: true,
        // Hetzner can only set SSH keys at creation; rotating a key must not rebuild the server
        // (new keys reach a running server through the deploy steps' authorized_keys update).
        ignoreChanges: ["sshKeys"],
      },
    );
  }

  private attachVolume(name: string, volume: hcloud.Volume): hcloud.VolumeAttachment {
    return new hcloud.VolumeAttachment(
      `${name}-data-attachment`,
      { volumeId: volume.id.apply(Number), serverId: this.server.id.apply(Number), automount: false },
      { parent: this },
    );
  }

  private createReverseDns(name: string, ips: { v4: hcloud.PrimaryIp; v6: hcloud.PrimaryIp }): void {
    for (const [family, ip] of Object.entries(ips)) {
      // On the primary IP, not the server, so it survives a server rebuild.
      new hcloud.Rdns(
        `${name}-rdns-${family}`,
        { primaryIpId: ip.id.apply(Number), ipAddress: ip.ipAddress, dnsPtr: this.args.domain },
        { parent: this },
      );
    }
  }

  private createDnsRecords(name: string, zone: string, ips: { v4: hcloud.PrimaryIp; v6: hcloud.PrimaryIp }): void {
    const records = { A: ips.v4, AAAA: ips.v6 };
    for (const [type, ip] of Object.entries(records)) {
      new hcloud.ZoneRrset(
        `${name}-dns-${type.toLowerCase()}`,
        { zone, name: recordName(this.args.domain, zone), type, ttl: 300, records: [{ value: ip.ipAddress }], labels: this.args.labels },
        { parent: this },
      );
    }
  }
}
