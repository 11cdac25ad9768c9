/** What an operator should see in every preview: settings that work but are probably not meant. */
import { parse as parseDomain } from "tldts";
import { chatwoot, DATABASE_READ_ENV_PREFIXES } from "../facts/chatwoot";
import { adoptWarnings } from "./adopt";
import { KEY_PREFIX } from "./names";
import type { ParsedPublicConfig } from "./schema";
import { smtpSecurity } from "./rules";
import { extraSecretEnvNames, type SecretValues } from "./secret-keys";
import { signInWarnings } from "./sign-in";
import { inZone } from "./validate";

const p = KEY_PREFIX;

/** The registrable domain (eTLD+1) of a host, from the public suffix list. */
function site(host: string): string {
  return parseDomain(host).domain ?? host;
}

/** True when a set of CIDRs together covers every IPv4 or every IPv6 address (or all IPv4 via ::ffff:0:0/96). */
export function opensEverything(cidrs: string[]): boolean {
  const coverage = { ipv4: 0, ipv6: 0 };
  for (const cidr of cidrs) {
    const [addr, bits] = cidr.split("/") as [string, string];
    if (addr.includes(":")) {
      if (/^::ffff:0:0$|^::ffff:0\.0\.0\.0$/i.test(addr) && Number(bits) <= 96) coverage.ipv4 += 1;
      else coverage.ipv6 += 2 ** -Number(bits);
    } else {
      coverage.ipv4 += 2 ** -Number(bits);
    }
  }
  // Overlaps count twice, so this can only over-warn; CIDRs are validated as network addresses.
  return coverage.ipv4 >= 1 || coverage.ipv6 >= 1;
}

export function warningsFor(c: ParsedPublicConfig, raw: { values: Record<string, string>; isSecret(k: string): boolean }, secrets: SecretValues): string[] {
  const warnings: string[] = [];
  warnings.push(...signInWarnings(c, secrets));
  if (secrets.inboundEmailSecret !== undefined && !c.inboundEmail) warnings.push(`${p}inboundEmailSecret is set but unused: set ${p}inboundEmail too`);
  // The watchdog, SSH, Hetzner's backups and protection, restic: the server target's alone.
  const server = c.target === "server";
  if (server && c.alerts.email.length === 0 && secrets.alertWebhookUrl === undefined && secrets.alertPingUrl === undefined) {
    warnings.push(
      `no alerts: the watchdog checks the site, disks and backups every minute but tells no one; set ${p}alerts.email, ${p}alertWebhookUrl or ${p}alertPingUrl`,
    );
  }
  if (opensEverything(c.adminAllowedCidrs)) {
    warnings.push(
      `/super_admin and /monitoring/sidekiq are reachable from the whole internet (behind the SuperAdmin login); narrow ${p}adminAllowedCidrs to your admin networks`,
    );
  }
  if (server && opensEverything(c.sshAllowedCidrs)) {
    warnings.push(`SSH (port 22) is open to the whole internet; narrow ${p}sshAllowedCidrs to your admin networks`);
  }
  if (c.embedAllowedOrigins.length === 0) {
    warnings.push(
      `no ${p}embedAllowedOrigins: X-Frame-Options is removed, so any site can frame the dashboard; list the origins that embed it`,
    );
  }
  for (const origin of c.embedAllowedOrigins) {
    const host = new URL(origin).hostname;
    if (c.domain && site(host) !== site(c.domain)) {
      warnings.push(
        `${p}embedAllowedOrigins: ${origin} is another site than ${c.domain}: Chatwoot's session cookies are SameSite=Lax, ` +
          `which browsers do not send inside a cross-site iframe, so the embedded dashboard cannot stay logged in. ` +
          `Serve Chatwoot on a subdomain of the embedding site (e.g. support.${site(host)}) instead`,
      );
    }
  }
  if (server && c.helpCenterDomain && !(c.dnsZone && inZone(c.helpCenterDomain, c.dnsZone))) {
    warnings.push(
      `${p}helpCenterDomain ${c.helpCenterDomain} is not in a ${p}dnsZone this stack manages: point its A and AAAA records at the server ` +
        `(the ipv4 and ipv6 outputs), or Caddy cannot get its certificate`,
    );
  }
  if (server && !c.serverBackups) warnings.push(`${p}serverBackups is false: Hetzner will keep no server backups`);
  if (server && !c.deleteProtection) {
    warnings.push(
      `${p}deleteProtection is false: the data volume and the primary IPs can be deleted or replaced; set it back to true once the replacement is done`,
    );
  }
  if (server && !c.backup.enabled) {
    warnings.push(`${p}backup.enabled is false: nothing is backed up off the server; losing the volume loses every conversation`);
  }
  warnings.push(...adoptWarnings(c.adopt));
  if (c.restoreFrom) {
    warnings.push(
      `${p}restoreFrom is set: a server that comes up with an empty database restores backup snapshot "${c.restoreFrom}" before migrating`,
    );
  }
  if (!c.smtp) {
    warnings.push(`no ${p}smtp: Chatwoot cannot send mail (password resets, notifications, invitations)`);
  } else if (c.smtp.port === 25 || c.smtp.port === 465) {
    warnings.push(
      `${p}smtp.port ${c.smtp.port}: Hetzner blocks outgoing ports 25 and 465 on new Cloud accounts until you ask them to lift it; port 587 with STARTTLS works`,
    );
  }
  const dbRead = [...Object.keys(c.extraEnv), ...(extraSecretEnvNames(secrets.extraSecretEnv) ?? [])].filter((n) =>
    DATABASE_READ_ENV_PREFIXES.some((prefix) => n.startsWith(prefix)),
  );
  if (dbRead.length > 0) {
    warnings.push(
      `${dbRead.join(", ")} (in ${p}extraEnv or ${p}extraSecretEnv): Chatwoot ${chatwoot.factsVersion} reads ${dbRead.length === 1 ? "it" : "them"} from its installation configs, ` +
        `not its environment, once db:migrate has seeded them: set ${dbRead.length === 1 ? "it" : "them"} in the super admin console (/super_admin/app_configs) instead`,
    );
  }
  if ((c.installation.name !== undefined || c.installation.brandName !== undefined) && !c.chatwootVersion.endsWith("-ce")) {
    warnings.push(
      `${p}installation.name and brandName are paid-plan settings in Chatwoot's default (enterprise) image: on the free plan it resets them every night ` +
        `and shows the super admin "Unauthorized premium changes detected"; use the community image (${p}chatwootVersion ${c.chatwootVersion}-ce) or a paid plan`,
    );
  }
  const release = c.chatwootVersion.replace(/-ce$/, "");
  if (release !== chatwoot.factsVersion && chatwoot.isAtLeast(release, chatwoot.factsVersion)) {
    warnings.push(
      `${p}chatwootVersion ${c.chatwootVersion} is newer than ${chatwoot.factsVersion}, the release this program's Chatwoot facts were read at ` +
        `(feature names, locales, installation configs, the adoption bounds): they may be stale for ${c.chatwootVersion}`,
    );
  }
  if (c.smtp && smtpSecurity(c.smtp) === "none" && c.smtp.username) {
    warnings.push(
      `${p}smtp.security is "none" with ${p}smtp.username set: the SMTP login and password cross the network in clear text; use "starttls" (port 587) or "tls" (465)`,
    );
  }
  if (secrets.sshPrivateKey !== undefined) {
    warnings.push(
      `${p}sshPrivateKey is no longer used: deploys connect with the stack's own deploy key; remove it with: pulumi config rm ${p}sshPrivateKey`,
    );
  }
  if ("hcloud:token" in raw.values) {
    if (!raw.isSecret("hcloud:token")) {
      warnings.push("hcloud:token is stored in plain text in the stack file: pulumi config set --secret hcloud:token");
    }
    warnings.push(
      "hcloud:token in the stack file takes precedence over the HCLOUD_TOKEN environment variable (the provider reads config first), " +
        "so a read-only token given to CI in HCLOUD_TOKEN is ignored; prefer HCLOUD_TOKEN and pulumi config rm hcloud:token",
    );
  }
  return warnings;
}
