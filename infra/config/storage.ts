/**
 * `chatwoot:storage`: where Chatwoot keeps attachments (Active Storage). `local` is the data
 * volume (storage.yml's `local` service); `s3Compatible` is any S3 endpoint, Hetzner Object Storage
 * among them, through storage.yml's `s3_compatible` service. Credentials are secret keys.
 */
import { z } from "zod";
import { envValueProblem } from "../chatwoot/env-file";

const p = "chatwoot:";

/** S3 bucket names (the rules AWS and Ceph RGW share): 3–63 of a-z 0-9 . -, starting and ending alphanumeric. */
const bucketName = z
  .string()
  .regex(/^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/, { message: "must be a bucket name: 3 to 63 lowercase letters, digits, dots and hyphens" })
  .refine((v) => !v.includes("..") && !/^\d+\.\d+\.\d+\.\d+$/.test(v), { message: "must be a bucket name, not an IP address or with '..'" });

const endpointUrl = z.string().refine(
  (v) => {
    // The URL parser accepts ' in a host and reads \ as /; the .env and storage.yml do not.
    if (v.length > 2048 || /['"\\\s]/.test(v) || !/^https:\/\//i.test(v)) return false;
    try {
      const u = new URL(v);
      return u.protocol === "https:" && (u.pathname === "/" || u.pathname === "") && !u.username && !u.password && !u.search;
    } catch {
      return false;
    }
  },
  { message: "must be an https endpoint without a path, e.g. https://fsn1.your-objectstorage.com" },
);

export const STORAGE_SERVICES = ["local", "s3Compatible"] as const;

export const storageSchema = z
  .object(
    {
      service: z.enum(STORAGE_SERVICES, { message: `must be one of ${STORAGE_SERVICES.join(", ")}` }).default("local"),
      bucket: bucketName.optional(),
      /** The endpoint's region name (Hetzner: fsn1, nbg1, hel1; AWS: eu-central-1 …). */
      region: z.string().regex(/^[a-z0-9-]{2,32}$/, { message: "must be a region name such as fsn1 or eu-central-1" }).optional(),
      endpoint: endpointUrl.optional(),
      /** bucket in the path (https://endpoint/bucket/key) instead of the host name. */
      forcePathStyle: z.boolean({ message: "must be true or false" }).default(false),
      /** Browsers upload attachments straight to the bucket (DIRECT_UPLOADS_ENABLED); needs the bucket's CORS, which the deploy sets. */
      directUploads: z.boolean({ message: "must be true or false" }).default(false),
    },
    { message: 'must be an object like {"service": "s3Compatible", "bucket": "chatwoot", "region": "fsn1", "endpoint": "https://fsn1.your-objectstorage.com"}' },
  )
  .strict();

export type StorageConfig = z.infer<typeof storageSchema>;
export const STORAGE_DEFAULT: StorageConfig = { service: "local", forcePathStyle: false, directUploads: false };

export interface StorageSecrets {
  storageAccessKeyId?: string;
  storageSecretAccessKey?: string;
}

export const storageSecretRules = {
  storageAccessKeyId: (v: string) => (/^[A-Za-z0-9]{8,128}$/.test(v) ? undefined : "must be an access key id (8 to 128 letters and digits)"),
  storageSecretAccessKey: (v: string) => (v.length >= 16 ? envValueProblem(v) : "must be at least 16 characters"),
};

export function storageProblems(s: StorageConfig, secrets: StorageSecrets): string[] {
  const problems: string[] = [];
  if (s.service === "local") {
    for (const k of ["bucket", "region", "endpoint"] as const) {
      if (s[k] !== undefined) problems.push(`${p}storage.${k} is only used when ${p}storage.service is "s3Compatible"`);
    }
    if (s.directUploads) problems.push(`${p}storage.directUploads needs ${p}storage.service "s3Compatible": browsers upload to a bucket`);
    for (const k of ["storageAccessKeyId", "storageSecretAccessKey"] as const) {
      if (secrets[k] !== undefined) problems.push(`${p}${k} is only used when ${p}storage.service is "s3Compatible"`);
    }
    return problems;
  }
  for (const k of ["bucket", "region", "endpoint"] as const) {
    if (s[k] === undefined) problems.push(`${p}storage.${k} is required when ${p}storage.service is "s3Compatible"`);
  }
  return problems;
}

/** Credentials only pulumi up needs. */
export function storageUpProblems(s: StorageConfig, secrets: StorageSecrets): string[] {
  if (s.service !== "s3Compatible") return [];
  return (["storageAccessKeyId", "storageSecretAccessKey"] as const)
    .filter((k) => secrets[k] === undefined)
    .map((k) => `${p}${k} is required when ${p}storage.service is "s3Compatible": pulumi config set --secret ${p}${k}`);
}
