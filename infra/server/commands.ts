/**
 * The shell text of each remote step, as pure functions. What changes between deploys (bundle file
 * hashes, the masked env, the version) is written into the text on purpose: a preview then shows a
 * readable diff of exactly what will change on the host. Secrets never appear here; they travel on
 * the steps' stdin.
 *
 * A little over ~300 lines: one small renderer per step, side by side so that their quoting rules
 * are read together.
 */
import { ADOPTION, chatwoot } from "../facts/chatwoot";
import type { RenderedBundle } from "./bundle";
import { ENV_FILE_END } from "../chatwoot/env-file";
import { shortHash } from "../lib/hash";

export interface HostPaths {
  /** e.g. /opt/chatwoot */
  appDir: string;
  /** e.g. /srv/chatwoot */
  dataDir: string;
}

/** Single-quotes a word for sh. */
export function shellQuote(s: string): string {
  return `'${s.replace(/'/g, `'\\''`)}'`;
}

const comment = (lines: string[]) => lines.map((l) => `# ${l}`.trimEnd()).join("\n");

/** The systemd unit that stops the containers cleanly on shutdown (wait-ready installs it). */
export const CHATWOOT_UNIT = "chatwoot.service";

/**
 * The shutdown's budget, in two stages that together fit inside the provider's wait before it
 * deletes a server being replaced (SHUTDOWN_BEFORE_DELETION_SECONDS): first everything that uses the
 * database (Sidekiq's own shutdown timeout, `-t` in compose.yaml, is shorter, so it pushes the jobs
 * it could not finish back to Redis before Docker would kill it), then the datastores (PostgreSQL's
 * fast shutdown and Redis's last append-only write take seconds).
 */
export const SHUTDOWN_STOP_SECONDS = { app: 18, datastores: 10 } as const;
// Services without a profile only: naming a profiled one (rails-surge, backup) is left to the
// second stage, which stops whatever still runs.
const APP_SERVICES = ["caddy", "rails", "sidekiq"];

/**
 * Ordered after docker and the data volume's mount: at shutdown systemd stops units in reverse
 * order, so the containers stop while Docker still runs and before the volume is unmounted, and
 * only then does the server power off and Hetzner detach the volume. At boot it starts the
 * containers again (compose's stop leaves them "stopped", which restart: unless-stopped would
 * otherwise respect). Both ends tolerate a host with nothing deployed yet (the "-" prefix), so the
 * unit never blocks a boot or a shutdown.
 */
export function renderShutdownUnit(p: HostPaths): string {
  const compose = `${p.appDir}/bundle/scripts/compose.sh`;
  const { app, datastores } = SHUTDOWN_STOP_SECONDS;
  return `[Unit]
Description=Chatwoot containers, stopped cleanly before Docker and ${p.dataDir} go away
After=docker.service
Wants=docker.service
RequiresMountsFor=${p.dataDir}

[Service]
Type=oneshot
RemainAfterExit=yes
ExecStart=-${compose} start
ExecStop=-${compose} stop -t ${app} ${APP_SERVICES.join(" ")}
ExecStop=-${compose} stop -t ${datastores}
TimeoutStopSec=${2 * (app + datastores)}

[Install]
WantedBy=multi-user.target
`;
}

/** The watchdog's units: a oneshot service and the timer that runs it every minute. */
export const WATCHDOG_SERVICE = "chatwoot-watchdog.service";
export const WATCHDOG_TIMER = "chatwoot-watchdog.timer";

/**
 * The watchdog (scripts/watchdog.py) runs from the deployed bundle, so a new version of it takes
 * effect with the upload; the units themselves never change with a deploy. Before the first upload
 * the condition skips the run instead of failing it.
 */
export function renderWatchdogUnits(p: HostPaths): { service: string; timer: string } {
  const script = `${p.appDir}/bundle/scripts/watchdog.py`;
  return {
    service: `[Unit]
Description=Chatwoot watchdog: checks the site, disks and backups, alerts on a change
After=docker.service ${CHATWOOT_UNIT}
ConditionPathExists=${script}

[Service]
Type=oneshot
ExecStart=/usr/bin/python3 ${script} run
TimeoutStartSec=240
`,
    timer: `[Unit]
Description=Runs the Chatwoot watchdog every minute

[Timer]
OnBootSec=2min
OnUnitActiveSec=1min
AccuracySec=5s

[Install]
WantedBy=timers.target
`,
  };
}

/**
 * The Docker Engine API the compose file needs: healthcheck `start_interval` (a short probe
 * interval while a container starts, so `up --wait` does not wait out a 30 s interval) is refused
 * by Compose below API 1.44, Docker Engine 25 (docker/compose pkg/compose/convert.go).
 */
export const MIN_DOCKER_API = "1.44";
export const dockerApiCheck = `api=$(docker version --format '{{.Server.APIVersion}}' 2>/dev/null || true)
if [ -z "$api" ] || [ "$(printf '%s\\n%s\\n' "${MIN_DOCKER_API}" "$api" | sort -V | head -n 1)" != "${MIN_DOCKER_API}" ]; then
  echo "Docker Engine API \${api:-unknown} is older than ${MIN_DOCKER_API} (Docker 25), which the compose file's health checks need; use chatwoot:image ubuntu-24.04" >&2; exit 1
fi`;

/**
 * Waits for cloud-init, mounts the data volume by its stable device id (fstab, nofail), and sets
 * root's authorized_keys to the configured public keys (stdin), so key rotation needs no rebuild.
 */
export function renderWaitReadyCommand(p: HostPaths & { volumeDevice: string; volumeSizeGb: number }): string {
  const mnt = shellQuote(p.dataDir);
  const dev = shellQuote(p.volumeDevice);
  return `set -eu
# cloud-init: 0 = done, 2 = done with recoverable errors (both fine), anything else is a failure.
rc=0; cloud-init status --wait >/dev/null 2>&1 || rc=$?
if [ "$rc" -ne 0 ] && [ "$rc" -ne 2 ]; then
  echo "cloud-init failed (exit $rc); see /var/log/cloud-init-output.log on the server" >&2; exit 1
fi
docker compose version >/dev/null 2>&1 || { echo "docker compose is not installed: cloud-init did not finish" >&2; exit 1; }
${dockerApiCheck}
# The data volume, by device id: automount is unreliable when a volume is re-attached.
dev=${dev}
i=0; while [ ! -e "$dev" ] && [ "$i" -lt 60 ]; do sleep 2; i=$((i + 1)); done
[ -e "$dev" ] || { echo "the data volume ($dev) is not attached to this server" >&2; exit 1; }
mkdir -p ${mnt}
line="$dev ${p.dataDir} ext4 defaults,nofail,discard 0 2"
if ! grep -qxF "$line" /etc/fstab; then
  grep -v "[[:space:]]${p.dataDir}[[:space:]]" /etc/fstab > /etc/fstab.new || true
  echo "$line" >> /etc/fstab.new && mv /etc/fstab.new /etc/fstab
fi
mountpoint -q ${mnt} || mount ${mnt}
[ "$(findmnt -n -o SOURCE ${mnt})" = "$(readlink -f "$dev")" ] || { echo "${p.dataDir} is not the data volume" >&2; exit 1; }
# Volume size ${p.volumeSizeGb} GB: after Hetzner grows the volume, grow the filesystem (online; a no-op otherwise).
resize2fs "$dev" >/dev/null 2>&1 || { echo "could not grow the filesystem on $dev to the volume's size" >&2; exit 1; }
install -d -m 0700 ${shellQuote(p.appDir)}
# Stops Chatwoot cleanly before Docker stops and the volume is unmounted, on any shutdown.
cat > /etc/systemd/system/${CHATWOOT_UNIT}.new <<'UNIT'
${renderShutdownUnit(p)}UNIT
mv -f /etc/systemd/system/${CHATWOOT_UNIT}.new /etc/systemd/system/${CHATWOOT_UNIT}
# The watchdog: every minute, checks what verify checks and more, and alerts on a change.
cat > /etc/systemd/system/${WATCHDOG_SERVICE}.new <<'UNIT'
${renderWatchdogUnits(p).service}UNIT
cat > /etc/systemd/system/${WATCHDOG_TIMER}.new <<'UNIT'
${renderWatchdogUnits(p).timer}UNIT
mv -f /etc/systemd/system/${WATCHDOG_SERVICE}.new /etc/systemd/system/${WATCHDOG_SERVICE}
mv -f /etc/systemd/system/${WATCHDOG_TIMER}.new /etc/systemd/system/${WATCHDOG_TIMER}
systemctl daemon-reload
systemctl enable --quiet ${CHATWOOT_UNIT}
systemctl start ${CHATWOOT_UNIT}
systemctl enable --quiet --now ${WATCHDOG_TIMER}
# authorized_keys: exactly the configured keys and the stack's deploy key (stdin).
umask 077; mkdir -p /root/.ssh
cat > /root/.ssh/authorized_keys.new
[ -s /root/.ssh/authorized_keys.new ] || { echo "refusing to write an empty authorized_keys" >&2; exit 1; }
mv -f /root/.ssh/authorized_keys.new /root/.ssh/authorized_keys
echo "ready: cloud-init done, ${p.dataDir} mounted from $dev"`;
}

/**
 * Receives the bundle on stdin (one file per line: mode, sha256, path, base64), checks every
 * file, and switches to it in one rename(2) of the `bundle` symlink, so a kill at any point
 * leaves either the old bundle or the new one, never none. Files removed from the repository
 * disappear from the host too. `bundle.previous` points at the one before (deploy.sh goes back to
 * it when a configuration change comes up unhealthy); older releases and the leftovers of an
 * interrupted upload are removed.
 */
export function renderUploadCommand(p: HostPaths, bundle: RenderedBundle, summary: string[]): string {
  const app = shellQuote(p.appDir);
  const count = bundle.manifest.trimEnd().split("\n").length;
  const id = shortHash(bundle.manifest);
  return `set -eu
app=${app}
install -d -m 0700 "$app" "$app/bundles"
find "$app/bundles" -mindepth 1 -maxdepth 1 -name '.staging-*' -exec rm -rf {} +
staging=$(mktemp -d "$app/bundles/.staging-XXXXXX")
trap 'rm -rf "$staging"' EXIT
while read -r mode sum path data; do
  case "$path" in ""|/*|*..*) echo "unsafe path in bundle: $path" >&2; exit 1 ;; esac
  mkdir -p "$staging/$(dirname "$path")"
  printf '%s' "$data" | base64 -d > "$staging/$path"
  chmod "$mode" "$staging/$path"
  echo "$sum  $staging/$path" | sha256sum -c --quiet - >/dev/null 2>&1 || { echo "checksum mismatch: $path" >&2; exit 1; }
  echo "$mode $sum $path" >> "$staging/MANIFEST"
done
[ "$(wc -l < "$staging/MANIFEST")" -eq ${count} ] || { echo "bundle incomplete: expected ${count} files" >&2; exit 1; }
chmod 0755 "$staging"
release="bundles/${id}-\${staging##*.staging-}"
mv "$staging" "$app/$release"
trap - EXIT
# A plain directory from an earlier version of this stack becomes a release like the others.
if [ -d "$app/bundle" ] && [ ! -L "$app/bundle" ]; then mv "$app/bundle" "$app/bundles/legacy-$$"; ln -s "bundles/legacy-$$" "$app/bundle"; fi
previous=$(readlink "$app/bundle" 2>/dev/null || true)
ln -sfn "$release" "$app/bundle.next" && mv -T "$app/bundle.next" "$app/bundle"
if [ -n "$previous" ] && [ "$previous" != "$release" ]; then
  ln -sfn "$previous" "$app/bundle.previous.next" && mv -T "$app/bundle.previous.next" "$app/bundle.previous"
fi
keep_previous=$(readlink "$app/bundle.previous" 2>/dev/null || true)
for dir in "$app"/bundles/*; do
  case "bundles/\${dir##*/}" in "$release"|"$keep_previous") ;; *) rm -rf "$dir" ;; esac
done
echo "bundle ${id}: ${count} files in $app/bundle"
${comment(["files:", ...summary.map((s) => `  ${s}`)])}`;
}

/**
 * Writes the env file from stdin, mode 0600, and installs it only when it is complete (it ends
 * with the renderer's end marker) and every line is a comment or NAME='value'. A cut stream or a
 * failed write never replaces the running .env, and no partial copy is left behind. The one it
 * replaces is kept as .env.previous for deploy.sh. The masked copy is only a comment.
 */
export function renderWriteEnvCommand(p: HostPaths, maskedEnv: string): string {
  const app = shellQuote(p.appDir);
  return `set -eu
umask 077
app=${app}
install -d -m 0700 "$app"
rm -f "$app/.env.new"
tmp=$(mktemp "$app/.env.XXXXXX")
trap 'rm -f "$tmp"' EXIT
cat > "$tmp"
[ "$(tail -n 1 "$tmp")" = ${shellQuote(ENV_FILE_END)} ] || { echo "the env file arrived incomplete; the current .env is kept" >&2; exit 1; }
if grep -qvE "^(#.*|[A-Z][A-Z0-9_]*='[^']*')?$" "$tmp"; then echo "the env file has a malformed line; the current .env is kept" >&2; exit 1; fi
grep -q '^SECRET_KEY_BASE=' "$tmp" || { echo "the env file lacks SECRET_KEY_BASE; the current .env is kept" >&2; exit 1; }
chmod 0600 "$tmp"
if [ -f "$app/.env" ] && ! cmp -s "$app/.env" "$tmp"; then cp -p "$app/.env" "$app/.env.previous"; fi
mv -f "$tmp" "$app/.env"
trap - EXIT
echo "wrote ${p.appDir}/.env"
${comment(["env file, secrets masked (the real one arrives on stdin):", ...maskedEnv.trimEnd().split("\n").map((l) => `  ${l.replace(/^# /, "")}`)])}`;
}

/** Runs deploy.sh; the env file's sha256 comes on stdin so deploy.sh can check what it runs with. */
export function renderDeployCommand(p: HostPaths, d: { version: string; bundleHash: string; maskedEnvHash: string; serverType: string }): string {
  return `${shellQuote(`${p.appDir}/bundle/scripts/deploy.sh`)} --version ${shellQuote(d.version)}
${comment([
  `files ${d.bundleHash.slice(0, 12)}, env (masked) ${d.maskedEnvHash.slice(0, 12)}`,
  // scripts/tuning.sh sizes Puma, Sidekiq and PostgreSQL to the server: a resize re-runs deploy.
  `sized on a ${d.serverType} (scripts/tuning.sh)`,
])}`;
}

/**
 * Disaster recovery on a new server: restores a backup snapshot into the still-empty database
 * before deploy.sh migrates it. restore.sh skips the restore when the database already has tables,
 * so an intact volume (a replaced server) is never overwritten.
 */
export function renderRestoreCommand(p: HostPaths, r: { snapshot: string }): string {
  return `${shellQuote(`${p.appDir}/bundle/scripts/restore.sh`)} --before-deploy --snapshot ${shellQuote(r.snapshot)}
${comment(["restores only into an empty database (chatwoot:restoreFrom)"])}`;
}

export interface AdoptStep {
  /** The release deploy.sh migrates the adopted database to. */
  version: string;
  /** File names in <data dir>/adopt/, uploaded by pulumi up. */
  databaseFile?: string;
  storageFile?: string;
  /** The attachments already live in the configured bucket. */
  storageInBucket: boolean;
  /** URLs arrive on stdin. */
  urlsOnStdin: boolean;
}

/**
 * Loads another installation's dump (and files) into the still-empty database before deploy.sh
 * migrates it (chatwoot:adopt). adopt.sh does nothing once the database has tables.
 */
export function renderAdoptCommand(p: HostPaths, a: AdoptStep): string {
  const args: string[] = [
    "--before-deploy",
    "--version", a.version,
    "--v4-migration", ADOPTION.firstV4Migration,
    "--from-v3", chatwoot.isAtLeast(a.version, ADOPTION.v3DirectLimit) ? "refuse" : "allow",
    "--v41-needed-before", ADOPTION.v41NeededBefore,
    ...(ADOPTION.newestMigration[a.version.replace(/-ce$/, "")] ? ["--target-newest", ADOPTION.newestMigration[a.version.replace(/-ce$/, "")]!] : []),
    ...(a.databaseFile ? ["--database", a.databaseFile] : []),
    ...(a.storageInBucket ? ["--storage", "bucket"] : a.storageFile ? ["--storage", a.storageFile] : []),
    ...(a.urlsOnStdin ? ["--urls-on-stdin"] : []),
  ];
  return `${shellQuote(`${p.appDir}/bundle/scripts/adopt.sh`)} ${args.map(shellQuote).join(" ")}
${comment(["loads the adopted installation only into an empty database (chatwoot:adopt)"])}`;
}

/** Makes the directory the adopted files are uploaded into (only the deploy user can read it). */
export function renderAdoptStageCommand(p: HostPaths): string {
  return `install -d -m 0700 ${shellQuote(`${p.dataDir}/adopt`)}`;
}

/**
 * Runs the bootstrap inside the rails container; its JSON config (with secrets) comes on stdin.
 * The release and the script's hash are in the text so that either change re-runs it.
 */
export function renderBootstrapCommand(p: HostPaths, b: { configHash: string; version: string; scriptHash: string }): string {
  return `${shellQuote(`${p.appDir}/bundle/scripts/bootstrap.sh`)}
${comment([`bootstrap config ${b.configHash.slice(0, 12)} (secrets excluded), release ${b.version}, scripts ${b.scriptHash.slice(0, 12)}`])}`;
}

export interface VerifyTarget {
  domain: string;
  /** Release tag, e.g. v4.15.1; /api reports it without the v. */
  version: string;
  frameOrigins: string[];
  /** Hashes of everything verify checks, so any change re-runs it. */
  inputsHash: string;
  /** The backup service's state directory, when backups are enabled: verify checks their age. */
  backupStateDir?: string;
  /** The help center's own hostname (chatwoot:helpCenterDomain), checked like the domain. */
  helpCenterDomain?: string;
}

/** Runs verify.sh with what it must find; the API token and ids come on stdin. */
export function renderVerifyCommand(p: HostPaths, v: VerifyTarget, publicIps: { v4: string; v6: string }): string {
  const args: [string, string][] = [
    ["--domain", v.domain],
    ...(v.helpCenterDomain ? ([["--help-center", v.helpCenterDomain]] as [string, string][]) : []),
    ["--version", v.version],
    ["--frame-origins", v.frameOrigins.join(" ")],
    ["--public-ipv4", publicIps.v4],
    ["--public-ipv6", publicIps.v6],
    ...(v.backupStateDir ? ([["--backup-state", v.backupStateDir]] as [string, string][]) : []),
  ];
  return `${shellQuote(`${p.appDir}/bundle/scripts/verify.sh`)} ${args.map(([k, val]) => `${k} ${shellQuote(val)}`).join(" ")} --watchdog
${comment([`checks ${v.inputsHash.slice(0, 12)}`])}`;
}
