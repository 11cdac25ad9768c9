import * as fs from "node:fs";
import * as path from "node:path";
import { describe, expect, it } from "vitest";
import { parse } from "yaml";
import { describeWithTools, run, tempDir } from "../test/tools";
import { dockerDaemonConfig, renderCloudInit } from "./cloud-init";

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
    const sshd = doc.write_files.find((f: { path: string }) => f.path === "/etc/ssh/sshd_config.d/50-hardening.conf").content;
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
