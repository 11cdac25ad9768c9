#!/usr/bin/env bash
# Unpacks pg_dump 13 from Debian 11 (bullseye) into a cache directory, for the adopt tests: an old
# Chatwoot installation may still run PostgreSQL 13, and its dump must load into production's 16.
# Debian 12 ships only PostgreSQL 15, so the packages come from the previous release of the same
# Debian mirror this machine's apt already uses (its URI is read from the apt sources, not kept
# here). Nothing is installed system-wide: the .debs are unpacked with dpkg-deb, and the tests run
# the binary with LD_LIBRARY_PATH pointing into the unpacked tree.
#
#   fetch-pg-dump-13.sh [DIR]   (default: $PG_DUMP_13_DIR or ~/.cache/chatwoot-ci-pg-dump-13)
#
# Prints the path of pg_dump; exits non-zero when it cannot be fetched.
set -euo pipefail

dir="${1:-${PG_DUMP_13_DIR:-$HOME/.cache/chatwoot-ci-pg-dump-13}}"
bin="$dir/root/usr/lib/postgresql/13/bin/pg_dump"
libs="$dir/root/usr/lib/x86_64-linux-gnu"
if [[ -x "$bin" ]] && LD_LIBRARY_PATH="$libs" "$bin" --version >/dev/null 2>&1; then
  echo "$bin"
  exit 0
fi

# The mirror apt already uses, from a deb822 .sources file or a one-line sources.list.
uri=$(sed -n 's/^URIs:[[:space:]]*//p' /etc/apt/sources.list.d/*.sources 2>/dev/null | awk '{print $1}' | grep -v security | head -n 1 || true)
if [[ -z "$uri" ]]; then
  uri=$(awk '$1 == "deb" && $0 !~ /security/ { for (i = 2; i <= NF; i++) if ($i ~ /^https?:/) { print $i; exit } }' /etc/apt/sources.list 2>/dev/null || true)
fi
[[ -n "$uri" ]] || { echo "fetch-pg-dump-13: no Debian mirror found in the apt sources" >&2; exit 1; }

rm -rf "$dir"
mkdir -p "$dir/lists/partial" "$dir/cache/archives/partial" "$dir/debs" "$dir/root"
printf 'deb [signed-by=/usr/share/keyrings/debian-archive-keyring.gpg] %s bullseye main\n' "$uri" >"$dir/sources.list"
apt=(-q -o "Dir::Etc::SourceList=$dir/sources.list" -o Dir::Etc::SourceParts=/dev/null
  -o "Dir::State::Lists=$dir/lists" -o "Dir::Cache=$dir/cache" -o APT::Sandbox::User=root)
apt-get "${apt[@]}" update >/dev/null
# pg_dump 13 and the libraries Debian 12 no longer has (libpq 13 for its protocol, OpenSSL 1.1,
# OpenLDAP 2.4), each at bullseye's version.
packages=()
for p in postgresql-client-13 libpq5 libssl1.1 libldap-2.4-2; do
  version=$(apt-cache "${apt[@]}" madison "$p" | awk -F'|' '/bullseye/ { gsub(/ /, "", $2); print $2; exit }')
  [[ -n "$version" ]] || { echo "fetch-pg-dump-13: $p is not in bullseye" >&2; exit 1; }
  packages+=("$p=$version")
done
(cd "$dir/debs" && apt-get "${apt[@]}" download "${packages[@]}" >/dev/null)
for deb in "$dir"/debs/*.deb; do dpkg-deb -x "$deb" "$dir/root"; done
LD_LIBRARY_PATH="$libs" "$bin" --version >/dev/null
echo "$bin"
