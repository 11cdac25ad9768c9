import * as fs from "node:fs";
import * as path from "node:path";
import { describe, expect, it } from "vitest";
import { parse } from "yaml";
import { describeWithTools, run, tempDir } from "../test/tools";
import { DOCKER_PACKAGES, dockerDaemonConfig, FIRST_UPGRADE_SCRIPT, FIRST_UPGRADE_UNIT, renderCloudInit, SSHD_HARDENING_PATH, sshdHardening } from "./cloud-init";

describe("renderCloudInit", () => {
  const text = renderCloudInit();
  const doc = parse(text);

  it("is a cloud-config document", () => {
    expect(text.startsWith("#cloud-config\n")).toBe(true);
  });

  it("is byte-identical on every render (any change would replace the server)", () => {
    expect(renderCloudInit()).toBe(text);
    expect(renderCloudInit({ swapMb: 2048 })).toBe(text);
    expect(renderCloudInit({ swapMb: 4096 })).not.toBe(text);
  });

  it("installs Docker with the compose plugin, fail2ban and unattended upgrades", () => {
    expect(doc.packages).toEqual(expect.arrayContaining(["docker.io", "docker-compose-v2", "fail2ban", "unattended-upgrades"]));
    expect(doc.runcmd).toContainEqual(["systemctl", "enable", "--now", "docker"]);
  });

  it("hardens sshd: keys only, few tries, no forwarding", () => {
    const sshd = doc.write_files.find((f: { path: string }) => f.path === SSHD_HARDENING_PATH).content;
    expect(sshd).toMatch(/^PasswordAuthentication no$/m);
    expect(sshd).toMatch(/^PermitRootLogin prohibit-password$/m);
    expect(sshd).toMatch(/^MaxAuthTries 3$/m);
    expect(sshd).toMatch(/^AllowTcpForwarding no$/m);
  });

  it("rotates Docker logs and adds swap", () => {
    const daemon = doc.write_files.find((f: { path: string }) => f.path === "/etc/docker/daemon.json").content;
    expect(JSON.parse(daemon)).toEqual(dockerDaemonConfig);
    expect(dockerDaemonConfig["log-opts"]["max-file"]).toBe("5");
    expect(doc.swap).toEqual({ filename: "/swapfile", size: 2048 * 1024 * 1024 });
  });

  it("does not make the deploy wait for the full upgrade: it runs afterwards, as its own unit", () => {
    // cloud-init's own upgrade runs before its package installs, so Docker would wait for it.
    expect(doc.package_upgrade).toBe(false);
    expect(doc.package_update).toBe(true);
    expect(doc.packages).toEqual(expect.arrayContaining(DOCKER_PACKAGES.filter((p) => p !== "containerd" && p !== "runc")));
    expect(doc.runcmd.at(-1)).toEqual(["systemd-run", `--unit=${FIRST_UPGRADE_UNIT}`, "--description=First full package upgrade", FIRST_UPGRADE_SCRIPT]);
    const script = doc.write_files.find((f: { path: string }) => f.path === FIRST_UPGRADE_SCRIPT);
    expect(script.permissions).toBe("0755");
  });

  it("contains no secrets and nothing host-specific", () => {
    expect(text).not.toMatch(/PRIVATE KEY|password=|SECRET/i);
  });
});

describeWithTools("cloud-init schema", ["cloud-init"], () => {
  it("accepts the rendered user data", () => {
    const dir = tempDir("cloud-init");
    const file = path.join(dir, "user-data.yaml");
    fs.writeFileSync(file, renderCloudInit());
    const result = run("cloud-init", ["schema", "--config-file", file]);
    fs.rmSync(dir, { recursive: true, force: true });
    expect(result.stdout + result.stderr).toContain("Valid cloud-config");
    expect(result.status).toBe(0);
  });

  it("is strict enough to reject a broken document (the check can fail)", () => {
    const dir = tempDir("cloud-init");
    const file = path.join(dir, "bad.yaml");
    fs.writeFileSync(file, renderCloudInit().replace(/size: \d+/, 'size: "lots"'));
    const result = run("cloud-init", ["schema", "--config-file", file]);
    fs.rmSync(dir, { recursive: true, force: true });
    expect(result.status).not.toBe(0);
  });
});

describeWithTools("the sshd hardening, as sshd itself reads it (sshd -T)", ["sshd", "ssh-keygen"], () => {
  /** sshd's effective settings for a config that includes the drop-ins, as Ubuntu's does. */
  function effective(dropIns: Record<string, string>): Map<string, string> {
    const dir = tempDir("sshd-config");
    try {
      fs.mkdirSync(path.join(dir, "sshd_config.d"));
      for (const [name, content] of Object.entries(dropIns)) fs.writeFileSync(path.join(dir, "sshd_config.d", name), content);
      run("ssh-keygen", ["-q", "-t", "ed25519", "-N", "", "-f", path.join(dir, "host_key")]);
      // Ubuntu 24.04's sshd_config starts with this Include, then sets its own defaults.
      fs.writeFileSync(
        path.join(dir, "sshd_config"),
        `Include ${dir}/sshd_config.d/*.conf\nHostKey ${dir}/host_key\nKbdInteractiveAuthentication no\nX11Forwarding yes\n`,
      );
      const r = run("sshd", ["-T", "-f", path.join(dir, "sshd_config")]);
      if (r.status !== 0) throw new Error(`sshd -T failed: ${r.stderr}`);
      return new Map(r.stdout.trim().split("\n").map((l) => [l.split(" ")[0]!, l.slice(l.indexOf(" ") + 1)]));
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  }
  // What cloud images ship in their own drop-ins, which must not win.
  const imageDropIns = {
    "50-cloud-init.conf": "PasswordAuthentication yes\n",
    "10-operator.conf": "PermitRootLogin yes\nAllowTcpForwarding yes\nMaxAuthTries 10\n",
  };

  it("wins over the image's and other drop-ins", () => {
    const s = effective({ [path.basename(SSHD_HARDENING_PATH)]: sshdHardening, ...imageDropIns });
    expect(s.get("passwordauthentication")).toBe("no");
    expect(s.get("permitrootlogin")).toBe("without-password");
    expect(s.get("maxauthtries")).toBe("3");
    expect(s.get("allowtcpforwarding")).toBe("no");
    expect(s.get("x11forwarding")).toBe("no");
    expect(s.get("kbdinteractiveauthentication")).toBe("no");
  });

  it("would lose under its former name, which sorted after 50-cloud-init.conf", () => {
    const s = effective({ "50-hardening.conf": sshdHardening, ...imageDropIns });
    expect(s.get("passwordauthentication")).toBe("yes");
  });
});


describeWithTools("the first upgrade script, run against stand-in apt tools", ["shellcheck"], () => {
  const script = (parse(renderCloudInit()).write_files as { path: string; content: string }[]).find((f) => f.path === FIRST_UPGRADE_SCRIPT)!.content;

  it("passes shellcheck", () => {
    const dir = tempDir("first-upgrade");
    fs.writeFileSync(path.join(dir, "s.sh"), script);
    const r = run("shellcheck", ["-s", "sh", path.join(dir, "s.sh")]);
    fs.rmSync(dir, { recursive: true, force: true });
    expect(r.stdout + r.stderr).toBe("");
    expect(r.status).toBe(0);
  });

  // TEST STAND-INS for apt-mark and apt-get: they record their arguments and environment.
  function runWith(upgradeExit: number) {
    const dir = tempDir("first-upgrade");
    const bin = path.join(dir, "bin");
    fs.mkdirSync(bin);
    const log = path.join(dir, "calls.log");
    for (const tool of ["apt-mark", "apt-get"]) {
      const exit = tool === "apt-get" ? upgradeExit : 0;
      fs.writeFileSync(path.join(bin, tool), `#!/bin/sh\necho "${tool} $* [NEEDRESTART_MODE=$NEEDRESTART_MODE DEBIAN_FRONTEND=$DEBIAN_FRONTEND]" >> ${log}\nexit ${exit}\n`, { mode: 0o755 });
    }
    fs.writeFileSync(path.join(dir, "s.sh"), script);
    const r = run("sh", [path.join(dir, "s.sh")], { env: { PATH: `${bin}:/usr/bin:/bin` } });
    const calls = fs.readFileSync(log, "utf8").trim().split("\n");
    fs.rmSync(dir, { recursive: true, force: true });
    return { status: r.status, calls };
  }

  it("holds Docker's packages around the upgrade, restarts nothing, and releases them even when the upgrade fails", () => {
    const env = "[NEEDRESTART_MODE=l DEBIAN_FRONTEND=noninteractive]";
    const expected = [
      `apt-mark hold ${DOCKER_PACKAGES.join(" ")} ${env}`,
      `apt-get -y -o Dpkg::Options::=--force-confold upgrade ${env}`,
      `apt-mark unhold ${DOCKER_PACKAGES.join(" ")} ${env}`,
    ];
    const ok = runWith(0);
    expect(ok.calls).toEqual(expected);
    expect(ok.status).toBe(0);
    const failed = runWith(100);
    expect(failed.calls).toEqual(expected);
    expect(failed.status).toBe(100);
  });
});
