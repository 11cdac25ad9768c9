#!/bin/bash
# Attachments in an S3-compatible bucket (chatwoot:storage): runs storage.rb inside the running
# rails container (rails runner), with the credentials Rails already has from its env file.
#
#   storage.sh sync    sets the bucket's CORS for this site (when direct uploads are on) and moves
#                      the blobs still on the data volume into the bucket (resumable)
#
# deploy.sh calls it after each deploy when ACTIVE_STORAGE_SERVICE is s3_compatible.
set -euo pipefail

scripts_dir=${BASH_SOURCE[0]%/*}; [[ "$scripts_dir" != "${BASH_SOURCE[0]}" ]] || scripts_dir=.
# shellcheck source=lib.sh
source "$scripts_dir/lib.sh"
marker="CHATWOOT_STORAGE_RESULT"
in_container=/tmp/chatwoot-storage.rb

[[ "${1:-}" == sync ]] || { echo "usage: storage.sh sync" >&2; exit 2; }
env_value() { sed -n "s/^$1='\(.*\)'\$/\1/p" "$app_dir/.env" | tail -n 1; }
if [[ "$(env_value ACTIVE_STORAGE_SERVICE)" != s3_compatible ]]; then
  echo "==> attachments are on the data volume (chatwoot:storage is local): nothing to do"
  exit 0
fi
"$compose" cp "$here/storage.rb" "rails:$in_container" >/dev/null
runner() {
  local output status=0
  output=$("$compose" exec -T rails bundle exec rails runner "$in_container" "$@") || status=$?
  [[ $status -eq 0 ]] || { echo "storage.sh: storage.rb $1 failed (exit $status); its error is above" >&2; return "$status"; }
  printf '%s\n' "$output" | sed -n "s/^$marker //p" | tail -n 1
}
if [[ "$(env_value DIRECT_UPLOADS_ENABLED)" == true ]]; then
  printf '==> %s\n' "letting https://$(env_value CHATWOOT_DOMAIN) upload to the bucket (CORS)"
  runner cors "https://$(env_value CHATWOOT_DOMAIN)" >/dev/null
fi
printf '==> %s\n' "moving attachments still on the data volume into the bucket"
result=$(runner migrate)
printf '==> attachments: %s\n' "$result"
