/**
 * The bootstrap: what it converges every installation to (admin, account, API inbox, webhook,
 * features, installation configs), and the result line scripts/bootstrap.rb prints. The same for
 * any target that runs Chatwoot; secrets travel separately, on stdin.
 */
import type { ChatwootConfig } from "../config/load";
import { signInInstallationConfigs } from "../config/sign-in";
import { sha256 } from "../lib/hash";

/** What the bootstrap converges to (non-secret part). */
export interface BootstrapSettings {
  /** `id`: an adopted installation's account, which must exist; without `locale` it keeps its own. */
  account: { name: string; locale?: string; id?: number };
  /** `superAdmin: false`: the admin's user type is left as it is (default: made a SuperAdmin). */
  admin: { email: string; name: string; superAdmin?: false };
  /** `id`: an adopted installation's API inbox. */
  inbox: { name: string; id?: number };
  /** The platform app whose token the outputs carry (default chatwoot-hetzner). */
  platformAppName?: string;
  webhook?: { url: string; name: string; subscriptions: string[] };
  disableFeatures: string[];
  /** Installation configs to set (INSTALLATION_NAME, BRAND_NAME); absent ones are left alone. */
  installationConfigs: Record<string, string | boolean>;
}

/** What the bootstrap converges to (its secrets are added by the deployment). */
export function bootstrapSettingsFor(c: ChatwootConfig): BootstrapSettings {
  const installationConfigs: Record<string, string | boolean> = {
    ...(c.installation.name === undefined ? {} : { INSTALLATION_NAME: c.installation.name }),
    // Chatwoot reads it from its installation configs, not the env (the env line alone did nothing).
    ...(c.storage.service === "s3Compatible" ? { DIRECT_UPLOADS_ENABLED: c.storage.directUploads === true } : {}),
    ...(c.installation.brandName === undefined ? {} : { BRAND_NAME: c.installation.brandName }),
    ...signInInstallationConfigs(c),
  };
  // An adopted account keeps what the old installation had (its locale, its admin's user type)
  // unless the config says otherwise; a new one gets the defaults. (Key order as before: the
  // settings' hash decides whether the bootstrap re-runs.)
  const adopted = c.account.id !== undefined;
  const locale = c.account.locale ?? (adopted ? undefined : "en");
  const superAdmin = c.admin.superAdmin ?? !adopted;
  return {
    account: { name: c.account.name, ...(locale === undefined ? {} : { locale }), ...(c.account.id === undefined ? {} : { id: c.account.id }) },
    admin: { email: c.admin.email, name: c.admin.name, ...(superAdmin ? {} : { superAdmin: false as const }) },
    inbox: c.inbox,
    ...(c.platformApp === undefined ? {} : { platformAppName: c.platformApp.name }),
    webhook: c.webhook,
    disableFeatures: c.disableFeatures,
    installationConfigs,
  };
}

/** bootstrap.rb's input (its stdin on the server, a mounted Secret on Kubernetes): secret. */
export function renderBootstrapInput(
  b: BootstrapSettings,
  secrets: { password: string; webhookSecret: string; secretConfigs: Record<string, string> },
): string {
  return JSON.stringify({
    account: b.account,
    admin: { ...b.admin, password: secrets.password },
    inbox: b.inbox,
    ...(b.platformAppName === undefined ? {} : { platform_app: { name: b.platformAppName } }),
    webhook: b.webhook ? { ...b.webhook, secret: secrets.webhookSecret } : null,
    disable_features: b.disableFeatures,
    installation_configs: { ...b.installationConfigs, ...secrets.secretConfigs },
  });
}

/** The bootstrap's result line, as bootstrap.rb prints it. */
export interface BootstrapResult {
  account_id: number;
  inbox_id: number;
  inbox_identifier: string;
  webhook_id: number | null;
  api_access_token: string;
  platform_token: string;
}

export function parseBootstrapResult(stdout: string): BootstrapResult {
  const line = stdout.trim().split("\n").at(-1) ?? "";
  let parsed: Partial<BootstrapResult>;
  try {
    parsed = JSON.parse(line);
  } catch {
    throw new Error("bootstrap did not print its JSON result line");
  }
  for (const key of ["account_id", "inbox_id", "inbox_identifier", "api_access_token", "platform_token"] as const) {
    if (parsed[key] === undefined || parsed[key] === null) throw new Error(`bootstrap result lacks ${key}`);
  }
  return parsed as BootstrapResult;
}

/** Secret-free hash of the bootstrap settings, shown in the bootstrap step's command text. */
export function bootstrapSettingsHash(b: BootstrapSettings): string {
  return sha256(JSON.stringify(b));
}
