#!/usr/bin/env bash
# Day-2 commands from your machine, over SSH to the stack's server (the npm scripts call this).
#
#   npm run ssh                         a root shell on the server
#   npm run logs [-- service…]          follow logs (default: rails sidekiq)
#   npm run console                     Rails console
#   npm run exec -- <command…>          a command in the rails container
#   npm run backup:now                  a backup of the database, env file and uploads, now
#   npm run snapshots                   the snapshots in the backup repository
#   npm run restore -- <latest|id>      restore a backup snapshot (asks on the server first)
#   npm run rollback                    back to the release deployed before the current one
#   npm run status                      the watchdog's last view of every check
#   npm run alerts:test                 a test alert through every configured channel
#   npm run alerts:silence -- <minutes> no alerts for that long (maintenance); 0 ends it
#
# The server is --host ADDR, else $CHATWOOT_HOST, else the ipv4 output of the Pulumi stack
# (--stack NAME, else the selected stack). --stack and --host may come before or right after
# the command. Exit status: that of the remote command; 2 for usage errors.
set -euo pipefail

# Where the bundle lives on the server (infra/server/layout.ts).
SCRIPTS=/opt/chatwoot/bundle/scripts
SERVICES=(rails sidekiq postgres redis caddy backup)
USAGE="usage: chatwoot.sh [--stack NAME] [--host ADDR] ssh | logs [service…] | console | exec <command…> | backup:now | snapshots | restore <latest|snapshot id> | rollback | status | alerts:test | alerts:silence <minutes>"

usage_error() {
  echo "chatwoot.sh: $1" >&2
  echo "$USAGE" >&2
  exit 2
}

stack="" host="${CHATWOOT_HOST:-}" command=""
args=()
while [[ $# -gt 0 ]]; do
  case "$1" in
    --stack | --host)
      [[ -z "$command" || ${#args[@]} -eq 0 ]] || { args+=("$1"); shift; continue; }
      [[ $# -ge 2 && -n "$2" ]] || usage_error "$1 needs a value"
      if [[ "$1" == --stack ]]; then stack=$2; else host=$2; fi
      shift 2
      ;;
    -h | --help) echo "$USAGE"; exit 0 ;;
    *)
      if [[ -z "$command" ]]; then command=$1; else args+=("$1"); fi
      shift
      ;;
  esac
done
[[ -n "$command" ]] || usage_error "no command given"

# Validate the command and its arguments before looking anything up.
remote=() tty=""
q() { printf '%q ' "$@"; }
case "$command" in
  ssh)
    [[ ${#args[@]} -eq 0 ]] || usage_error "ssh takes no arguments (for a command on the server use exec)"
    tty=1
    ;;
  logs)
    services=("${args[@]}")
    [[ ${#services[@]} -gt 0 ]] || services=(rails sidekiq)
    for s in "${services[@]}"; do
      [[ " ${SERVICES[*]} " == *" $s "* ]] || usage_error "unknown service '$s' (one of: ${SERVICES[*]})"
    done
    remote=("$SCRIPTS/compose.sh" logs -f --tail 200 "${services[@]}")
    ;;
  console)
    [[ ${#args[@]} -eq 0 ]] || usage_error "console takes no arguments"
    remote=("$SCRIPTS/compose.sh" exec rails bundle exec rails console)
    tty=1
    ;;
  exec)
    [[ ${#args[@]} -gt 0 ]] || usage_error "exec needs a command, e.g. npm run exec -- bundle exec rails runner 'puts Account.count'"
    remote=("$SCRIPTS/compose.sh" exec rails "${args[@]}")
    tty=1
    ;;
  backup:now)
    [[ ${#args[@]} -eq 0 ]] || usage_error "backup:now takes no arguments"
    remote=("$SCRIPTS/backup.sh" all)
    ;;
  snapshots)
    [[ ${#args[@]} -eq 0 ]] || usage_error "snapshots takes no arguments"
    remote=("$SCRIPTS/backup.sh" snapshots)
    ;;
  restore)
    [[ ${#args[@]} -eq 1 && "${args[0]}" =~ ^(latest|[0-9a-f]{8,64})$ ]] ||
      usage_error "restore needs one snapshot: 'latest' or an id from npm run snapshots"
    remote=("$SCRIPTS/restore.sh" --snapshot "${args[0]}")
    tty=1
    ;;
  rollback)
    [[ ${#args[@]} -eq 0 ]] || usage_error "rollback takes no arguments"
    remote=("$SCRIPTS/rollback.sh")
    tty=1
    ;;
  status)
    [[ ${#args[@]} -eq 0 ]] || usage_error "status takes no arguments"
    remote=(python3 "$SCRIPTS/watchdog.py" status)
    ;;
  alerts:test)
    [[ ${#args[@]} -eq 0 ]] || usage_error "alerts:test takes no arguments"
    remote=(python3 "$SCRIPTS/watchdog.py" test-alert)
    ;;
  alerts:silence)
    [[ ${#args[@]} -eq 1 && "${args[0]}" =~ ^[0-9]{1,5}$ ]] || usage_error "alerts:silence needs minutes, e.g. npm run alerts:silence -- 60 (0 ends it)"
    remote=(python3 "$SCRIPTS/watchdog.py" silence "${args[0]}")
    ;;
  *) usage_error "unknown command '$command'" ;;
esac

if [[ -z "$host" ]]; then
  command -v pulumi >/dev/null 2>&1 ||
    { echo "chatwoot.sh: cannot find the server: pulumi is not installed; pass --host <ipv4> or set CHATWOOT_HOST" >&2; exit 1; }
  stack_args=()
  [[ -n "$stack" ]] && stack_args=(--stack "$stack")
  if ! host=$(pulumi stack output ipv4 "${stack_args[@]}" 2>/dev/null) || [[ -z "$host" ]]; then
    echo "chatwoot.sh: the stack ${stack:-(selected)} has no ipv4 output yet: run pulumi up first, or pass --host <ipv4>" >&2
    exit 1
  fi
fi
[[ "$host" =~ ^[0-9A-Za-z.:-]+$ ]] || usage_error "--host must be an address or hostname, got '$host'"

ssh_args=(-o ServerAliveInterval=30)
[[ -n "$tty" ]] && ssh_args+=(-t)
if [[ ${#remote[@]} -eq 0 ]]; then
  exec ssh "${ssh_args[@]}" "root@$host"
fi
# ssh joins its arguments into one string for the remote shell: quote each word for it.
line=$(q "${remote[@]}")
exec ssh "${ssh_args[@]}" "root@$host" "${line% }"
