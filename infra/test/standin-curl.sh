#!/usr/bin/env bash
# TEST STAND-IN FOR curl ON CADDY'S ADMIN SOCKET, NOT CURL. Put first on PATH by the fake host
# (infra/test/fake-host.ts) beside the stand-in docker.
#
# A call with --unix-socket, while STANDIN_CADDY_CONFIG is set, answers with that file: the
# configuration the stand-in docker's last successful `caddy reload` left, as Caddy's admin API
# would serve it. No file: exit 7, curl's "failed to connect". Every other call, or any call
# without STANDIN_CADDY_CONFIG (a test that runs the real Caddy), goes to the real curl.
set -uo pipefail
if [[ -n "${STANDIN_CADDY_CONFIG:-}" && " $* " == *" --unix-socket "* ]]; then
  [[ -r "$STANDIN_CADDY_CONFIG" ]] || { echo "curl: (7) Failed to connect (stand-in: no admin socket)" >&2; exit 7; }
  cat "$STANDIN_CADDY_CONFIG"
  exit 0
fi
self=$(cd "$(dirname "$0")" && pwd -P)
IFS=: read -r -a dirs <<<"$PATH"
for dir in "${dirs[@]}"; do
  [[ -x "$dir/curl" && "$(cd "$dir" && pwd -P)" != "$self" ]] && exec "$dir/curl" "$@"
done
echo "stand-in curl: no real curl on PATH" >&2
exit 127
