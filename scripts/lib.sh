# shellcheck shell=bash
# Sourced by the host scripts (not run): where this installation lives and what its rendered .env
# turns on. The scripts sit in <app dir>/bundle/scripts.
here=$(cd "$(dirname "${BASH_SOURCE[1]}")" && pwd -P)
app_dir=$(cd "$here/../.." && pwd -P)
# shellcheck disable=SC2034 # used by the scripts that source this file
compose="$here/compose.sh"

# Whether the .env that Pulumi rendered enables the backup service (chatwoot:backup.enabled).
backups_enabled() { grep -qx "BACKUP_ENABLED='true'" "$app_dir/.env" 2>/dev/null; }
