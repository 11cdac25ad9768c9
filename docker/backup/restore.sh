# shellcheck shell=bash disable=SC2154 # host_name and state_dir are chatwoot-backup's, which sources this file
# `chatwoot-backup restore`: the newest (or a named) database snapshot into an empty or replaced
# database, its .env keys checked first, then the uploaded files. Sourced by chatwoot-backup, whose
# helpers (r, die, log, status_set, require_repository) it uses; it does nothing on its own.

# The .env keys that must match between a database backup and the installation it is restored to.
KEY_NAMES=(SECRET_KEY_BASE ACTIVE_RECORD_ENCRYPTION_PRIMARY_KEY ACTIVE_RECORD_ENCRYPTION_DETERMINISTIC_KEY ACTIVE_RECORD_ENCRYPTION_KEY_DERIVATION_SALT)

# --- restore ------------------------------------------------------------------------------------
# All snapshots of this host as JSON, listed once per restore (each restic call reads the index).
snapshots_json=""
load_snapshots() { snapshots_json=$(r snapshots --host "$host_name" --json) || die "cannot list the snapshots in the repository"; }

# The newest snapshot of a tag as "id time", optionally the newest taken at or before a time.
pick_snapshot() {
  jq -r --arg tag "$1" --arg t "${2:-}" \
    '[.[] | select(.tags // [] | index($tag)) | select($t == "" or .time <= $t)] | sort_by(.time) | last // empty | "\(.id) \(.time)"' \
    <<<"$snapshots_json"
}

env_value() { sed -n "s/^$1='\(.*\)'\$/\1/p" "$2" | tail -n 1; }

database_is_empty() {
  local n
  n=$(psql -X -At -c "select count(*) from pg_tables where schemaname = 'public'") || die "cannot connect to the database"
  [[ "$n" == 0 ]]
}

cmd_restore() {
  # One job more than cores: while one job waits on the disk, the others keep the CPUs busy.
  local snapshot=latest if_empty="" with_files=1 jobs="${BACKUP_RESTORE_JOBS:-$(($(nproc) + 1))}"
  while [[ $# -gt 0 ]]; do
    case "$1" in
      --snapshot) snapshot="${2:-}"; shift 2 ;;
      --if-empty) if_empty=1; shift ;;
      --no-files) with_files=""; shift ;;
      *) die "restore: unknown argument $1 (usage: restore [--snapshot latest|ID] [--if-empty] [--no-files])" ;;
    esac
  done
  [[ "$snapshot" =~ ^(latest|[0-9a-f]{8,64})$ ]] || die "restore: --snapshot must be latest or a snapshot id, got '$snapshot'"
  [[ -r "${CHATWOOT_ENV_FILE:-}" ]] || die "CHATWOOT_ENV_FILE (${CHATWOOT_ENV_FILE:-unset}) is not readable"
  require_repository
  lock_jobs

  if [[ -n "$if_empty" ]] && ! database_is_empty; then
    log "restore skipped: the database already has tables (a restore only ever fills an empty database here)"
    return 0
  fi

  local work="$state_dir/restore" dump backed_up t0 db_id="" db_time="" env_pid="" name mismatched=()
  rm -rf "$work"
  # The restored dump is the same data: only root reads it.
  { install -d -m 0700 "$work" && chmod 0700 "$work"; } || die "cannot prepare $work"
  dump="$work/chatwoot.dump"
  # The backed-up env file stays in memory where there is a tmpfs; it holds the keys.
  backed_up=$(mktemp -p /dev/shm 2>/dev/null || mktemp)
  temp_files+=("$backed_up" "$work")
  t0=$(now)
  if [[ "$snapshot" == latest ]]; then
    # restic resolves "latest" itself; the env file and the dump download side by side.
    r dump --host "$host_name" --tag env latest chatwoot.env >"$backed_up" 2>/dev/null &
    env_pid=$!
    r restore latest --host "$host_name" --tag database --target "$work" >"$work/restic.log" 2>&1 ||
      die "restic restore of the latest database snapshot failed: $(tail -n 1 "$work/restic.log")"
    # restic 0.17 and later print "restoring snapshot <id> of [...] at <time> by ...", earlier
    # ones "restoring <Snapshot <id> of [...] at <time> by ...>".
    db_id=$(sed -nE 's/^restoring <?[Ss]napshot ([0-9a-f]+) of .* at ([^ ]+ [^ ]+).*/\1/p' "$work/restic.log")
    db_time=$(sed -nE 's/^restoring <?[Ss]napshot [0-9a-f]+ of .* at ([^ ]+ [^ ]+).*/\1/p' "$work/restic.log")
    wait "$env_pid" || : >"$backed_up"
    # Should a later restic word it otherwise again, the restore goes on and says so, guessing no id.
    if [[ -z "$db_id" ]]; then
      db_id=unknown db_time=unknown
      log "restic's output did not name the latest database snapshot it fetched: $(head -n 1 "$work/restic.log")"
    fi
  else
    load_snapshots
    read -r db_id db_time < <(jq -r --arg p "$snapshot" \
      '.[] | select(.tags // [] | index("database")) | select(.id | startswith($p)) | "\(.id) \(.time)"' <<<"$snapshots_json" | head -n 1) || true
    [[ -n "$db_id" ]] || die "no database snapshot matches '$snapshot' in the repository (list them: chatwoot-backup snapshots)"
    local env_id _t
    # The env file saved with that dump: the newest one taken at or before it.
    read -r env_id _t < <(pick_snapshot env "$db_time") || read -r env_id _t < <(pick_snapshot env) || true
    if [[ -n "${env_id:-}" ]]; then r dump "$env_id" chatwoot.env >"$backed_up" || : >"$backed_up"; fi
    r restore "$db_id" --target "$work" >&2 || die "restic restore of database snapshot ${db_id:0:8} failed"
  fi
  [[ -s "$dump" ]] || die "no database snapshot matches '$snapshot' in the repository (list them: chatwoot-backup snapshots)"
  log "fetched database snapshot ${db_id:0:8} (taken $db_time, $(($(stat -c %s "$dump") / 1048576)) MB) in $(($(now) - t0))s"

  # The keys that decrypt the data must be the ones this installation runs with.
  if [[ -s "$backed_up" ]]; then
    for name in "${KEY_NAMES[@]}"; do
      [[ "$(env_value "$name" "$backed_up")" == "$(env_value "$name" "$CHATWOOT_ENV_FILE")" ]] || mismatched+=("$name")
    done
    if [[ ${#mismatched[@]} -gt 0 ]]; then
      die "the backup was made with other keys (${mismatched[*]}): the restored data could not be decrypted." \
        "Set chatwoot:secretKeyBase, encryptionPrimaryKey, encryptionDeterministicKey and encryptionKeyDerivationSalt" \
        "from the backed-up env file (docs/disaster-recovery.md, 'recovering the keys'), run pulumi up, then restore again."
    fi
  else
    log "warning: no backed-up env file found; cannot check that the keys match"
  fi

  t0=$(now)
  log "loading it with $jobs parallel jobs"
  # A bulk load: no need to wait for each commit to reach disk, and big sorts for index builds.
  PGOPTIONS="-c synchronous_commit=off -c maintenance_work_mem=256MB ${PGOPTIONS:-}" \
    pg_restore --clean --if-exists --no-owner --exit-on-error --jobs="$jobs" --dbname="$PGDATABASE" "$dump" ||
    die "pg_restore failed; the database is partly restored: fix the cause and run the restore again"
  log "loaded the database in $(($(now) - t0))s"
  rm -rf "$work"

  if [[ -n "$with_files" ]]; then
    local dir="${CHATWOOT_STORAGE_DIR:-}" files_id
    [[ -d "$dir" ]] || die "CHATWOOT_STORAGE_DIR (${dir:-unset}) is not a directory"
    # The newest files: uploads are stored under immutable keys, so newer files only add
    # orphans, while older ones could miss attachments the database refers to.
    t0=$(now)
    if r restore latest --host "$host_name" --tag files --target "$dir" >"$state_dir/restore-files.log" 2>&1; then
      files_id=$(sed -nE 's/^restoring <Snapshot ([0-9a-f]+) of .*/\1/p' "$state_dir/restore-files.log")
      log "restored files snapshot ${files_id:0:8} into $dir in $(($(now) - t0))s"
    elif grep -q "no snapshot found" "$state_dir/restore-files.log"; then
      log "warning: no files snapshot in the repository; uploads are not restored"
    else
      die "restic restore of the files failed: $(tail -n 1 "$state_dir/restore-files.log")"
    fi
    rm -f "$state_dir/restore-files.log"
  fi
  status_set restore_last_success "$(now)" restore_last_snapshot "${db_id:0:8}"
  log "restore done: database ${db_id:0:8}${files_id:+, files ${files_id:0:8}}"
}
