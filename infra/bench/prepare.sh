#!/usr/bin/env bash
# Installs what `npm run bench` measures with, as .ci/run does for the tests: Debian's nginx (the
# proxy comparison), PostgreSQL with pgbench, restic and openssl. As root it installs them; as
# anyone else it prints the command to run and fails, so no section is skipped unnoticed.
set -euo pipefail
packages=(nginx openssl postgresql postgresql-client restic curl util-linux)
missing=()
for p in "${packages[@]}"; do dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p"); done
[[ ${#missing[@]} -eq 0 ]] && exit 0
if [[ "$(id -u)" -ne 0 ]]; then
  echo "npm run bench needs: ${missing[*]}. Install them with:" >&2
  echo "  sudo apt-get update && sudo apt-get install -y --no-install-recommends ${missing[*]}" >&2
  exit 1
fi
echo "[bench] installing Debian packages: ${missing[*]}" >&2
# The packages' services are not started: the bench runs its own nginx and PostgreSQL on loopback.
policy=/usr/sbin/policy-rc.d placed=""
if [[ ! -e "$policy" ]]; then
  printf '#!/bin/sh\nexit 101\n' >"$policy" && chmod +x "$policy" && placed=1
fi
trap '[[ -n "$placed" ]] && rm -f "$policy"' EXIT
apt-get update -qq >/dev/null
DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
