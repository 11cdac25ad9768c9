#!/usr/bin/env bash
# Brings an existing Chatwoot installation's data under this stack (chatwoot:adopt): loads a
# pg_dump of its database and its /app/storage files into this host's new, empty installation,
# before deploy.sh migrates the database to the configured release.
#
#   adopt.sh --before-deploy --version vX.Y.Z --v4-migration N --from-v3 allow|refuse
#            [--database FILE] [--storage FILE|bucket] [--urls-on-stdin]
#
#   --database FILE   a dump uploaded by pulumi up into <data dir>/adopt/: custom (pg_dump -Fc) or
#                     plain (pg_dump, optionally gzip-compressed) format, from PostgreSQL 12 to 16
#   --storage FILE    a tar archive (optionally gzip-compressed) of the old /app/storage
#   --storage bucket  the attachments already live in the bucket chatwoot:storage names: blobs of
#                     the old installation's S3 services are pointed at it, nothing is copied
#   --urls-on-stdin   stdin holds "database <url>" and/or "storage <url>" lines: the host downloads
#                     them (curl reads the URL from its config on stdin, never from its arguments)
#
# It only ever fills an empty database: once the database has a table, it does nothing (a re-run,
# a replaced server with its volume intact, a later pulumi up). The database loads in one
# transaction, so a failed load leaves it empty and the next pulumi up tries again. The staged
# files hold customer data: downloads are always deleted, uploads once adopted (or skipped), and
# kept after a failure so that the retry finds them (pulumi up does not upload them twice).
#
# Exit status: 0 adopted (or nothing to do); 1 failed; 2 bad arguments.
set -euo pipefail

# shellcheck source=lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

usage="usage: adopt.sh --before-deploy --version vX.Y.Z --v4-migration N --from-v3 allow|refuse [--database FILE] [--storage FILE|bucket] [--urls-on-stdin]"
version="" v4_migration="" from_v3="" database="" storage="" urls="" before_deploy=""
while [[ $# -gt 0 ]]; do
  case "$1" in
    --before-deploy) before_deploy=1; shift ;;
    --version) version="${2:-}"; shift 2 ;;
    --v4-migration) v4_migration="${2:-}"; shift 2 ;;
    --from-v3) from_v3="${2:-}"; shift 2 ;;
    --database) database="${2:-}"; shift 2 ;;
    --storage) storage="${2:-}"; shift 2 ;;
    --urls-on-stdin) urls=1; shift ;;
    *) echo "adopt.sh: unknown argument $1 ($usage)" >&2; exit 2 ;;
  esac
done
[[ -n "$before_deploy" ]] || { echo "adopt.sh: only runs as a step of pulumi up (--before-deploy); $usage" >&2; exit 2; }
[[ "$version" =~ ^v[0-9]+\.[0-9]+\.[0-9]+$ && "$v4_migration" =~ ^[0-9]{14}$ && "$from_v3" =~ ^(allow|refuse)$ ]] ||
  { echo "adopt.sh: --version, --v4-migration and --from-v3 are required; $usage" >&2; exit 2; }
for name in "$database" "$storage"; do
  [[ -z "$name" || "$name" =~ ^[A-Za-z0-9._-]+$ ]] || { echo "adopt.sh: --database and --storage take a file name in the adopt directory" >&2; exit 2; }
done

data_dir=$(sed -n "s/^CHATWOOT_DATA_DIR='\(.*\)'\$/\1/p" "$app_dir/.env")
[[ -n "$data_dir" ]] || { echo "adopt.sh: CHATWOOT_DATA_DIR is missing from $app_dir/.env" >&2; exit 1; }
stage="$data_dir/adopt"
step() { printf '==> %s\n' "$*"; }
now() { date +%s; }
fail() { echo "adopt.sh: $*" >&2; exit 1; }

# The URLs come first: stdin is read once, before anything else uses it.
database_url="" storage_url=""
if [[ -n "$urls" ]]; then
  while read -r kind url; do
    case "$kind" in
      database) database_url=$url ;;
      storage) storage_url=$url ;;
      "") ;;
      *) fail "stdin: expected 'database <url>' or 'storage <url>' lines" ;;
    esac
  done
fi
[[ -z "$database" || -z "$database_url" ]] || fail "the database comes from a file or a URL, not both"
[[ -n "$database" || -n "$database_url" ]] || fail "nothing to adopt: give --database or a database URL"
[[ -z "$storage_url" || -z "$storage" ]] || fail "the storage comes from a file, a URL or the bucket, not more than one"

take_lock adopt.sh
trap 'rm -f "$stage"/*.download' EXIT
done_with_staged_files() { rm -rf "${stage:?}"/*; }

# Only Postgres runs here; compose.yaml still needs an image to interpolate (as in restore.sh).
if [[ -r "$app_dir/release/current" ]]; then CHATWOOT_IMAGE=$(<"$app_dir/release/current"); else CHATWOOT_IMAGE="${CHATWOOT_IMAGE_REPOSITORY:-chatwoot/chatwoot}:$version"; fi
export CHATWOOT_IMAGE
pg() { "$compose" exec -T postgres "$@"; }
sql() { pg psql -X -q -v ON_ERROR_STOP=1 -At -U postgres -d chatwoot -c "$1"; }

step "starting postgres"
"$compose" up -d --wait postgres
tables=$(sql "select count(*) from pg_tables where schemaname = 'public'") || fail "cannot query the new database"
if [[ "$tables" != 0 ]]; then
  step "adopt skipped: the database already holds data ($tables tables); adoption only ever fills an empty database"
  done_with_staged_files
  exit 0
fi

# --- fetch ---------------------------------------------------------------------------------------
install -d -m 0700 "$stage"
download() { # download <what> <url> <file>
  local t0
  t0=$(now)
  step "downloading the $1"
  # The URL may carry a signature: curl reads it from its config on stdin, not from argv.
  printf 'url = "%s"\n' "${2//\"/\\\"}" |
    curl --config - --fail --silent --show-error --location --retry 3 --proto '=https,http' --output "$3" ||
    fail "could not download the $1 (curl's error is above; the URL is not shown)"
  step "downloaded the $1 ($(($(stat -c %s "$3") / 1048576)) MB) in $(($(now) - t0))s"
}
if [[ -n "$database_url" ]]; then
  database=database.download
  download database "$database_url" "$stage/$database"
fi
if [[ -n "$storage_url" ]]; then
  storage=storage.download
  download "storage archive" "$storage_url" "$stage/$storage"
fi
dump="$stage/$database"
[[ -s "$dump" ]] || fail "the database dump $dump is missing or empty (did the upload step run?)"

# --- what kind of dump ---------------------------------------------------------------------------
magic=$(head -c 5 "$dump" | od -An -tx1 | tr -d ' \n')
case "$magic" in
  5047444d50) format=custom ;;             # "PGDMP": pg_dump -Fc
  1f8b*) format=plain-gzip ;;              # gzip: pg_dump | gzip
  *)
    if grep -q -- '-- PostgreSQL database dump' < <(head -c 4096 "$dump"); then format=plain
    else fail "$database is not a pg_dump archive: expected the custom format (pg_dump -Fc) or a plain SQL dump (pg_dump, optionally gzipped); directory and tar formats are not supported"
    fi ;;
esac
plain() { if [[ "$format" == plain-gzip ]]; then gzip -dc "$dump"; else cat "$dump"; fi; }
# (Readers that stop early are in process substitutions: under pipefail, the writer's SIGPIPE
# would fail the pipeline.)
if [[ "$format" == plain-gzip ]] && ! grep -q -- '-- PostgreSQL database dump' < <(gzip -dc "$dump" 2>/dev/null | head -c 4096); then
  fail "$database is gzip-compressed but not a plain pg_dump inside"
fi
step "database dump: $format format, $(($(stat -c %s "$dump") / 1048576)) MB"

# --- which Chatwoot it is from -------------------------------------------------------------------
# The newest applied migration (schema_migrations) says which release wrote the dump.
if [[ "$format" == custom ]]; then
  migrations=$(pg pg_restore --data-only --table=schema_migrations --file=- <"$dump") ||
    fail "pg_restore cannot read $database (is it from pg_dump 16 or older, and complete?)"
else
  migrations=$(plain | awk '/^COPY (public\.)?schema_migrations /{on=1; next} on && /^\\\.$/{on=0} on') ||
    fail "cannot read $database (a damaged gzip file?)"
fi
newest=$(grep -oE '^[0-9]{14}' <<<"$migrations" | sort | tail -n 1 || true)
[[ -n "$newest" ]] || fail "$database has no schema_migrations rows: it is not a dump of a Chatwoot database"
step "the dump's newest migration is $newest"
if [[ "$newest" < "$v4_migration" && "$from_v3" == refuse ]]; then
  fail "this dump is from Chatwoot 3.x or older (newest migration $newest, before v4.0.0's $v4_migration)." \
    "Chatwoot 4 needs pgvector, and upgrades from 3.x straight to 4.2 or later fail on existing data (chatwoot#12088):" \
    "adopt it with chatwoot:chatwootVersion v4.1.0 first, then set the release you want and run pulumi up again." \
    "Nothing was loaded."
fi

# --- load ----------------------------------------------------------------------------------------
t0=$(now)
if [[ "$format" == custom ]]; then
  step "loading the database (pg_restore, without the old owners and privileges)"
  pg env PGOPTIONS="-c synchronous_commit=off -c maintenance_work_mem=256MB" \
    pg_restore --no-owner --no-acl --exit-on-error --single-transaction -U postgres -d chatwoot <"$dump" ||
    fail "pg_restore failed (its error is above); nothing was loaded: fix the cause and run pulumi up again"
else
  # A plain dump names its owners and grantees: the roles are created for the load (without
  # login), then everything they own is handed to postgres and they are dropped again.
  roles=$(plain | sed -nE 's/^ALTER .* OWNER TO "?([A-Za-z_][A-Za-z0-9_$-]*)"?;$/\1/p; s/^GRANT .* TO "?([A-Za-z_][A-Za-z0-9_$-]*)"?;$/\1/p' |
    sort -u | grep -vxE 'postgres|PUBLIC|public' || true)
  for role in $roles; do
    sql "do \$\$ begin if not exists (select from pg_roles where rolname = '$role') then create role \"$role\" nologin; end if; end \$\$" ||
      fail "could not create the dump's role $role for the load"
  done
  step "loading the database (psql, one transaction)"
  plain | pg env PGOPTIONS="-c synchronous_commit=off -c maintenance_work_mem=256MB" psql -X -q -v ON_ERROR_STOP=1 --single-transaction -U postgres -d chatwoot >/dev/null ||
    fail "psql failed to load the dump (its error is above); nothing was loaded: fix the cause and run pulumi up again"
  for role in $roles; do
    sql "reassign owned by \"$role\" to postgres; drop owned by \"$role\"; drop role \"$role\"" ||
      fail "could not hand the objects of role $role to postgres"
  done
fi
sql "analyze" || true
[[ "$(sql "select to_regclass('public.ar_internal_metadata') is not null")" == t ]] ||
  fail "the dump has no ar_internal_metadata table: Chatwoot's migrations would load a fresh schema over it; it is not a usable Chatwoot dump"
counts=$(sql "select (select count(*) from accounts) || ' account(s), ' || (select count(*) from users) || ' user(s), ' || (select count(*) from conversations) || ' conversation(s), ' || (select count(*) from messages) || ' message(s)'") ||
  fail "the loaded database lacks Chatwoot's tables (accounts, users, conversations, messages)"
step "loaded $counts in $(($(now) - t0))s"

# --- files ---------------------------------------------------------------------------------------
files_dir="$data_dir/storage"
if [[ "$storage" == bucket ]]; then
  # Blobs of the old installation's S3 services (storage.yml: amazon, s3_compatible) are served
  # from the bucket chatwoot:storage names, with the service this stack renders.
  moved=$(sql "with m as (update active_storage_blobs set service_name = 's3_compatible' where service_name in ('amazon', 's3_compatible') returning 1) select count(*) from m") ||
    fail "could not point the attachments at the bucket"
  step "attachments: $moved blob(s) are served from the configured bucket"
elif [[ -n "$storage" ]]; then
  archive="$stage/$storage"
  [[ -s "$archive" ]] || fail "the storage archive $archive is missing or empty (did the upload step run?)"
  t0=$(now)
  listing=$(tar -tf "$archive" 2>/dev/null) || fail "$storage is not a tar archive (plain or gzip-compressed)"
  # Archives made of the directory itself (tar -C /app storage) carry a storage/ prefix.
  strip=()
  if ! grep -qvE '^(\./)?storage(/|$)' <<<"$listing"; then strip=(--strip-components=1); [[ "$listing" == ./* ]] && strip=(--strip-components=2); fi
  install -d "$files_dir"
  [[ -z "$(ls -A "$files_dir")" ]] || fail "$files_dir is not empty; the archive is only unpacked into an empty storage directory"
  step "unpacking the storage archive into $files_dir"
  tar -xf "$archive" -C "$files_dir" --no-same-owner "${strip[@]}" || fail "could not unpack $storage (tar's error is above)"
  step "unpacked $(find "$files_dir" -type f | wc -l) file(s) in $(($(now) - t0))s"
fi

# Every blob the database serves from this disk must be there (Disk service: <2>/<2>/<key>).
if [[ "$storage" != bucket ]]; then
  missing=0 total=0 examples=()
  while read -r key; do
    [[ -n "$key" ]] || continue
    total=$((total + 1))
    if [[ ! -f "$files_dir/${key:0:2}/${key:2:2}/$key" ]]; then
      missing=$((missing + 1))
      [[ ${#examples[@]} -lt 5 ]] && examples+=("$key")
    fi
  done < <(sql "select key from active_storage_blobs where service_name = 'local' order by id")
  if [[ $missing -gt 0 ]]; then
    step "warning: $missing of $total local attachment(s) are not in the storage directory (e.g. ${examples[*]}); they will show as broken until their files are copied into $files_dir"
  else
    step "attachments: all $total local file(s) are in place"
  fi
  others=$(sql "select string_agg(distinct service_name, ', ') from active_storage_blobs where service_name <> 'local'")
  [[ -z "$others" ]] || step "warning: some blobs live in other storage services ($others): set chatwoot:storage to that bucket and adopt.storage to \"bucket\", or copy them"
fi
done_with_staged_files
step "adopted; deploy.sh migrates it to $version next"
