#!/usr/bin/env bash
# Sizes Chatwoot to the server it runs on: Puma, Sidekiq, PostgreSQL and the containers' memory
# limits, from the vCPUs and memory this host has (so a resize recomputes them). Prints one
# NAME=value line per setting; compose.sh gives Rails and Sidekiq theirs and interpolates the rest
# into compose.yaml. chatwoot:tuning overrides any of them (TUNING_<NAME> in the .env).
#
#   tuning.sh [--cpus N] [--memory-mb M]     default: nproc and MemTotal of this host
set -euo pipefail

cpus="" memory_mb=""
while [[ $# -gt 0 ]]; do
  case "$1" in
    --cpus) cpus="${2:-}"; shift 2 ;;
    --memory-mb) memory_mb="${2:-}"; shift 2 ;;
    *) echo "tuning.sh: unknown argument $1 (usage: tuning.sh [--cpus N] [--memory-mb M])" >&2; exit 2 ;;
  esac
done
[[ -n "$cpus" ]] || cpus=$(nproc)
[[ -n "$memory_mb" ]] || memory_mb=$(($(awk '/^MemTotal:/ { print $2 }' /proc/meminfo) / 1024))
[[ "$cpus" =~ ^[1-9][0-9]*$ && "$memory_mb" =~ ^[1-9][0-9]*$ ]] || { echo "tuning.sh: --cpus and --memory-mb must be positive whole numbers" >&2; exit 2; }

clamp() { local v=$1 lo=$2 hi=$3; ((v < lo)) && v=$lo; ((v > hi)) && v=$hi; echo "$v"; }

# Puma: one process below 8 GB (cluster mode's master costs memory a small server lacks), then a
# worker per 4 GB up to one per vCPU; Rails' own 5 threads each.
if ((memory_mb >= 7500)); then web=$(clamp $((memory_mb / 4096)) 1 "$cpus"); else web=0; fi
threads=5
# Sidekiq: 5 threads per vCPU, between 5 and 25 (Chatwoot's default is 10).
sidekiq=$(clamp $((cpus * 5)) 5 25)
# PostgreSQL shares the host with Rails: 15 % of memory for its buffers, half as the OS cache it can
# count on, modest sort memory per operation.
shared_buffers=$((memory_mb * 15 / 100 / 32 * 32))
effective_cache=$((memory_mb / 2))
work_mem=$(clamp $((memory_mb / 512)) 4 32)
maintenance_work_mem=$(clamp $((memory_mb * 5 / 100)) 64 1024)
# Every Puma thread twice (rails and rails-surge during a switch), every Sidekiq thread, and room
# for migrations, the console, backups and the watchdog; never below PostgreSQL's default of 100.
web_threads=$((threads * (web > 0 ? web : 1)))
connections=$(clamp $((2 * web_threads + sidekiq + 30)) 100 1000)
# Ceilings, so one runaway process cannot take the host down; together they may exceed memory.
rails_limit=$(clamp $((memory_mb * 35 / 100)) 1024 65536)
sidekiq_limit=$(clamp $((memory_mb * 25 / 100)) 768 65536)
postgres_limit=$(clamp $((shared_buffers + memory_mb * 20 / 100)) 512 131072)
redis_limit=$(clamp $((memory_mb * 10 / 100)) 256 16384)

emit() { printf '%s=%s\n' "$1" "$(v="TUNING_$1" && echo "${!v:-$2}")"; }
emit WEB_CONCURRENCY "$web"
emit RAILS_MAX_THREADS "$threads"
emit SIDEKIQ_CONCURRENCY "$sidekiq"
emit PG_SHARED_BUFFERS "${shared_buffers}MB"
emit PG_EFFECTIVE_CACHE_SIZE "${effective_cache}MB"
emit PG_WORK_MEM "${work_mem}MB"
emit PG_MAINTENANCE_WORK_MEM "${maintenance_work_mem}MB"
emit PG_MAX_CONNECTIONS "$connections"
emit RAILS_MEMORY_LIMIT "${rails_limit}m"
emit SIDEKIQ_MEMORY_LIMIT "${sidekiq_limit}m"
emit POSTGRES_MEMORY_LIMIT "${postgres_limit}m"
emit REDIS_MEMORY_LIMIT "${redis_limit}m"
