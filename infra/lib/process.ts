/** Child processes: running one and collecting its output; exiting without losing output. */
import { spawn } from "node:child_process";

export interface Collected {
  status: number | null;
  stdout: string;
  stderr: string;
}

export function runCollect(
  cmd: string,
  args: string[],
  opts: { input?: string; env?: NodeJS.ProcessEnv; cwd?: string } = {},
): Promise<Collected> {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { env: opts.env ?? process.env, cwd: opts.cwd, stdio: ["pipe", "pipe", "pipe"] });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (d) => (stdout += d));
    child.stderr.on("data", (d) => (stderr += d));
    child.on("error", reject);
    child.on("close", (status) => resolve({ status, stdout, stderr }));
    child.stdin.end(opts.input ?? "");
  });
}

/**
 * Exits once everything written to stdout has reached the pipe. process.exit() right after a
 * large write drops what is still buffered for a pipe (a parent reading `plan --json` got cut
 * JSON past ~146 KB); the callback of a write runs only after the writes before it.
 */
export function exitAfterFlush(code: number): void {
  process.stdout.write("", () => process.exit(code));
}
