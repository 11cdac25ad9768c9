#!/bin/bash
# TEST STAND-IN HOOK (STANDIN_HOOK of standin-docker.sh), NOT DOCKER: runs what a host script runs
# in the postgres container ("compose … exec -T postgres CMD …") on this machine instead, with its
# stdin and stdout, against the test's PostgreSQL server (PGHOST and PGPORT in the environment):
# the real psql and pg_restore against a real server. Any other call is left to the stand-in
# (exit 100).
set -uo pipefail
args=("$@")
for ((i = 0; i < ${#args[@]}; i++)); do
  if [[ "${args[i]}" == exec ]]; then
    j=$((i + 1))
    [[ "${args[j]:-}" == -T ]] && j=$((j + 1))
    [[ "${args[j]:-}" == postgres ]] || exit 100
    exec "${args[@]:j+1}"
  fi
done
exit 100
