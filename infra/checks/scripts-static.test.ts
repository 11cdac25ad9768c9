/**
 * The host scripts' static checks: shellcheck, ruby -c, python3, and the bundle ships them.
 * (Split from one file so that vitest runs them side by side.)
 */
import * as fs from "node:fs";
import * as path from "node:path";
import { expect, it } from "vitest";
import { repoRoot } from "../lib/repo";
import { renderBundle, readBundleFiles } from "../server/bundle";
import { describeWithTools, run } from "../test/tools";
const SCRIPTS = path.join(repoRoot, "scripts");

describeWithTools("static checks", ["shellcheck", "ruby", "python3"], () => {
  // Every shell script that goes to the host: scripts/*.sh and the backup service's job.
  const shellScripts = [
    ...fs.readdirSync(SCRIPTS).filter((f) => f.endsWith(".sh")),
    "../docker/backup/chatwoot-backup",
    "../docker/backup/restore.sh",
  ];

  it("covers every script", () => {
    expect(shellScripts).toEqual(
      expect.arrayContaining(["compose.sh", "deploy.sh", "bootstrap.sh", "verify.sh", "backup.sh", "restore.sh", "rollback.sh"]),
    );
  });

  it.each(shellScripts)("shellcheck %s", (file) => {
    const r = run("shellcheck", ["-x", path.join(SCRIPTS, file)]);
    expect(r.stdout + r.stderr).toBe("");
    expect(r.status).toBe(0);
  });

  it("scripts are executable (lib.sh and the backup's restore.sh are only sourced)", () => {
    for (const f of shellScripts.filter((x) => !["lib.sh", "../docker/backup/restore.sh"].includes(x))) expect(fs.statSync(path.join(SCRIPTS, f)).mode & 0o111, f).not.toBe(0);
  });

  const watchdogModules = fs.readdirSync(SCRIPTS).filter((f) => /^watchdog.*\.py$/.test(f));
  it("python3 compiles the watchdog's modules (only the standard library and each other)", () => {
    expect(watchdogModules).toEqual(["watchdog.py", "watchdog_channels.py", "watchdog_checks.py", "watchdog_state.py"]);
    const own = watchdogModules.map((f) => f.replace(/\.py$/, ""));
    // Ubuntu's python3 runs it as it is: nothing outside the standard library.
    const stdlib = ["contextlib", "email", "fcntl", "hashlib", "hmac", "http", "json", "os", "re", "signal", "smtplib", "socket", "ssl", "subprocess", "sys", "time", "urllib"];
    for (const file of watchdogModules) {
      const r = run("python3", ["-c", "import ast,sys; t=ast.parse(open(sys.argv[1]).read()); print(sorted({a.name.split('.')[0] for n in ast.walk(t) if isinstance(n,(ast.Import,ast.ImportFrom)) for a in (n.names if isinstance(n,ast.Import) else [type('m',(),{'name':n.module})])}))", path.join(SCRIPTS, file)]);
      expect(r.status, file).toBe(0);
      const modules = JSON.parse(r.stdout.replace(/'/g, '"')) as string[];
      expect(modules.filter((m) => !stdlib.includes(m) && !own.includes(m)), file).toEqual([]);
    }
  });

  it("ruby -c bootstrap.rb", () => {
    const r = run("ruby", ["-c", path.join(SCRIPTS, "bootstrap.rb")]);
    expect(r.stdout).toContain("Syntax OK");
  });
});


// Keeps the bundle renderer honest about the scripts it ships.
it("ships every script in the bundle", () => {
  const manifest = renderBundle(readBundleFiles(repoRoot)).manifest;
  for (const s of ["scripts/deploy.sh", "scripts/bootstrap.sh", "scripts/bootstrap.rb", "scripts/verify.sh", "scripts/compose.sh"]) {
    expect(manifest).toMatch(new RegExp(`^0(755|644) [0-9a-f]{64} ${s}$`, "m"));
  }
});
