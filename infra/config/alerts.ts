/** chatwoot:alerts: where the host's watchdog sends what it finds. */
import { z } from "zod";
import { isSenderAddress } from "./fields";
import { envSafe } from "./zod";

/** The host's watchdog (scripts/watchdog.py): where its alerts go. URLs are secret keys. */
export const alertsSchema = z
  .object(
    {
      email: z
        .array(
          envSafe(z.string()).superRefine((v, ctx) => {
            if (!isSenderAddress(v) || v.includes("<")) ctx.addIssue({ code: "custom", message: "must be a list of addresses such as ops@example.com" });
          }),
          { message: "must be a list of addresses such as ops@example.com" },
        )
        .default([]),
      webhookFormat: z.enum(["slack", "json"], { message: 'must be "slack" (Slack-compatible {"text": …}) or "json"' }).default("slack"),
      repeatHours: z.number().int().min(1).max(168, { message: "must be a whole number of hours from 1 to 168" }).default(6),
      /** How long a deploy may hold the host lock before the watchdog stops holding alerts back (the watchdog's default: 30). */
      lockMaxMinutes: z.number().int({ message: "must be a whole number of minutes from 5 to 1440" }).min(5, { message: "must be a whole number of minutes from 5 to 1440" }).max(1440, { message: "must be a whole number of minutes from 5 to 1440" }).optional(),
    },
    { message: 'must be an object like {"email": ["ops@example.com"]} (webhook and ping URLs are secret keys)' },
  )
  .strict()
  .default({ email: [], webhookFormat: "slack", repeatHours: 6 });
