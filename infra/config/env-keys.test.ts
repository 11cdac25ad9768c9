/** Keys that become environment variables: logLevel, extraEnv, extraSecretEnv, and values typed into the wrong key. */
import * as pulumi from "@pulumi/pulumi";
import { describe, expect, it } from "vitest";
import { baseConfig, baseSecrets } from "../test/fixtures";
import { load, problemsOf, with_ } from "../test/config-load";

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
