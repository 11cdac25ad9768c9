#!/bin/bash
# Brings an existing Chatwoot installation's data under this stack (chatwoot:adopt): loads a
# pg_dump of its database and its /app/storage files into this host's new, empty installation,
# before deploy.sh migrates the database to the configured release.
#
#   adopt.sh --before-deploy --version vX.Y.Z --v4-migration N --from-v3 allow|refuse
#            [--v41-needed-before N] [--target-newest N] [--database FILE] [--storage FILE|bucket]
#            [--urls-on-stdin]
#
#   --database FILE   a dump uploaded by pulumi up into <data dir>/adopt/: custom (pg_dump -Fc) or
#                     plain (pg_dump, optionally gzip-compressed) format, from PostgreSQL 12 to 16
#   --storage FILE    a tar archive (optionally gzip-compressed) of the old /app/storage
#   --storage bucket  the attachments already live in the bucket chatwoot:storage names: blobs of
#                     the old installation's S3 services are pointed at it, nothing is copied
#   --urls-on-stdin   stdin holds "database <url>" and/or "storage <url>" lines: the host downloads
#                     them (curl reads the URL from its config on stdin, never from its arguments)
#
# It only ever fills an empty database, and it is a recorded state machine (<data dir>/adopt.state):
#   database   loaded in one transaction together with a check that every table has the dump's
#              row count and every sequence the dump's value; marked done only then
#   storage    unpacked beside the storage directory and moved into place whole; marked done once
#              every file of the archive is there
#   migrate    marked by deploy.sh once the adopted database has migrated; only then are the staged
#              files deleted
# A re-run resumes at the first step not done; a failure leaves the staged files for the retry (pulumi
# up does not upload them twice). Plain dumps must end with pg_dump's completion trailer, and load
# under psql's \restrict, so that no meta-command in a dump (\! runs a shell) can run. The loaders'
# own messages can quote rows of the dump (emails, password hashes): they go to a 0600 log in the
# staging directory, and only their gist is printed.
#
# Exit status: 0 adopted (or nothing to do); 1 failed; 2 bad arguments.
set -euo pipefail

scripts_dir=${BASH_SOURCE[0]%/*}; [[ "$scripts_dir" != "${BASH_SOURCE[0]}" ]] || scripts_dir=.
# shellcheck source=lib.sh
source "$scripts_dir/lib.sh"

usage="usage: adopt.sh --before-deploy --version vX.Y.Z --v4-migration N --from-v3 allow|refuse [--v41-needed-before N] [--target-newest N] [--database FILE] [--storage FILE|bucket] [--urls-on-stdin]"
version="" v4_migration="" from_v3="" database="" storage="" urls="" before_deploy="" v41_before="" target_newest=""
while [[ $# -gt 0 ]]; do
  case "$1" in
    --before-deploy) before_deploy=1; shift ;;
    --version) version="${2:-}"; shift 2 ;;
    --v4-migration) v4_migration="${2:-}"; shift 2 ;;
    --from-v3) from_v3="${2:-}"; shift 2 ;;
    --v41-needed-before) v41_before="${2:-}"; shift 2 ;;
    --target-newest) target_newest="${2:-}"; shift 2 ;;
    --database) database="${2:-}"; shift 2 ;;
    --storage) storage="${2:-}"; shift 2 ;;
    --urls-on-stdin) urls=1; shift ;;
    *) echo "adopt.sh: unknown argument $1 ($usage)" >&2; exit 2 ;;
  esac
done
[[ -n "$before_deploy" ]] || { echo "adopt.sh: only runs as a step of pulumi up (--before-deploy); $usage" >&2; exit 2; }
[[ "$version" =~ ^v[0-9]+\.[0-9]+\.[0-9]+(-ce)?$ && "$v4_migration" =~ ^[0-9]{14}$ && "$from_v3" =~ ^(allow|refuse)$ ]] ||
  { echo "adopt.sh: --version, --v4-migration and --from-v3 are required; $usage" >&2; exit 2; }
[[ -z "$v41_before$target_newest" || "$v41_before$target_newest" =~ ^([0-9]{14}){1,2}$ ]] ||
  { echo "adopt.sh: --v41-needed-before and --target-newest take a migration id (14 digits)" >&2; exit 2; }
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
# Downloads and scans never outlive a run; the error log only when it holds something.
trap 'rm -f "$stage"/*.download "$stage"/*.scan.*; [[ -s "$stage/adopt-error.log" ]] || rm -f "$stage/adopt-error.log"' EXIT

# --- the recorded state (<data dir>/adopt.state, one "step=value" line each) ----------------------
state_file="$data_dir/adopt.state"
state() { sed -n "s/^$1=//p" "$state_file" 2>/dev/null | tail -n 1; }
mark() { # mark <step> <value>: through a temporary file and a rename; a failed write is a failure
  { { grep -v "^$1=" "$state_file" 2>/dev/null || true; printf '%s=%s\n' "$1" "$2"; } >"$state_file.new" &&
    mv -f "$state_file.new" "$state_file"; } || { rm -f "$state_file.new"; fail "could not record the adoption's state in $state_file (disk full?)"; }
}
# The loaders' messages can quote rows of the dump: they go to a log only root reads, and the
# output gets their first line with every quoted value cut out.
error_log="$stage/adopt-error.log"
gist() {
  grep -m1 -E '^(pg_restore: )?(error|ERROR|FATAL|psql:)' "$1" 2>/dev/null |
    sed -E 's/"[^"]*"/"…"/g; s/'"'"'[^'"'"']*'"'"'/'"'"'…'"'"'/g; s/\([^)]*\)=\([^)]*\)/(…)=(…)/g' | cut -c1-200
}
loader_failed() { # loader_failed <what>
  fail "$1 failed: $(gist "$error_log" || true); nothing was loaded. Its full messages are in $error_log (they may quote rows of the dump); fix the cause and run pulumi up again"
}

# Only Postgres runs here; compose.yaml still needs an image to interpolate (as in restore.sh).
if [[ -r "$app_dir/release/current" ]]; then CHATWOOT_IMAGE=$(<"$app_dir/release/current"); else CHATWOOT_IMAGE="${CHATWOOT_IMAGE_REPOSITORY:-chatwoot/chatwoot}:$version"; fi
export CHATWOOT_IMAGE
pg() { "$compose" exec -T postgres "$@"; }
sql() { pg psql -X -q -v ON_ERROR_STOP=1 -At -U postgres -d chatwoot -c "$1"; }

step "starting postgres"
"$compose" up -d --wait postgres
tables=$(sql "select count(*) from pg_tables where schemaname = 'public'") || fail "cannot query the new database"
install -d -m 0700 "$stage"
# --- fetch -------------------------------------------------------------------------------------
download() { # download <what> <url> <file>
  local t0
  t0=$(now)
  step "downloading the $1"
  # The URL may carry a signature: curl reads it from its config on stdin, not from argv. No
  # redirect is followed: a signed URL does not move, and a redirect could lead to plain http.
  local code
  code=$(printf 'url = "%s"\n' "${2//\"/\\\"}" |
    curl --config - --fail --silent --show-error --retry 3 --proto '=https,http' --write-out '%{http_code}' --output "$3" 2>"$error_log") ||
    fail "could not download the $1 ($(sed -E 's#[a-z]+://[^ ]*#<url>#g' "$error_log" | head -n 1 | cut -c1-200); the URL is not shown)"
  [[ "$code" == 200 ]] || fail "could not download the $1: it answered HTTP $code (redirects are not followed; give the final URL). The URL is not shown"
  step "downloaded the $1 ($(($(stat -c %s "$3") / 1048576)) MB) in $(($(now) - t0))s"
}
if [[ "$(state database)" == ok ]]; then
  step "database: adopted before ($(state database_rows)); resuming with what is not done"
elif [[ "$tables" != 0 ]]; then
  # Not loaded by adoption: never load over it, and delete nothing of what was staged.
  step "adopt skipped: the database already holds data ($tables tables) that adoption did not load; adoption only ever fills an empty database. The staged files in $stage are kept: remove them when you no longer need them"
  exit 0
else
  if [[ -n "$database_url" ]]; then
    database=database.download
    download database "$database_url" "$stage/$database"
  fi
  dump="$stage/$database"
  [[ -s "$dump" ]] || fail "the database dump $dump is missing or empty (did the upload step run?)"

  # --- what kind of dump, and is it whole ----------------------------------------------------------
  magic=$(head -c 5 "$dump" | od -An -tx1 | tr -d ' \n')
  case "$magic" in
    5047444d50) format=custom ;;             # "PGDMP": pg_dump -Fc
    1f8b*) format=plain-gzip ;;              # gzip: pg_dump | gzip
    *)
      if grep -q -- '-- PostgreSQL database dump' < <(head -c 4096 "$dump"); then format=plain
      else fail "$database is not a pg_dump archive: expected the custom format (pg_dump -Fc) or a plain SQL dump (pg_dump, optionally gzipped); directory and tar formats are not supported"
      fi ;;
  esac
  # The dump as one SQL script: an archive through pg_restore (its whole table of contents and
  # data, without the old owners and privileges), a plain dump as it is.
  script() {
    case "$format" in
      custom) pg pg_restore --no-owner --no-acl --file=- <"$dump" 2>>"$error_log" ;;
      plain-gzip) gzip -dc "$dump" 2>>"$error_log" ;;
      *) cat "$dump" ;;
    esac
  }
  step "database dump: $format format, $(($(stat -c %s "$dump") / 1048576)) MB"
  : >"$error_log" && chmod 0600 "$error_log"
  facts="$stage/dump.scan.facts" verify="$stage/dump.scan.sql"
  if ! script | awk -v facts="$facts" -v verify="$verify" -f "$here/adopt_scan.awk"; then
    [[ "$format" == custom ]] && loader_failed "pg_restore reading $database (is it from pg_dump 16 or older, and whole?)"
    fail "cannot read $database (a damaged gzip file?)"
  fi
  fact() { sed -n "s/^$1 //p" "$facts" | head -n 1; }
  [[ "$(fact complete)" == yes ]] ||
    fail "$database is not complete: it lacks pg_dump's completion trailer (\"-- PostgreSQL database dump complete\"), so it was cut short (an interrupted dump or upload). Make a new dump; nothing was loaded"
  if grep -q '^meta ' "$facts"; then
    fail "$database holds psql meta-commands that pg_dump never writes (line $(fact meta | cut -d' ' -f1): $(fact meta | cut -d' ' -f2)); refused, nothing was loaded"
  fi
  grep -q '^badrole ' "$facts" && fail "$database names a role this script cannot create (line $(fact badrole)); nothing was loaded"

  # --- which Chatwoot it is from -------------------------------------------------------------------
  # The newest applied migration (schema_migrations) says which release wrote the dump.
  newest=$(fact newest)
  [[ "$newest" =~ ^[0-9]{14}$ ]] || fail "$database has no schema_migrations rows: it is not a dump of a Chatwoot database"
  step "the dump's newest migration is $newest"
  if [[ -n "$target_newest" && "$newest" > "$target_newest" ]]; then
    fail "this dump is from a newer Chatwoot than $version: its newest migration is $newest, $version's is $target_newest." \
      "Chatwoot cannot go back to an older release. Set chatwoot:chatwootVersion to the release the old installation runs, or a newer one, and run pulumi up again. Nothing was loaded."
  fi
  # v4.2.0's migration $v41_before reads Account#settings, which v4.1 adds: data from before
  # v4.1 fails it (chatwoot#12088). This stack deploys no release older than that.
  if [[ "$from_v3" == refuse && -n "$v41_before" && "$newest" < "$v41_before" && "$(fact accounts_settings)" != yes ]]; then
    from="Chatwoot v4.0.x"
    [[ "$newest" < "$v4_migration" ]] && from="Chatwoot 3.x or older (before v4.0.0's $v4_migration)"
    fail "this dump is from $from (newest migration $newest), and the accounts table has no settings column yet." \
      "Releases from v4.2.0 on fail to migrate such data (chatwoot#12088), and this stack deploys $version." \
      "Upgrade the old installation to v4.1.0 on its own server first (it adds that column), dump it again, and adopt that dump." \
      "Nothing was loaded."
  fi

  # --- load: one transaction, checked before it commits ------------------------------------------
  t0=$(now)
  # A plain dump names its owners and grantees: the roles are created for the load (without
  # login), then everything they own is handed to postgres and they are dropped again.
  roles=$(sed -n 's/^role //p' "$facts")
  for role in $roles; do
    sql "do \$\$ begin if not exists (select from pg_roles where rolname = '$role') then create role \"$role\" nologin; end if; end \$\$" ||
      fail "could not create the dump's role $role for the load"
  done
  # psql runs the script under \restrict with a key the dump cannot know: no meta-command in it
  # runs, whatever it holds (the dump's own \restrict lines are dropped, ours stays).
  key=$(od -An -N16 -tx1 /dev/urandom | tr -d ' \n')
  step "loading the database (psql, one transaction, checked against the dump's row counts and sequences)"
  mark database loading
  if ! { printf '\\restrict %s\n' "$key"; script | grep -v -E '^\\(restrict|unrestrict) '; cat "$verify"; printf '\\unrestrict %s\n' "$key"; } |
    pg env PGOPTIONS="-c synchronous_commit=off -c maintenance_work_mem=256MB" psql -X -q -v ON_ERROR_STOP=1 --single-transaction -U postgres -d chatwoot >/dev/null 2>>"$error_log"; then
    loader_failed "loading the dump"
  fi
  for role in $roles; do
    sql "reassign owned by \"$role\" to postgres; drop owned by \"$role\"; drop role \"$role\"" ||
      fail "could not hand the objects of role $role to postgres"
  done
  sql "analyze" || true
  [[ "$(sql "select to_regclass('public.ar_internal_metadata') is not null")" == t ]] ||
    fail "the dump has no ar_internal_metadata table: Chatwoot's migrations would load a fresh schema over it; it is not a usable Chatwoot dump"
  counts=$(sql "select (select count(*) from accounts) || ' account(s), ' || (select count(*) from users) || ' user(s), ' || (select count(*) from conversations) || ' conversation(s), ' || (select count(*) from messages) || ' message(s)'") ||
    fail "the loaded database lacks Chatwoot's tables (accounts, users, conversations, messages)"
  mark database_rows "$counts"
  mark database ok
  step "loaded $counts in $(($(now) - t0))s; every table's rows and every sequence match the dump"
fi

# --- files ---------------------------------------------------------------------------------------
files_dir="$data_dir/storage"
if [[ "$(state storage)" == ok ]]; then
  step "storage: adopted before"
elif [[ "$storage" == bucket ]]; then
  # Blobs of the old installation's S3 services (storage.yml: amazon, s3_compatible) are served
  # from the bucket chatwoot:storage names, with the service this stack renders.
  moved=$(sql "with m as (update active_storage_blobs set service_name = 's3_compatible' where service_name in ('amazon', 's3_compatible') returning 1) select count(*) from m") ||
    fail "could not point the attachments at the bucket"
  mark storage ok
  step "attachments: $moved blob(s) are served from the configured bucket"
else
  if [[ -n "$storage_url" && ! -s "$stage/storage.download" ]]; then
    storage=storage.download
    download "storage archive" "$storage_url" "$stage/$storage"
  fi
  [[ -n "$storage_url" ]] && storage=storage.download
  if [[ -n "$storage" ]]; then
    archive="$stage/$storage"
    [[ -s "$archive" ]] || fail "the storage archive $archive is missing or empty (did the upload step run?)"
    t0=$(now)
    listing=$(tar -tf "$archive" 2>/dev/null) || fail "$storage is not a whole tar archive (plain or gzip-compressed): it may be cut short or damaged; nothing was unpacked, the database stays adopted, and the next run unpacks a fixed archive"
    # Archives made of the directory itself (tar -C /app storage) carry a storage/ prefix.
    strip=()
    if ! grep -qvE '^(\./)?storage(/|$)' <<<"$listing"; then strip=(--strip-components=1); [[ "$listing" == ./* ]] && strip=(--strip-components=2); fi
    [[ ! -d "$files_dir" || -z "$(ls -A "$files_dir")" ]] ||
      fail "$files_dir is not empty; the archive is only unpacked into an empty storage directory"
    # Unpacked beside the storage directory, then moved into place whole: a full disk or a cut
    # archive leaves no half of it where Chatwoot looks, and the next run starts that step again.
    partial="$files_dir.adopting"
    rm -rf "$partial" && install -d "$partial"
    step "unpacking the storage archive"
    # tar's message is kept in memory: on a full disk no file could take it.
    if ! tar_error=$(tar -xf "$archive" -C "$partial" --no-same-owner "${strip[@]}" 2>&1 >/dev/null); then
      rm -rf "$partial"
      fail "could not unpack $storage ($(head -n 1 <<<"$tar_error" | cut -c1-200)); nothing was put in place, the database stays adopted, and the next pulumi up unpacks it again"
    fi
    expected=$(grep -cv '/$' <<<"$listing" || true) got=$(find "$partial" -type f | wc -l)
    if [[ "$got" -lt "$expected" ]]; then
      rm -rf "$partial"
      fail "unpacked $got of the archive's $expected entries (disk full?); nothing was put in place, and the next pulumi up unpacks it again"
    fi
    rmdir "$files_dir" 2>/dev/null || true
    mv -T "$partial" "$files_dir" || fail "could not move the unpacked files into $files_dir"
    step "unpacked $got file(s) in $(($(now) - t0))s"
  fi
  # Every blob the database serves from this disk must be there (Disk service: <2>/<2>/<key>).
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
  mark storage ok
fi
rm -f "$error_log"
step "adopted; deploy.sh migrates it to $version next, and deletes the staged files once that succeeded"
