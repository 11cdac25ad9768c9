#!/bin/bash
# Runs a backup now, by hand, with the backup service's own job (the same one its schedule runs).
#
#   backup.sh [database|files|all]   one backup of what is named (default: all)
#   backup.sh snapshots              list the snapshots in the repository
#   backup.sh check | prune          restic check / forget --prune with the configured retention
#
# Exit status: 0 on success; 1 when the job failed; 2 for bad arguments.
set -euo pipefail

scripts_dir=${BASH_SOURCE[0]%/*}; [[ "$scripts_dir" != "${BASH_SOURCE[0]}" ]] || scripts_dir=.
# shellcheck source=lib.sh
source "$scripts_dir/lib.sh"

usage="usage: backup.sh [database|files|all] | snapshots | check | prune"
case "${1:-all}" in
  database | files | all) job=(run "${1:-all}") ;;
  snapshots | check | prune) job=("$1") ;;
  -h | --help) echo "$usage"; exit 0 ;;
  *) echo "backup.sh: unknown argument '$1' ($usage)" >&2; exit 2 ;;
esac
[[ $# -le 1 ]] || { echo "backup.sh: too many arguments ($usage)" >&2; exit 2; }

# Listing snapshots changes nothing; everything else waits for no deploy, rollback or restore.
[[ "${job[0]}" == snapshots ]] || take_lock backup.sh
if ! backups_enabled; then
  echo "backup.sh: backups are not enabled on this host (chatwoot:backup.enabled, then pulumi up)" >&2
  exit 1
fi

# Inside the running service when there is one (its job lock then also serialises with the
# schedule); otherwise in a one-off container of the same service.
if [[ -n "$("$compose" ps --status running -q backup 2>/dev/null)" ]]; then
  exec "$compose" exec -T backup chatwoot-backup "${job[@]}"
fi
exec "$compose" run --rm -T backup chatwoot-backup "${job[@]}"
