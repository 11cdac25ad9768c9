#!/bin/bash
# Rolls the app containers back to the release deployed before the current one (deploy.sh keeps
# it in release/previous). Migrations are left alone: when the database has migrations the
# previous release does not know, it says so and asks before going on.
#
#   rollback.sh [--yes]
#
# Exit status: 0 rolled back; 1 failed (the current release keeps running); 2 nothing to roll
# back to, bad arguments, or not confirmed.
set -euo pipefail

scripts_dir=${BASH_SOURCE[0]%/*}; [[ "$scripts_dir" != "${BASH_SOURCE[0]}" ]] || scripts_dir=.
# shellcheck source=lib.sh
source "$scripts_dir/lib.sh"
release_dir="$app_dir/release"

yes=""
while [[ $# -gt 0 ]]; do
  case "$1" in
    --yes) yes=1; shift ;;
    *) echo "rollback.sh: unknown argument $1 (usage: rollback.sh [--yes])" >&2; exit 2 ;;
  esac
done

take_lock rollback.sh
[[ -r "$release_dir/current" ]] || { echo "rollback.sh: nothing is deployed yet ($release_dir/current is missing)" >&2; exit 2; }
[[ -r "$release_dir/previous" ]] || { echo "rollback.sh: no previous release is recorded; deploy.sh keeps one after the first upgrade" >&2; exit 2; }
current=$(<"$release_dir/current")
previous=$(<"$release_dir/previous")
[[ "$current" != "$previous" ]] || { echo "rollback.sh: the previous release is the current one ($current)" >&2; exit 2; }

confirm() {
  [[ -n "$yes" ]] && return 0
  if [[ ! -t 0 ]]; then
    echo "rollback.sh: $1; confirm with --yes" >&2
    exit 2
  fi
  read -r -p "$1. Type 'rollback' to go on: " answer
  [[ "$answer" == rollback ]] || { echo "rollback.sh: not confirmed; nothing was changed" >&2; exit 2; }
}

# The newest migration the database has, and the newest the previous image ships.
schema=$("$compose" exec -T postgres psql -U postgres -d chatwoot -XAt -c 'select max(version) from schema_migrations' | tr -d '[:space:]') || schema=""
known=$(CHATWOOT_IMAGE="$previous" "$compose" run --rm --no-deps -T --entrypoint sh rails -c \
  'ls db/migrate | sed -n "s/^\([0-9]*\)_.*/\1/p" | sort | tail -n 1' | tr -d '[:space:]') || known=""
if [[ -z "$schema" || -z "$known" ]]; then
  echo "WARNING: could not compare the database schema with $previous (schema: ${schema:-unknown}, image: ${known:-unknown})" >&2
  confirm "Roll back to $previous without knowing whether it understands the schema"
elif [[ "$schema" > "$known" ]]; then
  echo "WARNING: the database is migrated to $schema, newer than anything $previous knows (up to $known)." >&2
  echo "         Migrations are not reverted; $previous may fail on tables or columns it does not expect." >&2
  echo "         Fixing forward (a new release) is usually safer." >&2
  confirm "Roll back to $previous anyway"
else
  confirm "Roll back from $current to $previous"
fi

printf '==> starting %s (rails, sidekiq)\n' "$previous"
ok=1
# While Rails and Caddy serve, the web tier switches without a failed request (lib.sh), and where
# Caddy sends traffic is read back after each step.
read_running_services
if is_running rails && is_running caddy; then
  if ! CHATWOOT_IMAGE="$previous" switch_web_without_downtime; then
    case "$switch_state" in
      untouched)
        echo "rollback.sh: $previous could not take over the web tier; $current kept serving and still serves (nothing was changed)" >&2
        exit 1 ;;
      surge)
        # The previous release serves from rails-surge: its Sidekiq goes with it, and the records say so.
        if CHATWOOT_IMAGE="$previous" "$compose" up -d --wait --no-deps sidekiq; then sidekiq="Sidekiq runs $previous"; else sidekiq="Sidekiq of $previous did NOT become healthy"; fi
        printf '%s\n' "$current" >"$release_dir/previous"
        printf '%s\n' "$previous" >"$release_dir/current.new" && mv -f "$release_dir/current.new" "$release_dir/current"
        echo "rollback.sh: $previous serves from rails-surge (port 3001): Rails did not become healthy with it, or Caddy did not go back to it; $sidekiq; release/current says $previous. See: compose.sh logs rails caddy" >&2
        exit 1 ;;
      *)
        echo "rollback.sh: where Caddy sends traffic could not be read from its admin API; Rails, rails-surge and Sidekiq were left as they are, release/current still says $current. Check: compose.sh ps; compose.sh logs caddy" >&2
        exit 1 ;;
    esac
  fi
fi
CHATWOOT_IMAGE="$previous" "$compose" up -d --wait --no-deps rails sidekiq || ok=""
if [[ -z "$ok" ]]; then
  if [[ "$switch_state" == switched ]]; then
    # The previous release's web tier already serves (verified): say so rather than switch again.
    printf '%s\n' "$current" >"$release_dir/previous"
    printf '%s\n' "$previous" >"$release_dir/current.new" && mv -f "$release_dir/current.new" "$release_dir/current"
    echo "rollback.sh: $previous serves, but its Sidekiq did not become healthy; release/current says $previous (see: compose.sh logs sidekiq)" >&2
    exit 1
  fi
  echo "rollback.sh: $previous did not become healthy; starting $current again" >&2
  CHATWOOT_IMAGE="$current" "$compose" up -d --wait --no-deps rails sidekiq || true
  exit 1
fi
printf '%s\n' "$current" >"$release_dir/previous"
printf '%s\n' "$previous" >"$release_dir/current.new" && mv -f "$release_dir/current.new" "$release_dir/current"
when=""
utc_now when
printf '%s rollback image=%s previous=%s result=ok\n' "$when" "$previous" "$current" >>"$app_dir/deploy.log"
version="${previous##*:}"
echo "==> rolled back to $previous"
echo "    The next pulumi up deploys chatwoot:chatwootVersion again; to stay here: pulumi config set chatwoot:chatwootVersion $version"
