/** Tuning, locales, sign-in, inbound e-mail, the help center's domain, installation names and Captain. */
import { describe, expect, it } from "vitest";
import { baseConfig, baseSecrets } from "../test/fixtures";
import { load, problemsOf, with_ } from "../test/config-load";

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
