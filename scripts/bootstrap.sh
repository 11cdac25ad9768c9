#!/bin/bash
# Runs bootstrap.rb inside the running rails container (rails runner). Its JSON config arrives on
# stdin and goes straight through; the result is printed as one JSON line on stdout.
set -euo pipefail

scripts_dir=${BASH_SOURCE[0]%/*}; [[ "$scripts_dir" != "${BASH_SOURCE[0]}" ]] || scripts_dir=.
# shellcheck source=lib.sh
source "$scripts_dir/lib.sh"
marker="CHATWOOT_BOOTSTRAP_RESULT"
in_container=/tmp/chatwoot-bootstrap.rb

"$compose" cp "$here/bootstrap.rb" "rails:$in_container" >/dev/null
status=0
# Rails may log to stdout too; only the marked line is the result.
output=$("$compose" exec -T rails bundle exec rails runner "$in_container") || status=$?
if [[ $status -ne 0 ]]; then
  echo "bootstrap.sh: bootstrap failed (exit $status); its error is above" >&2
  exit "$status"
fi
result=$(printf '%s\n' "$output" | sed -n "s/^$marker //p" | tail -n 1)
if [[ -z "$result" ]]; then
  echo "bootstrap.sh: bootstrap printed no result line" >&2
  exit 1
fi

# Captain reads its OpenAI key when a process boots: a changed key reaches every Rails and Sidekiq
# process only through a restart. Rails restarts beside itself, without a failed request (the
# web-tier switch, lib.sh); Sidekiq pushes its unfinished jobs back to Redis. The marker makes the
# next run retry a restart that failed, although the key is then set already.
pending="$app_dir/.captain-restart-pending"
if jq -e '.installation_configs_set // [] | index("CAPTAIN_OPEN_AI_API_KEY")' <<<"$result" >/dev/null; then
  : >"$pending" || { echo "bootstrap.sh: Captain's key changed, but $pending cannot be written to restart Rails and Sidekiq for it" >&2; exit 1; }
fi
if [[ -e "$pending" ]]; then
  take_lock bootstrap.sh
  CHATWOOT_IMAGE=$(<"$app_dir/release/current") && export CHATWOOT_IMAGE
  echo "bootstrap.sh: Captain's key changed: restarting Rails (without downtime) and Sidekiq so that every process reads it" >&2
  if ! CHATWOOT_SWITCH_RECREATE=1 switch_web_without_downtime >&2 ||
    ! "$compose" up -d --wait --no-deps --force-recreate sidekiq >&2; then
    echo "bootstrap.sh: the restart for Captain's key failed; the key is set, and the next pulumi up restarts again" >&2
    exit 1
  fi
  rm -f "$pending"
fi
printf '%s\n' "$result"
