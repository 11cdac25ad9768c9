/**
 * What the plan says about each resource type: which inputs are worth showing, and which inputs
 * force the resource to be replaced rather than updated (from the providers' schemas:
 * @pulumi/hcloud 1.41.0, @pulumi/random 4.21.2, @pulumi/command 1.2.1).
 */
export interface ResourceFacts {
  /** Inputs printed by the plan, in this order. */
  show: string[];
  /** Inputs whose change replaces the resource. */
  replaceOn: string[];
}

const randomArgs = ["length", "special", "upper", "lower", "numeric", "minUpper", "minLower", "minNumeric", "minSpecial", "overrideSpecial", "keepers"];

export const resourceFacts: Record<string, ResourceFacts> = {
  "hcloud:index/server:Server": {
    show: ["name", "serverType", "image", "location", "backups", "userData"],
    replaceOn: ["image", "location", "userData", "sshKeys"],
  },
  "hcloud:index/primaryIp:PrimaryIp": { show: ["name", "type", "location", "autoDelete", "deleteProtection"], replaceOn: ["type", "location"] },
  // `format` is create-only but not ForceNew: changing it is a no-op update, not a replacement.
  "hcloud:index/volume:Volume": { show: ["name", "size", "location", "format", "deleteProtection"], replaceOn: ["location"] },
  "hcloud:index/volumeAttachment:VolumeAttachment": { show: ["automount"], replaceOn: ["volumeId", "serverId"] },
  "hcloud:index/sshKey:SshKey": { show: ["name", "publicKey"], replaceOn: ["publicKey"] },
  "hcloud:index/firewall:Firewall": { show: ["name", "rules"], replaceOn: [] },
  "hcloud:index/rdns:Rdns": { show: ["dnsPtr", "ipAddress"], replaceOn: ["ipAddress", "primaryIpId"] },
  "hcloud:index/zoneRrset:ZoneRrset": { show: ["zone", "name", "type", "records", "ttl"], replaceOn: ["zone", "name", "type"] },
  "hcloud:index/storageBox:StorageBox": {
    show: ["name", "storageBoxType", "location", "deleteProtection"],
    // Its SSH keys cannot be updated through the API (provider docs).
    replaceOn: ["location", "sshKeys"],
  },
  "tls:index/privateKey:PrivateKey": { show: ["algorithm"], replaceOn: ["algorithm", "ecdsaCurve", "rsaBits"] },
  "random:index/randomBytes:RandomBytes": { show: ["length"], replaceOn: randomArgs },
  "random:index/randomPassword:RandomPassword": { show: ["length", "special"], replaceOn: randomArgs },
  "command:remote:Command": { show: ["create"], replaceOn: ["triggers"] },
};

export function factsFor(type: string): ResourceFacts {
  return resourceFacts[type] ?? { show: [], replaceOn: [] };
}
