import * as pulumi from "@pulumi/pulumi";
import { describe, expect, it } from "vitest";
import { ConfigError, loadConfig, UNREADABLE_SECRET, type ChatwootConfig } from "./config";
import { stackNames } from "./config-rules";
import { baseConfig, baseSecrets, pulumiConfig, TEST_PRIVATE_KEY, TEST_PUBLIC_KEY, type PublicValues } from "./test/fixtures";

/** Loads config from public values (JSON-encoded as Pulumi would) and secrets; plaintext keys optional. */
function load(
  values: PublicValues = baseConfig,
  secrets: Record<string, string> = baseSecrets,
  opts: { plaintext?: Record<string, string>; forUp?: boolean } = {},
): ChatwootConfig {
  const { config, secretKeys } = pulumiConfig(values, secrets);
  for (const [k, v] of Object.entries(opts.plaintext ?? {})) config[`chatwoot:${k}`] = v;
  const secret = new Set(secretKeys);
  return loadConfig({ values: config, isSecret: (k) => secret.has(k) }, opts.forUp ?? true);
}

function problemsOf(fn: () => unknown): string[] {
  try {
    fn();
  } catch (e) {
    expect(e).toBeInstanceOf(ConfigError);
    return (e as ConfigError).problems;
  }
  throw new Error("expected a ConfigError, but the configuration was accepted");
}

const with_ = (patch: PublicValues): PublicValues => ({ ...baseConfig, ...patch });
const without = (key: string): PublicValues => Object.fromEntries(Object.entries(baseConfig).filter(([k]) => k !== key));

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
describe("what Chatwoot v4.15.1 accepts", () => {
  it.each(["de_DE", "en_US", "fr_FR", "sl", "english"])("refuses the locale %s, which Account.locale= would raise on", (locale) => {
    const problems = problemsOf(() => load(with_({ account: { name: "A", locale } })));
    expect(problems.join("\n")).toMatch(/^chatwoot:account\.locale must be one of Chatwoot's locales/);
  });

  it("suggests the locale that exists", () => {
    expect(problemsOf(() => load(with_({ account: { name: "A", locale: "de_DE" } })))[0]).toContain('did you mean "de"?');
  });

  it.each(["en", "pt_BR", "zh_TW", "zh_CN", "no", "et"])("accepts the locale %s", (locale) => {
    expect(load(with_({ account: { name: "A", locale } })).account.locale).toBe(locale);
  });

  it("refuses an admin password with a character the password gem rejects, without quoting it", () => {
    for (const password of ["Pässwort1!x", "Tab\there1!", "Emoji1!😀x", "Euro1!€xyz"]) {
      const problems = problemsOf(() => load(baseConfig, { ...baseSecrets, adminPassword: password }));
      expect(problems.join("\n")).toContain("chatwoot:adminPassword contains a character Chatwoot's password rules reject");
      for (const ch of ["ä", "😀", "€"]) expect(problems.join("\n")).not.toContain(ch);
    }
  });

  it("accepts passwords whose specials are in the gem's set of 33, which the old rule refused", () => {
    for (const password of ["Correct.Horse.Battery9", "With Space1", 'Quote"s1a', "Tilde~1a", "Back\\slash1"]) {
      expect(() => load(baseConfig, { ...baseSecrets, adminPassword: password })).not.toThrow();
    }
  });

  it("refuses names that are not features, with a suggestion", () => {
    const problems = problemsOf(() => load(with_({ disableFeatures: ["flags", "campaign", "captain_tasks"] })));
    expect(problems).toEqual([
      'chatwoot:disableFeatures.0 names "flags", which is not a Chatwoot v4.15.1 feature (config/features.yml)',
      'chatwoot:disableFeatures.1 names "campaign", which is not a Chatwoot v4.15.1 feature (config/features.yml); did you mean "campaigns"?',
    ]);
  });

  it("accepts every feature of config/features.yml", () => {
    expect(load(with_({ disableFeatures: ["captain_integration", "captain_tasks", "campaigns", "channel_tiktok"] })).disableFeatures).toHaveLength(4);
  });
});

describe("what Hetzner accepts", () => {
  it("refuses a server type that is not sold in the location", () => {
    expect(problemsOf(() => load(with_({ location: "ash", serverType: "cx33" })))).toEqual([
      'chatwoot:serverType "cx33" is not sold in ash (only in fsn1, nbg1, hel1); choose another type for ash or leave chatwoot:serverType unset for the location\'s default',
    ]);
    expect(problemsOf(() => load(with_({ location: "sin", serverType: "cax21" })))[0]).toContain('"cax21" is not sold in sin');
  });

  it("defaults the server type to one sold in every location", () => {
    expect(load(with_({ location: "hel1" })).serverType).toBe("cx33");
    for (const location of ["ash", "hil", "sin"]) expect(load(with_({ location })).serverType).toBe("cpx32");
  });

  it("refuses CIDRs with host bits set, naming the network", () => {
    expect(problemsOf(() => load(with_({ sshAllowedCidrs: ["203.0.113.5/24"] })))).toEqual([
      "chatwoot:sshAllowedCidrs.0 has host bits set: the network is 203.0.113.0/24",
    ]);
    expect(problemsOf(() => load(with_({ sshAllowedCidrs: ["2001:db8::1/32"] })))[0]).toContain("the network is 2001:db8::/32");
    expect(() => load(with_({ sshAllowedCidrs: ["203.0.113.5/32", "2001:db8::/32"] }))).not.toThrow();
  });

  it("derives valid server names and label values from any stack name, or says why it cannot", () => {
    expect(stackNames("Prod_1")).toEqual({ namePrefix: "chatwoot-prod-1", label: "prod-1" });
    expect(stackNames("-x")).toEqual({ namePrefix: "chatwoot-x", label: "x" });
    expect(stackNames("acme.staging")).toEqual({ namePrefix: "chatwoot-acme-staging", label: "acme-staging" });
    const long = stackNames("a".repeat(80));
    expect("namePrefix" in long && long.namePrefix.length).toBeLessThanOrEqual(41);
    expect(stackNames("___")).toEqual({ problem: expect.stringContaining("the stack name must contain letters or digits") });
  });

  it("warns about hcloud:token in the stack file: in plain text, and overriding HCLOUD_TOKEN", () => {
    const warningsWith = (secret: boolean) => {
      const { config, secretKeys } = pulumiConfig();
      config["hcloud:token"] = "token-value";
      const secrets = new Set([...secretKeys, ...(secret ? ["hcloud:token"] : [])]);
      return loadConfig({ values: config, isSecret: (k) => secrets.has(k) }, true).warnings.join("\n");
    };
    expect(warningsWith(false)).toContain("hcloud:token is stored in plain text");
    expect(warningsWith(true)).not.toContain("plain text");
    expect(warningsWith(true)).toContain("takes precedence over the HCLOUD_TOKEN environment variable");
    expect(load().warnings.join("\n")).not.toContain("HCLOUD_TOKEN");
  });

  it("catches typos of the namespaces this stack reads", () => {
    const problemsWith = (extra: Record<string, string>) => {
      const { config, secretKeys } = pulumiConfig();
      Object.assign(config, extra);
      const secret = new Set(secretKeys);
      return problemsOf(() => loadConfig({ values: config, isSecret: (k) => secret.has(k) }, true));
    };
    expect(problemsWith({ "chatwot:domain": "x.example.com" })).toEqual([
      'chatwot:domain is in the unknown namespace "chatwot" (did you mean chatwoot:domain?)',
    ]);
    expect(problemsWith({ "hcloud:tokn": "x" })).toEqual(["hcloud:tokn is not a setting of the hcloud provider (did you mean hcloud:token?)"]);
    expect(problemsWith({ "hclod:token": "x" })[0]).toContain("did you mean hcloud:token?");
  });
});

describe("mail, embedding and SSH settings", () => {
  const smtp = { address: "smtp.example.com", senderEmail: "a@example.com" };

  it("uses implicit TLS on port 465 and warns that Hetzner blocks it on new accounts", () => {
    const c = load(with_({ smtp: { ...smtp, port: 465 } }), {});
    expect(c.smtp?.security).toBe("tls");
    expect(c.warnings.join("\n")).toContain("Hetzner blocks outgoing ports 25 and 465 on new Cloud accounts");
    expect(load(with_({ smtp }), {}).smtp?.security).toBe("starttls");
    expect(load(with_({ smtp: { ...smtp, enableStarttlsAuto: false } }), {}).smtp?.security).toBe("none");
  });

  it("refuses STARTTLS on port 465 and contradicting settings", () => {
    expect(problemsOf(() => load(with_({ smtp: { ...smtp, port: 465, security: "starttls" } }), {}))[0]).toContain(
      "chatwoot:smtp.port 465 is implicit TLS",
    );
    expect(problemsOf(() => load(with_({ smtp: { ...smtp, security: "tls", enableStarttlsAuto: true } }), {}))[0]).toContain(
      "chatwoot:smtp.enableStarttlsAuto contradicts chatwoot:smtp.security",
    );
  });

  it("warns for every embedding origin on another site (SameSite=Lax cookies), not for same-site ones", () => {
    const warnings = (origins: string[], domain = "chat.example.com") =>
      load(with_({ domain, embedAllowedOrigins: origins })).warnings.filter((w) => w.includes("SameSite=Lax"));
    expect(warnings(["https://app.example.com", "https://example.com"])).toEqual([]);
    const cross = warnings(["https://app.example.org", "https://app.example.com", "https://portal.other.net"]);
    expect(cross).toHaveLength(2);
    expect(cross[0]).toContain("https://app.example.org is another site than chat.example.com");
    expect(cross[0]).toContain("support.example.org");
    // Public suffixes: two registrable domains under co.uk are two sites.
    expect(warnings(["https://app.acme.co.uk"], "support.acme.co.uk")).toEqual([]);
    expect(warnings(["https://app.other.co.uk"], "support.acme.co.uk")).toHaveLength(1);
  });

  it("refuses a public key entry with an embedded line break, and the same key twice", () => {
    const injected = `${TEST_PUBLIC_KEY}\ncommand="/bin/sh" ${TEST_PUBLIC_KEY}`;
    expect(problemsOf(() => load(with_({ sshPublicKeys: [injected] })))[0]).toMatch(/^chatwoot:sshPublicKeys\.0 /);
    expect(problemsOf(() => load(with_({ sshPublicKeys: [TEST_PUBLIC_KEY, TEST_PUBLIC_KEY.replace("test-only", "again")] })))).toEqual([
      "chatwoot:sshPublicKeys.1 lists the same key as entry 0",
    ]);
  });

  it("warns for CIDR lists that open SSH to everything together", () => {
    const warns = (cidrs: string[]) => load(with_({ sshAllowedCidrs: cidrs })).warnings.some((w) => w.startsWith("SSH (port 22) is open to the whole internet"));
    expect(warns(["0.0.0.0/1", "128.0.0.0/1"])).toBe(true);
    expect(warns(["::/1", "8000::/1"])).toBe(true);
    expect(warns(["::ffff:0:0/96"])).toBe(true);
    expect(warns(["198.51.100.0/24", "2001:db8::/32"])).toBe(false);
  });

  it("says the old deploy private key is no longer used", () => {
    expect(load(baseConfig, { ...baseSecrets, sshPrivateKey: TEST_PRIVATE_KEY }).warnings.join("\n")).toContain(
      "chatwoot:sshPrivateKey is no longer used",
    );
  });

  it("never quotes a value that may hold credentials", () => {
    const values = [
      with_({ backup: { target: "repository", repository: "s3:https://AKIAX:wJalrXUtnFEMI@s3.example.com" } }),
      with_({ webhook: { url: "ftp://user:hunter2hunter2@hooks.example.com/" } }),
      with_({ smtp: { address: "smtp.example.com", senderEmail: "not-an-address hunter2hunter2" } }),
    ];
    for (const v of values) {
      const text = problemsOf(() => load(v, { ...baseSecrets, backupS3AccessKeyId: "AKIAEXAMPLE1", backupS3SecretAccessKey: "s".repeat(20) })).join("\n");
      expect(text).not.toMatch(/hunter2|wJalrXUtnFEMI/);
    }
    const { config, secretKeys } = pulumiConfig();
    config["chatwoot:account"] = "{name: hunter2hunter2";
    const secret = new Set(secretKeys);
    const text = problemsOf(() => loadConfig({ values: config, isSecret: (k) => secret.has(k) }, true)).join("\n");
    expect(text).toContain("chatwoot:account must be JSON");
    expect(text).not.toContain("hunter2");
  });
});

describe("inputs that reach a shell, ssh or the network", () => {
  const hook = (url: string, allow = false) => with_({ webhook: { url }, allowPrivateNetworkWebhooks: allow });

  it.each([
    ["http to a public host", "http://hooks.example.com/x", "must use https"],
    ["credentials in the URL", "https://user:hunter2hunter2@hooks.example.com/x", "must not contain credentials"],
    ["IPv4-mapped IPv6 of a private address", "https://[::ffff:10.0.0.5]/x", "points at a private, local or special address"],
    ["IPv4-mapped IPv6 of loopback", "https://[::ffff:127.0.0.1]/x", "points at a private, local or special address"],
    ["NAT64 of a private address", "https://[64:ff9b::a00:5]/x", "points at a private, local or special address"],
    ["IPv6 multicast", "https://[ff02::1]/x", "points at a private, local or special address"],
    ["IPv4 multicast", "https://224.0.0.1/x", "points at a private, local or special address"],
    ["CGNAT", "https://100.64.0.1/x", "points at a private, local or special address"],
    ["a numeric spelling of loopback", "https://0x7f000001/x", "points at a private, local or special address"],
    ["link-local metadata address", "https://169.254.169.254/latest", "points at a private, local or special address"],
    ["unique-local IPv6", "https://[fd00::1]/x", "points at a private, local or special address"],
    ["a .local name", "https://printer.local/x", "points at a private, local or special address"],
  ])("refuses a webhook URL with %s, without quoting it", (_what, url, problem) => {
    const text = problemsOf(() => load(hook(url))).join("\n");
    expect(text).toContain(`chatwoot:webhook.url ${problem}`);
    expect(text).not.toContain("hunter2");
  });

  it("accepts public https, and plain http only to a private address that is explicitly allowed", () => {
    expect(() => load(hook("https://hooks.example.com/x"))).not.toThrow();
    expect(() => load(hook("https://[2a01:4f8::1]/x"))).not.toThrow();
    expect(() => load(hook("http://172.17.0.1:3001/hooks", true))).not.toThrow();
    expect(problemsOf(() => load(hook("http://hooks.example.com/x", true))).join("\n")).toContain("must use https");
  });

  it.each([
    ["an ssh option as the user", "sftp:-oProxyCommand=nc@host.example.com:repo"],
    ["an ssh option as the host", "sftp:u1@-oProxyCommand=x:repo"],
    ["an sftp URL with an option as the user", "sftp://-oProxyCommand=x@host.example.com:23/repo"],
    ["plain http to S3", "s3:http://s3.example.com/bucket/cw"],
  ])("refuses a backup repository with %s", (_what, repository) => {
    const problems = problemsOf(() =>
      load(with_({ backup: { target: "repository", repository } }), { ...baseSecrets, backupSftpPrivateKey: TEST_PRIVATE_KEY, backupS3AccessKeyId: "AKIAEXAMPLE1", backupS3SecretAccessKey: "s".repeat(20) }),
    );
    expect(problems.join("\n")).toMatch(/^chatwoot:backup\.repository (must be a restic repository URL|must use https)/m);
  });

  it.each([
    ["a shell substitution", "$(reboot)@example.com"],
    ["backticks", "`id`@example.com"],
    ["a display name with shell characters", "Support; rm -rf / <support@example.com>"],
    ["no domain", "support@"],
    ["two addresses", "a@example.com, b@example.com"],
    ["a single-label domain", "support@localhost"],
  ])("refuses a sender address with %s", (_what, senderEmail) => {
    const problems = problemsOf(() => load(with_({ smtp: { address: "smtp.example.com", senderEmail } }), {}));
    expect(problems.join("\n")).toContain("chatwoot:smtp.senderEmail must be an address such as support@example.com");
  });

  it("accepts ordinary sender addresses", () => {
    for (const senderEmail of ["support@example.com", "Support <support@example.com>", "Acme Support (EU) <support+eu@mail.example.co.uk>", "Équipe Support <aide@example.fr>"]) {
      expect(() => load(with_({ smtp: { address: "smtp.example.com", senderEmail } }), {})).not.toThrow();
    }
  });
});

describe("alerts and error tracking", () => {
  const webhook = "https://hooks.example.com/services/secret-path-77";
  it("reads the alert block and takes the URLs and the DSN only as secrets", async () => {
    const c = load(with_({ alerts: { email: ["ops@example.com"], webhookFormat: "json", repeatHours: 12 } }), {
      ...baseSecrets,
      alertWebhookUrl: webhook,
      alertPingUrl: "https://hc-ping.example.com/abc",
      sentryDsn: "https://key@o0.ingest.example.com/1",
    });
    expect(c.alerts).toEqual({ email: ["ops@example.com"], webhookFormat: "json", repeatHours: 12 });
    expect(await new Promise((r) => c.alertWebhookUrl!.apply(r))).toBe(webhook);
    expect(c.warnings.join("\n")).not.toContain("no alerts");
    const plain = problemsOf(() => load(baseConfig, baseSecrets, { plaintext: { alertWebhookUrl: webhook } }));
    expect(plain.join("\n")).toContain("chatwoot:alertWebhookUrl must be stored encrypted");
    expect(plain.join("\n")).not.toContain(webhook);
  });

  it("bounds how long a held host lock holds alerts back, and renders it only when set", () => {
    expect(load(with_({ alerts: { lockMaxMinutes: 45 } }), baseSecrets).alerts.lockMaxMinutes).toBe(45);
    expect(load(baseConfig, baseSecrets).alerts.lockMaxMinutes).toBeUndefined();
    for (const bad of [0, 4, 1441, 2.5]) {
      expect(problemsOf(() => load(with_({ alerts: { lockMaxMinutes: bad } }), baseSecrets)).join("\n")).toContain(
        "chatwoot:alerts.lockMaxMinutes must be a whole number of minutes from 5 to 1440",
      );
    }
  });

  it("lets alerts reach a private address only with allowPrivateNetworkWebhooks", () => {
    expect(load(with_({ allowPrivateNetworkWebhooks: true }), { ...baseSecrets, alertWebhookUrl: "https://10.0.0.5/hook" }).warnings.join("\n")).not.toContain("alertWebhookUrl");
  });

  it("warns when no channel is configured: the watchdog would tell no one", () => {
    expect(load().warnings.join("\n")).toContain("no alerts: the watchdog checks the site, disks and backups every minute but tells no one");
  });

  it.each([
    ["an http webhook", { alertWebhookUrl: "http://hooks.example.com/x" }, "chatwoot:alertWebhookUrl must be an https URL"],
    ["a ping URL that is no URL", { alertPingUrl: "hc-ping.example.com/abc" }, "chatwoot:alertPingUrl must be an https URL starting with https://"],
    ["a DSN with a quote", { sentryDsn: "https://k'ey@o0.ingest.example.com/1" }, "chatwoot:sentryDsn must not contain a single quote"],
    ["a malformed https:/ URL", { alertWebhookUrl: "https:/hooks.example.com/services/x" }, "chatwoot:alertWebhookUrl must be an https URL starting with https://"],
    ["a 3 KB URL", { alertPingUrl: `https://hc-ping.example.com/${"a".repeat(3000)}` }, "chatwoot:alertPingUrl must be at most 2048 characters"],
    ["a 100 KB URL", { adoptDatabaseUrl: `https://files.example.com/${"a".repeat(100_000)}` }, "chatwoot:adoptDatabaseUrl is too long: at most 65536 characters"],
    ["a webhook to a private address", { alertWebhookUrl: "https://10.0.0.5/hook" }, "chatwoot:alertWebhookUrl points at a private, local or special address"],
    ["a ping to loopback", { alertPingUrl: "https://127.0.0.1:8080/ping" }, "chatwoot:alertPingUrl points at a private, local or special address"],
    ["a DSN on an IPv4-mapped private address", { sentryDsn: "https://key@[::ffff:192.168.1.2]/1" }, "chatwoot:sentryDsn points at a private, local or special address"],
    ["a dump URL on a .internal name", { adoptDatabaseUrl: "https://files.internal/db.dump" }, "chatwoot:adoptDatabaseUrl points at a private, local or special address"],
  ])("refuses %s without quoting it", (_what, secrets, message) => {
    const problems = problemsOf(() => load(baseConfig, { ...baseSecrets, ...secrets }));
    expect(problems.join("\n")).toContain(message);
    expect(problems.join("\n")).not.toContain(Object.values(secrets)[0]);
  });

  it("refuses alert mail without SMTP, a recipient that is no address, and an unknown format", () => {
    const noSmtp = Object.fromEntries(Object.entries(with_({ alerts: { email: ["ops@example.com"] } })).filter(([k]) => k !== "smtp"));
    expect(problemsOf(() => load(noSmtp, {})).join("\n")).toContain("chatwoot:alerts.email needs chatwoot:smtp");
    expect(problemsOf(() => load(with_({ alerts: { email: ["not an address"] } }))).join("\n")).toContain(
      "chatwoot:alerts.email.0 must be a list of addresses such as ops@example.com",
    );
    expect(problemsOf(() => load(with_({ alerts: { webhookFormat: "teams" } }))).join("\n")).toContain('chatwoot:alerts.webhookFormat must be "slack"');
  });
});

describe("logLevel and extraEnv", () => {
  it("takes a log level and extra variables for Rails and Sidekiq", () => {
    const c = load(with_({ logLevel: "warn", extraEnv: { ENABLE_INBOX_EVENTS: "true", IP_LOOKUP_BASE_URL: "https://ip.example.com" } }));
    expect(c.logLevel).toBe("warn");
    expect(c.extraEnv).toEqual({ ENABLE_INBOX_EVENTS: "true", IP_LOOKUP_BASE_URL: "https://ip.example.com" });
    expect(load().logLevel).toBe("info");
    expect(problemsOf(() => load(with_({ logLevel: "verbose" }))).join("\n")).toContain(
      'chatwoot:logLevel must be one of debug, info, warn, error, fatal, got "verbose"',
    );
  });

  it.each([
    ["the database", "POSTGRES_HOST"],
    ["a secret", "SECRET_KEY_BASE"],
    ["the domain's URL", "FRONTEND_URL"],
    ["storage", "ACTIVE_STORAGE_SERVICE"],
    ["Redis", "REDIS_URL"],
    ["a setting that has its own key", "LOG_LEVEL"],
    ["mail", "SMTP_ADDRESS"],
    ["alerts", "ALERT_WEBHOOK_URL"],
  ])("refuses %s (%s): the stack writes it", (_what, name) => {
    const problems = problemsOf(() => load(with_({ extraEnv: { [name]: "x" } })));
    expect(problems.join("\n")).toContain(`chatwoot:extraEnv may not set ${name}: the stack writes it itself`);
  });

  it("refuses names that are not environment names, and values the .env cannot hold, without quoting them", () => {
    expect(problemsOf(() => load(with_({ extraEnv: { "lower-case": "x" } }))).join("\n")).toContain(
      "chatwoot:extraEnv.lower-case must be an environment variable name",
    );
    const problems = problemsOf(() => load(with_({ extraEnv: { SOME_TOKEN: "it's-secret-ish" } })));
    expect(problems.join("\n")).toContain("chatwoot:extraEnv.SOME_TOKEN must not contain a single quote");
    expect(problems.join("\n")).not.toContain("secret-ish");
  });
});

describe("adminAllowedCidrs", () => {
  it("is open by default with a warning, takes CIDRs, and refuses what Hetzner-style CIDR rules refuse", () => {
    expect(load().adminAllowedCidrs).toEqual(["0.0.0.0/0", "::/0"]);
    expect(load().warnings.join("\n")).toContain("/super_admin and /monitoring/sidekiq are reachable from the whole internet");
    const narrowed = load(with_({ adminAllowedCidrs: ["203.0.113.0/24"] }));
    expect(narrowed.adminAllowedCidrs).toEqual(["203.0.113.0/24"]);
    expect(narrowed.warnings.join("\n")).not.toContain("/super_admin");
    expect(problemsOf(() => load(with_({ adminAllowedCidrs: ["203.0.113.5/24"] }))).join("\n")).toContain("chatwoot:adminAllowedCidrs.0 has host bits set");
    expect(problemsOf(() => load(with_({ adminAllowedCidrs: [] }))).join("\n")).toContain("chatwoot:adminAllowedCidrs must list at least one CIDR");
  });
});

describe("values typed into the wrong key, and mail in clear text", () => {
  it("never quotes back a credential typed into a key whose values are otherwise echoed", () => {
    const token = "Zx9qR4tY7uI0oP3aS6dF8gH1jK2lQ5wE8rT0yU3iO6pA9sD2fG5hJ8kL1zX4cV7b";
    for (const key of ["serverType", "location", "chatwootVersion", "image"]) {
      const problems = problemsOf(() => load(with_({ [key]: token }))).join("\n");
      expect(problems).toContain(`chatwoot:${key}`);
      expect(problems).not.toContain(token.slice(0, 12));
    }
    // A short value still comes back, so an operator sees the typo.
    expect(problemsOf(() => load(with_({ location: "fra1" }))).join("\n")).toContain('got "fra1"');
  });

  it("warns on a Chatwoot release newer than the one the facts were read at, naming both", () => {
    expect(load(with_({ chatwootVersion: "v4.16.0" })).warnings.join("\n")).toContain(
      "chatwoot:chatwootVersion v4.16.0 is newer than v4.15.1, the release this program's Chatwoot facts were read at",
    );
    for (const v of ["v4.15.1", "v4.15.1-ce", "v4.14.0"]) expect(load(with_({ chatwootVersion: v })).warnings.join("\n")).not.toContain("facts were read at");
  });

  it("lets extraEnv set the variables Chatwoot reads that have no setting, and warns on those it reads from its database", () => {
    const c = load(with_({ extraEnv: { POSTGRES_STATEMENT_TIMEOUT: "30s", REDIS_ALFRED_SIZE: "10", SMTP_OPENSSL_VERIFY_MODE: "peer", SMTP_OPEN_TIMEOUT: "15", SMTP_READ_TIMEOUT: "30" } }));
    expect(c.extraEnv.POSTGRES_STATEMENT_TIMEOUT).toBe("30s");
    const fb = load(with_({ extraEnv: { FB_APP_ID: "1234", SLACK_CLIENT_ID: "5678" } })).warnings.join("\n");
    expect(fb).toContain("FB_APP_ID, SLACK_CLIENT_ID (in chatwoot:extraEnv or chatwoot:extraSecretEnv): Chatwoot v4.15.1 reads them from its installation configs");
    const secret = load(baseConfig, { ...baseSecrets, extraSecretEnv: JSON.stringify({ WHATSAPP_APP_SECRET: "0123456789abcdef" }) }).warnings.join("\n");
    expect(secret).toContain("WHATSAPP_APP_SECRET (in chatwoot:extraEnv or chatwoot:extraSecretEnv)");
    expect(secret).not.toContain("0123456789abcdef");
  });

  it("warns that installation names are paid-plan settings in the enterprise image, and not with a -ce tag", () => {
    expect(load(with_({ installation: { name: "Acme Support" } })).warnings.join("\n")).toContain(
      "chatwoot:installation.name and brandName are paid-plan settings in Chatwoot's default (enterprise) image",
    );
    expect(load(with_({ installation: { name: "Acme Support" }, chatwootVersion: "v4.15.1-ce" })).warnings.join("\n")).not.toContain("paid-plan");
  });

  it("warns that smtp.security none sends the login in clear text, naming the key", () => {
    const smtp = { address: "smtp.example.com", port: 25, username: "mailer", senderEmail: "support@example.com", security: "none" };
    expect(load(with_({ smtp })).warnings.join("\n")).toContain('chatwoot:smtp.security is "none" with chatwoot:smtp.username set: the SMTP login and password cross the network in clear text');
    const { username: _u, ...anonymous } = smtp;
    const { smtpPassword: _p, ...withoutPassword } = baseSecrets as Record<string, string>;
    expect(load(with_({ smtp: anonymous }), withoutPassword).warnings.join("\n")).not.toContain("clear text");
  });
});

describe("extraSecretEnv: secrets Chatwoot reads only from its env", () => {
  const value = "fb-app-secret-0b1c2d3e4f5a6b7c";
  it("takes a secret JSON object, keeps its values secret and its names plain", async () => {
    const c = load(baseConfig, { ...baseSecrets, extraSecretEnv: JSON.stringify({ FB_APP_SECRET: value, VAPID_PRIVATE_KEY: "vapid-private-9f8e7d" }) });
    expect(c.extraSecretEnvNames).toEqual(["FB_APP_SECRET", "VAPID_PRIVATE_KEY"]);
    expect(pulumi.Output.isInstance(c.extraSecretEnv)).toBe(true);
    expect(await new Promise((r) => c.extraSecretEnv!.apply(r))).toEqual({ FB_APP_SECRET: value, VAPID_PRIVATE_KEY: "vapid-private-9f8e7d" });
    expect(load().extraSecretEnvNames).toEqual([]);
  });

  it("must be stored encrypted, and is refused in plain text without echoing it", () => {
    const plain = problemsOf(() => load(baseConfig, baseSecrets, { plaintext: { extraSecretEnv: JSON.stringify({ FB_APP_SECRET: value }) } })).join("\n");
    expect(plain).toContain("chatwoot:extraSecretEnv must be stored encrypted");
    expect(plain).not.toContain(value);
  });

  it.each([
    ["not JSON", "FB_APP_SECRET=x", "must be a JSON object of variable names and secret values"],
    ["a list", JSON.stringify([value]), "must be a JSON object of variable names and secret values"],
    ["a bad name", JSON.stringify({ "fb-secret": value }), "has a name that is not an environment variable name"],
    ["a quote in a value", JSON.stringify({ FB_APP_SECRET: `it's-${value}` }), "FB_APP_SECRET must not contain a single quote"],
    ["a name the stack owns", JSON.stringify({ MAILGUN_INGRESS_SIGNING_KEY: value }), "chatwoot:extraSecretEnv may not set MAILGUN_INGRESS_SIGNING_KEY: the stack writes it itself"],
  ])("refuses %s, naming the key and never the value", (_what, raw, message) => {
    const problems = problemsOf(() => load(baseConfig, { ...baseSecrets, extraSecretEnv: raw })).join("\n");
    expect(problems).toContain(message);
    expect(problems).not.toContain(value);
  });

  it.each(["FB_APP_SECRET", "SLACK_CLIENT_SECRET", "VAPID_PRIVATE_KEY", "SOME_API_KEY", "X_ACCESS_TOKEN", "MAILGUN_INGRESS_SIGNING_KEY", "MANDRILL_INGRESS_API_KEY"])(
    "refuses %s in the plain extraEnv, pointing at extraSecretEnv, without echoing the value",
    (name) => {
      const problems = problemsOf(() => load(with_({ extraEnv: { [name]: value } }))).join("\n");
      expect(problems).toMatch(new RegExp(`chatwoot:extraEnv (may not set ${name}|holds ${name}, which looks like a secret: .*chatwoot:extraSecretEnv)`));
      expect(problems).not.toContain(value);
    },
  );

  it("refuses a name in both", () => {
    const problems = problemsOf(() => load(with_({ extraEnv: { ENABLE_X: "1" } }), { ...baseSecrets, extraSecretEnv: JSON.stringify({ ENABLE_X: value }) })).join("\n");
    expect(problems).toContain("ENABLE_X is in both chatwoot:extraEnv and chatwoot:extraSecretEnv");
  });
});

describe("tuning", () => {
  it("has no override by default: the server computes everything", () => {
    expect(load().tuning).toEqual({ postgres: {}, memoryLimitsMb: {} });
  });

  it("takes overrides within bounds, naming the key and the bound otherwise", () => {
    const c = load(with_({ tuning: { webConcurrency: 2, postgres: { sharedBuffersMb: 1024 }, memoryLimitsMb: { rails: 2048 } } }));
    expect(c.tuning).toEqual({ webConcurrency: 2, postgres: { sharedBuffersMb: 1024 }, memoryLimitsMb: { rails: 2048 } });
    const problems = problemsOf(() => load(with_({ tuning: { webConcurrency: 100, postgres: { maxConnections: 5 }, memoryLimitsMb: { redis: 10 } } }))).join("\n");
    expect(problems).toContain("chatwoot:tuning.webConcurrency must be 0 (Puma's single mode) to 64");
    expect(problems).toContain("chatwoot:tuning.postgres.maxConnections");
    expect(problems).toContain("chatwoot:tuning.memoryLimitsMb.redis");
    expect(problemsOf(() => load(with_({ tuning: { puma: 2 } }))).join("\n")).toContain('chatwoot:tuning has unknown field(s) "puma"');
  });

  it("keeps Puma's and Sidekiq's sizing out of extraEnv", () => {
    expect(problemsOf(() => load(with_({ extraEnv: { WEB_CONCURRENCY: "4" } }))).join("\n")).toContain("chatwoot:extraEnv may not set WEB_CONCURRENCY");
  });
});

describe("default locale, Google sign-in and inbound e-mail", () => {
  it("reads them, with their secrets only as secrets", () => {
    const c = load(
      with_({ defaultLocale: "pt_BR", googleSignIn: { clientId: "1234-abc.apps.googleusercontent.com" }, inboundEmail: { domain: "reply.example.com", service: "relay" } }),
      { ...baseSecrets, googleOauthClientSecret: "GOCSPX-secret-value", inboundEmailSecret: "ingress-password-123" },
    );
    expect([c.defaultLocale, c.googleSignIn, c.inboundEmail]).toEqual(["pt_BR", { clientId: "1234-abc.apps.googleusercontent.com" }, { domain: "reply.example.com", service: "relay" }]);
  });

  it("needs each one's secret for pulumi up, and says which", () => {
    const problems = problemsOf(() =>
      load(with_({ googleSignIn: { clientId: "1234-abc.apps.googleusercontent.com" }, inboundEmail: { domain: "reply.example.com", service: "mailgun" } })),
    ).join("\n");
    expect(problems).toContain("chatwoot:googleOauthClientSecret is required when chatwoot:googleSignIn is set");
    expect(problems).toContain("chatwoot:inboundEmailSecret is required when chatwoot:inboundEmail is set");
  });

  it("refuses a locale Chatwoot lacks, a client id of another kind and an unknown ingress", () => {
    const problems = problemsOf(() =>
      load(with_({ defaultLocale: "xx", googleSignIn: { clientId: "my-client" }, inboundEmail: { domain: "reply.example.com", service: "imap" } })),
    ).join("\n");
    expect(problems).toContain("chatwoot:defaultLocale must be one of Chatwoot's locales");
    expect(problems).toContain("chatwoot:googleSignIn.clientId must be an OAuth client id ending in .apps.googleusercontent.com");
    expect(problems).toContain("chatwoot:inboundEmail.service must be one of relay, postmark, sendgrid, mailgun, mandrill");
  });

  it("warns about a secret set without its block", () => {
    expect(load(baseConfig, { ...baseSecrets, googleOauthClientSecret: "GOCSPX-secret-value" }).warnings.join("\n")).toContain(
      "chatwoot:googleOauthClientSecret is set but unused",
    );
  });
});

describe("the help center's own domain", () => {
  it("reads it, refuses the main domain again, and keeps HELPCENTER_URL out of extraEnv", () => {
    expect(load(with_({ helpCenterDomain: "help.example.com" })).helpCenterDomain).toBe("help.example.com");
    expect(problemsOf(() => load(with_({ helpCenterDomain: baseConfig.domain }))).join("\n")).toContain("chatwoot:helpCenterDomain must differ from chatwoot:domain");
    expect(problemsOf(() => load(with_({ helpCenterDomain: "Help Center" }))).join("\n")).toContain("chatwoot:helpCenterDomain must be a help center hostname");
    expect(problemsOf(() => load(with_({ extraEnv: { HELPCENTER_URL: "https://help.example.com" } }))).join("\n")).toContain("chatwoot:extraEnv may not set HELPCENTER_URL");
  });

  it("says to point its DNS at the server unless the stack's zone holds it", () => {
    const warning = "chatwoot:helpCenterDomain help.example.org is not in a chatwoot:dnsZone this stack manages";
    expect(load(with_({ helpCenterDomain: "help.example.org" })).warnings.join("\n")).toContain(warning);
    expect(load(with_({ helpCenterDomain: "help.example.org", dnsZone: "example.com" })).warnings.join("\n")).toContain(warning);
    expect(load(with_({ helpCenterDomain: "help.example.com", dnsZone: "example.com" })).warnings.join("\n")).not.toContain("helpCenterDomain");
  });
});

describe("Microsoft sign-in (the Azure app for Microsoft 365 inboxes)", () => {
  const clientId = "11111111-2222-3333-4444-555555555555";
  it("reads the client id as a setting and its secret only as a secret", () => {
    const c = load(with_({ microsoftSignIn: { clientId } }), { ...baseSecrets, microsoftOauthClientSecret: "abc8Q~azure.client-secret_01" });
    expect(c.microsoftSignIn).toEqual({ clientId });
    expect(load().microsoftSignIn).toBeUndefined();
  });

  it("needs the secret for pulumi up, refuses a client id that is not a GUID, and never quotes a bad secret", () => {
    expect(problemsOf(() => load(with_({ microsoftSignIn: { clientId } }))).join("\n")).toContain(
      "chatwoot:microsoftOauthClientSecret is required when chatwoot:microsoftSignIn is set",
    );
    expect(problemsOf(() => load(with_({ microsoftSignIn: { clientId: "my-azure-app" } }), baseSecrets)).join("\n")).toContain(
      "chatwoot:microsoftSignIn.clientId must be the app registration's Application (client) ID, a GUID",
    );
    const spaced = problemsOf(() => load(with_({ microsoftSignIn: { clientId } }), { ...baseSecrets, microsoftOauthClientSecret: "has a space in it 0123" })).join("\n");
    expect(spaced).toContain("chatwoot:microsoftOauthClientSecret must be the app registration's client secret value");
    expect(spaced).not.toContain("has a space");
  });

  it("warns about a secret set without its client id, and keeps AZURE_APP_* out of extraEnv", () => {
    expect(load(baseConfig, { ...baseSecrets, microsoftOauthClientSecret: "abc8Q~azure.client-secret_01" }).warnings.join("\n")).toContain(
      "chatwoot:microsoftOauthClientSecret is set but unused: set chatwoot:microsoftSignIn.clientId too",
    );
    expect(problemsOf(() => load(with_({ extraEnv: { AZURE_APP_ID: clientId } }))).join("\n")).toContain("chatwoot:extraEnv may not set AZURE_APP_ID");
  });
});

describe("installation names and Captain's key", () => {
  it("reads the names as settings and the key only as a secret", () => {
    const c = load(with_({ installation: { name: "Acme Support", brandName: "Acme" } }), { ...baseSecrets, captainOpenAiApiKey: "sk-test-0123456789abcdefghij" });
    expect(c.installation).toEqual({ name: "Acme Support", brandName: "Acme" });
    expect(load().installation).toEqual({});
    const short = problemsOf(() => load(baseConfig, { ...baseSecrets, captainOpenAiApiKey: "sk-short" })).join("\n");
    expect(short).toContain("chatwoot:captainOpenAiApiKey must be an OpenAI API key");
    expect(short).not.toContain("sk-short");
    expect(problemsOf(() => load(with_({ installation: { name: "" } }))).join("\n")).toContain("chatwoot:installation.name must be 1 to 100 characters");
  });
});
