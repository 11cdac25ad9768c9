/**
 * The env file's format, shared by the renderer, the config rules and the tests.
 *
 * Every value is written single-quoted. A POSIX shell then reads it byte for byte. Docker Compose
 * v2's dotenv parser (compose-go) does too, with one exception: inside single quotes it takes `\'`
 * as an escaped quote. So a value may not contain a single quote, a line break or NUL, and may not
 * end with a backslash (the closing quote would be escaped, and Compose would read on into the
 * next line, then quote it, a secret, in its parse error). The renderer refuses such values
 * instead of writing a file the two would read differently; checked against compose-go itself
 * and bash in infra/checks/env-parsers.test.ts. The file ends with ENV_FILE_END, so the host can
 * tell a complete file from a cut one.
 */

export type Entry = [name: string, value: string] | [comment: `# ${string}`];

/**
 * Starts a group of variables for one kind of service: "app" (Rails, Sidekiq), "backup" (the
 * backup service), "compose" (interpolated into compose.yaml and the Caddyfile only) or "host"
 * (read on the host by the watchdog, by no container). Each
 * service gets only its group, so a change recreates only the services that read it, and Rails
 * never sees the backup credentials.
 */
export const SCOPE_MARKER = "# [scope: ";
export const ENV_SCOPES = ["app", "backup", "compose", "host"] as const;

/** The NAME='value' lines of one scope, as scripts/compose.sh writes them for the services. */
export function envScope(envFile: string, scope: (typeof ENV_SCOPES)[number]): string {
  let current = "";
  const out: string[] = [];
  for (const line of envFile.split("\n")) {
    const m = /^# \[scope: ([a-z]+)\]$/.exec(line);
    if (m) current = m[1]!;
    else if (/^[A-Z][A-Z0-9_]*=/.test(line) && current === scope) out.push(line);
  }
  return out.length ? `${out.join("\n")}\n` : "";
}


/** Why a value cannot be written to the env file, or undefined when it can. */
export function envValueProblem(value: string): string | undefined {
  if (value.includes("'")) return "must not contain a single quote (')";
  if (/[\r\n]/.test(value)) return "must not contain a line break";
  if (value.includes("\0")) return "must not contain a NUL character";
  if (value.endsWith("\\")) return "must not end with a backslash (\\)";
  return undefined;
}

/** The last line of every rendered env file: write-env installs only a file that has it. */
export const ENV_FILE_END = "# end of env file";

/** One `NAME='value'` line; throws (naming only the variable) for a value it cannot encode. */
export function envLine(name: string, value: string): string {
  return `${name}=${quote(name, value)}`;
}

function quote(name: string, value: string): string {
  const problem = envValueProblem(value);
  // Names only: the value may be a secret.
  if (problem) throw new Error(`env value for ${name} ${problem}`);
  return `'${value}'`;
}


/** Parses an env file written by renderEnvFile (used by tests and the plan diff). */
export function parseEnvFile(text: string): Map<string, string> {
  const out = new Map<string, string>();
  for (const line of text.split("\n")) {
    const m = /^([A-Z][A-Z0-9_]*)='([^']*)'$/.exec(line);
    if (m) out.set(m[1]!, m[2]!);
  }
  return out;
}
