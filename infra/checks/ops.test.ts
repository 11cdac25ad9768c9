/**
 * ops/chatwoot.sh (the npm ops scripts): shellcheck, argument handling, error messages, and the
 * exact ssh command each one runs, with stand-ins for ssh and pulumi that record their arguments.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { repoRoot } from "../lib/repo";
import { describeWithTools, run, tempDir } from "../test/tools";

const OPS = path.join(repoRoot, "ops/chatwoot.sh");
const IP = "203.0.113.10";

let dir: string;
let bin: string;

beforeAll(() => {
  dir = tempDir("ops");
  bin = path.join(dir, "bin");
  fs.mkdirSync(bin);
  // TEST STAND-INS, not the real tools: each records its arguments, one per line.
  fs.writeFileSync(path.join(bin, "ssh"), `#!/usr/bin/env bash\nprintf '%s\\n' "$@" > "$STANDIN_DIR/ssh.args"\nexit "\${STANDIN_SSH_EXIT:-0}"\n`, { mode: 0o755 });
  fs.writeFileSync(
    path.join(bin, "pulumi"),
    `#!/usr/bin/env bash\nprintf '%s\\n' "$@" > "$STANDIN_DIR/pulumi.args"\n` +
      `if [[ -n "\${STANDIN_IPV4:-}" ]]; then echo "$STANDIN_IPV4"; else echo 'error: current stack does not have output property "ipv4"' >&2; exit 255; fi\n`,
    { mode: 0o755 },
  );
});
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

function ops(args: string[], env: NodeJS.ProcessEnv = {}, withPulumi = true) {
  for (const f of ["ssh.args", "pulumi.args"]) fs.rmSync(path.join(dir, f), { force: true });
  const system = "/usr/bin:/bin";
  const r = run("bash", [OPS, ...args], {
    env: { PATH: withPulumi ? `${bin}:${system}` : `${path.join(dir, "nopulumi")}:${system}`, STANDIN_DIR: dir, ...env },
  });
  const read = (f: string) => (fs.existsSync(path.join(dir, f)) ? fs.readFileSync(path.join(dir, f), "utf8").trimEnd().split("\n") : undefined);
  return { ...r, ssh: read("ssh.args"), pulumi: read("pulumi.args") };
}

describeWithTools("ops/chatwoot.sh", ["shellcheck"], () => {
  it("passes shellcheck", () => {
    const r = run("shellcheck", [OPS]);
    expect(r.stdout + r.stderr).toBe("");
    expect(r.status).toBe(0);
  });
});

describe("ops/chatwoot.sh: what each command runs", () => {
  it("logs follows rails and sidekiq by default, on the stack's ipv4", () => {
    const r = ops(["logs"], { STANDIN_IPV4: IP });
    expect(r.status).toBe(0);
    expect(r.pulumi).toEqual(["stack", "output", "ipv4"]);
    expect(r.ssh).toEqual(["-o", "ServerAliveInterval=30", `root@${IP}`, "/opt/chatwoot/bundle/scripts/compose.sh logs -f --tail 200 rails sidekiq"]);
  });

  it("takes --stack and --host before or right after the command", () => {
    let r = ops(["--stack", "staging", "logs", "caddy"], { STANDIN_IPV4: IP });
    expect(r.pulumi).toEqual(["stack", "output", "ipv4", "--stack", "staging"]);
    expect(r.ssh!.at(-1)).toBe("/opt/chatwoot/bundle/scripts/compose.sh logs -f --tail 200 caddy");
    r = ops(["logs", "--host", "198.51.100.7", "backup"]);
    expect(r.pulumi).toBeUndefined();
    expect(r.ssh).toContain("root@198.51.100.7");
    r = ops(["ssh"], { CHATWOOT_HOST: "198.51.100.8" });
    expect(r.ssh).toEqual(["-o", "ServerAliveInterval=30", "-t", "root@198.51.100.8"]);
  });

  it("exec quotes every word so the server's shell sees exactly what was typed", () => {
    const words = ["bundle", "exec", "rails", "runner", `puts "a b"; puts $HOME 'quoted'`];
    const r = ops(["--host", IP, "exec", ...words]);
    expect(r.status).toBe(0);
    expect(r.ssh!.slice(0, 4)).toEqual(["-o", "ServerAliveInterval=30", "-t", `root@${IP}`]);
    // What the remote shell makes of the command string:
    const parsed = run("bash", ["-c", `eval "set -- $1"; printf '%s\\n' "$@"`, "sh", r.ssh!.at(-1)!]);
    expect(parsed.stdout.trimEnd().split("\n")).toEqual(["/opt/chatwoot/bundle/scripts/compose.sh", "exec", "rails", ...words]);
  });

  it("console, backup:now, snapshots, restore and rollback run their scripts", () => {
    const remote = (args: string[]) => ops(["--host", IP, ...args]).ssh!.at(-1);
    expect(remote(["console"])).toBe("/opt/chatwoot/bundle/scripts/compose.sh exec rails bundle exec rails console");
    expect(remote(["backup:now"])).toBe("/opt/chatwoot/bundle/scripts/backup.sh all");
    expect(remote(["snapshots"])).toBe("/opt/chatwoot/bundle/scripts/backup.sh snapshots");
    expect(remote(["restore", "4f2a9c1e"])).toBe("/opt/chatwoot/bundle/scripts/restore.sh --snapshot 4f2a9c1e");
    expect(remote(["rollback"])).toBe("/opt/chatwoot/bundle/scripts/rollback.sh");
    expect(remote(["status"])).toBe("python3 /opt/chatwoot/bundle/scripts/watchdog.py status");
    expect(remote(["alerts:test"])).toBe("python3 /opt/chatwoot/bundle/scripts/watchdog.py test-alert");
    expect(remote(["alerts:silence", "90"])).toBe("python3 /opt/chatwoot/bundle/scripts/watchdog.py silence 90");
  });

  it("passes the remote command's exit status on", () => {
    expect(ops(["--host", IP, "backup:now"], { STANDIN_SSH_EXIT: "1" }).status).toBe(1);
  });

  it("is wired to the npm scripts", () => {
    const pkg = JSON.parse(fs.readFileSync(path.join(repoRoot, "package.json"), "utf8")) as { scripts: Record<string, string> };
    for (const name of ["ssh", "logs", "console", "exec", "backup:now", "snapshots", "restore", "rollback", "status", "alerts:test", "alerts:silence"]) {
      expect(pkg.scripts[name], name).toBe(`bash ops/chatwoot.sh ${name}`);
    }
  });
});

describe("ops/chatwoot.sh: errors", () => {
  const usage = (args: string[], message: string) => {
    const r = ops(args, { STANDIN_IPV4: IP });
    expect(r.status, args.join(" ")).toBe(2);
    expect(r.stderr).toContain(message);
    expect(r.stderr).toContain("usage: chatwoot.sh");
    expect(r.ssh).toBeUndefined();
  };

  it("rejects unknown commands, services and arguments before contacting anything", () => {
    usage([], "no command given");
    usage(["deploy"], "unknown command 'deploy'");
    usage(["logs", "nginx"], "unknown service 'nginx' (one of: rails sidekiq postgres redis caddy backup)");
    usage(["exec"], "exec needs a command");
    usage(["restore"], "restore needs one snapshot");
    usage(["restore", "yesterday"], "restore needs one snapshot");
    usage(["ssh", "ls"], "ssh takes no arguments");
    usage(["alerts:silence"], "alerts:silence needs minutes");
    usage(["alerts:silence", "1h"], "alerts:silence needs minutes");
    usage(["--host"], "--host needs a value");
    usage(["--host", "1.2.3.4;rm", "ssh"], "--host must be an address or hostname");
  });

  it("says the stack has no outputs yet", () => {
    const r = ops(["--stack", "dev", "logs"]);
    expect(r.status).toBe(1);
    expect(r.stderr).toContain("the stack dev has no ipv4 output yet: run pulumi up first, or pass --host <ipv4>");
    expect(r.ssh).toBeUndefined();
  });

  it("says how to go on without pulumi", () => {
    const r = ops(["logs"], {}, false);
    expect(r.status).toBe(1);
    expect(r.stderr).toContain("pulumi is not installed; pass --host <ipv4> or set CHATWOOT_HOST");
  });
});
