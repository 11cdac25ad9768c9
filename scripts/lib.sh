# shellcheck shell=bash
# Sourced by the host scripts (not run): where this installation lives and what its rendered .env
# turns on. The scripts sit in <app dir>/bundle/scripts.
here=$(cd "$(dirname "${BASH_SOURCE[1]}")" && pwd -P)
# The bundle is <app dir>/bundle, a symlink to <app dir>/bundles/<release> (the upload step).
app_dir=$(cd "$here/../.." && pwd -P)
[[ "${app_dir##*/}" == bundles ]] && app_dir=${app_dir%/bundles}
# shellcheck disable=SC2034 # used by the scripts that source this file
compose="$here/compose.sh"

# Files that running containers read while they run (Caddy's config, the backup job) are mounted
# from <app dir>/live, a fixed directory, not from the bundle: a bind mount pins the file it was
# created with, so after the bundle switches to a new release a container would keep reading the
# old one. compose.sh copies them in before every compose command; deploy.sh reloads Caddy and
# restarts the backup service when what they run differs from what is there.
live_dir="$app_dir/live"
sync_live_files() {
  local from to
  while read -r from to; do
    from="$app_dir/bundle/$from" to="$live_dir/$to"
    [[ -r "$from" ]] || continue
    cmp -s "$from" "$to" 2>/dev/null && continue
    { mkdir -p "$(dirname "$to")" && cp -p "$from" "$to.new" && mv -f "$to.new" "$to"; } ||
      { echo "could not install $to from the bundle" >&2; return 1; }
  done <<'FILES'
docker/Caddyfile caddy/Caddyfile
docker/backup/chatwoot-backup backup/chatwoot-backup
FILES
}

# Whether the .env that Pulumi rendered enables the backup service (chatwoot:backup.enabled).
backups_enabled() { grep -qx "BACKUP_ENABLED='true'" "$app_dir/.env" 2>/dev/null; }

# One host-wide lock for everything that changes what runs (deploy, rollback, backup before an
# upgrade, restore): they must never interleave. A script called by the holder (deploy.sh calling
# backup.sh) inherits it through CHATWOOT_LOCK_HELD.
take_lock() {
  local who=$1
  [[ -n "${CHATWOOT_LOCK_HELD:-}" ]] && return 0
  exec 9>>"$app_dir/.lock"
  if ! flock -n 9; then
    echo "$who: another deploy, rollback, backup or restore is running on this host ($(cat "$app_dir/.lock.owner" 2>/dev/null || echo "owner unknown")); try again when it has finished" >&2
    exit 1
  fi
  printf '%s (pid %s) since %s\n' "$who" "$$" "$(date -u +%Y-%m-%dT%H:%M:%SZ)" >"$app_dir/.lock.owner" 2>/dev/null || true
  export CHATWOOT_LOCK_HELD=1
}
