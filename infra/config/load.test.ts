/** The configuration as a whole: what loads, with which defaults, and the table of what is refused. */
import { describe, expect, it } from "vitest";
import { loadConfig, UNREADABLE_SECRET } from "./load";
import { baseConfig, baseSecrets, pulumiConfig, TEST_PRIVATE_KEY, TEST_PUBLIC_KEY, type PublicValues } from "../test/fixtures";
import { load, problemsOf, with_, without } from "../test/config-load";

describe("valid configuration", () => {
  it("fills the documented defaults", () => {
    const c = load({
      domain: "chat.example.com",
      sshPublicKeys: [TEST_PUBLIC_KEY],
      account: { name: "Acme" },
      admin: { email: "ops@example.com", name: "Ops" },
    }, {});
    expect(c).toMatchObject({
      location: "nbg1",
      serverType: "cx33",
      image: "ubuntu-24.04",
      volumeSizeGb: 20,
      sshAllowedCidrs: ["0.0.0.0/0", "::/0"],
      serverBackups: true,
      chatwootVersion: "v4.15.1",
      embedAllowedOrigins: [],
      account: { name: "Acme", locale: "en" },
      inbox: { name: "API" },
      disableFeatures: [],
      allowPrivateNetworkWebhooks: false,
    });
    expect(c.webhook).toBeUndefined();
    expect(c.adminPassword).toBeUndefined();
    expect(c.warnings.join("\n")).toMatch(/open to the whole internet/);
    expect(c.warnings.join("\n")).toMatch(/embedAllowedOrigins/);
    expect(c.warnings.join("\n")).toMatch(/smtp/);
  });

  it("defaults webhook subscriptions and name", () => {
    const c = load(with_({ webhook: { url: "https://hooks.example.com/x" } }));
    expect(c.webhook).toEqual({
      url: "https://hooks.example.com/x",
      name: "pulumi-managed",
      subscriptions: ["conversation_created", "conversation_status_changed", "message_created"],
    });
  });

  it("returns secrets only as secret Outputs", async () => {
    const c = load(baseConfig, { ...baseSecrets, adminPassword: "Str0ng!Passw0rd" });
    const pulumi = await import("@pulumi/pulumi");
    expect(pulumi.Output.isInstance(c.adminPassword)).toBe(true);
    expect(await pulumi.isSecret(c.adminPassword!)).toBe(true);
    expect(JSON.stringify({ ...c, sshPrivateKey: undefined, adminPassword: undefined, smtpPassword: undefined, overrides: undefined }))
      .not.toContain("Str0ng!Passw0rd");
  });

  it("lets the offline plan run without the secrets only pulumi up needs, with a warning", () => {
    const c = load(baseConfig, {}, { forUp: false });
    expect(c.warnings.join("\n")).toMatch(/pulumi up will refuse to run: chatwoot:smtpPassword is required/);
  });

  it("counts an encrypted value the plan cannot read as set", () => {
    const c = load(baseConfig, { smtpPassword: UNREADABLE_SECRET });
    expect(c.smtpPassword).toBeDefined();
  });

  it("accepts the provider's own settings and unrelated namespaces", () => {
    const { config, secretKeys } = pulumiConfig();
    config["hcloud:token"] = "x";
    config["hcloud:pollInterval"] = "1s";
    config["aws:region"] = "eu-central-1";
    const secret = new Set([...secretKeys, "hcloud:token"]);
    expect(() => loadConfig({ values: config, isSecret: (k) => secret.has(k) }, true)).not.toThrow();
  });
});

type Case = [what: string, values: PublicValues, expectedKey: string, secrets?: Record<string, string>, plaintext?: Record<string, string>];

const invalid: Case[] = [
  ["missing domain", without("domain"), "chatwoot:domain is required"],
  ["domain with scheme", with_({ domain: "https://chat.example.com" }), "chatwoot:domain"],
  ["single-label domain", with_({ domain: "localhost" }), "chatwoot:domain"],
  ["uppercase domain", with_({ domain: "Chat.Example.com" }), "chatwoot:domain"],
  ["unknown location", with_({ location: "fra1" }), "chatwoot:location must be one of"],
  ["deprecated cx22", with_({ serverType: "cx22" }), 'chatwoot:serverType "cx22" is deprecated by Hetzner and no longer orderable; use "cx23"'],
  ["deprecated cpx31", with_({ serverType: "cpx31" }), 'use "cpx32"'],
  ["nonsense server type", with_({ serverType: "big one" }), "chatwoot:serverType"],
  ["a server type that does not exist", with_({ serverType: "cx99" }), "chatwoot:serverType is not a Hetzner server type; one of cx23, cx33"],
  ["a Storage Box type that does not exist", with_({ backup: { storageBox: { type: "bx99" } } }), "chatwoot:backup.storageBox.type must be a Storage Box type: bx11, bx21, bx31, bx41"],
  ["a CIDR prefix with a leading zero", with_({ sshAllowedCidrs: ["10.0.0.0/08"] }), "chatwoot:sshAllowedCidrs.0 must be a CIDR such as 203.0.113.0/24 or 2001:db8::/32 (the prefix length without leading zeros)"],
  ["a bucket endpoint with a quote", with_({ storage: { service: "s3Compatible", bucket: "b", region: "fsn1", endpoint: "https://fsn1.your-object'storage.com" } }), "chatwoot:storage.endpoint must be an https endpoint"],
  ["a bucket endpoint with a backslash", with_({ storage: { service: "s3Compatible", bucket: "b", region: "fsn1", endpoint: "https://fsn1.example.com\\x" } }), "chatwoot:storage.endpoint must be an https endpoint"],
  ["numeric image id", with_({ image: "114690387" }), "chatwoot:image"],
  ["non-LTS image", with_({ image: "debian-12" }), "chatwoot:image"],
  ["volume too small", with_({ volumeSizeGb: 5 }), "chatwoot:volumeSizeGb must be at least 10"],
  ["fractional volume", with_({ volumeSizeGb: 20.5 }), "chatwoot:volumeSizeGb"],
  ["volume as text", with_({ volumeSizeGb: "twenty" }), "chatwoot:volumeSizeGb must be JSON"],
  ["no ssh keys", with_({ sshPublicKeys: [] }), "chatwoot:sshPublicKeys must list at least one"],
  ["missing ssh keys", without("sshPublicKeys"), "chatwoot:sshPublicKeys is required"],
  ["garbage ssh key", with_({ sshPublicKeys: ["not a key"] }), "chatwoot:sshPublicKeys.0"],
  ["ssh key type mismatch", with_({ sshPublicKeys: [TEST_PUBLIC_KEY.replace("ssh-ed25519", "ssh-rsa")] }), "does not match its type"],
  ["private key as public key", with_({ sshPublicKeys: ["-----BEGIN OPENSSH PRIVATE KEY----- abc"] }), "chatwoot:sshPublicKeys.0"],
  ["bad CIDR", with_({ sshAllowedCidrs: ["10.0.0.0/33"] }), "chatwoot:sshAllowedCidrs.0"],
  ["empty CIDR list", with_({ sshAllowedCidrs: [] }), "chatwoot:sshAllowedCidrs"],
  ["backups as string", with_({ serverBackups: "yes" }), "chatwoot:serverBackups"],
  ["zone not containing domain", with_({ dnsZone: "example.org" }), 'chatwoot:dnsZone "example.org" must contain chatwoot:domain'],
  ["version without v", with_({ chatwootVersion: "4.15.1" }), "chatwoot:chatwootVersion"],
  ["version too old", with_({ chatwootVersion: "v3.16.0" }), "chatwoot:chatwootVersion must be v4.12.0 or newer"],
  ["latest tag", with_({ chatwootVersion: "latest" }), "chatwoot:chatwootVersion"],
  ["http embed origin", with_({ embedAllowedOrigins: ["http://app.example.com"] }), "chatwoot:embedAllowedOrigins.0"],
  ["embed origin with path", with_({ embedAllowedOrigins: ["https://app.example.com/embed"] }), "chatwoot:embedAllowedOrigins.0"],
  ["missing account", without("account"), "chatwoot:account is required"],
  ["empty account name", with_({ account: { name: " " } }), "chatwoot:account.name"],
  ["bad locale", with_({ account: { name: "A", locale: "english" } }), "chatwoot:account.locale"],
  ["typo inside account", with_({ account: { name: "A", nmae: "B" } }), 'chatwoot:account has unknown field(s) "nmae"'],
  ["missing admin", without("admin"), "chatwoot:admin is required"],
  ["bad admin email", with_({ admin: { email: "ops", name: "Ops" } }), "chatwoot:admin.email must be an email address"],
  ["webhook without url", with_({ webhook: { subscriptions: ["message_created"] } }), "chatwoot:webhook.url is required"],
  ["webhook ftp url", with_({ webhook: { url: "ftp://x.example.com/" } }), "chatwoot:webhook.url must be an http(s) URL"],
  ["unknown webhook event", with_({ webhook: { url: "https://x.example.com/", subscriptions: ["message_deleted"] } }), "chatwoot:webhook.subscriptions.0 must be one of"],
  ["empty subscriptions", with_({ webhook: { url: "https://x.example.com/", subscriptions: [] } }), "chatwoot:webhook.subscriptions must list at least one event"],
  ["private webhook without opt-in", with_({ webhook: { url: "http://172.17.0.1:3001/hooks" } }), "chatwoot:allowPrivateNetworkWebhooks"],
  ["feature name with spaces", with_({ disableFeatures: ["help center"] }), "chatwoot:disableFeatures.0"],
  ["smtp without sender", with_({ smtp: { address: "smtp.example.com" } }), "chatwoot:smtp.senderEmail is required"],
  ["smtp port out of range", with_({ smtp: { address: "smtp.example.com", senderEmail: "a@example.com", port: 70000 } }), "chatwoot:smtp.port"],
  ["sender with a quote", with_({ smtp: { address: "smtp.example.com", senderEmail: "O'Brien <ob@example.com>" } }), "chatwoot:smtp.senderEmail must not contain a single quote"],
  ["typo in key", with_({ domian: "x" }), "chatwoot:domian is not a known setting (did you mean chatwoot:domain?)"],
  ["unknown key", with_({ replicas: 3 }), "chatwoot:replicas is not a known setting"],
  ["private key in plaintext", baseConfig, "chatwoot:sshPrivateKey must be stored encrypted", {}, { sshPrivateKey: "x" }],
  ["public value stored as secret", baseConfig, "chatwoot:location is not a secret", { ...baseSecrets, location: "nbg1" }],
  ["weak admin password", baseConfig, "chatwoot:adminPassword must contain an uppercase letter, a digit", { ...baseSecrets, adminPassword: "weakpassword!" }],
  ["short admin password", baseConfig, "chatwoot:adminPassword must be 6 to 128 characters", { ...baseSecrets, adminPassword: "Aa1!" }],
  ["short secretKeyBase", baseConfig, "chatwoot:secretKeyBase must be at least 64 alphanumeric", { ...baseSecrets, secretKeyBase: "abc123" }],
  ["one encryption key only", baseConfig, "chatwoot:encryptionDeterministicKey, chatwoot:encryptionKeyDerivationSalt must be set too", { ...baseSecrets, encryptionPrimaryKey: "a".repeat(32) }],
  ["symbols in encryption key", baseConfig, "chatwoot:encryptionPrimaryKey must be at least 32 alphanumeric", {
    ...baseSecrets, encryptionPrimaryKey: "!".repeat(32), encryptionDeterministicKey: "b".repeat(32), encryptionKeyDerivationSalt: "c".repeat(32),
  }],
  ["smtp password with newline", baseConfig, "chatwoot:smtpPassword must not contain a line break", { ...baseSecrets, smtpPassword: "a\nb" }],
  ["backup schedule in seconds", with_({ backup: { schedule: { database: 900 } } }), 'chatwoot:backup.schedule.database must be a duration such as "15m"'],
  ["backup every minute", with_({ backup: { schedule: { database: "1m" } } }), "chatwoot:backup.schedule.database must be at least 5 minutes"],
  ["unknown backup target", with_({ backup: { target: "s3" } }), 'chatwoot:backup.target must be "storageBox"'],
  ["typo in backup", with_({ backup: { enabeld: true } }), 'chatwoot:backup has unknown field(s) "enabeld"'],
  ["negative retention", with_({ backup: { retention: { daily: -1 } } }), "chatwoot:backup.retention.daily"],
  ["retention keeping nothing", with_({ backup: { retention: { hourly: 0, daily: 0, weekly: 0, monthly: 0 } } }), "chatwoot:backup.retention must keep at least one snapshot"],
  ["storage box in ash", with_({ backup: { storageBox: { location: "ash" } } }), "chatwoot:backup.storageBox.location must be one of fsn1, nbg1, hel1"],
  ["repository target without URL", with_({ backup: { target: "repository" } }), "chatwoot:backup.repository is required when chatwoot:backup.target is \"repository\""],
  ["repository URL of unknown type", with_({ backup: { target: "repository", repository: "b2:bucket:path" } }), "chatwoot:backup.repository must be a restic repository URL"],
  ["repository URL with credentials", with_({ backup: { target: "repository", repository: "s3:https://key:secret@s3.example.com/b" } }), "chatwoot:backup.repository must not contain credentials"],
  ["s3 repository without keys", with_({ backup: { target: "repository", repository: "s3:https://s3.example.com/bucket/cw" } }), "chatwoot:backupS3AccessKeyId is required for an s3: backup repository"],
  ["sftp repository without key", with_({ backup: { target: "repository", repository: "sftp:u1@backup.example.com:chatwoot" } }), "chatwoot:backupSftpPrivateKey is required for an sftp: backup repository"],
  ["repository URL with storage box target", with_({ backup: { repository: "sftp:u1@backup.example.com:cw" } }), 'chatwoot:backup.repository is only used when chatwoot:backup.target is "repository"'],
  ["postgres password with symbols", baseConfig, "chatwoot:postgresPassword must be at least 16 letters and digits", { ...baseSecrets, postgresPassword: "pg-pass-word-with-dashes" }],
  ["short restic password", baseConfig, "chatwoot:backupPassword must be at least 16 characters", { ...baseSecrets, backupPassword: "short" }],
  ["restic password in plaintext", baseConfig, "chatwoot:backupPassword must be stored encrypted", baseSecrets, { backupPassword: "x".repeat(20) }],
  ["restore without backups", with_({ backup: { enabled: false }, restoreFrom: "latest" }), "chatwoot:restoreFrom needs chatwoot:backup.enabled to be true"],
  ["restore from a date", with_({ restoreFrom: "2026-11-20" }), 'chatwoot:restoreFrom must be "latest" or a restic snapshot id'],
  ["up without smtp password", baseConfig, "chatwoot:smtpPassword is required when chatwoot:smtp.username is set", {}],
];

describe("backup configuration", () => {
  it("defaults to a Storage Box, every 15 minutes for the database and hourly for files", () => {
    const c = load();
    expect(c.backup).toEqual({
      enabled: true,
      target: "storageBox",
      storageBox: { type: "bx11" },
      schedule: { database: 900, files: 3600, check: 7 * 86400 },
      retention: { hourly: 48, daily: 14, weekly: 8, monthly: 12 },
    });
    expect(c.restoreFrom).toBeUndefined();
  });

  it("reads durations and an existing S3 repository with its credentials as secrets", async () => {
    const c = load(
      with_({
        backup: { target: "repository", repository: "s3:https://fsn1.your-objectstorage.com/backups/chatwoot", schedule: { database: "30m", files: "6h" } },
      }),
      { ...baseSecrets, backupS3AccessKeyId: "AKIAEXAMPLE123", backupS3SecretAccessKey: "secret-access-key-value" },
    );
    expect(c.backup.schedule).toEqual({ database: 1800, files: 6 * 3600, check: 7 * 86400 });
    const pulumi = await import("@pulumi/pulumi");
    expect(await pulumi.isSecret(c.backupCredentials.s3SecretAccessKey!)).toBe(true);
  });

  it("accepts both sftp URL forms for an existing repository", () => {
    for (const repository of ["sftp:u1@backup.example.com:chatwoot", "sftp://u1@backup.example.com:23/chatwoot"]) {
      expect(() =>
        load(with_({ backup: { target: "repository", repository } }), { ...baseSecrets, backupSftpPrivateKey: TEST_PRIVATE_KEY }),
      ).not.toThrow();
    }
  });

  it("warns when backups are off and when a restore is armed", () => {
    expect(load(with_({ backup: { enabled: false } })).warnings.join("\n")).toContain("chatwoot:backup.enabled is false");
    expect(load(with_({ restoreFrom: "latest" })).warnings.join("\n")).toContain('restores backup snapshot "latest" before migrating');
  });
});

describe("invalid configuration", () => {
  it("has a table of at least 30 cases", () => expect(invalid.length).toBeGreaterThanOrEqual(30));

  it.each(invalid)("rejects %s, naming the key", (_what, values, expectedKey, secrets, plaintext) => {
    const problems = problemsOf(() => load(values, secrets ?? baseSecrets, { plaintext }));
    expect(problems.join("\n")).toContain(expectedKey);
  });

  it("never echoes a secret value in a message", () => {
    const secret = "weakbutsecretvalue";
    const problems = problemsOf(() => load(baseConfig, { ...baseSecrets, adminPassword: secret, secretKeyBase: secret }));
    expect(problems.length).toBe(2);
    expect(problems.join("\n")).not.toContain(secret);
  });

  it("reports every problem at once, sorted by key", () => {
    const problems = problemsOf(() => load(with_({ location: "x", serverType: "cx22", volumeSizeGb: 1 })));
    expect(problems).toHaveLength(3);
  });

  it("puts the key-naming message in the error's text", () => {
    expect(() => load(with_({ location: "x" }))).toThrow(/^Invalid configuration: chatwoot:location must be one of fsn1, nbg1/);
  });
});

/** Config problems and warnings that follow Chatwoot's and Hetzner's real rules (verified-facts.md). */
