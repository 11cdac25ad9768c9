/** Helpers for reading an Evaluation in tests. */
import { isSecretValue, type Evaluation, type PlannedResource } from "../plan/engine";
import { ENV_SECRET_NAMES } from "../chatwoot/env-settings";
import { parseEnvFile } from "../chatwoot/env-file";

export function byType(ev: Evaluation, type: string): PlannedResource[] {
  return ev.resources.filter((r) => r.type === type);
}
export function one(ev: Evaluation, type: string, name?: string): PlannedResource {
  const found = byType(ev, type).filter((r) => name === undefined || r.name === name);
  if (found.length !== 1) throw new Error(`expected one ${type} ${name ?? ""}, found ${found.map((r) => r.name).join(", ") || "none"}`);
  return found[0]!;
}

/** Every plain (non-secret) string anywhere in a value, skipping secret-wrapped subtrees. */
export function plainStrings(v: unknown, out: string[] = []): string[] {
  if (isSecretValue(v)) return out;
  if (typeof v === "string") out.push(v);
  else if (Array.isArray(v)) v.forEach((x) => plainStrings(x, out));
  else if (v && typeof v === "object") Object.values(v).forEach((x) => plainStrings(x, out));
  return out;
}

/** Every value inside secret-wrapped subtrees. */
export function secretStrings(v: unknown, out: string[] = [], inside = false): string[] {
  if (isSecretValue(v)) return secretStrings(v.value, out, true);
  if (typeof v === "string" && inside) out.push(v);
  else if (Array.isArray(v)) v.forEach((x) => secretStrings(x, out, inside));
  else if (v && typeof v === "object") Object.values(v).forEach((x) => secretStrings(x, out, inside));
  return out;
}

/**
 * The secret values an evaluation handed to the host: generated and configured secrets as they
 * appear in the env file and the bootstrap input, plus the given config secrets.
 */
export function knownSecretValues(ev: Evaluation, configSecrets: Record<string, string>): string[] {
  const stdinOf = (name: string) => {
    const r = ev.resources.find((x) => x.name === name);
    return r && isSecretValue(r.inputs.stdin) ? String(r.inputs.stdin.value) : undefined;
  };
  const values = Object.values(configSecrets).flatMap((s) => s.split("\n"));
  const env = stdinOf("chatwoot-write-env");
  if (env) {
    const parsed = parseEnvFile(env);
    for (const name of ENV_SECRET_NAMES) if (parsed.has(name)) values.push(parsed.get(name)!);
  }
  const bootstrap = stdinOf("chatwoot-bootstrap");
  if (bootstrap) {
    const b = JSON.parse(bootstrap);
    values.push(b.admin.password, b.webhook?.secret);
  }
  const verify = stdinOf("chatwoot-verify");
  if (verify) values.push(JSON.parse(verify).api_token);
  return values.filter((v): v is string => typeof v === "string" && v.length >= 8 && !v.startsWith("-----"));
}
