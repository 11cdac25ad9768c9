#!/usr/bin/env bash
# Runs bootstrap.rb inside the running rails container (rails runner). Its JSON config arrives on
# stdin and goes straight through; the result is printed as one JSON line on stdout.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd -P)
compose="$here/compose.sh"
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
printf '%s\n' "$result"
