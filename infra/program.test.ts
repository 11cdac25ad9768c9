/**
 * The program under Pulumi's mock engine (real SDK, real providers' SDKs, no network): what it
 * registers, with which inputs and options, and what stays secret.
 */
import { beforeAll, describe, expect, it } from "vitest";
import * as pulumi from "@pulumi/pulumi";
import { ConfigError } from "./config/load";
import { chatwootStack } from "./program";
import { evaluate, mockId, type Evaluation } from "./plan/engine";
import { byType, knownSecretValues, one, plainStrings } from "./test/evaluation";
import { baseConfig, baseSecrets, pulumiConfig, TEST_PUBLIC_KEY } from "./test/fixtures";

const T = {
  server: "hcloud:index/server:Server",
  primaryIp: "hcloud:index/primaryIp:PrimaryIp",
  volume: "hcloud:index/volume:Volume",
  attachment: "hcloud:index/volumeAttachment:VolumeAttachment",
  firewall: "hcloud:index/firewall:Firewall",
  sshKey: "hcloud:index/sshKey:SshKey",
  rdns: "hcloud:index/rdns:Rdns",
  rrset: "hcloud:index/zoneRrset:ZoneRrset",
  bytes: "random:index/randomBytes:RandomBytes",
  password: "random:index/randomPassword:RandomPassword",
};

describe("the stack with a production-like config", () => {
  let ev: Evaluation;
  beforeAll(async () => {
    ev = await evaluate({ stack: "production", ...pulumiConfig() });
  });

  it("creates the Hetzner resources the design calls for", () => {
    const count = (t: string) => byType(ev, t).length;
    expect(count(T.server)).toBe(1);
    expect(count(T.primaryIp)).toBe(2);
    expect(count(T.volume)).toBe(1);
    expect(count(T.attachment)).toBe(1);
    expect(count(T.firewall)).toBe(1);
    expect(count(T.sshKey)).toBe(1);
    expect(count(T.rdns)).toBe(2);
    expect(count(T.rrset)).toBe(0);
  });

  it("wires the server to its primary IPs, firewall and volume", () => {
    const server = one(ev, T.server);
    const [v4, v6] = ["chatwoot-ipv4", "chatwoot-ipv6"].map((n) => one(ev, T.primaryIp, n));
    expect(server.inputs).toMatchObject({ serverType: "cx33", image: "ubuntu-24.04", location: "nbg1", backups: true });
    const nets = server.inputs.publicNets as { ipv4: number; ipv6: number; ipv4Enabled: boolean; ipv6Enabled: boolean }[];
    expect(nets).toHaveLength(1);
    expect(nets[0]).toMatchObject({ ipv4Enabled: true, ipv6Enabled: true });
    expect(v4!.inputs).toMatchObject({ type: "ipv4", autoDelete: false, deleteProtection: true, location: "nbg1" });
    expect(v6!.inputs).toMatchObject({ type: "ipv6", autoDelete: false, deleteProtection: true });
    expect(nets[0]!.ipv4).toBe(Number(mockId(T.primaryIp, "chatwoot-ipv4")));
    expect(nets[0]!.ipv6).toBe(Number(mockId(T.primaryIp, "chatwoot-ipv6")));
    expect(server.inputs.firewallIds).toEqual([Number(mockId(T.firewall, "chatwoot-firewall"))]);
    const attachment = one(ev, T.attachment);
    expect(attachment.inputs).toEqual({
      automount: false,
      serverId: Number(mockId(T.server, "chatwoot-server")),
      volumeId: Number(mockId(T.volume, "chatwoot-data")),
    });
    expect(one(ev, T.volume).inputs).toMatchObject({ format: "ext4", automount: false, deleteProtection: true, size: 20 });
  });

  it("puts reverse DNS on the primary IPs, not the server", () => {
    for (const r of byType(ev, T.rdns)) {
      expect(r.inputs.dnsPtr).toBe("chat.example.com");
      expect(r.inputs.primaryIpId).toEqual(expect.any(Number));
      expect(r.inputs.serverId).toBeUndefined();
    }
    expect(byType(ev, T.rdns).map((r) => r.inputs.ipAddress).sort()).toEqual(["2001:db8:10::1", "203.0.113.10"]);
  });

  it("opens exactly SSH (from the allowed CIDRs), HTTP, HTTPS, HTTP/3 and ICMP", () => {
    const rules = one(ev, T.firewall).inputs.rules as { protocol: string; port?: string; sourceIps: string[] }[];
    const summary = rules.map((r) => `${r.protocol}/${r.port ?? "-"} from ${r.sourceIps.join(",")}`).sort();
    expect(summary).toEqual([
      "icmp/- from 0.0.0.0/0,::/0",
      "tcp/22 from 198.51.100.0/24",
      "tcp/443 from 0.0.0.0/0,::/0",
      "tcp/80 from 0.0.0.0/0,::/0",
      "udp/443 from 0.0.0.0/0,::/0",
    ]);
  });

  it("protects what outlives the server, and only that", () => {
    const protectedNames = ev.resources.filter((r) => r.options.protect).map((r) => r.name).sort();
    expect(protectedNames).toEqual([
      "chatwoot-ar-deterministic-key",
      "chatwoot-ar-key-derivation-salt",
      "chatwoot-ar-primary-key",
      "chatwoot-backup-restic-password",
      "chatwoot-backup-storage-box",
      "chatwoot-backup-storage-box-key",
      "chatwoot-data",
      "chatwoot-ipv4",
      "chatwoot-ipv6",
      "chatwoot-postgres-password",
      "chatwoot-secret-key-base",
    ]);
  });

  it("lets the server be replaced in place of its IPs, with nothing ignored that a replacement would take from old state", () => {
    const server = one(ev, T.server);
    expect(server.options.deleteBeforeReplace).toBe(true);
    // The engine fills ignored inputs from the old state on a diff-driven replacement (stale key
    // ids after a rotation, pulumi/docs#16161): nothing may be ignored.
    expect(server.options.ignoreChanges).toEqual([]);
    expect(server.options.protect).toBe(false);
  });

  it("gives every server the stack's own deploy key, not operators' keys (no Hetzner fingerprint collisions)", () => {
    const keys = byType(ev, T.sshKey);
    expect(keys.map((k) => k.name)).toEqual(["chatwoot-deploy-ssh-key"]);
    expect(keys[0]!.inputs.publicKey).not.toContain(TEST_PUBLIC_KEY.split(" ")[1]);
    expect(keys[0]!.inputs.name).toMatch(/^chatwoot-production-deploy-[0-9a-f]{12}$/);
    expect(one(ev, T.server).inputs.sshKeys).toEqual([mockId(T.sshKey, "chatwoot-deploy-ssh-key")]);
    expect(one(ev, "tls:index/privateKey:PrivateKey", "chatwoot-deploy-key").inputs).toMatchObject({ algorithm: "ED25519" });
  });

  it("shuts the old server down cleanly before deleting it, and never detaches the volume from a running one", () => {
    expect(one(ev, T.server).inputs.shutdownBeforeDeletion).toBe(true);
    // Delete-before-replace deletes the dependents first: a plain detach from the running server.
    // deletedWith makes the server's deletion (after its shutdown) take the attachment instead.
    expect(one(ev, T.attachment).options.deletedWith).toBe(`${T.server}::chatwoot-server`);
  });

  it("publishes the IPv6 the server answers on (…::1), not its /64's network address", () => {
    expect(ev.outputs.ipv6).toBe("2001:db8:10::1");
    const v6 = byType(ev, T.rdns).find((r) => String(r.inputs.ipAddress).includes(":"))!;
    expect(v6.inputs.ipAddress).toBe("2001:db8:10::1");
  });

  it("protects the volume and the IPs, and replaces the volume only after deleting the old one (names are unique)", () => {
    const volume = one(ev, T.volume);
    expect(volume.options).toMatchObject({ protect: true, deleteBeforeReplace: true });
    expect(volume.inputs.deleteProtection).toBe(true);
    for (const ip of byType(ev, T.primaryIp)) expect(ip.options.protect).toBe(true);
  });

  it("replaces a primary IP (a move to another location) only after deleting the old one: its name is unique", () => {
    for (const ip of byType(ev, T.primaryIp)) expect(ip.options.deleteBeforeReplace).toBe(true);
  });

  it("pins the Storage Box where it was created unless its location is set explicitly: a server move never replaces it", async () => {
    const box = one(ev, "hcloud:index/storageBox:StorageBox");
    expect(box.options).toMatchObject({ protect: true, ignoreChanges: ["location"] });
    const explicit = await evaluate({ stack: "production", ...pulumiConfig({ ...baseConfig, backup: { storageBox: { location: "fsn1" } } }) });
    expect(one(explicit, "hcloud:index/storageBox:StorageBox").options.ignoreChanges).toEqual([]);
  });

  it("keeps every child inside a component", () => {
    for (const r of ev.resources.filter((x) => x.custom)) {
      expect(r.options.parent, r.name).toMatch(/^chatwoot:index:/);
    }
  });

  it("marks every generated secret as a secret output", () => {
    for (const r of byType(ev, T.bytes)) expect(r.options.additionalSecretOutputs).toContain("hex");
    for (const r of byType(ev, T.password)) expect(r.options.additionalSecretOutputs).toContain("result");
    expect(byType(ev, "random:index/randomString:RandomString")).toHaveLength(0);
    expect(byType(ev, "random:index/randomId:RandomId")).toHaveLength(0);
  });

  it("generates secrets with the sizes Rails expects", () => {
    expect(one(ev, T.bytes, "chatwoot-secret-key-base").inputs).toEqual({ length: 64 });
    for (const n of ["chatwoot-ar-primary-key", "chatwoot-ar-deterministic-key", "chatwoot-ar-key-derivation-salt"]) {
      expect(one(ev, T.password, n).inputs).toEqual({ length: 32, special: false });
    }
  });

  it("puts no secret value into any non-secret input", () => {
    const secrets = knownSecretValues(ev, baseSecrets);
    // The generated ones are really in the list (the check would pass vacuously otherwise).
    expect(secrets.some((s) => /^[0-9a-f]{128}$/.test(s))).toBe(true);
    for (const r of ev.resources) {
      const plain = plainStrings(r.inputs).join("\n");
      for (const s of secrets) {
        expect(plain.includes(s), `${r.name} carries a secret in a plain input`).toBe(false);
      }
    }
  });

  it("labels Hetzner resources and names them after the stack", () => {
    expect(one(ev, T.server).inputs).toMatchObject({ name: "chatwoot-production", labels: { app: "chatwoot", stack: "production" } });
    expect(one(ev, T.volume).inputs.name).toBe("chatwoot-production-data");
  });

  it("exports url and the addresses", () => {
    expect(ev.outputs).toMatchObject({ url: "https://chat.example.com", ipv4: "203.0.113.10", ipv6: "2001:db8:10::1" });
  });
});

describe("variations", () => {
  it("manages A and AAAA records when a DNS zone is configured", async () => {
    const ev = await evaluate({ stack: "production", ...pulumiConfig({ ...baseConfig, dnsZone: "example.com" }) });
    const records = byType(ev, T.rrset).map((r) => r.inputs);
    expect(records).toEqual(
      expect.arrayContaining([
        expect.objectContaining({ zone: "example.com", name: "chat", type: "A", records: [{ value: "203.0.113.10" }] }),
        expect.objectContaining({ zone: "example.com", name: "chat", type: "AAAA", records: [{ value: "2001:db8:10::1" }] }),
      ]),
    );
  });

  it("manages the help center's records too when the zone holds it, and only then", async () => {
    const inZone = await evaluate({ stack: "production", ...pulumiConfig({ ...baseConfig, dnsZone: "example.com", helpCenterDomain: "help.example.com" }) });
    expect(byType(inZone, T.rrset).map((r) => `${r.name} ${r.inputs.name} ${r.inputs.type} ${JSON.stringify(r.inputs.records)}`).sort()).toEqual([
      'chatwoot-dns-a chat A [{"value":"203.0.113.10"}]',
      'chatwoot-dns-aaaa chat AAAA [{"value":"2001:db8:10::1"}]',
      'chatwoot-dns-help-center-a help A [{"value":"203.0.113.10"}]',
      'chatwoot-dns-help-center-aaaa help AAAA [{"value":"2001:db8:10::1"}]',
    ]);
    const elsewhere = await evaluate({ stack: "production", ...pulumiConfig({ ...baseConfig, dnsZone: "example.com", helpCenterDomain: "help.example.org" }) });
    expect(byType(elsewhere, T.rrset).map((r) => r.inputs.name)).toEqual(["chat", "chat"]);
  });

  it("uses '@' for a domain at the zone apex", async () => {
    const ev = await evaluate({ stack: "production", ...pulumiConfig({ ...baseConfig, domain: "example.com", dnsZone: "example.com" }) });
    expect(byType(ev, T.rrset).map((r) => r.inputs.name)).toEqual(["@", "@"]);
  });

  it("writes chatwoot:extraSecretEnv into the env file on stdin only: previews show the names, never the values", async () => {
    const value = "fb-app-secret-5c6d7e8f9a0b";
    const ev = await evaluate({ stack: "production", ...pulumiConfig(baseConfig, { ...baseSecrets, extraSecretEnv: JSON.stringify({ FB_APP_SECRET: value }) }) });
    const writeEnv = ev.resources.find((r) => r.name === "chatwoot-write-env")!;
    expect(String(writeEnv.inputs.create)).toContain("FB_APP_SECRET='<secret>'");
    for (const r of ev.resources) expect(plainStrings(r.inputs).join("\n"), r.name).not.toContain(value);
    expect(JSON.stringify(writeEnv.inputs.stdin)).toContain(value);
  });

  it("uses override secrets instead of generating them", async () => {
    const overrides = {
      secretKeyBase: "f".repeat(128),
      encryptionPrimaryKey: "P".repeat(32),
      encryptionDeterministicKey: "D".repeat(32),
      encryptionKeyDerivationSalt: "S".repeat(32),
      adminPassword: "Restored!Passw0rd",
    };
    const ev = await evaluate({ stack: "production", ...pulumiConfig(baseConfig, { ...baseSecrets, ...overrides }) });
    const names = ev.resources.map((r) => r.name);
    for (const n of ["chatwoot-secret-key-base", "chatwoot-ar-primary-key", "chatwoot-ar-deterministic-key", "chatwoot-ar-key-derivation-salt", "chatwoot-admin-password"]) {
      expect(names).not.toContain(n);
    }
    expect(names).toContain("chatwoot-postgres-password");
  });

  it("rotating operators' SSH keys leaves the server's inputs alone (no replacement)", async () => {
    const second = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIDJSbCvCvGnF+DqvwC++jPgfy2w7ub8f36qLTwgquyKG second";
    const a = await evaluate({ stack: "p", ...pulumiConfig({ ...baseConfig, sshPublicKeys: [TEST_PUBLIC_KEY] }) });
    const b = await evaluate({ stack: "p", ...pulumiConfig({ ...baseConfig, sshPublicKeys: [second] }) });
    expect(one(b, T.server).inputs).toEqual(one(a, T.server).inputs);
    expect(byType(b, T.sshKey).map((k) => k.inputs)).toEqual(byType(a, T.sshKey).map((k) => k.inputs));
  });

  it("lifts protection on the volume and IPs only when chatwoot:deleteProtection is false", async () => {
    const ev = await evaluate({ stack: "p", ...pulumiConfig({ ...baseConfig, deleteProtection: false }) });
    expect(one(ev, T.volume).options.protect).toBe(false);
    expect(one(ev, T.volume).inputs.deleteProtection).toBe(false);
    for (const ip of byType(ev, T.primaryIp)) expect([ip.options.protect, ip.inputs.deleteProtection]).toEqual([false, false]);
    expect(ev.warnings.join("\n")).toContain("chatwoot:deleteProtection is false");
  });

  it("uses …::1 in the AAAA record too", async () => {
    const ev = await evaluate({ stack: "p", ...pulumiConfig({ ...baseConfig, dnsZone: "example.com" }) });
    const aaaa = byType(ev, T.rrset).find((r) => r.inputs.type === "AAAA")!;
    expect(aaaa.inputs.records).toEqual([{ value: "2001:db8:10::1" }]);
  });

  it("names resources validly from an unusual stack name, and refuses one with no letters or digits", async () => {
    const ev = await evaluate({ stack: "Prod_1", ...pulumiConfig() });
    expect(one(ev, T.server).inputs.name).toBe("chatwoot-prod-1");
    expect(one(ev, T.server).inputs.labels).toMatchObject({ stack: "prod-1" });
    await expect(evaluate({ stack: "__", ...pulumiConfig() })).rejects.toThrow(/the stack name must contain letters or digits/);
  });

  it("the program validates config before registering anything", async () => {
    // Mocks in place, then an invalid config handed straight to the program (not via evaluate(),
    // which validates first): it must throw before its first resource.
    let registered = 0;
    await pulumi.runtime.setMocks(
      { newResource: (a) => (registered++, { id: a.name, state: a.inputs }), call: (a) => a.inputs },
      "chatwoot",
      "production",
    );
    const { config, secretKeys } = pulumiConfig({ ...baseConfig, serverType: "cx22" });
    pulumi.runtime.setAllConfig(config, secretKeys);
    expect(() => chatwootStack()).toThrow(ConfigError);
    await new Promise((r) => setTimeout(r, 50));
    expect(registered).toBe(0);
  });

  it("is deterministic: two evaluations register identical inputs and options", async () => {
    const a = await evaluate({ stack: "production", ...pulumiConfig() });
    const b = await evaluate({ stack: "production", ...pulumiConfig() });
    const view = (ev: Evaluation) => JSON.stringify(ev.resources.map((r) => [r.key, r.inputs, r.options]));
    expect(view(a)).toEqual(view(b));
    expect(a.resources.length).toBeGreaterThan(10);
  });
});
