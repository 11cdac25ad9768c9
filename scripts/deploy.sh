#!/usr/bin/env bash
# Deploys a Chatwoot release on this host, keeping the running one until the new one is ready.
#
#   deploy.sh --version v4.15.1 [< expected sha256 of the .env]
#
# 1. pull every image and build the backup service's (nothing running is touched if that fails)
# 2. start Postgres and Redis and wait until they are healthy
# 2b. on an upgrade with backups enabled, back up the database first (a failure stops here)
# 3. migrate with the NEW image as a one-off (db:chatwoot_prepare) while the old Rails and Sidekiq
#    keep serving; a failed migration stops here, old containers untouched
# 4. up -d --wait --remove-orphans; if the new containers do not become healthy, start the
#    previous release again and fail
# 5. record the release (the previous one stays for rollback) and append to deploy.log
set -euo pipefail

# shellcheck source=lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
release_dir="$app_dir/release"
deploy_log="$app_dir/deploy.log"
image_repo="${CHATWOOT_IMAGE_REPOSITORY:-chatwoot/chatwoot}"

version=""
while [[ $# -gt 0 ]]; do
  case "$1" in
    --version) version="${2:-}"; shift 2 ;;
    *) echo "deploy.sh: unknown argument $1 (usage: deploy.sh --version vX.Y.Z)" >&2; exit 2 ;;
  esac
done
if [[ ! "$version" =~ ^v[0-9]+\.[0-9]+\.[0-9]+(-ce)?$ ]]; then
  echo "deploy.sh: --version must be a release tag such as v4.15.1, got '$version'" >&2
  exit 2
fi

started=$(date +%s)
new_image="$image_repo:$version"
previous_image=""
[[ -r "$release_dir/current" ]] && previous_image=$(<"$release_dir/current")

record() {
  local result=$1
  printf '%s deploy image=%s previous=%s result=%s seconds=%s\n' \
    "$(date -u +%Y-%m-%dT%H:%M:%SZ)" "$new_image" "${previous_image:-none}" "$result" "$(($(date +%s) - started))" >>"$deploy_log"
}
fail() {
  record "$1"
  echo "deploy.sh: $2" >&2
  exit 1
}
step() { printf '==> %s\n' "$*"; }

# The env file Pulumi just wrote must be the one we run with (stdin carries its sha256).
if [[ ! -t 0 ]]; then
  expected=$(tr -d '[:space:]' || true)
  if [[ -n "$expected" ]]; then
    actual=$(sha256sum "$app_dir/.env" | cut -d' ' -f1)
    [[ "$actual" == "$expected" ]] || fail env-mismatch "$app_dir/.env is not the env file this deploy was planned with (re-run pulumi up)"
  fi
fi

mkdir -p "$release_dir"
export CHATWOOT_IMAGE="$new_image"

step "pulling images ($new_image)"
"$compose" pull --quiet || fail pull-failed "could not pull images; nothing was changed"
if backups_enabled; then
  "$compose" build --quiet backup || fail build-failed "could not build the backup service image; nothing was changed"
fi

step "starting postgres and redis"
"$compose" up -d --wait postgres redis || fail datastores-unhealthy "postgres or redis did not become healthy; see: compose.sh logs postgres redis"

if backups_enabled && [[ -n "$previous_image" && "$previous_image" != "$new_image" ]]; then
  step "backing up the database before upgrading from $previous_image"
  "$here/backup.sh" database ||
    fail pre-upgrade-backup-failed "the backup before the upgrade failed; nothing was changed (see: compose.sh logs backup)"
fi

step "migrating with $new_image (the running release keeps serving)"
if ! "$compose" run --rm --no-deps -e POSTGRES_STATEMENT_TIMEOUT=600s rails bundle exec rails db:chatwoot_prepare; then
  fail migration-failed "migration failed; the previous containers were left running (${previous_image:-none deployed yet})"
fi

step "starting $new_image"
if ! "$compose" up -d --wait --remove-orphans; then
  if [[ -n "$previous_image" && "$previous_image" != "$new_image" ]]; then
    echo "deploy.sh: $new_image did not become healthy; starting $previous_image again" >&2
    CHATWOOT_IMAGE="$previous_image" "$compose" up -d --wait --remove-orphans || true
  fi
  fail unhealthy "$new_image did not become healthy; see: compose.sh ps; compose.sh logs rails sidekiq"
fi

if ! backups_enabled; then
  # Backups were turned off: stop the service that the profile no longer starts.
  COMPOSE_PROFILES=backup "$compose" rm --stop --force backup >/dev/null 2>&1 || true
fi

if [[ -n "$previous_image" && "$previous_image" != "$new_image" ]]; then
  printf '%s\n' "$previous_image" >"$release_dir/previous"
fi
printf '%s\n' "$new_image" >"$release_dir/current.new" && mv -f "$release_dir/current.new" "$release_dir/current"
record ok
step "deployed $new_image in $(($(date +%s) - started))s"
