#!/usr/bin/env bash
# Loads a single-server installation's database dump into the Kubernetes target's CloudNativePG
# database, with the checks of the server's adoption (scripts/adopt.sh and its scanner,
# scripts/adopt_scan.awk): the dump must be whole (pg_dump's completion trailer, or the archive's
# full table of contents), hold no psql meta-command, and be from a Chatwoot no newer than the
# release deployed; it loads in one transaction that also checks every table's row count and every
# sequence's value against the dump, and hands every object to the application's role. It only
# ever fills an empty database. docs/kubernetes.md, "Moving a single-server installation".
#
#   npm run kubernetes:adopt -- --dump FILE [--namespace chatwoot] [--cluster chatwoot-postgres]
#                               [--target-newest MIGRATION] [--context NAME]
#
# Runs where kubectl reaches the cluster; needs pg_restore for a custom-format dump. The dump's
# rows never reach the terminal: the loader's messages go to a 0600 log next to the dump, and only
# their gist is printed. Exit: 0 loaded, 1 refused or failed (nothing loaded), 2 usage.
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
scanner="$here/../scripts/adopt_scan.awk"

dump="" namespace=chatwoot cluster=chatwoot-postgres target_newest="" context=()
while [[ $# -gt 0 ]]; do
  case "$1" in
    --dump) dump=${2:-}; shift 2 ;;
    --namespace) namespace=${2:-}; shift 2 ;;
    --cluster) cluster=${2:-}; shift 2 ;;
    --target-newest) target_newest=${2:-}; shift 2 ;;
    --context) context=(--context "${2:-}"); shift 2 ;;
    *) echo "kubernetes-adopt.sh: unknown argument $1" >&2; exit 2 ;;
  esac
done
[[ -n "$dump" ]] || { echo "usage: kubernetes-adopt.sh --dump FILE [--namespace NS] [--cluster NAME] [--target-newest MIGRATION] [--context NAME]" >&2; exit 2; }
[[ -z "$target_newest" || "$target_newest" =~ ^[0-9]{14}$ ]] || { echo "kubernetes-adopt.sh: --target-newest takes a migration id (14 digits)" >&2; exit 2; }
step() { printf '==> %s\n' "$*"; }
fail() { echo "kubernetes-adopt.sh: $*" >&2; exit 1; }
[[ -s "$dump" ]] || fail "the dump $dump is missing or empty"

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
error_log="$dump.adopt-errors.log"
(umask 077 && : >"$error_log")
gist() { grep -m1 -oE '(ERROR|FATAL|error|fatal)[^"]{0,80}' "$error_log" | sed -E "s/'[^']*'/'…'/g" | head -c 160; }
k() { kubectl "${context[@]}" -n "$namespace" "$@"; }

# --- what kind of dump, and is it whole (as scripts/adopt.sh reads it) -------------------------------
magic=$(head -c 5 "$dump" | od -An -tx1 | tr -d ' \n')
case "$magic" in
  5047444d50) format=custom ;;
  1f8b*) format=plain-gzip ;;
  *)
    if grep -q -- '-- PostgreSQL database dump' < <(head -c 4096 "$dump"); then format=plain
    else fail "$dump is not a pg_dump archive: expected the custom format (pg_dump -Fc) or a plain SQL dump (optionally gzipped)"
    fi ;;
esac
script() {
  case "$format" in
    custom) pg_restore --no-owner --no-acl --file=- "$dump" 2>>"$error_log" ;;
    plain-gzip) gzip -dc "$dump" 2>>"$error_log" ;;
    *) cat "$dump" ;;
  esac
}
step "database dump: $format format, $(($(stat -c %s "$dump") / 1048576)) MB"
facts="$work/facts" verify="$work/verify.sql"
script | awk -v facts="$facts" -v verify="$verify" -f "$scanner" || fail "cannot read $dump (is pg_restore at least as new as the pg_dump that wrote it?): $(gist)"
fact() { sed -n "s/^$1 //p" "$facts" | head -n 1; }
[[ "$(fact complete)" == yes ]] || fail "$dump is not complete: it lacks pg_dump's completion trailer, so it was cut short; nothing was loaded"
grep -q '^meta ' "$facts" && fail "$dump holds psql meta-commands that pg_dump never writes (line $(fact meta | cut -d' ' -f1)); refused, nothing was loaded"
grep -q '^badrole ' "$facts" && fail "$dump names a role that cannot be used (line $(fact badrole)); nothing was loaded"
newest=$(fact newest)
[[ "$newest" =~ ^[0-9]{14}$ ]] || fail "$dump has no schema_migrations rows: it is not a dump of a Chatwoot database"
step "the dump's newest migration is $newest"
if [[ -n "$target_newest" && "$newest" > "$target_newest" ]]; then
  fail "this dump is from a newer Chatwoot than the one deployed (its newest migration $newest, the release's $target_newest): set chatwoot:chatwootVersion to the release the old installation runs, or newer; nothing was loaded"
fi

# --- the database: the cluster's primary, and empty -------------------------------------------------
primary=$(k get cluster "$cluster" -o 'jsonpath={.status.currentPrimary}') || fail "cannot read the CloudNativePG cluster $namespace/$cluster (create the database objects first: docs/kubernetes.md)"
[[ -n "$primary" ]] || fail "the CloudNativePG cluster $namespace/$cluster has no primary yet"
psql_in() { k exec -i "$primary" -c postgres -- psql -X -q -v ON_ERROR_STOP=1 -At -U postgres -d chatwoot "$@"; }
tables=$(psql_in -c "select count(*) from pg_tables where schemaname = 'public'" 2>>"$error_log") || fail "cannot query the database on $primary: $(gist)"
[[ "$tables" == 0 ]] || fail "the database already holds $tables tables; adoption only ever fills an empty database, nothing was loaded"

# --- load: one transaction, checked, owned by the application's role before it commits -------------
roles=$(sed -n 's/^role //p' "$facts")
key=$(od -An -N16 -tx1 /dev/urandom | tr -d ' \n')
step "loading into $primary (one transaction, checked against the dump's row counts and sequences)"
{
  printf '\\restrict %s\n' "$key"
  # The dump's roles, created for the load where missing (and dropped again after), never logins.
  printf 'create temp table adopt_created_roles (name text);\n'
  for role in $roles; do
    printf 'do $$ begin if not exists (select from pg_roles where rolname = %s) then create role "%s" nologin; insert into adopt_created_roles values (%s); end if; end $$;\n' "'$role'" "$role" "'$role'"
  done
  script | grep -v -E '^\\(restrict|unrestrict) '
  cat "$verify"
  # Everything in public to the role Chatwoot connects as (the dump's roles, and what the load created).
  printf '%s\n' "do \$own\$ declare r record; begin
    for r in select c.oid::regclass as name, c.relkind from pg_class c join pg_namespace n on n.oid = c.relnamespace
      where n.nspname = 'public' and c.relkind in ('r', 'p', 'v', 'm', 'S', 'f') and pg_get_userbyid(c.relowner) <> 'chatwoot'
        -- a serial or identity column's sequence goes with its table
        and not (c.relkind = 'S' and exists (select from pg_depend d where d.objid = c.oid and d.deptype in ('a', 'i')))
    loop
      execute format('alter %s %s owner to chatwoot', case r.relkind when 'v' then 'view' when 'm' then 'materialized view' when 'S' then 'sequence' when 'f' then 'foreign table' else 'table' end, r.name);
    end loop;
    for r in select p.oid::regprocedure as name from pg_proc p join pg_namespace n on n.oid = p.pronamespace
      where n.nspname = 'public' and pg_get_userbyid(p.proowner) <> 'chatwoot'
        and not exists (select from pg_depend d where d.objid = p.oid and d.deptype = 'e')
    loop
      execute format('alter function %s owner to chatwoot', r.name);
    end loop;
  end \$own\$;"
  for role in $roles; do printf 'reassign owned by "%s" to chatwoot;\n' "$role"; done
  printf '%s\n' "do \$drop\$ declare r record; begin for r in select name from adopt_created_roles loop execute format('drop owned by %I; drop role %I', r.name, r.name); end loop; end \$drop\$;"
  printf '\\unrestrict %s\n' "$key"
} | psql_in --single-transaction >/dev/null 2>>"$error_log" || fail "loading the dump failed, nothing was loaded ($(gist); the loader's messages are in $error_log)"

counts=$(psql_in -c "select (select count(*) from accounts) || ' account(s), ' || (select count(*) from users) || ' user(s), ' || (select count(*) from conversations) || ' conversation(s)'" 2>>"$error_log") ||
  fail "the loaded database lacks Chatwoot's tables: $(gist)"
others=$(psql_in -c "select count(*) from pg_class c join pg_namespace n on n.oid = c.relnamespace where n.nspname = 'public' and c.relkind in ('r', 'p', 'v', 'm', 'S', 'f') and pg_get_userbyid(c.relowner) <> 'chatwoot'" 2>>"$error_log") ||
  fail "cannot check who owns the loaded tables: $(gist)"
[[ "$others" == 0 ]] || fail "the data is loaded, but $others table(s) or sequence(s) are not owned by chatwoot; Chatwoot's migrations would fail on them (see: \dt in psql on $primary)"
step "loaded $counts; every table's rows and every sequence match the dump; everything is owned by chatwoot"
step "next: pulumi up (the migration Job migrates it to the deployed release, then the bootstrap adopts the account by chatwoot:account.id)"
rm -f "$error_log"
