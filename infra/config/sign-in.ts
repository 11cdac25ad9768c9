/**
 * Sign-in settings: `chatwoot:googleSignIn` and `chatwoot:microsoftSignIn`, with their client
 * secrets as secret keys. What each one does in Chatwoot v4.15.1 (see SIGN_IN in facts/chatwoot.ts):
 *
 * - Google: agents sign in with Google (OmniAuth reads GOOGLE_OAUTH_* from the environment), and
 *   the same client connects Gmail inboxes (read through GlobalConfigService, so from the
 *   database once it has been read). The env file carries it and the bootstrap writes the
 *   installation configs, so a rotated secret reaches both.
 * - Microsoft: the Azure app behind "Sign in with Microsoft" when an agent connects a Microsoft 365
 *   or Outlook inbox (AZURE_APP_ID / AZURE_APP_SECRET, installation configs only). Chatwoot has no
 *   Microsoft login for agents; Microsoft Entra ID can only sign agents in through the enterprise
 *   edition's per-account SAML, which is set up in the dashboard and not managed here.
 */
import { z } from "zod";
import { envSafe } from "./zod";
import { envValueProblem } from "../chatwoot/env-file";

const p = "chatwoot:";

export const googleSignInSchema = z
  .object(
    { clientId: envSafe(z.string().regex(/^[\w.-]+\.apps\.googleusercontent\.com$/, { message: "must be an OAuth client id ending in .apps.googleusercontent.com" })) },
    { message: 'must be an object like {"clientId": "1234-abc.apps.googleusercontent.com"}' },
  )
  .strict();

/** An Azure app registration's "Application (client) ID": a GUID. */
export const microsoftSignInSchema = z
  .object(
    {
      clientId: z
        .string()
        .regex(/^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$/, {
          message: "must be the app registration's Application (client) ID, a GUID like 00000000-0000-0000-0000-000000000000",
        }),
    },
    { message: 'must be an object like {"clientId": "11111111-2222-3333-4444-555555555555"}' },
  )
  .strict();

export interface SignInConfig {
  googleSignIn?: z.infer<typeof googleSignInSchema>;
  microsoftSignIn?: z.infer<typeof microsoftSignInSchema>;
}

export interface SignInSecrets {
  googleOauthClientSecret?: string;
  microsoftOauthClientSecret?: string;
}

export const signInSecretRules = {
  googleOauthClientSecret: (v: string) => (v.length >= 8 ? envValueProblem(v) : "must be the OAuth client's secret (at least 8 characters)"),
  // Azure client secrets are about 40 printable characters (letters, digits and ~ . _ -).
  microsoftOauthClientSecret: (v: string) =>
    /^[\x21-\x7e]{16,}$/.test(v) ? undefined : "must be the app registration's client secret value (at least 16 printable characters, no spaces)",
};

/** Client secrets only pulumi up needs. */
export function signInUpProblems(c: SignInConfig, secrets: SignInSecrets): string[] {
  const problems: string[] = [];
  if (c.googleSignIn && secrets.googleOauthClientSecret === undefined) {
    problems.push(`${p}googleOauthClientSecret is required when ${p}googleSignIn is set: pulumi config set --secret ${p}googleOauthClientSecret`);
  }
  if (c.microsoftSignIn && secrets.microsoftOauthClientSecret === undefined) {
    problems.push(`${p}microsoftOauthClientSecret is required when ${p}microsoftSignIn is set: pulumi config set --secret ${p}microsoftOauthClientSecret`);
  }
  return problems;
}

export function signInWarnings(c: SignInConfig, secrets: SignInSecrets): string[] {
  const warnings: string[] = [];
  if (secrets.googleOauthClientSecret !== undefined && !c.googleSignIn) warnings.push(`${p}googleOauthClientSecret is set but unused: set ${p}googleSignIn.clientId too`);
  if (secrets.microsoftOauthClientSecret !== undefined && !c.microsoftSignIn) {
    warnings.push(`${p}microsoftOauthClientSecret is set but unused: set ${p}microsoftSignIn.clientId too`);
  }
  return warnings;
}

/** The non-secret installation configs the bootstrap sets for sign-in (the secrets come on its stdin). */
export function signInInstallationConfigs(c: SignInConfig): Record<string, string> {
  return {
    ...(c.googleSignIn ? { GOOGLE_OAUTH_CLIENT_ID: c.googleSignIn.clientId } : {}),
    ...(c.microsoftSignIn ? { AZURE_APP_ID: c.microsoftSignIn.clientId.toLowerCase() } : {}),
  };
}

/** The secret installation configs, by the config key they come from. */
export const SIGN_IN_SECRET_INSTALLATION_CONFIGS = {
  googleOauthClientSecret: "GOOGLE_OAUTH_CLIENT_SECRET",
  microsoftOauthClientSecret: "AZURE_APP_SECRET",
} as const;
