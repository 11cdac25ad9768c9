#!/bin/bash
# Deploys a Chatwoot release on this host, keeping the running one until the new one is ready.
#
#   deploy.sh --version v4.15.1 [< expected sha256 of the .env]
#
# 1. pull every image and build the backup service's (nothing running is touched if that fails)
# 2. start Postgres and Redis and wait until they are healthy
# 2b. on an upgrade with backups enabled, back up the database first (a failure stops here)
# 3. migrate with the NEW image as a one-off (db:chatwoot_prepare) while the old Rails and Sidekiq
#    keep serving; a failed migration stops here, old containers untouched
# 3b. close Chatwoot's installation onboarding: on a new database the seed opens
#    /installation/onboarding, where anyone reaching the site first becomes SuperAdmin; the flag is
#    deleted before anything is started, so the window never opens (Caddy refuses the path too)
# 4. up -d --wait --remove-orphans; if the new containers do not become healthy and the migration
#    changed nothing, start the previous release again; if it migrated the schema, the previous
#    release is NOT started on it (Chatwoot's migrations drop and rename), and the message says how
#    to go forward or restore
# 5. record the release (the previous one stays for rollback) and append to deploy.log
#
# Longer than ~300 lines on purpose: the steps above are one ordered sequence whose failure paths
# refer to each other (what serves, what migrated); the reusable parts (the web-tier switch, the
# lock, the live files) are in lib.sh.
set -euo pipefail

scripts_dir=${BASH_SOURCE[0]%/*}; [[ "$scripts_dir" != "${BASH_SOURCE[0]}" ]] || scripts_dir=.
# shellcheck source=lib.sh
source "$scripts_dir/lib.sh"
release_dir="$app_dir/release"
deploy_log="$app_dir/deploy.log"
image_repo="${CHATWOOT_IMAGE_REPOSITORY:-chatwoot/chatwoot}"
# Chatwoot's onboarding flag, as Redis::Alfred stores it (infra/facts/chatwoot-upstream.json).
onboarding_key="alfred:CHATWOOT_INSTALLATION_ONBOARDING"

version=""
while [[ $# -gt 0 ]]; do
  case "$1" in
    --version) version="${2:-}"; shift 2 ;;
    *) echo "deploy.sh: unknown argument $1 (usage: deploy.sh --version vX.Y.Z)" >&2; exit 2 ;;
  esac
done
if [[ ! "$version" =~ ^v[0-9]+\.[0-9]+\.[0-9]+(-ce)?$ ]]; then
  echo "deploy.sh: --version must be a release tag such as v4.15.1, got '$version'" >&2
  exit 2
fi

started=$EPOCHSECONDS
new_image="$image_repo:$version"
previous_image=""
[[ -r "$release_dir/current" ]] && previous_image=$(<"$release_dir/current")

record() {
  local result=$1 when
  close_step
  utc_now when
  if ! printf '%s deploy image=%s previous=%s result=%s seconds=%s steps=%s\n' \
    "$when" "$new_image" "${previous_image:-none}" "$result" "$((EPOCHSECONDS - started))" "${durations:-none}" >>"$deploy_log"; then
    echo "deploy.sh: could not append to $deploy_log (disk full?)" >&2
    return 1
  fi
}
# Writes a release record through a temporary file and a rename; any failure is reported.
write_record() {
  local file=$1 value=$2
  { printf '%s\n' "$value" >"$file.new" && mv -f "$file.new" "$file"; } 2>/dev/null || {
    rm -f "$file.new" 2>/dev/null
    return 1
  }
}
fail() {
  record "$1"
  echo "deploy.sh: $2" >&2
  exit 1
}
# Each step's duration goes into deploy.log ("steps=pull:12,migrate:41,…"), so operators see
# where a deploy spends its time.
step_name="" step_started=0 durations=""
step() {
  close_step
  step_name=$1 step_started=$EPOCHSECONDS
  shift
  printf '==> %s\n' "$*"
}
close_step() {
  [[ -n "$step_name" ]] && durations+="${durations:+,}$step_name:$((EPOCHSECONDS - step_started))"
  step_name=""
}

# Starts the old release's Sidekiq again when this deploy stopped it and the old release keeps
# serving; prints what happened, for the failure message.
old_sidekiq_stopped=""
restart_old_sidekiq() {
  [[ -n "$old_sidekiq_stopped" ]] || return 0
  if "$compose" start sidekiq >/dev/null 2>&1; then
    old_sidekiq_stopped=""
    printf '; its Sidekiq was started again'
  else
    printf '; starting its Sidekiq again FAILED, jobs wait in Redis (see: compose.sh ps)'
  fi
}

take_lock deploy.sh
[[ -r "$app_dir/.env" ]] || fail env-missing "$app_dir/.env is missing; the write-env step of pulumi up writes it (nothing was changed)"

# The env file Pulumi just wrote must be the one we run with (stdin carries its sha256).
if [[ ! -t 0 ]]; then
  expected="" actual="" set_aside=""
  IFS= read -r -d '' expected || true
  expected=${expected//[[:space:]]/}
  if [[ -n "$expected" ]]; then
    sha256_of actual "$app_dir/.env" || actual=""
    if [[ "$actual" != "$expected" ]]; then
      if [[ -r "$app_dir/.env.failed" ]] && sha256_of set_aside "$app_dir/.env.failed" && [[ "$set_aside" == "$expected" ]]; then
        fail env-failed-before "this configuration came up unhealthy before and was set aside as $app_dir/.env.failed; change the configuration, or retry it with: pulumi up --replace <urn of chatwoot-write-env>"
      fi
      fail env-mismatch "$app_dir/.env is not the env file this deploy was planned with (re-run pulumi up)"
    fi
  fi
fi

mkdir -p "$release_dir" || fail release-dir "cannot create $release_dir"
export CHATWOOT_IMAGE="$new_image"

upgrade_backup=""
backups_enabled && [[ -n "$previous_image" && "$previous_image" != "$new_image" ]] && upgrade_backup=1

# On an upgrade with backups, the new Chatwoot image (the big pull) downloads while the database
# is backed up; everything else is pulled first, so a failed pull still changes nothing.
step pull "pulling images ($new_image)"
if [[ -n "$upgrade_backup" ]]; then
  "$compose" pull --quiet postgres redis caddy || fail pull-failed "could not pull images; nothing was changed"
else
  "$compose" pull --quiet || fail pull-failed "could not pull images; nothing was changed"
fi
if backups_enabled; then
  "$compose" build --quiet backup || fail build-failed "could not build the backup service image; nothing was changed"
fi

step datastores "starting postgres and redis"
"$compose" up -d --wait postgres redis || fail datastores-unhealthy "postgres or redis did not become healthy; see: compose.sh logs postgres redis"

# Attachments already moved to a bucket are served only through it: with chatwoot:storage back on
# the volume every one of them would break. Refused before anything changes.
if grep -qx "ACTIVE_STORAGE_SERVICE='local'" "$app_dir/.env"; then
  in_bucket=$("$compose" exec -T postgres psql -U postgres -d chatwoot -XAt \
    -c "select count(*) from active_storage_blobs where service_name <> 'local'" 2>/dev/null) || true
  in_bucket=${in_bucket//[[:space:]]/}
  if [[ "$in_bucket" =~ ^[1-9][0-9]*$ ]]; then
    fail storage-in-bucket "$in_bucket attachment(s) live in a bucket, but chatwoot:storage now says local: they would all break. Set chatwoot:storage back to that bucket, or copy them onto the volume and point their rows at 'local' first (docs/operations.md); nothing was changed"
  fi
fi

if [[ -n "$upgrade_backup" ]]; then
  step backup "backing up the database before upgrading from $previous_image, while $new_image downloads"
  pull_log=$(mktemp)
  "$compose" pull --quiet rails sidekiq >"$pull_log" 2>&1 &
  pull_pid=$!
  backup_ok=1
  "$here/backup.sh" database || backup_ok=""
  pull_ok=1
  wait "$pull_pid" || pull_ok=""
  [[ -n "$pull_ok" ]] || cat "$pull_log" >&2
  rm -f "$pull_log"
  [[ -n "$backup_ok" ]] ||
    fail pre-upgrade-backup-failed "the backup before the upgrade failed; nothing was changed (see: compose.sh logs backup)"
  [[ -n "$pull_ok" ]] || fail pull-failed "could not pull $new_image; nothing was changed (a backup was taken)"
fi

# The newest migration the database has ("" before the first one).
schema_version() {
  local version
  version=$("$compose" exec -T postgres psql -U postgres -d chatwoot -XAt \
    -c "select coalesce(max(version), '') from schema_migrations" 2>/dev/null) || true
  printf '%s\n' "${version//[[:space:]]/}"
}
schema_before=$(schema_version)

# A configuration change on the release already running has nothing to migrate: that image's
# migrations ran when it was deployed, and the schema is still the one it left (a restore would
# have changed it). Skipping saves a Rails boot on every configuration change.
recorded_schema=""
read_text recorded_schema "$release_dir/schema"
if [[ "$previous_image" == "$new_image" && -n "$schema_before" && "$schema_before" == "$recorded_schema" ]]; then
  printf '==> %s\n' "$new_image already migrated this database (schema $schema_before): no migration"
else
  # On an upgrade the old Sidekiq stops before the new schema exists: a job class or a column the
  # old release does not know would fail its jobs, and retries run out in minutes. Jobs enqueued
  # meanwhile wait in Redis for the new Sidekiq. The old web tier keeps serving.
  if [[ -n "$previous_image" && "$previous_image" != "$new_image" && -n "$("$compose" ps -q --status running sidekiq 2>/dev/null)" ]]; then
    step sidekiq-stop "stopping $previous_image's Sidekiq before migrating (its jobs wait in Redis)"
    "$compose" stop sidekiq || fail sidekiq-stop-failed "could not stop $previous_image's Sidekiq before migrating; nothing was migrated (see: compose.sh ps)"
    old_sidekiq_stopped=1
  fi
  step migrate "migrating with $new_image (the running release keeps serving)"
  if ! "$compose" run --rm --no-deps -e POSTGRES_STATEMENT_TIMEOUT=600s rails bundle exec rails db:chatwoot_prepare; then
    fail migration-failed "migration failed; the previous containers were left running (${previous_image:-none deployed yet})$(restart_old_sidekiq)"
  fi
fi
schema_after=$(schema_version)

# An adopted database (scripts/adopt.sh) is whole once it has migrated: only now are the staged
# files of the old installation deleted (they hold customer data), and the last step is recorded.
adopt_state="$(env_data_dir)/adopt.state"
if [[ -r "$adopt_state" ]] && grep -qx 'database=ok' "$adopt_state" && ! grep -qx 'migrate=ok' "$adopt_state" &&
  [[ -n "$schema_after" ]]; then
  if { cat "$adopt_state"; echo migrate=ok; } >"$adopt_state.new" && mv -f "$adopt_state.new" "$adopt_state"; then
    rm -rf "$(env_data_dir)/adopt" && printf '==> %s\n' "the adopted database has migrated; the staged files of the old installation were deleted"
  else
    rm -f "$adopt_state.new"
    fail record-failed "could not record that the adopted database has migrated (disk full?); run pulumi up again"
  fi
fi

step onboarding "closing the installation onboarding"
# REDISCLI_AUTH keeps the password out of the process list; the key is Redis::Alfred's.
# shellcheck disable=SC2016 # $REDIS_PASSWORD is expanded by the container's shell, from its own env
if ! "$compose" exec -T redis sh -c 'REDISCLI_AUTH="$REDIS_PASSWORD" exec redis-cli DEL '"$onboarding_key" >/dev/null; then
  fail onboarding-not-closed "could not delete Chatwoot's onboarding flag in Redis; nothing was started (see: compose.sh logs redis)$(restart_old_sidekiq)"
fi

# The backup scheduler must never be stopped in the middle of a job: whatever recreates it (a new
# backup image, a changed job script) runs holding the job lock on the host side of its volume.
data_dir=$(env_data_dir)
between_backups() {
  if backups_enabled && [[ -n "$data_dir" ]]; then
    mkdir -p "$data_dir/backup" && flock "$data_dir/backup/job.lock" "$@"
  else
    "$@"
  fi
}
# What running containers read from live/ (compose.sh installed it from this bundle), and what they
# last loaded.
live_changed() {
  local now="" loaded
  sha256_of now "$live_dir/$1" || now=""
  read_text loaded "$live_dir/$1.loaded"
  [[ "$now" != "$loaded" ]]
}
live_loaded() { local now; sha256_of now "$live_dir/$1" && write_record "$live_dir/$1.loaded" "$now"; }
read_running_services
caddy_was_running="" backup_was_running="" rails_was_running=""
is_running caddy && caddy_was_running=1
is_running backup && backup_was_running=1
is_running rails && rails_was_running=1

# While Rails and Caddy serve, a change that recreates Rails switches the web tier without a
# failed request (lib.sh); the up below then recreates Sidekiq and whatever else changed.
started_ok=1 web_switched=""
recorded_rails_inputs=""
read_text recorded_rails_inputs "$release_dir/rails-inputs"
if [[ -n "$rails_was_running" && -n "$caddy_was_running" && "$(rails_inputs)" != "$recorded_rails_inputs" ]]; then
  step switch "switching the web tier to $new_image without downtime"
  if switch_web_without_downtime; then web_switched=1; else started_ok=""; fi
  live_loaded caddy/Caddyfile 2>/dev/null || true
fi
if [[ -n "$started_ok" ]]; then
  step start "starting $new_image"
  between_backups "$compose" up -d --wait --remove-orphans || started_ok=""
fi
# Records what serves, whether or not the deploy went as planned (compose.sh runs release/current).
record_serving() {
  local image=$1
  if [[ "$image" != "$previous_image" && -n "$previous_image" ]]; then
    write_record "$release_dir/previous" "$previous_image" || return 1
  fi
  write_record "$release_dir/current" "$image" && write_record "$release_dir/schema" "$schema_after"
}
# Starts Sidekiq of the release that serves, so that no working site runs without one.
start_sidekiq_of() {
  if CHATWOOT_IMAGE="$1" "$compose" up -d --wait --no-deps sidekiq >/dev/null 2>&1; then
    printf 'Sidekiq runs %s' "$1"
  else
    printf 'Sidekiq of %s did NOT become healthy, jobs wait in Redis (see: compose.sh logs sidekiq)' "$1"
  fi
}
schema_note="schema ${schema_before:-empty} -> ${schema_after:-unknown}"
# (A configuration change on the same release that Caddy never left goes back to the previous
# configuration below, as a whole.)
if [[ -z "$started_ok" && -n "$switch_state" && "$switch_state" != switched ]] &&
  ! [[ "$switch_state" == untouched && "$previous_image" == "$new_image" ]]; then
  # The switch stopped partway. What serves was read back from Caddy; keep it serving.
  case "$switch_state" in
    untouched)
      # The release that served before kept serving throughout, through the migration too: it
      # goes on, with its own Sidekiq. The database keeps what the new release migrated.
      fail switch-failed-previous-serving "$new_image could not take over the web tier; $previous_image kept serving throughout and still serves ($schema_note)$(restart_old_sidekiq). Fix the cause (see above; compose.sh logs rails-surge) and run pulumi up again" ;;
    surge)
      if [[ "$schema_after" == "$schema_before" ]]; then
        # Nothing was migrated: the release that served before takes the web tier back from
        # rails-surge the same way, and everything else of it starts again.
        echo "deploy.sh: the migration changed nothing, so $previous_image takes the web tier back from rails-surge" >&2
        if CHATWOOT_IMAGE="$previous_image" "$compose" up -d --wait --no-deps rails; then
          CHATWOOT_IMAGE="$previous_image" caddy_upstream || true
          if [[ "$(caddy_serving)" == rails ]]; then
            CHATWOOT_IMAGE="$previous_image" "$compose" rm --stop --force rails-surge >/dev/null 2>&1 || true
            if CHATWOOT_IMAGE="$previous_image" between_backups "$compose" up -d --wait --remove-orphans; then
              fail unhealthy-previous-restored "$new_image did not become healthy; $previous_image is serving again"
            fi
            fail unhealthy-previous-failed "$new_image did not become healthy; $previous_image serves the web tier again, but its other services did not all become healthy (see: compose.sh ps)"
          fi
        fi
        echo "deploy.sh: $previous_image could not take the web tier back; $new_image keeps serving from rails-surge" >&2
      fi
      sidekiq=$(start_sidekiq_of "$new_image")
      record_serving "$new_image" || fail record-failed "$new_image serves from rails-surge, but recording it in $release_dir failed (disk full?)"
      fail serving-from-surge "$new_image serves from rails-surge (port 3001): Rails did not become healthy with it, or Caddy did not go back to it; $sidekiq; release/current says $new_image ($schema_note). Fix the cause (compose.sh logs rails caddy) and run pulumi up again" ;;
    *)
      fail caddy-state-unknown "where Caddy sends traffic could not be read from its admin API ($(caddy_admin_socket)); Rails, rails-surge and Sidekiq were left as they are, release/current still says ${previous_image} ($schema_note). Check: compose.sh ps; compose.sh logs caddy" ;;
  esac
fi
if [[ -z "$started_ok" ]]; then
  unhealthy="$new_image did not become healthy; see: compose.sh ps; compose.sh logs rails sidekiq"
  if [[ -z "$previous_image" ]]; then
    fail unhealthy "$unhealthy"
  fi
  if [[ "$previous_image" == "$new_image" ]]; then
    # A configuration change (env or bundle) on the same release: go back to the previous
    # configuration as a whole, and set the failed env file aside.
    if [[ ! -r "$app_dir/.env.previous" && ! -L "$app_dir/bundle.previous" ]]; then
      fail unhealthy "$unhealthy; no previous configuration is kept to go back to"
    fi
    echo "deploy.sh: the new configuration did not become healthy; going back to the previous .env and bundle" >&2
    if [[ -r "$app_dir/.env.previous" ]] && ! cmp -s "$app_dir/.env.previous" "$app_dir/.env"; then
      { cp -p "$app_dir/.env" "$app_dir/.env.failed" && cp -p "$app_dir/.env.previous" "$app_dir/.env"; } ||
        fail unhealthy-config-restore-failed "$unhealthy; restoring the previous .env FAILED, Chatwoot is down"
    fi
    if [[ -L "$app_dir/bundle.previous" ]]; then
      { ln -sfn "$(readlink "$app_dir/bundle.previous")" "$app_dir/bundle.next" && mv -T "$app_dir/bundle.next" "$app_dir/bundle"; } ||
        fail unhealthy-config-restore-failed "$unhealthy; restoring the previous bundle FAILED, Chatwoot is down"
    fi
    if between_backups "$compose" up -d --wait --remove-orphans; then
      fail unhealthy-previous-config-restored "$unhealthy; the previous configuration is serving again (the failed env file is kept as .env.failed)"
    fi
    fail unhealthy-previous-failed "$unhealthy; the previous configuration FAILED too, Chatwoot is down (see: compose.sh ps)"
  fi
  if [[ "$schema_after" != "$schema_before" && -n "$web_switched" ]]; then
    # The new release's web tier serves (the switch read it back from Caddy) on the schema it
    # migrated: it keeps serving, with its Sidekiq; what else failed is said.
    sidekiq=$(start_sidekiq_of "$new_image")
    record_serving "$new_image" || fail record-failed "$new_image serves, but recording it in $release_dir failed (disk full?)"
    fail unhealthy-new-serving "$unhealthy; $new_image's web tier serves and keeps serving ($schema_note); $sidekiq; release/current says $new_image"
  fi
  if [[ "$schema_after" != "$schema_before" ]]; then
    # Nothing served through Caddy before this deploy (no switch ran), and starting the previous
    # release on a schema it does not know can corrupt data: stop instead.
    "$compose" stop rails sidekiq >/dev/null 2>&1 || true
    echo "deploy.sh: $new_image migrated the database (schema ${schema_before:-empty} -> ${schema_after:-unknown})," >&2
    echo "           so $previous_image was NOT started on it. Chatwoot is stopped. Either:" >&2
    echo "           - fix forward: pulumi config set chatwoot:chatwootVersion <a fixed release>; pulumi up" >&2
    echo "           - or go back: restore the backup taken before this upgrade, then roll back:" >&2
    echo "             $here/backup.sh snapshots; $here/restore.sh --snapshot <id>; $here/rollback.sh --yes" >&2
    fail unhealthy-schema-migrated "$unhealthy"
  fi
  echo "deploy.sh: $new_image did not become healthy; the migration changed nothing, so starting $previous_image again" >&2
  # When the new release already serves (Sidekiq or another service failed after the switch), the
  # web tier switches back the same way, without a failed request.
  if [[ -n "$web_switched" ]] && ! CHATWOOT_IMAGE="$previous_image" switch_web_without_downtime; then
    case "$switch_state" in
      untouched) serving=$new_image ;;
      surge) serving="$previous_image (from rails-surge)" ;;
      *) serving="unknown (Caddy's admin API did not answer)" ;;
    esac
    if [[ "$switch_state" == untouched ]]; then record_serving "$new_image" >/dev/null 2>&1 || true; fi
    fail unhealthy-switch-back-failed "$unhealthy; switching the web tier back to $previous_image failed: what serves is $serving; see: compose.sh ps"
  fi
  if CHATWOOT_IMAGE="$previous_image" between_backups "$compose" up -d --wait --remove-orphans; then
    fail unhealthy-previous-restored "$unhealthy; $previous_image is serving again"
  fi
  fail unhealthy-previous-failed "$unhealthy; starting $previous_image again FAILED too, Chatwoot is down (see: compose.sh ps)"
fi

# What running containers read from live/ (compose.sh installed it from this bundle): Caddy
# reloads gracefully (connections in flight carry on), the backup scheduler restarts between jobs.
# A container created by the up above already runs it.
if live_changed caddy/Caddyfile; then
  if [[ -n "$caddy_was_running" ]]; then
    step caddy "reloading Caddy with the changed Caddyfile"
    "$compose" exec -T caddy caddy reload --config /etc/caddy/Caddyfile --adapter caddyfile ||
      fail caddy-reload-failed "Caddy refused the changed Caddyfile and keeps serving the previous one; see: compose.sh logs caddy"
  fi
  live_loaded caddy/Caddyfile || fail record-failed "could not record the Caddyfile Caddy runs (disk full?)"
fi
if backups_enabled && live_changed backup/chatwoot-backup; then
  if [[ -n "$backup_was_running" ]]; then
    step backup-restart "restarting the backup service with the changed job script (after any running job)"
    between_backups "$compose" up -d --wait --no-deps --force-recreate backup ||
      fail backup-restart-failed "the backup service did not come back with the changed job script; see: compose.sh logs backup"
  fi
  live_loaded backup/chatwoot-backup || fail record-failed "could not record the backup script the service runs (disk full?)"
fi

if ! backups_enabled; then
  # Backups were turned off: stop the service that the profile no longer starts.
  COMPOSE_PROFILES=backup "$compose" rm --stop --force backup >/dev/null 2>&1 || true
fi

# The records every later command relies on (compose.sh runs release/current): a failed write is
# a failed deploy, said as such, never "ok".
not_recorded="$new_image is running, but recording it in $release_dir failed (disk full?); free space and run pulumi up again"
if [[ -n "$previous_image" && "$previous_image" != "$new_image" ]]; then
  write_record "$release_dir/previous" "$previous_image" || fail record-failed "$not_recorded"
fi
write_record "$release_dir/current" "$new_image" || fail record-failed "$not_recorded"
write_record "$release_dir/schema" "$schema_after" || fail record-failed "$not_recorded"
write_record "$release_dir/rails-inputs" "$(rails_inputs)" || fail record-failed "$not_recorded"
rm -f "$app_dir/.env.failed"
record ok || exit 1
printf '==> %s\n' "deployed $new_image in $((EPOCHSECONDS - started))s"

# Attachments in a bucket (chatwoot:storage): its CORS and the move of what is still on the data
# volume (resumable). The release stays deployed if this fails; the next pulumi up runs it again.
if ! "$here/storage.sh" sync; then
  echo "deploy.sh: $new_image is deployed, but the attachments could not be synced with the bucket (see above); run pulumi up again once fixed" >&2
  exit 1
fi
