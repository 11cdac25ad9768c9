#!/bin/bash
# docker compose for this Chatwoot installation: the deployed release's image, the rendered .env,
# and a fixed project name, whatever directory it is run from.
#
#   /opt/chatwoot/bundle/scripts/compose.sh ps
#   /opt/chatwoot/bundle/scripts/compose.sh logs -f --tail 100 rails
#
# CHATWOOT_IMAGE may be set by the caller (deploy.sh does, to run migrations with the new image);
# otherwise it is the release recorded by the last successful deploy.
set -euo pipefail

# (The script's directory without dirname: compose.sh runs on every compose call.)
scripts_dir=${BASH_SOURCE[0]%/*}; [[ "$scripts_dir" != "${BASH_SOURCE[0]}" ]] || scripts_dir=.
# shellcheck source=lib.sh
source "$scripts_dir/lib.sh"
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

# The .env, read once (compose.sh runs on every compose call: builtins, not one process per step).
mapfile -t env_lines <"$CHATWOOT_ENV_FILE" || { echo "compose.sh: cannot read $CHATWOOT_ENV_FILE" >&2; exit 1; }

# Sizing to this server (scripts/tuning.sh), with chatwoot:tuning's overrides (TUNING_* in the
# .env): Puma's and Sidekiq's settings go to the app's env file, the rest is interpolated into
# compose.yaml (PostgreSQL's settings, memory limits) as CHATWOOT_<NAME>. (Sourced and called in
# this shell, the overrides as shell variables only: a subshell would cost a process per call.)
# shellcheck source=tuning.sh
source "$here/tuning.sh"
for line in "${env_lines[@]}"; do
  [[ "$line" =~ ^(TUNING_[A-Z_]+)=\'([^\']*)\'$ ]] && printf -v "${BASH_REMATCH[1]}" '%s' "${BASH_REMATCH[2]}"
done
tuning_for_host "" "" || { echo "compose.sh: could not size Chatwoot to this server (scripts/tuning.sh)" >&2; exit 1; }
app_sizing=""
while [[ -n "$tuning_lines" ]]; do
  line=${tuning_lines%%$'\n'*} tuning_lines=${tuning_lines#*$'\n'}
  name=${line%%=*} value=${line#*=}
  case "$name" in
    WEB_CONCURRENCY | RAILS_MAX_THREADS | SIDEKIQ_CONCURRENCY) app_sizing+="$name='$value'"$'\n' ;;
    *) export "CHATWOOT_$name=$value" ;;
  esac
done

# Each service gets only the variables of its scope (the "# [scope: …]" lines of the .env): a
# proxy or backup setting then recreates neither Rails nor Sidekiq, and they never see the backup
# credentials. The app's file also gets Puma's and Sidekiq's sizing. A file is rewritten (0600,
# through a rename) only when its content changed.
split_env() {
  local line scope="" app="" backup="" current
  [[ -d "$app_dir/env" ]] || install -d -m 0700 "$app_dir/env" || return 1
  for line in "${env_lines[@]}"; do
    if [[ "$line" =~ ^\#\ \[scope:\ ([a-z]+)\]$ ]]; then scope=${BASH_REMATCH[1]}
    elif [[ "$line" =~ ^[A-Z][A-Z0-9_]*= ]]; then
      case "$scope" in app) app+="$line"$'\n' ;; backup) backup+="$line"$'\n' ;; esac
    fi
  done
  app+=$app_sizing
  for scope in app backup; do
    local -n wanted=$scope
    current=""
    [[ -r "$app_dir/env/$scope.env" ]] && { IFS= read -r -d '' current <"$app_dir/env/$scope.env" || true; }
    if [[ "$current" != "$wanted" ]]; then
      if ! { (umask 077 && printf '%s' "$wanted" >"$app_dir/env/.$scope.$$") && mv -f "$app_dir/env/.$scope.$$" "$app_dir/env/$scope.env"; }; then
        rm -f "$app_dir/env/.$scope.$$"
        return 1
      fi
    fi
    unset -n wanted
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
