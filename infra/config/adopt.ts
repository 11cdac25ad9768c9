/**
 * `chatwoot:adopt`: bringing an existing Chatwoot installation (a hand-built server, the official
 * compose file, another host) under this stack. Its schema and its rules across keys; the host
 * side is scripts/adopt.sh.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import { z } from "zod";

const p = "chatwoot:";

/** A local file pulumi up uploads: a plain path, not a URL (those are secret keys). */
const localFile = (what: string) =>
  z
    .string()
    .min(1)
    .refine((v) => !/^[a-z][a-z0-9+.-]*:\/\//i.test(v), {
      message: `must be a local path to the ${what}; a URL goes into the secret chatwoot:adopt${what === "database dump" ? "Database" : "Storage"}Url`,
    })
    // The file keeps its name on the server, where scripts/adopt.sh takes it as an argument.
    .refine((v) => /^[A-Za-z0-9._-]+$/.test(path.basename(v)) && !path.basename(v).endsWith(".download"), {
      message: `must be a path whose file name has only letters, digits, '.', '_' and '-'`,
    });

export const KEY_GROUPS = ["secretKeyBase", "encryption"] as const;

export const adoptSchema = z
  .object(
    {
      /** The old database: a pg_dump (custom or plain, optionally gzipped) that pulumi up uploads. */
      database: localFile("database dump").optional(),
      /** The old /app/storage: a tar archive that pulumi up uploads, or "bucket" (already in chatwoot:storage's bucket). */
      storage: z.union([z.literal("bucket"), localFile("storage archive")]).optional(),
      /** The old installation's keys that are deliberately not carried over (each has a cost, see adopt.ts). */
      withoutOldKeys: z
        .array(z.enum(KEY_GROUPS, { message: `must list some of ${KEY_GROUPS.join(", ")}` }))
        .default([]),
    },
    { message: 'must be an object like {"database": "old/chatwoot.dump", "storage": "old/storage.tar.gz"}' },
  )
  .strict();

export type AdoptConfig = z.infer<typeof adoptSchema>;

/** The secret keys adoption reads. */
export interface AdoptSecrets {
  adoptDatabaseUrl?: string;
  adoptStorageUrl?: string;
  secretKeyBase?: string;
  encryptionPrimaryKey?: string;
  encryptionDeterministicKey?: string;
  encryptionKeyDerivationSalt?: string;
}

const ENCRYPTION_KEYS = ["encryptionPrimaryKey", "encryptionDeterministicKey", "encryptionKeyDerivationSalt"] as const;

/** What is lost without the old keys: the operator has to say so (adopt.withoutOldKeys). */
export const WITHOUT_KEY_COST = {
  secretKeyBase:
    "the old SECRET_KEY_BASE signs the website widget's visitor tokens, password-reset and confirmation links and the signed URLs of attachments and avatars; " +
    "with a new one agents stay logged in (their tokens live in the database), but every widget visitor loses their conversation and every such link already sent stops working",
  encryption:
    "the old ACTIVE_RECORD_ENCRYPTION_* keys decrypt the encrypted columns: since v4.7.0 every channel credential (Facebook, Instagram, " +
    "e-mail inbox passwords, Twilio, Telegram, Line, TikTok, the integrations' tokens), users' two-factor secrets and the signing secrets of " +
    "webhooks and API inboxes; without them every one of those channels and integrations stops working and must be connected again, and users " +
    "with two-factor authentication cannot log in (if the old installation never set these keys, nothing is lost)",
} as const;

/** Problems across keys; messages never quote a value. */
export function adoptProblems(
  a: AdoptConfig | undefined,
  secrets: AdoptSecrets,
  other: { restoreFrom?: string; storageService: string },
): string[] {
  const problems: string[] = [];
  if (!a) {
    for (const k of ["adoptDatabaseUrl", "adoptStorageUrl"] as const) {
      if (secrets[k] !== undefined) problems.push(`${p}${k} is only used with ${p}adopt: set ${p}adopt too, or remove it`);
    }
    return problems;
  }
  if (a.database !== undefined && secrets.adoptDatabaseUrl !== undefined) {
    problems.push(`${p}adopt.database and ${p}adoptDatabaseUrl are both set: the dump comes from one of them`);
  }
  if (a.database === undefined && secrets.adoptDatabaseUrl === undefined) {
    problems.push(`${p}adopt needs the old database: ${p}adopt.database (a local pg_dump file) or the secret ${p}adoptDatabaseUrl`);
  }
  if (a.storage !== undefined && secrets.adoptStorageUrl !== undefined) {
    problems.push(`${p}adopt.storage and ${p}adoptStorageUrl are both set: the files come from one of them`);
  }
  if (a.storage === "bucket" && other.storageService !== "s3Compatible") {
    problems.push(`${p}adopt.storage "bucket" needs ${p}storage.service "s3Compatible" pointing at the old installation's bucket`);
  }
  if (other.restoreFrom !== undefined) {
    problems.push(
      `${p}adopt and ${p}restoreFrom are both set: both fill an empty database; restore this stack's backups with restoreFrom ` +
        `(remove ${p}adopt once an installation is adopted)`,
    );
  }
  if (secrets.secretKeyBase === undefined && !a.withoutOldKeys.includes("secretKeyBase")) {
    problems.push(
      `${p}secretKeyBase is not set: ${WITHOUT_KEY_COST.secretKeyBase}. Set it from the old installation's .env ` +
        `(pulumi config set --secret ${p}secretKeyBase), or accept that with ${p}adopt.withoutOldKeys ["secretKeyBase"]`,
    );
  }
  const encryptionSet = ENCRYPTION_KEYS.filter((k) => secrets[k] !== undefined);
  if (encryptionSet.length > 0 && encryptionSet.length < ENCRYPTION_KEYS.length) {
    problems.push(`${p}${ENCRYPTION_KEYS.join(`, ${p}`)} must be set together (from the old installation's ACTIVE_RECORD_ENCRYPTION_* values)`);
  } else if (encryptionSet.length === 0 && !a.withoutOldKeys.includes("encryption")) {
    problems.push(
      `${p}encryptionPrimaryKey, encryptionDeterministicKey and encryptionKeyDerivationSalt are not set: ${WITHOUT_KEY_COST.encryption}. ` +
        `Set them from the old .env, or accept that with ${p}adopt.withoutOldKeys ["encryption"]`,
    );
  }
  return problems;
}

/** Checks only pulumi up needs: the files it uploads must be there (a pull-request preview has none). */
export function adoptFileProblems(a: AdoptConfig | undefined, exists: (path: string) => boolean = fileExists): string[] {
  if (!a) return [];
  const problems: string[] = [];
  if (a.database !== undefined && !exists(a.database)) problems.push(`${p}adopt.database: no readable file at that path (relative to the project directory)`);
  if (a.storage !== undefined && a.storage !== "bucket" && !exists(a.storage)) {
    problems.push(`${p}adopt.storage: no readable file at that path (relative to the project directory)`);
  }
  return problems;
}

function fileExists(path: string): boolean {
  try {
    fs.accessSync(path, fs.constants.R_OK);
    return fs.statSync(path).isFile();
  } catch {
    return false;
  }
}

export function adoptWarnings(a: AdoptConfig | undefined): string[] {
  if (!a) return [];
  const warnings = [
    `${p}adopt is set: a server that comes up with an empty database loads the old installation's data before migrating; ` +
      `once it is adopted, remove it (pulumi config rm ${p}adopt) so that a rebuild restores this stack's backups instead`,
  ];
  for (const k of a.withoutOldKeys) warnings.push(`${p}adopt.withoutOldKeys has ${k}: ${WITHOUT_KEY_COST[k]}`);
  return warnings;
}
