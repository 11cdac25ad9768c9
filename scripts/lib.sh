# shellcheck shell=bash
# Sourced by the host scripts (not run): where this installation lives and what its rendered .env
# turns on. The scripts sit in <app dir>/bundle/scripts.
# (One subshell for both paths: every compose call sources this.)
# The host scripts start with #!/bin/bash: they run on the server, which has it, and the env
# lookup would cost a process per call. verify.sh keeps /usr/bin/env bash: it also runs where
# `pulumi up` runs, where the bash 4+ it needs may not be /bin/bash.
lib_caller=${BASH_SOURCE[1]}
[[ "$lib_caller" == */* ]] && lib_caller=${lib_caller%/*} || lib_caller=.
# The bundle is <app dir>/bundle, a symlink to <app dir>/bundles/<release> (the upload step).
# Resolved in a subshell, not by cd-ing there and back in this shell: the way back may be gone (a
# script run from a directory since deleted must still work). A caller's directory that is already
# a physical path (absolute, no empty, . or .. part, no symlink on the way: how the scripts call
# each other, "$here/compose.sh") is taken as it is, without the subshell: compose.sh runs on
# every compose call.
lib_physical_dir() {
  local rest=${1#/} sofar=""
  [[ "$1" == /* && -d "$1" && "/$rest/" != *//* && "/$rest/" != */./* && "/$rest/" != */../* ]] || return 1
  while [[ -n "$rest" ]]; do
    sofar+="/${rest%%/*}"
    [[ -L "$sofar" ]] && return 1
    [[ "$rest" == */* ]] && rest=${rest#*/} || rest=""
  done
}
if lib_physical_dir "$lib_caller" && [[ -n "${lib_caller%/*/*}" ]]; then
  here=$lib_caller app_dir=${lib_caller%/*/*}
else
  lib_paths=$(cd -P "$lib_caller" && pwd && cd -P ../.. && pwd)
  here=${lib_paths%%$'\n'*} app_dir=${lib_paths#*$'\n'}
fi
[[ "${app_dir##*/}" == bundles ]] && app_dir=${app_dir%/bundles}
# shellcheck disable=SC2034 # used by the scripts that source this file
compose="$here/compose.sh"

# Files that running containers read while they run (Caddy's config, the backup job) are mounted
# from <app dir>/live, a fixed directory, not from the bundle: a bind mount pins the file it was
# created with, so after the bundle switches to a new release a container would keep reading the
# old one. compose.sh copies them in before every compose command; deploy.sh reloads Caddy and
# restarts the backup service when what they run differs from what is there.
live_dir="$app_dir/live"
same_text() { # same_text A B: whether two text files hold the same bytes (builtins only)
  local a="" b=""
  [[ -r "$1" && -r "$2" ]] || return 1
  IFS= read -r -d '' a <"$1" || true
  IFS= read -r -d '' b <"$2" || true
  [[ "$a" == "$b" ]]
}
sync_live_files() {
  local from to tmp
  while read -r from to; do
    from="$app_dir/bundle/$from" to="$live_dir/$to"
    [[ -r "$from" ]] || continue
    same_text "$from" "$to" && continue
    # A temporary file of its own (named by this process): compose.sh may run twice at once
    # (deploy.sh pulls during a backup).
    tmp="$to.$$"
    { { [[ -d "${to%/*}" ]] || mkdir -p "${to%/*}"; } && cp -p "$from" "$tmp" && mv -f "$tmp" "$to"; } ||
      { rm -f "$tmp"; echo "could not install $to from the bundle" >&2; return 1; }
  done <<'FILES'
docker/Caddyfile caddy/Caddyfile
docker/backup/restore.sh backup/restore.sh
docker/backup/chatwoot-backup backup/chatwoot-backup
FILES
}

# Whether the .env that Pulumi rendered enables the backup service (chatwoot:backup.enabled).
# (Builtins only, here and in env_data_dir: compose.sh asks on every compose call.)
backups_enabled() {
  local line
  [[ -r "$app_dir/.env" ]] || return 1
  while IFS= read -r line || [[ -n "$line" ]]; do [[ "$line" == "BACKUP_ENABLED='true'" ]] && return 0; done <"$app_dir/.env"
  return 1
}

# Which services have a running container, from one compose call (the services of the project as
# the .env enables them): read_running_services records them, is_running asks that record.
running_services=""
read_running_services() { running_services=$'\n'$("$compose" ps --status running --services 2>/dev/null || true)$'\n'; }
is_running() { [[ "$running_services" == *$'\n'"$1"$'\n'* ]]; }

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
  local since
  utc_now since
  printf '%s (pid %s) since %s\n' "$who" "$$" "$since" >"$app_dir/.lock.owner" 2>/dev/null || true
  export CHATWOOT_LOCK_HELD=1
}

# Caddy's admin API listens on a unix socket on the data volume (docker/Caddyfile, mode 0200: only
# root connects), never on a TCP port that a local process or a redirected browser request could
# reach. The switch and verify.sh read back from it where Caddy really sends traffic.
# CHATWOOT_CADDY_ADMIN_SOCKET and the two dials are test seams (another socket, other ports).
env_data_dir() {
  local line
  [[ -r "$app_dir/.env" ]] || return 0
  while IFS= read -r line || [[ -n "$line" ]]; do
    [[ "$line" =~ ^CHATWOOT_DATA_DIR=\'(.*)\'$ ]] && printf '%s\n' "${BASH_REMATCH[1]}"
  done <"$app_dir/.env"
  return 0
}
caddy_admin_socket() { printf '%s\n' "${CHATWOOT_CADDY_ADMIN_SOCKET:-$(env_data_dir)/caddy/admin/admin.sock}"; }
rails_dial=${CHATWOOT_RAILS_DIAL:-127.0.0.1:3000}
surge_dial=${CHATWOOT_SURGE_DIAL:-127.0.0.1:3001}
# Where Caddy sends requests now, from the configuration it runs: rails, rails-surge or unknown.
caddy_serving() {
  local dial
  dial=$(curl -sS --max-time 10 --unix-socket "$(caddy_admin_socket)" http://localhost/config/apps/http/servers 2>/dev/null |
    jq -r '[.. | objects | select(.handler? == "reverse_proxy") | .upstreams[]?.dial] | unique | join(" ")' 2>/dev/null) || dial=""
  case "$dial" in
    "$rails_dial") echo rails ;;
    "$surge_dial") echo rails-surge ;;
    *) echo unknown ;;
  esac
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
# After every reload, where Caddy sends traffic is read back from its admin API; nothing is
# removed that might be serving. Sets switch_state to what was verified:
#   switched   Caddy sends to Rails, which runs CHATWOOT_IMAGE; rails-surge is gone (returns 0)
#   untouched  Caddy sends to the Rails that served before; rails-surge is gone (returns 1)
#   surge      Caddy sends to rails-surge, which runs CHATWOOT_IMAGE; Rails is not healthy or
#              Caddy refused to go back to it; rails-surge keeps serving (returns 1)
#   unknown    where Caddy sends traffic could not be read; nothing more was touched (returns 1)
# Sidekiq is the caller's to start afterwards, matching what serves.
caddy_upstream() {
  local env=()
  [[ -n "${1:-}" ]] && env=(-e "CHATWOOT_UPSTREAM=$1")
  "$compose" exec -T "${env[@]}" caddy caddy reload --config /etc/caddy/Caddyfile --adapter caddyfile
}
# shellcheck disable=SC2034 # switch_state is read by deploy.sh and rollback.sh
switch_state=""
# shellcheck disable=SC2034
switch_web_without_downtime() {
  local serving
  switch_state=untouched
  printf '==> %s\n' "starting $CHATWOOT_IMAGE beside the serving Rails (rails-surge)"
  if ! "$compose" up -d --wait --no-deps rails-surge; then
    echo "$CHATWOOT_IMAGE did not become healthy beside the serving release (or port 3001 is taken); nothing was switched" >&2
    "$compose" rm --stop --force rails-surge >/dev/null 2>&1 || true
    return 1
  fi
  printf '==> %s\n' "sending new requests to rails-surge"
  caddy_upstream 127.0.0.1:3001 || echo "Caddy refused the reload to rails-surge; reading back where it sends traffic" >&2
  serving=$(caddy_serving)
  case "$serving" in
    rails)
      echo "Caddy still sends to the serving Rails; nothing was switched" >&2
      "$compose" rm --stop --force rails-surge >/dev/null 2>&1 || true
      return 1 ;;
    unknown)
      switch_state=unknown
      echo "could not read from Caddy's admin API where it sends traffic; rails-surge ($CHATWOOT_IMAGE) is left running, nothing else was touched" >&2
      return 1 ;;
  esac
  switch_state=surge
  printf '==> %s\n' "recreating Rails with $CHATWOOT_IMAGE (it gets requests again once healthy)"
  # CHATWOOT_SWITCH_RECREATE: a restart for a setting Rails reads only when it boots (bootstrap.sh).
  local recreate=()
  [[ -n "${CHATWOOT_SWITCH_RECREATE:-}" ]] && recreate=(--force-recreate)
  if ! "$compose" up -d --wait --no-deps "${recreate[@]}" rails; then
    echo "Rails did not become healthy with $CHATWOOT_IMAGE; rails-surge ($CHATWOOT_IMAGE) keeps serving" >&2
    return 1
  fi
  printf '==> %s\n' "sending requests back to Rails; rails-surge finishes its requests and stops"
  caddy_upstream || echo "Caddy refused the reload back to Rails; reading back where it sends traffic" >&2
  serving=$(caddy_serving)
  case "$serving" in
    rails-surge)
      echo "Caddy still sends to rails-surge ($CHATWOOT_IMAGE), which keeps serving; see: compose.sh logs caddy" >&2
      return 1 ;;
    unknown)
      switch_state=unknown
      echo "could not read from Caddy's admin API where it sends traffic; Rails and rails-surge ($CHATWOOT_IMAGE) are both left running" >&2
      return 1 ;;
  esac
  switch_state=switched
  "$compose" rm --stop --force rails-surge >/dev/null || echo "rails-surge did not stop cleanly; see: compose.sh ps" >&2
}

# What Rails' container is made of besides the bundle's other files: the image, the app's scope
# of the .env and the compose file. deploy.sh records it after each deploy; a difference means
# Compose will recreate Rails, so the switch above is worth a second Rails boot.
rails_inputs() {
  local sum
  sum=$({ printf '%s\n' "$CHATWOOT_IMAGE"; cat "$app_dir/env/app.env" "$app_dir/bundle/docker/compose.yaml" 2>/dev/null; } | sha256sum)
  printf '%s\n' "${sum%% *}"
}

# Builtins for what the scripts ask on every run, where a process each would cost more than the
# work (the tests run these scripts thousands of times).
# utc_now VAR: the time now in UTC, ISO 8601, into VAR.
utc_now() { TZ=UTC0 printf -v "$1" '%(%Y-%m-%dT%H:%M:%SZ)T' -1; }
# (Their locals have names no caller uses: printf -v would set a caller's VAR of the same name
# inside the function only.)
# sha256_of VAR FILE: the file's sha256 in hex into VAR; fails when the file cannot be read.
sha256_of() {
  local lib_sum
  lib_sum=$(sha256sum "$2" 2>/dev/null) || return 1
  printf -v "$1" '%s' "${lib_sum%% *}"
}
# read_text VAR FILE: the file's content without its trailing newlines into VAR ("" when it
# cannot be read), as $(cat FILE) gives it.
read_text() {
  local lib_text=""
  [[ -r "$2" ]] && { IFS= read -r -d '' lib_text <"$2" || true; }
  while [[ "$lib_text" == *$'\n' ]]; do lib_text=${lib_text%$'\n'}; done
  printf -v "$1" '%s' "$lib_text"
}
