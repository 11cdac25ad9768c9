#!/bin/bash
# Restores the database and the uploaded files from the backup repository.
#
#   restore.sh [--snapshot latest|ID] [--yes]
#       By hand: stops Rails, Sidekiq and the backup schedule, restores the database
#       (pg_restore --clean --if-exists --no-owner, parallel) and the files, starts everything
#       again and checks that Chatwoot answers. Asks for confirmation unless --yes.
#
#   restore.sh --before-deploy [--snapshot latest|ID]
#       The restore step of pulumi up (chatwoot:restoreFrom) on a new server: starts Postgres,
#       restores only if the database is still empty, and leaves starting Chatwoot to deploy.sh.
#
# Exit status: 0 restored (or nothing to do); 1 failed; 2 bad arguments or not confirmed.
set -euo pipefail

scripts_dir=${BASH_SOURCE[0]%/*}; [[ "$scripts_dir" != "${BASH_SOURCE[0]}" ]] || scripts_dir=.
# shellcheck source=lib.sh
source "$scripts_dir/lib.sh"

snapshot=latest yes="" before_deploy=""
while [[ $# -gt 0 ]]; do
  case "$1" in
    --snapshot) snapshot="${2:-}"; shift 2 ;;
    --yes) yes=1; shift ;;
    --before-deploy) before_deploy=1; shift ;;
    --version) shift 2 ;; # accepted for older command texts; the restore does not depend on it
    *) echo "restore.sh: unknown argument $1 (usage: restore.sh [--snapshot latest|ID] [--yes])" >&2; exit 2 ;;
  esac
done
if [[ ! "$snapshot" =~ ^(latest|[0-9a-f]{8,64})$ ]]; then
  echo "restore.sh: --snapshot must be 'latest' or a snapshot id (8 to 64 hex characters), got '$snapshot'" >&2
  exit 2
fi
if ! backups_enabled; then
  echo "restore.sh: backups are not enabled on this host (chatwoot:backup.enabled), so there is nothing to restore from" >&2
  exit 1
fi
step() { printf '==> %s\n' "$*"; }
take_lock restore.sh

if [[ -n "$before_deploy" ]]; then
  # Only Postgres and the backup service run here; Chatwoot's image is not involved, so the
  # restore depends on the snapshot alone (a version bump does not re-run it). compose.yaml
  # still needs a value to interpolate.
  if [[ -r "$app_dir/release/current" ]]; then CHATWOOT_IMAGE=$(<"$app_dir/release/current"); else CHATWOOT_IMAGE="${CHATWOOT_IMAGE_REPOSITORY:-chatwoot/chatwoot}:not-deployed"; fi
  export CHATWOOT_IMAGE
  step "building the backup service and starting postgres"
  "$compose" build --quiet backup
  "$compose" up -d --wait postgres
  step "restoring snapshot $snapshot if the database is empty"
  exec "$compose" run --rm -T --no-deps backup chatwoot-backup restore --snapshot "$snapshot" --if-empty
fi

if [[ -z "$yes" ]]; then
  if [[ ! -t 0 ]]; then
    echo "restore.sh: this replaces the database and files with snapshot '$snapshot'; confirm with --yes" >&2
    exit 2
  fi
  read -r -p "Replace the database and files of this installation with snapshot '$snapshot'? Type 'restore': " answer
  [[ "$answer" == restore ]] || { echo "restore.sh: not confirmed; nothing was changed" >&2; exit 2; }
fi

step "stopping rails, sidekiq and the backup schedule"
"$compose" stop rails sidekiq backup
step "restoring snapshot $snapshot"
if ! "$compose" run --rm -T --no-deps backup chatwoot-backup restore --snapshot "$snapshot"; then
  echo "restore.sh: the restore failed; rails and sidekiq are still stopped. Fix the cause and run restore.sh again," \
    "or start the old state with: compose.sh up -d" >&2
  exit 1
fi
step "starting chatwoot"
"$compose" up -d --wait || { echo "restore.sh: restored, but the services did not become healthy; see: compose.sh ps" >&2; exit 1; }
step "checking"
accounts=$("$compose" exec -T postgres psql -U postgres -d chatwoot -XAt -c 'select count(*) from accounts') ||
  { echo "restore.sh: cannot read the accounts table after the restore" >&2; exit 1; }
"$compose" exec -T rails wget -q -O - --header 'X-Forwarded-Proto: https' "http://127.0.0.1:${CHATWOOT_RAILS_PORT:-3000}/api" ||
  { echo "restore.sh: Rails does not answer /api after the restore; see: compose.sh logs rails" >&2; exit 1; }
echo
step "restored: $accounts account(s); run pulumi up (or verify.sh) for the full verification"
