#!/bin/bash
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
  IFS= read -r -d '' config <"$STANDIN_CADDY_CONFIG"
  printf '%s' "$config"
  exit 0
fi
IFS=: read -r -a dirs <<<"$PATH"
for dir in "${dirs[@]}"; do
  # -ef: not this stand-in (the same file, through any symlink), without a process per entry.
  [[ -x "$dir/curl" && ! "$dir/curl" -ef "$0" ]] && exec "$dir/curl" "$@"
done
echo "stand-in curl: no real curl on PATH" >&2
exit 127
