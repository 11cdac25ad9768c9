/**
 * Facts about Chatwoot that the program relies on, in one place. Sources: Chatwoot v4.15.1
 * (app/models/webhook.rb, config/initializers/secure_password.rb, config/app.yml).
 */

/** `Webhook::ALLOWED_WEBHOOK_EVENTS`. */
const webhookEvents = [
  "conversation_status_changed",
  "conversation_updated",
  "conversation_created",
  "contact_created",
  "contact_updated",
  "message_created",
  "message_updated",
  "webwidget_triggered",
  "inbox_created",
  "inbox_updated",
  "conversation_typing_on",
  "conversation_typing_off",
] as const;

/** Special characters Chatwoot's password policy accepts (secure_password initializer). */
const passwordSpecials = "!@#$%^&*()_+-=[]{}|'";

function versionTuple(tag: string): number[] {
  return tag.replace(/^v/, "").replace(/-ce$/, "").split(".").map(Number);
}

function isAtLeast(tag: string, minimum: string): boolean {
  const [a, b] = [versionTuple(tag), versionTuple(minimum)];
  for (let i = 0; i < 3; i++) {
    if (a[i]! !== b[i]!) return a[i]! > b[i]!;
  }
  return true;
}

export const chatwoot = {
  /** The release this project is tested against. */
  defaultVersion: "v4.15.1",
  /** Oldest release with per-webhook secrets (v4.12.0) and `/health` (v4.11.0). */
  minimumVersion: "v4.12.0",
  webhookEvents,
  defaultWebhookEvents: ["conversation_created", "conversation_status_changed", "message_created"] as const,
  passwordSpecials,
  /** Rails serves on this port inside the container. */
  railsPort: 3000,
  isAtLeastMinimumVersion(tag: string): boolean {
    return isAtLeast(tag, this.minimumVersion);
  },
  isAtLeast,
  /** Why a password would be rejected by Chatwoot's Devise rules, or undefined when it is fine. */
  passwordProblem(password: string): string | undefined {
    const missing: string[] = [];
    if (!/[A-Z]/.test(password)) missing.push("an uppercase letter");
    if (!/[a-z]/.test(password)) missing.push("a lowercase letter");
    if (!/[0-9]/.test(password)) missing.push("a digit");
    if (![...password].some((ch) => passwordSpecials.includes(ch))) missing.push(`one of ${passwordSpecials}`);
    if (password.length < 6 || password.length > 128) {
      return `must be 6 to 128 characters long${missing.length ? ` and contain ${missing.join(", ")}` : ""}`;
    }
    return missing.length ? `must contain ${missing.join(", ")} (Chatwoot's password rules)` : undefined;
  },
};
