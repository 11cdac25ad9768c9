/** Mail, embedding and SSH settings; inputs that reach a shell, ssh or the network; alerts. */
import { describe, expect, it } from "vitest";
import { loadConfig } from "./load";
import { baseConfig, baseSecrets, pulumiConfig, TEST_PRIVATE_KEY, TEST_PUBLIC_KEY } from "../test/fixtures";
import { load, problemsOf, with_ } from "../test/config-load";

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
