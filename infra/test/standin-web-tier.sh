#!/bin/bash
# TEST STAND-IN FOR THE WEB TIER OF A CHATWOOT HOST, NOT DOCKER: the STANDIN_HOOK of the stand-in
# docker in the upgrade switch test and benchmark. It acts on the compose calls that start, stop
# and reload the web tier, with real processes: Rails is infra/test/rails-stub.cjs on
# $RIG_MAIN_PORT (rails) or $RIG_SURGE_PORT (rails-surge), Caddy is the real Caddy the test runs
# with this project's Caddyfile. Like Compose, "up --wait" returns when the health check passes,
# "up" recreates Rails only when its release changed, and a stop waits for the process to exit.
# With RIG_SCHEMA_CHANGE, the migration changes the schema under the serving Rails (rails-stub.cjs,
# --schema-file); whether Rails caches prepared statements comes from DATABASE_URL in the app env
# file, as a container gets it.
# Other calls exit 100: the stand-in docker handles them.
set -uo pipefail
call=" $* "
release=${CHATWOOT_IMAGE##*:}

# A pause without a sleep process per poll: a read that times out on a pipe nothing writes to
# (opened on the first pause: most calls never wait).
nap_fd=""
nap() {
  [[ -n "$nap_fd" ]] || exec {nap_fd}<> <(:)
  read -r -t "$1" -u "$nap_fd" _ || true
}

# (The stub writes its pid without a newline: read then fails at the end of the file, having read it.)
running() { local pid=""; [[ -f "$RIG_DIR/$1.pid" ]] && { read -r pid <"$RIG_DIR/$1.pid" || [[ -n "$pid" ]]; } && kill -0 "$pid" 2>/dev/null; }
# Whether GET /health on 127.0.0.1:PORT answers 200, through bash's /dev/tcp (no process per poll;
# a booting stub accepts the connection and resets it, which reads as not healthy).
healthy() {
  local fd status=""
  exec {fd}<>"/dev/tcp/127.0.0.1/$1" || return 1
  printf 'GET /health HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n' >&"$fd" &&
    IFS= read -r -t 60 status <&"$fd"
  exec {fd}>&-
  [[ "$status" == "HTTP/1.1 200 "* ]]
}
start_rails() {
  local name=$1 port=$2 i
  rm -f "$RIG_DIR/$name.pid"
  local schema=()
  [[ -n "${RIG_SCHEMA_CHANGE:-}" ]] && schema=(--schema-file "$RIG_DIR/schema" --db-pool 5)
  grep -q "^DATABASE_URL='.*[?&]prepared_statements=false" "${CHATWOOT_APP_ENV_FILE:-/dev/null}" 2>/dev/null &&
    schema+=(--prepared-statements false)
  # Like a container, the process holds none of its caller's file descriptors: the host lock (fd
  # 9), the backup job lock that flock(1) holds while deploy.sh starts the web tier, and others
  # close; stdin, stdout and stderr stay.
  (
    for fd in /proc/self/fd/*; do
      fd=${fd##*/}
      # (The glob's own directory descriptor is gone by now: closing it fails, silently.)
      ((fd > 2)) && { exec {fd}>&-; } 2>/dev/null
    done
    exec node "$RIG_STUB" --port "$port" --release "$release" --boot-ms "$RIG_BOOT_MS" --work-ms "$RIG_WORK_MS" \
      --pid-file "$RIG_DIR/$name.pid" "${schema[@]}"
  ) >>"$RIG_DIR/$name.log" 2>&1 &
  printf '%s\n' "$release" >"$RIG_DIR/$name.release"
  # Up to five minutes, like a health check's start period on a loaded host.
  for ((i = 0; i < 6000; i++)); do
    healthy "$port" 2>/dev/null && return 0
    nap 0.05
  done
  echo "stand-in web tier: $name did not become healthy" >&2
  return 1
}
stop_rails() {
  local pid
  pid=$(cat "$RIG_DIR/$1.pid" 2>/dev/null) || return 0
  kill -TERM "$pid" 2>/dev/null
  while kill -0 "$pid" 2>/dev/null; do nap 0.02; done
  rm -f "$RIG_DIR/$1.pid"
}
recreate_rails() { stop_rails rails; start_rails rails "$RIG_MAIN_PORT"; }
caddy_reload() {
  CHATWOOT_UPSTREAM=$1 "$RIG_CADDY" reload --config "$RIG_CADDYFILE" --adapter caddyfile >>"$RIG_DIR/caddy-reload.log" 2>&1
}

case "$call" in
  # The migration: with RIG_SCHEMA_CHANGE, the new release's schema replaces the old one's under
  # the serving Rails (the stand-in docker then records the call as usual).
  *" rails bundle exec rails db:chatwoot_prepare "*)
    [[ -n "${RIG_SCHEMA_CHANGE:-}" ]] && printf '%s\n' "$release" >"$RIG_DIR/schema"
    exit 100 ;;
  # Which services run, as Compose lists them (by container name): Caddy always, the Rails there are.
  *" ps --status running --services "*)
    echo caddy
    running rails && echo rails
    running rails-surge && echo rails-surge
    exit 0 ;;
  *" up -d --wait --no-deps rails-surge "*) start_rails rails-surge "$RIG_SURGE_PORT"; exit ;;
  *" up -d --wait --no-deps rails "*) recreate_rails; exit ;;
  *" rm --stop --force rails-surge "*) stop_rails rails-surge; exit 0 ;;
  *" exec -T -e CHATWOOT_UPSTREAM=127.0.0.1:3001 caddy caddy reload "*) caddy_reload "127.0.0.1:$RIG_SURGE_PORT"; exit ;;
  *" exec -T caddy caddy reload "*) caddy_reload "127.0.0.1:$RIG_MAIN_PORT"; exit ;;
  *" up -d --wait --remove-orphans "*)
    if running rails && [[ "$(cat "$RIG_DIR/rails.release" 2>/dev/null)" == "$release" ]]; then exit 0; fi
    recreate_rails; exit ;;
esac
exit 100
