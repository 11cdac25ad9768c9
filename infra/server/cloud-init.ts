/**
 * The server's cloud-init user data. Any change to it replaces the server (Hetzner's `userData`
 * forces a new server), so it holds only what is stable: Docker with the compose plugin, sshd
 * hardening, fail2ban, unattended security upgrades, Docker log rotation and swap. Everything that
 * changes with a deploy goes through remote steps instead.
 *
 * The full package upgrade of a new server does not hold up the deploy: cloud-init installs only
 * what the deploy needs (on fresh package lists, so Docker is already the newest) and finishes;
 * the upgrade then runs in the background while the deploy pulls images and migrates. Pure and deterministic: no timestamps,
 * no secrets, keys in a fixed order.
 */
import { stringify } from "yaml";

export interface CloudInitOptions {
  /** Size of the swap file in MiB; Chatwoot's asset-heavy Rails boot likes some headroom. @default 2048 */
  swapMb?: number;
}

/** Docker daemon settings: bounded local logs, containers survive a daemon restart. */
export const dockerDaemonConfig = {
  "log-driver": "local",
  "log-opts": { "max-size": "20m", "max-file": "5" },
  "live-restore": true,
};

/** Where the sshd hardening goes; see renderCloudInit for why it must sort first. */
export const SSHD_HARDENING_PATH = "/etc/ssh/sshd_config.d/00-chatwoot-hardening.conf";

// The "infra/render/cloud-init.ts" in these rendered comments is this file's path before the layout
// by concern. It stays as it is: the text is part of the server's user data, and any change to that
// replaces the server.
export const sshdHardening = [
  "# Managed by cloud-init (infra/render/cloud-init.ts)",
  "PasswordAuthentication no",
  "KbdInteractiveAuthentication no",
  "PermitRootLogin prohibit-password",
  "MaxAuthTries 3",
  "AllowAgentForwarding no",
  "AllowTcpForwarding no",
  "X11Forwarding no",
  "",
].join("\n");

const fail2banSshd = ["[sshd]", "enabled = true", "backend = systemd", "maxretry = 5", "bantime = 1h", ""].join("\n");

const autoUpgrades = [
  'APT::Periodic::Update-Package-Lists "1";',
  'APT::Periodic::Unattended-Upgrade "1";',
  'APT::Periodic::AutocleanInterval "7";',
  "",
].join("\n");

/** The packages Docker needs; they are held while the first upgrade runs beside a deploy. */
export const DOCKER_PACKAGES = ["docker.io", "containerd", "runc", "docker-compose-v2"];

/** The transient unit the first upgrade runs in (`systemctl status chatwoot-first-upgrade`). */
export const FIRST_UPGRADE_UNIT = "chatwoot-first-upgrade";
export const FIRST_UPGRADE_SCRIPT = "/usr/local/sbin/chatwoot-first-upgrade";

/**
 * The upgrade a new server gets once, in the background. Docker's packages are held meanwhile: a
 * daemon restart would abort the deploy's image pull, and they were installed from the same fresh
 * package lists, so holding them skips nothing. needrestart only lists what it would restart
 * (NEEDRESTART_MODE=l): nothing running is restarted under the deploy. A kernel update leaves
 * /var/run/reboot-required, which unattended-upgrades' own notices report too.
 */
const firstUpgrade = [
  "#!/bin/sh",
  "# Managed by cloud-init (infra/render/cloud-init.ts): the first full upgrade, beside the first deploy.",
  "set -u",
  "export DEBIAN_FRONTEND=noninteractive NEEDRESTART_MODE=l",
  `apt-mark hold ${DOCKER_PACKAGES.join(" ")} >/dev/null`,
  "rc=0",
  "apt-get -y -o Dpkg::Options::=--force-confold upgrade || rc=$?",
  `apt-mark unhold ${DOCKER_PACKAGES.join(" ")} >/dev/null`,
  'exit "$rc"',
  "",
].join("\n");

// Reboots stay an operator decision: a surprise reboot restarts Chatwoot mid-conversation.
const unattendedUpgradesLocal = ['Unattended-Upgrade::Automatic-Reboot "false";', ""].join("\n");

export function renderCloudInit(options: CloudInitOptions = {}): string {
  const swapMb = options.swapMb ?? 2048;
  const doc = {
    package_update: true,
    // Not here: cloud-init would upgrade everything before installing Docker (see firstUpgrade).
    package_upgrade: false,
    packages: ["docker.io", "docker-compose-v2", "fail2ban", "unattended-upgrades", "jq"],
    swap: { filename: "/swapfile", size: swapMb * 1024 * 1024 },
    write_files: [
      // sshd keeps the FIRST value it reads and includes drop-ins in lexical order: "00-" sorts
      // before the image's 50-cloud-init.conf (which may allow passwords), so these settings win.
      { path: SSHD_HARDENING_PATH, permissions: "0644", content: sshdHardening },
      { path: "/etc/docker/daemon.json", permissions: "0644", content: `${JSON.stringify(dockerDaemonConfig, null, 2)}\n` },
      { path: "/etc/fail2ban/jail.d/sshd.local", permissions: "0644", content: fail2banSshd },
      { path: "/etc/apt/apt.conf.d/20auto-upgrades", permissions: "0644", content: autoUpgrades },
      { path: "/etc/apt/apt.conf.d/52unattended-upgrades-local", permissions: "0644", content: unattendedUpgradesLocal },
      { path: FIRST_UPGRADE_SCRIPT, permissions: "0755", content: firstUpgrade },
    ],
    runcmd: [
      ["systemctl", "enable", "--now", "docker"],
      ["systemctl", "enable", "--now", "fail2ban"],
      ["systemctl", "try-reload-or-restart", "ssh"],
      // Returns at once: the upgrade runs as its own unit, after cloud-init has finished.
      ["systemd-run", `--unit=${FIRST_UPGRADE_UNIT}`, "--description=First full package upgrade", FIRST_UPGRADE_SCRIPT],
    ],
  };
  return `#cloud-config\n${stringify(doc, { lineWidth: 0 })}`;
}
