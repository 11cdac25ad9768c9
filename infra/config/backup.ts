/**
 * chatwoot:backup: off-site backups with restic to a Storage Box this stack provisions or to an
 * existing repository; schedules as durations, retention as snapshot counts.
 */
import { z } from "zod";
import { envValueProblem } from "../chatwoot/env-file";
import { STORAGE_BOX_LOCATIONS, STORAGE_BOX_TYPES } from "../facts/hetzner";
import { isHostname } from "./validate";

/** A duration such as 15m, 1h or 7d, as seconds; between `minSeconds` and 90 days. */
const duration = (minSeconds: number) =>
  z
    .string({ message: 'must be a duration such as "15m", "1h" or "7d"' })
    .regex(/^[1-9][0-9]{0,5}[mhd]$/, { message: 'must be a duration such as "15m", "1h" or "7d"' })
    .transform(durationSeconds)
    .refine((s) => s >= minSeconds, { message: `must be at least ${minSeconds / 60} minutes` })
    .refine((s) => s <= 90 * 86400, { message: "must be at most 90 days" });

export function durationSeconds(v: string): number {
  const unit = { m: 60, h: 3600, d: 86400 }[v.slice(-1) as "m" | "h" | "d"];
  return Number(v.slice(0, -1)) * unit;
}

const keepCount = (what: string) =>
  z.number({ message: `must be a whole number of ${what} snapshots to keep` }).int().min(0).max(1000);

/** restic repository URLs this product knows how to authenticate to. */
const resticRepository = z.string().superRefine((v, ctx) => {
  const problem = resticRepositoryProblem(v);
  if (problem) ctx.addIssue({ code: "custom", message: problem });
});

export function resticRepositoryProblem(v: string): string | undefined {
  const expected = 'must be a restic repository URL such as "sftp:user@host:chatwoot" or "s3:https://host/bucket/chatwoot"';
  if (envValueProblem(v)) return expected;
  if (/^sftp:\/\//.test(v)) {
    try {
      const u = new URL(v);
      if (u.password) return "must not contain a password (use chatwoot:backupSftpPrivateKey)";
      return u.username && !u.username.startsWith("-") && isHostname(u.hostname) ? undefined : expected;
    } catch {
      return expected;
    }
  }
  // User and host as restic passes them to ssh: neither may look like an option (-oProxyCommand=…).
  const short = /^sftp:([^@:/\s]+)@([^:/\s]+):(\S+)$/.exec(v);
  if (short) {
    const [, user, host] = short as unknown as [string, string, string];
    return /^[A-Za-z0-9._][A-Za-z0-9._-]*$/.test(user) && isHostname(host.toLowerCase()) ? undefined : `${expected} (a user name and a host name)`;
  }
  if (/^sftp:/.test(v)) return expected;
  if (/^s3:http:\/\//.test(v)) return "must use https (s3:https://…): the S3 credentials would cross the network in clear text";
  if (/^s3:https:\/\//.test(v)) {
    try {
      const u = new URL(v.slice(3));
      if (u.username || u.password) return "must not contain credentials (use chatwoot:backupS3AccessKeyId and backupS3SecretAccessKey)";
      return u.pathname.length > 1 ? undefined : `${expected} (a bucket is required)`;
    } catch {
      return expected;
    }
  }
  return expected;
}

export const backupSchema = z
  .object(
    {
      enabled: z.boolean({ message: "must be true or false" }).default(true),
      target: z
        .enum(["storageBox", "repository"], {
          message: 'must be "storageBox" (provisioned by this stack) or "repository" (an existing restic repository)',
        })
        .default("storageBox"),
      storageBox: z
        .object(
          {
            type: z.enum(STORAGE_BOX_TYPES, { message: `must be a Storage Box type: ${STORAGE_BOX_TYPES.join(", ")}` }).default("bx11"),
            location: z
              .enum(STORAGE_BOX_LOCATIONS, { message: `must be one of ${STORAGE_BOX_LOCATIONS.join(", ")}` })
              .optional(),
          },
          { message: 'must be an object like {"type": "bx11", "location": "hel1"}' },
        )
        .strict()
        .default({ type: "bx11" }),
      repository: resticRepository.optional(),
      schedule: z
        .object(
          {
            database: duration(300).default(durationSeconds("15m")),
            files: duration(300).default(durationSeconds("1h")),
            check: duration(3600).default(durationSeconds("7d")),
          },
          { message: 'must be an object like {"database": "15m", "files": "1h", "check": "7d"}' },
        )
        .strict()
        .default({ database: durationSeconds("15m"), files: durationSeconds("1h"), check: durationSeconds("7d") }),
      retention: z
        .object(
          {
            hourly: keepCount("hourly").default(48),
            daily: keepCount("daily").default(14),
            weekly: keepCount("weekly").default(8),
            monthly: keepCount("monthly").default(12),
          },
          { message: 'must be an object like {"hourly": 48, "daily": 14, "weekly": 8, "monthly": 12}' },
        )
        .strict()
        .default({ hourly: 48, daily: 14, weekly: 8, monthly: 12 })
        .refine((r) => r.hourly + r.daily + r.weekly + r.monthly > 0, {
          message: "must keep at least one snapshot",
        }),
    },
    { message: 'must be an object like {"enabled": true, "target": "storageBox"}' },
  )
  .strict();

export type BackupConfig = z.infer<typeof backupSchema>;
