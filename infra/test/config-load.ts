/** Loading a stack's config the way Pulumi hands it over, for the config tests. */
import { expect } from "vitest";
import { ConfigError, loadConfig, type ChatwootConfig } from "../config/load";
import { baseConfig, baseSecrets, pulumiConfig, type PublicValues } from "./fixtures";

/** Loads config from public values (JSON-encoded as Pulumi would) and secrets; plaintext keys optional. */
export function load(
  values: PublicValues = baseConfig,
  secrets: Record<string, string> = baseSecrets,
  opts: { plaintext?: Record<string, string>; forUp?: boolean } = {},
): ChatwootConfig {
  const { config, secretKeys } = pulumiConfig(values, secrets);
  for (const [k, v] of Object.entries(opts.plaintext ?? {})) config[`chatwoot:${k}`] = v;
  const secret = new Set(secretKeys);
  return loadConfig({ values: config, isSecret: (k) => secret.has(k) }, opts.forUp ?? true);
}

export function problemsOf(fn: () => unknown): string[] {
  try {
    fn();
  } catch (e) {
    expect(e).toBeInstanceOf(ConfigError);
    return (e as ConfigError).problems;
  }
  throw new Error("expected a ConfigError, but the configuration was accepted");
}

export const with_ = (patch: PublicValues): PublicValues => ({ ...baseConfig, ...patch });
export const without = (key: string): PublicValues => Object.fromEntries(Object.entries(baseConfig).filter(([k]) => k !== key));
