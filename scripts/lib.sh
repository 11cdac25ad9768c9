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
  local from to tmp
  while read -r from to; do
    from="$app_dir/bundle/$from" to="$live_dir/$to"
    [[ -r "$from" ]] || continue
    cmp -s "$from" "$to" 2>/dev/null && continue
    # A temporary file of its own: compose.sh may run twice at once (deploy.sh pulls during a backup).
    { mkdir -p "$(dirname "$to")" && tmp=$(mktemp "$to.XXXXXX") && cp -p "$from" "$tmp" && mv -f "$tmp" "$to"; } ||
      { rm -f "${tmp:-}"; echo "could not install $to from the bundle" >&2; return 1; }
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

# The web tier switches releases without a failed request (deploy.sh, rollback.sh). With
# CHATWOOT_IMAGE set to the release to run:
#   1. rails-surge, a second Rails on loopback port 3001, starts beside the serving Rails and must
#      pass its health check (if not, it is removed: the serving Rails was never touched);
#   2. Caddy reloads with rails-surge as its upstream: new requests go there, and requests in
#      flight finish on the serving Rails (a Caddy reload is graceful);
#   3. Rails is recreated with the new release: it gets no request while it stops (Puma finishes
#      what it serves) or while it boots, and must pass its health check;
#   4. Caddy reloads the deployed Caddyfile as it is, back to Rails;
#   5. rails-surge stops the same graceful way.
# Sidekiq is the caller's to recreate afterwards. Returns 1 with Caddy back on Rails and
# rails-surge gone when a step fails; the caller decides what runs then.
surge_upstream=127.0.0.1:3001
caddy_upstream() {
  local env=()
  [[ -n "${1:-}" ]] && env=(-e "CHATWOOT_UPSTREAM=$1")
  "$compose" exec -T "${env[@]}" caddy caddy reload --config /etc/caddy/Caddyfile --adapter caddyfile
}
switch_web_without_downtime() {
  printf '==> %s\n' "starting $CHATWOOT_IMAGE beside the serving Rails (rails-surge)"
  if ! "$compose" up -d --wait --no-deps rails-surge; then
    echo "$CHATWOOT_IMAGE did not become healthy beside the serving release; nothing was switched" >&2
    "$compose" rm --stop --force rails-surge >/dev/null 2>&1 || true
    return 1
  fi
  printf '==> %s\n' "sending new requests to rails-surge"
  if ! caddy_upstream "$surge_upstream"; then
    echo "Caddy could not switch to rails-surge; the serving Rails keeps its requests" >&2
    "$compose" rm --stop --force rails-surge >/dev/null 2>&1 || true
    return 1
  fi
  printf '==> %s\n' "recreating Rails with $CHATWOOT_IMAGE (it gets requests again once healthy)"
  local ok=1
  "$compose" up -d --wait --no-deps rails || ok=""
  printf '==> %s\n' "sending requests back to Rails; rails-surge finishes its requests and stops"
  if ! caddy_upstream; then
    echo "Caddy could not switch back to Rails: rails-surge keeps serving; see: compose.sh logs caddy" >&2
    return 1
  fi
  "$compose" rm --stop --force rails-surge >/dev/null || echo "rails-surge did not stop cleanly; see: compose.sh ps" >&2
  [[ -n "$ok" ]] || { echo "Rails did not become healthy with $CHATWOOT_IMAGE" >&2; return 1; }
}

# What Rails' container is made of besides the bundle's other files: the image, the app's scope
# of the .env and the compose file. deploy.sh records it after each deploy; a difference means
# Compose will recreate Rails, so the switch above is worth a second Rails boot.
rails_inputs() {
  { printf '%s\n' "$CHATWOOT_IMAGE"; cat "$app_dir/env/app.env" "$app_dir/bundle/docker/compose.yaml" 2>/dev/null; } |
    sha256sum | cut -d' ' -f1
}
