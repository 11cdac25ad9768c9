/** chatwoot:storage: its validation and the variables config/storage.yml's s3_compatible service reads. */
import { describe, expect, it } from "vitest";
import { ConfigError, loadConfig } from "./load";
import { bootstrapSettingsFor } from "../chatwoot/bootstrap";
import { envSettingsFor, maskedEnvFileFor } from "../server/artifacts";
import { renderEnvFile } from "../chatwoot/env";
import { baseConfig, baseSecrets, pulumiConfig, type PublicValues } from "../test/fixtures";

const BUCKET = { service: "s3Compatible", bucket: "acme-chatwoot", region: "fsn1", endpoint: "https://fsn1.your-objectstorage.com" };
const KEYS = { storageAccessKeyId: "AKIAHETZNER0123", storageSecretAccessKey: "bucket-secret-value-0123456789" };

function load(values: PublicValues, secrets: Record<string, string> = {}, forUp = true) {
  const { config, secretKeys } = pulumiConfig({ ...baseConfig, ...values }, { ...baseSecrets, ...secrets });
  return loadConfig({ values: config, isSecret: (k) => secretKeys.includes(k) }, forUp);
}
function problems(values: PublicValues, secrets: Record<string, string> = {}, forUp = true): string {
  try {
    load(values, secrets, forUp);
    return "";
  } catch (e) {
    expect(e).toBeInstanceOf(ConfigError);
    return (e as ConfigError).problems.join("\n");
  }
}

describe("chatwoot:storage", () => {
  it("sets direct uploads where Chatwoot reads them, its installation configs (a boolean), and leaves it alone on the volume", () => {
    expect(bootstrapSettingsFor(load({ storage: { ...BUCKET, directUploads: true } }, KEYS)).installationConfigs).toMatchObject({ DIRECT_UPLOADS_ENABLED: true });
    expect(bootstrapSettingsFor(load({ storage: BUCKET }, KEYS)).installationConfigs).toMatchObject({ DIRECT_UPLOADS_ENABLED: false });
    expect(bootstrapSettingsFor(load({})).installationConfigs).not.toHaveProperty("DIRECT_UPLOADS_ENABLED");
  });

  it("defaults to the data volume", () => {
    expect(load({}).storage).toEqual({ service: "local", forcePathStyle: false, directUploads: false });
    expect(maskedEnvFileFor(load({}))).toContain("ACTIVE_STORAGE_SERVICE='local'");
  });

  it("renders storage.yml's s3_compatible variables, with the credentials as secrets", () => {
    const c = load({ storage: { ...BUCKET, forcePathStyle: true, directUploads: true }, backup: { enabled: false } }, KEYS);
    const env = renderEnvFile(envSettingsFor(c), { SECRET_KEY_BASE: "k", ACTIVE_RECORD_ENCRYPTION_PRIMARY_KEY: "p", ACTIVE_RECORD_ENCRYPTION_DETERMINISTIC_KEY: "d", ACTIVE_RECORD_ENCRYPTION_KEY_DERIVATION_SALT: "s", POSTGRES_PASSWORD: "x", REDIS_PASSWORD: "y", SMTP_PASSWORD: "z", STORAGE_ACCESS_KEY_ID: KEYS.storageAccessKeyId, STORAGE_SECRET_ACCESS_KEY: KEYS.storageSecretAccessKey });
    for (const line of [
      "ACTIVE_STORAGE_SERVICE='s3_compatible'",
      "STORAGE_BUCKET_NAME='acme-chatwoot'",
      "STORAGE_REGION='fsn1'",
      "STORAGE_ENDPOINT='https://fsn1.your-objectstorage.com'",
      "STORAGE_FORCE_PATH_STYLE='true'",
      `STORAGE_ACCESS_KEY_ID='${KEYS.storageAccessKeyId}'`,
      `STORAGE_SECRET_ACCESS_KEY='${KEYS.storageSecretAccessKey}'`,
      "DIRECT_UPLOADS_ENABLED='true'",
    ]) expect(env).toContain(`\n${line}\n`);
    const masked = maskedEnvFileFor(c);
    expect(masked).toContain("STORAGE_SECRET_ACCESS_KEY='<secret>'");
    expect(masked).not.toContain(KEYS.storageSecretAccessKey);
  });

  it("says what a bucket needs, and refuses bucket settings for the volume", () => {
    expect(problems({ storage: { service: "s3Compatible" } }, KEYS)).toContain('chatwoot:storage.bucket is required when chatwoot:storage.service is "s3Compatible"');
    expect(problems({ storage: BUCKET })).toContain("chatwoot:storageAccessKeyId is required");
    expect(problems({ storage: BUCKET }, {}, false)).toBe("");
    expect(problems({ storage: { service: "local", bucket: "x-y-z" } })).toContain('chatwoot:storage.bucket is only used when chatwoot:storage.service is "s3Compatible"');
    expect(problems({ storage: { ...BUCKET, endpoint: "http://minio.internal:9000" } }, KEYS)).toContain("chatwoot:storage.endpoint must be an https endpoint without a path");
    expect(problems({ storage: { ...BUCKET, bucket: "Acme_Bucket" } }, KEYS)).toContain("chatwoot:storage.bucket must be a bucket name");
    expect(problems({ extraEnv: { STORAGE_BUCKET_NAME: "other" } })).toContain("chatwoot:extraEnv may not set STORAGE_BUCKET_NAME");
  });
});
