/**
 * A throwaway OpenSSH server on 127.0.0.1 (Debian's openssh-server) that accepts one generated
 * key for the current user and serves SFTP, standing in for a Storage Box in the backup tests.
 * stop() kills it and deletes its files.
 */
import { spawn, type ChildProcess } from "node:child_process";
import * as fs from "node:fs";
import * as net from "node:net";
import * as os from "node:os";
import * as path from "node:path";
import { freePort } from "./chatwoot-stub";
import { run, tempDir, which } from "./run";

export interface RunningSshd {
  port: number;
  user: string;
  /** The user's home directory, which relative SFTP paths start from. */
  home: string;
  /** Private key (OpenSSH text) that the server accepts. */
  clientKey: string;
  /** The base64 blob of another ed25519 host key, for host-key mismatch tests. */
  otherHostKey: string;
  stop(): void;
}

function keygen(file: string): void {
  const r = run("ssh-keygen", ["-q", "-t", "ed25519", "-N", "", "-C", "test-only", "-f", file]);
  if (r.status !== 0) throw new Error(`ssh-keygen failed: ${r.stderr}`);
}

async function waitForPort(port: number, child: ChildProcess, log: () => string): Promise<void> {
  // Up to five minutes: waits for the port, fails at once if sshd exits.
  for (let i = 0; i < 3000; i++) {
    if (child.exitCode !== null) throw new Error(`sshd exited: ${log()}`);
    const open = await new Promise<boolean>((resolve) => {
      const s = net.connect(port, "127.0.0.1", () => {
        s.destroy();
        resolve(true);
      });
      s.on("error", () => resolve(false));
    });
    if (open) return;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`sshd did not listen on ${port}: ${log()}`);
}

export async function startSshd(): Promise<RunningSshd> {
  const dir = tempDir("sshd");
  fs.chmodSync(dir, 0o755);
  const port = await freePort();
  for (const k of ["host_key", "other_host_key", "client_key"]) keygen(path.join(dir, k));
  fs.copyFileSync(path.join(dir, "client_key.pub"), path.join(dir, "authorized_keys"));
  const config = path.join(dir, "sshd_config");
  fs.writeFileSync(
    config,
    [
      `Port ${port}`,
      "ListenAddress 127.0.0.1",
      `HostKey ${path.join(dir, "host_key")}`,
      `PidFile ${path.join(dir, "sshd.pid")}`,
      `AuthorizedKeysFile ${path.join(dir, "authorized_keys")}`,
      "PasswordAuthentication no",
      "KbdInteractiveAuthentication no",
      "PubkeyAuthentication yes",
      "PermitRootLogin prohibit-password",
      "StrictModes no",
      "UsePAM no",
      "Subsystem sftp internal-sftp",
      "LogLevel ERROR",
      "",
    ].join("\n"),
  );
  // Privilege separation needs this directory when sshd runs as root.
  if (process.getuid?.() === 0) fs.mkdirSync("/run/sshd", { recursive: true, mode: 0o755 });
  let stderr = "";
  const child = spawn(which("sshd"), ["-D", "-e", "-f", config], { stdio: ["ignore", "ignore", "pipe"] });
  child.stderr!.on("data", (d) => (stderr += d));
  await waitForPort(port, child, () => stderr);
  const user = os.userInfo();
  return {
    port,
    user: user.username,
    home: user.homedir,
    clientKey: fs.readFileSync(path.join(dir, "client_key"), "utf8"),
    otherHostKey: fs.readFileSync(path.join(dir, "other_host_key.pub"), "utf8").split(" ")[1]!,
    stop() {
      child.kill("SIGTERM");
      fs.rmSync(dir, { recursive: true, force: true });
    },
  };
}
