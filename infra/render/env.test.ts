import { describe, expect, it } from "vitest";
import { envSecrets as secrets, envSettings as settings } from "../test/fixtures";
import { ENV_SECRET_NAMES, parseEnvFile, renderEnvFile, renderMaskedEnvFile, SECRET_MARKER } from "./env";

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
    for (const name of ENV_SECRET_NAMES) expect(m.get(name)).toBe(SECRET_MARKER);
    for (const value of Object.values(secrets)) expect(masked).not.toContain(value!);
    for (const [k, v] of parseEnvFile(real)) {
      if (!(ENV_SECRET_NAMES as readonly string[]).includes(k)) expect(m.get(k)).toBe(v);
    }
  });

  it("omits SMTP_PASSWORD when none is configured", () => {
    expect(parseEnvFile(renderMaskedEnvFile(settings, false)).has("SMTP_PASSWORD")).toBe(false);
  });
});
