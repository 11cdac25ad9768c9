import { describe, expect, it } from "vitest";
import { envSecrets as secrets, envSettings as settings } from "../test/fixtures";
import { ENV_SECRET_NAMES, NO_ALERTS, type EnvSecrets } from "./env-settings";
import { envScope, parseEnvFile } from "./env-file";
import { renderEnvFile, renderMaskedEnvFile, SECRET_MARKER, STORAGE_BOX_MARKER } from "./env";

describe("renderEnvFile", () => {
  const text = renderEnvFile(settings, secrets);
  const env = parseEnvFile(text);

  it("sets what Chatwoot needs in production", () => {
    expect(Object.fromEntries(env)).toMatchObject({
      RAILS_ENV: "production",
      NODE_ENV: "production",
      FRONTEND_URL: "https://chat.example.com",
      FORCE_SSL: "true",
      POSTGRES_HOST: "postgres",
      POSTGRES_USERNAME: "postgres",
      POSTGRES_DATABASE: "chatwoot",
      REDIS_URL: "redis://redis:6379",
      ENABLE_ACCOUNT_SIGNUP: "false",
      ACTIVE_STORAGE_SERVICE: "local",
      DEFAULT_LOCALE: "de",
      SAFE_FETCH_ALLOW_PRIVATE_NETWORK: "true",
      MAILER_SENDER_EMAIL: "Support <support@example.com>",
      SMTP_ADDRESS: "smtp.example.com",
      SMTP_PORT: "587",
      SMTP_USERNAME: "mailer",
      CHATWOOT_FRAME_MODE: "allowlist",
      CHATWOOT_FRAME_ORIGINS: "https://app.example.com https://admin.example.com",
      CHATWOOT_DATA_DIR: "/srv/chatwoot",
    });
  });

  it("writes every secret verbatim, single-quoted, one per line", () => {
    for (const [name, value] of Object.entries(secrets)) {
      expect(text).toContain(`\n${name}='${value}'\n`);
      expect(env.get(name)).toBe(value);
    }
  });

  it("has only comments and KEY='value' lines", () => {
    for (const line of text.trimEnd().split("\n")) expect(line).toMatch(/^(# .*|[A-Z][A-Z0-9_]*='[^'\n]*')$/);
    expect(new Set([...env.keys()]).size).toBe(text.split("\n").filter((l) => /^[A-Z]/.test(l)).length);
  });

  it("is deterministic", () => {
    expect(renderEnvFile(settings, secrets)).toBe(text);
  });

  it("refuses a value the two readers would disagree on, without printing it", () => {
    expect(() => renderEnvFile(settings, { ...secrets, REDIS_PASSWORD: "it's" })).toThrow(
      /^env value for REDIS_PASSWORD must not contain a single quote \(\'\)$/,
    );
    expect(() => renderEnvFile(settings, { ...secrets, REDIS_PASSWORD: "a\nb" })).toThrow(/line break/);
  });

  it("without SMTP, only sets a sender and no SMTP_* keys", () => {
    const e = parseEnvFile(renderEnvFile({ ...settings, smtp: undefined }, { ...secrets, SMTP_PASSWORD: undefined }));
    expect(e.get("MAILER_SENDER_EMAIL")).toBe("Chatwoot <noreply@chat.example.com>");
    expect([...e.keys()].filter((k) => k.startsWith("SMTP_"))).toEqual([]);
  });

  it("without an allowlist, frames are allowed from anywhere", () => {
    const e = parseEnvFile(renderEnvFile({ ...settings, embedAllowedOrigins: [] }, secrets));
    expect(e.get("CHATWOOT_FRAME_MODE")).toBe("any");
    expect(e.get("CHATWOOT_FRAME_ORIGINS")).toBe("");
  });
});

describe("renderMaskedEnvFile", () => {
  it("replaces every secret with the marker and keeps everything else", () => {
    const masked = renderMaskedEnvFile(settings, true);
    const real = renderEnvFile(settings, secrets);
    const m = parseEnvFile(masked);
    const r = parseEnvFile(real);
    for (const name of ENV_SECRET_NAMES) if (r.has(name)) expect(m.get(name), name).toBe(SECRET_MARKER);
    // All but the two S3 backup credentials, the four of Google sign-in and inbound e-mail and the
    // two of the attachments bucket (not set here).
    expect([...r.keys()].filter((k) => (ENV_SECRET_NAMES as readonly string[]).includes(k))).toHaveLength(ENV_SECRET_NAMES.length - 8);
    for (const value of Object.values(secrets)) expect(masked).not.toContain(value!);
    expect(m.get("RESTIC_REPOSITORY")).toBe(STORAGE_BOX_MARKER);
    for (const [k, v] of r) {
      if (!(ENV_SECRET_NAMES as readonly string[]).includes(k) && !["RESTIC_REPOSITORY", "DATABASE_URL"].includes(k)) expect(m.get(k)).toBe(v);
    }
    // DATABASE_URL holds the database password: masked inside the URL, the rest shown.
    expect(m.get("DATABASE_URL")).toBe(`postgresql://postgres:${SECRET_MARKER}@postgres:5432/chatwoot?prepared_statements=false`);
    expect(r.get("DATABASE_URL")).toBe(`postgresql://postgres:${encodeURIComponent(secrets.POSTGRES_PASSWORD)}@postgres:5432/chatwoot?prepared_statements=false`);
    expect([...m.keys()]).toEqual([...r.keys()]);
  });

  it("omits SMTP_PASSWORD when none is configured", () => {
    expect(parseEnvFile(renderMaskedEnvFile(settings, false)).has("SMTP_PASSWORD")).toBe(false);
  });
});

describe("the backup section", () => {
  const settingsWith = (backup: typeof settings.backup) => ({ ...settings, backup });

  it("gives the backup service its repository, password, key, schedule and retention", () => {
    const e = parseEnvFile(renderEnvFile(settings, secrets));
    expect(e.get("BACKUP_ENABLED")).toBe("true");
    expect(e.get("RESTIC_REPOSITORY")).toBe(secrets.RESTIC_REPOSITORY);
    expect(e.get("RESTIC_PASSWORD")).toBe(secrets.RESTIC_PASSWORD);
    expect(e.get("BACKUP_SSH_KEY")).toBe(secrets.BACKUP_SSH_KEY);
    expect(e.has("BACKUP_S3_ACCESS_KEY_ID")).toBe(false);
    expect([e.get("BACKUP_DATABASE_EVERY"), e.get("BACKUP_FILES_EVERY"), e.get("BACKUP_CHECK_EVERY")]).toEqual(["900", "3600", "604800"]);
    expect(["HOURLY", "DAILY", "WEEKLY", "MONTHLY"].map((p) => e.get(`BACKUP_KEEP_${p}`))).toEqual(["48", "14", "8", "12"]);
  });

  it("uses a configured repository as is, with S3 credentials instead of a key", () => {
    const s3 = settingsWith({ ...settings.backup!, repository: "s3:https://s3.example.com/bucket/chatwoot" });
    const creds: EnvSecrets = { ...secrets, BACKUP_SSH_KEY: undefined, BACKUP_S3_ACCESS_KEY_ID: "AKIAEXAMPLE1", BACKUP_S3_SECRET_ACCESS_KEY: "s3-secret-value-1234" };
    const e = parseEnvFile(renderEnvFile(s3, creds));
    expect(e.get("RESTIC_REPOSITORY")).toBe("s3:https://s3.example.com/bucket/chatwoot");
    expect(e.get("BACKUP_S3_SECRET_ACCESS_KEY")).toBe("s3-secret-value-1234");
    expect(e.has("BACKUP_SSH_KEY")).toBe(false);
    // The configured URL is shown as is in the masked file; only the credentials are masked.
    const m = parseEnvFile(renderMaskedEnvFile(s3, true));
    expect(m.get("RESTIC_REPOSITORY")).toBe("s3:https://s3.example.com/bucket/chatwoot");
    expect(m.get("BACKUP_S3_SECRET_ACCESS_KEY")).toBe(SECRET_MARKER);
  });

  it("refuses to render enabled backups without their password, naming only the variable", () => {
    expect(() => renderEnvFile(settings, { ...secrets, RESTIC_PASSWORD: undefined })).toThrow(
      "env value for RESTIC_PASSWORD is missing (backups are enabled)",
    );
  });

  it("says so when backups are disabled, and carries none of their values", () => {
    const e = parseEnvFile(renderEnvFile(settingsWith(undefined), secrets));
    expect(e.get("BACKUP_ENABLED")).toBe("false");
    expect(e.has("RESTIC_PASSWORD")).toBe(false);
    expect(e.has("RESTIC_REPOSITORY")).toBe(false);
  });
});

describe("SMTP transport security (config/initializers/mailer.rb sets ssl/tls only when present)", () => {
  const envWith = (security: "starttls" | "tls" | "none", port: number) =>
    parseEnvFile(renderEnvFile({ ...settings, smtp: { ...settings.smtp!, port, security } }, secrets));

  it("writes STARTTLS explicitly on 587 and no implicit TLS", () => {
    const env = envWith("starttls", 587);
    expect(env.get("SMTP_ENABLE_STARTTLS_AUTO")).toBe("true");
    expect(env.has("SMTP_SSL")).toBe(false);
    expect(env.has("SMTP_TLS")).toBe(false);
  });

  it("writes SMTP_SSL and SMTP_TLS for implicit TLS on 465, without STARTTLS", () => {
    const env = envWith("tls", 465);
    expect(env.get("SMTP_PORT")).toBe("465");
    expect([env.get("SMTP_SSL"), env.get("SMTP_TLS"), env.get("SMTP_ENABLE_STARTTLS_AUTO")]).toEqual(["true", "true", "false"]);
  });

  it("turns STARTTLS off explicitly for none (Chatwoot's default would be on)", () => {
    const env = envWith("none", 25);
    expect(env.get("SMTP_ENABLE_STARTTLS_AUTO")).toBe("false");
    expect(env.has("SMTP_SSL")).toBe(false);
  });
});

describe("chatwoot:extraSecretEnv in the env file", () => {
  const withExtra = { ...settings, extraSecretEnvNames: ["VAPID_PRIVATE_KEY", "FB_APP_SECRET"] };
  it("writes the values for Rails and Sidekiq only, and masks every one of them", () => {
    const text = renderEnvFile(withExtra, { ...secrets, EXTRA_SECRET_ENV: { FB_APP_SECRET: "fb-0b1c2d", VAPID_PRIVATE_KEY: "vapid-9f8e7d" } });
    const app = parseEnvFile(envScope(text, "app"));
    expect([app.get("FB_APP_SECRET"), app.get("VAPID_PRIVATE_KEY")]).toEqual(["fb-0b1c2d", "vapid-9f8e7d"]);
    for (const scope of ["backup", "compose", "host"] as const) expect(envScope(text, scope)).not.toContain("fb-0b1c2d");
    const masked = renderMaskedEnvFile(withExtra, true);
    expect(parseEnvFile(masked).get("FB_APP_SECRET")).toBe(SECRET_MARKER);
    expect(parseEnvFile(masked).get("VAPID_PRIVATE_KEY")).toBe(SECRET_MARKER);
  });

  it("refuses to render a named secret without its value, naming only the variable", () => {
    expect(() => renderEnvFile(withExtra, { ...secrets, EXTRA_SECRET_ENV: { FB_APP_SECRET: "fb-0b1c2d" } })).toThrow("env value for VAPID_PRIVATE_KEY is missing");
  });
});

describe("alerts and Sentry in the env file", () => {
  const text = renderEnvFile(settings, secrets);
  it("gives the alert settings to the host's watchdog only, and SENTRY_DSN to the app", () => {
    const host = parseEnvFile(envScope(text, "host"));
    expect(Object.fromEntries(host)).toEqual({
      ALERT_EMAIL_TO: "ops@example.com",
      ALERT_WEBHOOK_URL: secrets.ALERT_WEBHOOK_URL,
      ALERT_WEBHOOK_FORMAT: "slack",
      ALERT_PING_URL: secrets.ALERT_PING_URL,
      ALERT_REPEAT_HOURS: "6",
    });
    for (const scope of ["app", "backup", "compose"] as const) expect(envScope(text, scope)).not.toContain("ALERT_");
    expect(parseEnvFile(envScope(text, "app")).get("SENTRY_DSN")).toBe(secrets.SENTRY_DSN);
  });

  it("writes only what is configured, and masks the URLs and the DSN", () => {
    const none = renderEnvFile({ ...settings, alerts: NO_ALERTS, sentry: false }, secrets);
    expect(Object.fromEntries(parseEnvFile(envScope(none, "host")))).toEqual({ ALERT_REPEAT_HOURS: "6" });
    const lock = renderEnvFile({ ...settings, alerts: { ...NO_ALERTS, lockMaxMinutes: 45 }, sentry: false }, secrets);
    expect(Object.fromEntries(parseEnvFile(envScope(lock, "host")))).toEqual({ ALERT_REPEAT_HOURS: "6", ALERT_LOCK_MAX_MINUTES: "45" });
    expect(none).not.toContain("SENTRY_DSN");
    const masked = parseEnvFile(renderMaskedEnvFile(settings, true));
    for (const name of ["ALERT_WEBHOOK_URL", "ALERT_PING_URL", "SENTRY_DSN"]) expect(masked.get(name)).toBe(SECRET_MARKER);
  });

  it("refuses to render a configured webhook without its URL, naming only the variable", () => {
    const { ALERT_WEBHOOK_URL: _dropped, ...rest } = secrets;
    expect(() => renderEnvFile(settings, rest)).toThrow("env value for ALERT_WEBHOOK_URL is missing (chatwoot:alertWebhookUrl is set)");
  });
});

describe("logLevel and extraEnv in the env file", () => {
  it("writes LOG_LEVEL and the extra variables, sorted, in the app's scope with the usual quoting", () => {
    const text = renderEnvFile({ ...settings, logLevel: "debug", extraEnv: { ZED: "last", ENABLE_INBOX_EVENTS: "true $HOME" } }, secrets);
    const app = envScope(text, "app");
    expect(app).toContain("LOG_LEVEL='debug'\n");
    expect(app).toContain("ENABLE_INBOX_EVENTS='true $HOME'\nZED='last'\n");
    expect(text).toContain("# chatwoot:extraEnv\nENABLE_INBOX_EVENTS=");
    for (const scope of ["backup", "compose", "host"] as const) expect(envScope(text, scope)).not.toContain("ZED");
  });

  it("refuses a value the two readers would disagree on, naming only the variable", () => {
    expect(() => renderEnvFile({ ...settings, extraEnv: { TRAILING: "ends with \\" } }, secrets)).toThrow("env value for TRAILING must not end with a backslash");
  });
});

describe("tuning overrides in the env file", () => {
  it("writes only the overridden values, as TUNING_<name> in tuning.sh's units, for the host", () => {
    const text = renderEnvFile({ ...settings, tuning: { sidekiqConcurrency: 7, postgres: { sharedBuffersMb: 1024 }, memoryLimitsMb: { rails: 2048 } } }, secrets);
    expect(Object.fromEntries([...parseEnvFile(envScope(text, "host"))].filter(([k]) => k.startsWith("TUNING_")))).toEqual({
      TUNING_SIDEKIQ_CONCURRENCY: "7",
      TUNING_PG_SHARED_BUFFERS: "1024MB",
      TUNING_RAILS_MEMORY_LIMIT: "2048m",
    });
    expect(renderEnvFile({ ...settings, tuning: { postgres: {}, memoryLimitsMb: {} } }, secrets)).not.toContain("TUNING_");
  });
});

describe("default locale, Google sign-in and inbound e-mail in the env file", () => {
  const full = {
    ...settings,
    defaultLocale: "pt_BR",
    googleSignIn: { clientId: "1234-abc.apps.googleusercontent.com" },
    inboundEmail: { domain: "reply.example.com", service: "mailgun" as const },
  };
  const withSecrets = { ...secrets, GOOGLE_OAUTH_CLIENT_SECRET: "GOCSPX-secret-value", MAILGUN_INGRESS_SIGNING_KEY: "key-signing-0123456789" };

  it("writes Chatwoot's variables for Rails and Sidekiq, with the callback URL Google must be given", () => {
    const app = parseEnvFile(envScope(renderEnvFile(full, withSecrets), "app"));
    expect(app.get("DEFAULT_LOCALE")).toBe("pt_BR");
    expect(app.get("GOOGLE_OAUTH_CLIENT_ID")).toBe("1234-abc.apps.googleusercontent.com");
    expect(app.get("GOOGLE_OAUTH_CLIENT_SECRET")).toBe("GOCSPX-secret-value");
    expect(app.get("GOOGLE_OAUTH_CALLBACK_URL")).toBe(`https://${settings.domain}/omniauth/google_oauth2/callback`);
    expect(app.get("MAILER_INBOUND_EMAIL_DOMAIN")).toBe("reply.example.com");
    expect(app.get("RAILS_INBOUND_EMAIL_SERVICE")).toBe("mailgun");
    // Mailgun's ingress reads its signing key, not the relay password.
    expect(app.get("MAILGUN_INGRESS_SIGNING_KEY")).toBe("key-signing-0123456789");
    expect(app.has("RAILS_INBOUND_EMAIL_PASSWORD")).toBe(false);
  });

  it("writes none of it when unset, the account's locale as the default, and masks the secrets", () => {
    const none = parseEnvFile(renderEnvFile(settings, secrets));
    expect(none.get("DEFAULT_LOCALE")).toBe(settings.locale);
    expect([...none.keys()].filter((k) => /^(GOOGLE_|MAILER_INBOUND|RAILS_INBOUND|MAILGUN_|MANDRILL_)/.test(k))).toEqual([]);
    const masked = parseEnvFile(renderMaskedEnvFile(full, true));
    expect([masked.get("GOOGLE_OAUTH_CLIENT_SECRET"), masked.get("MAILGUN_INGRESS_SIGNING_KEY")]).toEqual([SECRET_MARKER, SECRET_MARKER]);
  });
});

describe("the help center on its own domain", () => {
  it("writes HELPCENTER_URL for Rails and both hostnames as Caddy's site addresses", () => {
    const text = renderEnvFile({ ...settings, helpCenterDomain: "help.example.com" }, secrets);
    expect(parseEnvFile(envScope(text, "app")).get("HELPCENTER_URL")).toBe("https://help.example.com");
    expect(parseEnvFile(envScope(text, "app")).get("FRONTEND_URL")).toBe(`https://${settings.domain}`);
    expect(parseEnvFile(text).get("CHATWOOT_SITE_ADDRESSES")).toBe(`${settings.domain}, help.example.com`);
  });

  it("without it, no HELPCENTER_URL (Chatwoot falls back to FRONTEND_URL) and Caddy serves the domain alone", () => {
    const env = parseEnvFile(renderEnvFile(settings, secrets));
    expect(env.has("HELPCENTER_URL")).toBe(false);
    expect(env.get("CHATWOOT_SITE_ADDRESSES")).toBe(settings.domain);
  });
});
