/**
 * chatwoot:smtp and chatwoot:inboundEmail: the mail Chatwoot sends, and the replies it receives
 * through Rails' Action Mailbox.
 */
import { z } from "zod";
import { INBOUND_EMAIL_SERVICES } from "../facts/chatwoot";
import { isSenderAddress } from "./fields";
import { envSafe, hostname } from "./zod";

/** How the mail server wants TLS: STARTTLS on 587/25, implicit TLS on 465, or none. */
export const SMTP_SECURITY = ["starttls", "tls", "none"] as const;


/** The outgoing mail server. */
export const smtpSchema = z
  .object(
    {
      address: hostname("mail server hostname"),
      port: z.number().int().min(1).max(65535).default(587),
      username: envSafe(z.string().min(1)).optional(),
      domain: hostname("HELO domain").optional(),
      senderEmail: envSafe(z.string()).superRefine((v, ctx) => {
        if (!isSenderAddress(v)) {
          ctx.addIssue({ code: "custom", message: "must be an address such as support@example.com or Support <support@example.com>" });
        }
      }),
      authentication: z.enum(["plain", "login", "cram_md5"]).default("login"),
      /** Default: "tls" on port 465, else "starttls". */
      security: z
        .enum(SMTP_SECURITY, { message: 'must be "starttls" (port 587), "tls" (implicit TLS, port 465) or "none"' })
        .optional(),
      /** Older spelling of `security: "starttls"` (true) or `"none"` (false). */
      enableStarttlsAuto: z.boolean().optional(),
    },
    { message: 'must be an object like {"address": "smtp.example.com", "senderEmail": "support@example.com"}' },
  )
  .strict()
  .optional();

/**
 * Inbound e-mail for conversation continuity (Rails' Action Mailbox): replies to
 * reply+<id>@<domain> land in their conversation. The ingress credential is a secret key.
 */
export const inboundEmailSchema = z
  .object(
    {
      domain: hostname("mail domain"),
      service: z.enum(INBOUND_EMAIL_SERVICES, { message: `must be one of ${INBOUND_EMAIL_SERVICES.join(", ")}` }),
    },
    { message: 'must be an object like {"domain": "reply.example.com", "service": "relay"}' },
  )
  .strict()
  .optional();
