#!/usr/bin/env bash
# docker compose for this Chatwoot installation: the deployed release's image, the rendered .env,
# and a fixed project name, whatever directory it is run from.
#
#   /opt/chatwoot/bundle/scripts/compose.sh ps
#   /opt/chatwoot/bundle/scripts/compose.sh logs -f --tail 100 rails
#
# CHATWOOT_IMAGE may be set by the caller (deploy.sh does, to run migrations with the new image);
# otherwise it is the release recorded by the last successful deploy.
set -euo pipefail

# shellcheck source=lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
release_file="$app_dir/release/current"

export CHATWOOT_ENV_FILE="$app_dir/.env"
if [[ ! -r "$CHATWOOT_ENV_FILE" ]]; then
  echo "compose.sh: $CHATWOOT_ENV_FILE is missing; the write-env step of pulumi up creates it" >&2
  exit 1
fi
if [[ -z "${CHATWOOT_IMAGE:-}" ]]; then
  if [[ ! -r "$release_file" ]]; then
    echo "compose.sh: no release deployed yet ($release_file is missing); run pulumi up first" >&2
    exit 1
  fi
  CHATWOOT_IMAGE=$(<"$release_file")
  export CHATWOOT_IMAGE
fi

# Sizing to this server (scripts/tuning.sh), with chatwoot:tuning's overrides (TUNING_* in the
# .env): Puma's and Sidekiq's settings go to the app's env file, the rest is interpolated into
# compose.yaml (PostgreSQL's settings, memory limits) as CHATWOOT_<NAME>.
tuning=$(
  while IFS= read -r line; do
    value=${line#*=\'}
    export "${line%%=*}=${value%\'}"
  done < <(grep -E "^TUNING_[A-Z_]+='[^']*'\$" "$CHATWOOT_ENV_FILE" || true)
  bash "$(dirname "${BASH_SOURCE[0]}")/tuning.sh"
) || { echo "compose.sh: could not size Chatwoot to this server (scripts/tuning.sh)" >&2; exit 1; }
while IFS='=' read -r name value; do
  case "$name" in
    WEB_CONCURRENCY | RAILS_MAX_THREADS | SIDEKIQ_CONCURRENCY) ;;
    *) export "CHATWOOT_$name=$value" ;;
  esac
done <<<"$tuning"

# Each service gets only the variables of its scope (the "# [scope: …]" lines of the .env): a
# proxy or backup setting then recreates neither Rails nor Sidekiq, and they never see the backup
# credentials. The app's file also gets Puma's and Sidekiq's sizing.
split_env() {
  local scope tmp
  install -d -m 0700 "$app_dir/env"
  for scope in app backup; do
    tmp=$(umask 077 && mktemp "$app_dir/env/.$scope.XXXXXX") || return 1
    awk -v want="$scope" '/^# \[scope: [a-z]+\]$/ { s = substr($3, 1, length($3) - 1); next }
                          /^[A-Z][A-Z0-9_]*=/ && s == want' "$CHATWOOT_ENV_FILE" >"$tmp" || { rm -f "$tmp"; return 1; }
    if [[ "$scope" == app ]]; then
      grep -E '^(WEB_CONCURRENCY|RAILS_MAX_THREADS|SIDEKIQ_CONCURRENCY)=' <<<"$tuning" | sed "s/=\(.*\)\$/='\1'/" >>"$tmp" || { rm -f "$tmp"; return 1; }
    fi
    if cmp -s "$tmp" "$app_dir/env/$scope.env"; then rm -f "$tmp"; else mv -f "$tmp" "$app_dir/env/$scope.env"; fi
  done
}
split_env || { echo "compose.sh: could not split $CHATWOOT_ENV_FILE by scope" >&2; exit 1; }
export CHATWOOT_APP_ENV_FILE="$app_dir/env/app.env" CHATWOOT_BACKUP_ENV_FILE="$app_dir/env/backup.env"
export CHATWOOT_LIVE_DIR="$live_dir"
sync_live_files || exit 1

# The backup service runs only when the rendered .env enables it.
if [[ -z "${COMPOSE_PROFILES+set}" ]] && backups_enabled; then
  export COMPOSE_PROFILES=backup
fi

exec docker compose --project-name chatwoot --env-file "$CHATWOOT_ENV_FILE" \
  -f "$app_dir/bundle/docker/compose.yaml" "$@"
