#!/bin/bash
# Sizes Chatwoot to the server it runs on: Puma, Sidekiq, PostgreSQL and the containers' memory
# limits, from the vCPUs and memory this host has (so a resize recomputes them). Prints one
# NAME=value line per setting; compose.sh gives Rails and Sidekiq theirs and interpolates the rest
# into compose.yaml. chatwoot:tuning overrides any of them (TUNING_<NAME> in the .env).
#
#   tuning.sh [--cpus N] [--memory-mb M]     default: nproc and MemTotal of this host
#
# compose.sh sources this file and calls tuning_for_host itself: no process per compose call.

# The helpers leave their result in $r (tuning_for_host's local) instead of printing it: no
# subshell each.
clamp() { local v=$1 lo=$2 hi=$3; ((v < lo)) && v=$lo; ((v > hi)) && v=$hi; r=$v; }
# The value in force: chatwoot:tuning's override (the shell's TUNING_<NAME>) or what is computed.
final() { local v="TUNING_$1"; r=${!v:-$2}; }
emit() { final "$1" "$2"; tuning_lines+="$1=$r"$'\n'; }
# Megabytes of a PostgreSQL or Docker size (512MB, 1GB, 768m).
megabytes() {
  case "$1" in
    *GB | *g) r=$((${1%%[Gg]*} * 1024)) ;;
    *MB | *m) r=${1%%[Mm]*} ;;
    *) echo "tuning.sh: cannot read the size $1" >&2; return 1 ;;
  esac
}

# tuning_for_host CPUS MEMORY_MB: the settings, one NAME=value line each, into $tuning_lines. An
# empty CPUS or MEMORY_MB is this host's. Overrides are the shell's TUNING_<NAME> variables. Returns
# 2 on a size that is not a positive whole number, 1 on overrides that cannot work together (saying
# why on stderr, naming the setting).
tuning_for_host() {
  local cpus=$1 memory_mb=$2 r line list range
  local -a lines
  tuning_lines=""
  # The CPUs this process may run on, which nproc counts, read from /proc with builtins; nproc
  # where /proc does not say.
  if [[ -z "$cpus" ]]; then
    cpus=0
    if [[ -r /proc/self/status ]] && mapfile -t lines </proc/self/status; then
      for line in "${lines[@]}"; do
        [[ "$line" == Cpus_allowed_list:* ]] || continue
        list=${line#Cpus_allowed_list:}
        list=${list//[[:space:]]/}
        while [[ -n "$list" ]]; do
          range=${list%%,*}
          [[ "$list" == *,* ]] && list=${list#*,} || list=""
          if [[ "$range" =~ ^([0-9]+)-([0-9]+)$ ]]; then cpus=$((cpus + BASH_REMATCH[2] - BASH_REMATCH[1] + 1))
          elif [[ "$range" =~ ^[0-9]+$ ]]; then cpus=$((cpus + 1)); fi
        done
      done
    fi
    ((cpus > 0)) || cpus=$(nproc)
  fi
  if [[ -z "$memory_mb" ]] && mapfile -t lines </proc/meminfo; then
    for line in "${lines[@]}"; do
      [[ "$line" =~ ^MemTotal:[[:space:]]+([0-9]+) ]] && memory_mb=$((BASH_REMATCH[1] / 1024)) && break
    done
  fi
  if ! [[ "$cpus" =~ ^[1-9][0-9]*$ && "$memory_mb" =~ ^[1-9][0-9]*$ ]]; then
    echo "tuning.sh: --cpus and --memory-mb must be positive whole numbers" >&2
    return 2
  fi
  local web threads sidekiq postgres_limit shared_buffers effective_cache random_page_cost work_mem
  local maintenance_work_mem web_threads connections rails_limit sidekiq_limit redis_limit
  local f_web f_threads f_sidekiq f_connections needed f_buffers f_pg_limit
  local -a problems=()

  # Puma: one process below 8 GB (cluster mode's master costs memory a small server lacks), then a
  # worker per 4 GB up to one per vCPU; Rails' own 5 threads each.
  # Cluster mode only with two workers or more: Puma itself warns against a single worker in it.
  if ((memory_mb >= 7500)); then clamp $((memory_mb / 4096)) 1 "$cpus"; web=$r; else web=0; fi
  ((web >= 2)) || web=0
  threads=5
  # Sidekiq: 5 threads per vCPU, between 5 and 25 (Chatwoot's default is 10).
  clamp $((cpus * 5)) 5 25; sidekiq=$r
  # PostgreSQL gets 35 % of memory as its container's limit, which charges the page cache too. Inside
  # it, a tenth for shared_buffers and the rest left to the OS cache beat a large shared_buffers,
  # which caches the same pages twice, and random_page_cost 1.1 suits Hetzner's SSD-backed volumes
  # (npm run bench, pg_default_tps against pg_tuned_tps, inside that limit on a larger dataset).
  # (Never below 32 MB: PostgreSQL refuses less than 128 kB, and the rounding would give 0 on a tiny host.)
  clamp $((memory_mb * 35 / 100)) 512 131072; postgres_limit=$r
  clamp $((postgres_limit / 10 / 32 * 32)) 32 1048576; shared_buffers=$r
  effective_cache=$((postgres_limit * 3 / 4))
  random_page_cost=1.1
  clamp $((memory_mb / 512)) 4 32; work_mem=$r
  clamp $((memory_mb * 5 / 100)) 64 1024; maintenance_work_mem=$r
  # Every Puma thread twice (rails and rails-surge during a switch), every Sidekiq thread, and room
  # for migrations, the console, backups and the watchdog; never below PostgreSQL's default of 100.
  web_threads=$((threads * (web > 0 ? web : 1)))
  clamp $((2 * web_threads + sidekiq + 30)) 100 1000; connections=$r
  # Ceilings, so one runaway process cannot take the host down; together they may exceed memory.
  clamp $((memory_mb * 35 / 100)) 1024 65536; rails_limit=$r
  clamp $((memory_mb * 25 / 100)) 768 65536; sidekiq_limit=$r
  clamp $((memory_mb * 10 / 100)) 256 16384; redis_limit=$r

  # Overrides are checked together and against this server: a set of values that cannot work fails
  # here, before compose starts anything, naming the setting.
  final WEB_CONCURRENCY "$web"; f_web=$r
  final RAILS_MAX_THREADS "$threads"; f_threads=$r
  final SIDEKIQ_CONCURRENCY "$sidekiq"; f_sidekiq=$r
  # Computed connections follow the Puma and Sidekiq sizes in force, overridden or not.
  clamp $((2 * f_threads * (f_web > 0 ? f_web : 1) + f_sidekiq + 30)) 100 1000; connections=$r
  final PG_MAX_CONNECTIONS "$connections"; f_connections=$r
  needed=$((2 * f_threads * (f_web > 0 ? f_web : 1) + f_sidekiq + 10))
  if ((f_connections < needed)); then
    problems+=("chatwoot:tuning.postgres.maxConnections is $f_connections, below what Chatwoot opens: 2 x $((f_web > 0 ? f_web : 1)) Puma process(es) x $f_threads threads (a switch runs two Rails) + $f_sidekiq Sidekiq threads + 10 = $needed")
  fi
  final PG_SHARED_BUFFERS "${shared_buffers}MB"
  megabytes "$r" || return 1
  f_buffers=$r
  final POSTGRES_MEMORY_LIMIT "${postgres_limit}m"
  megabytes "$r" || return 1
  f_pg_limit=$r
  if ((f_buffers < 1)); then
    problems+=("chatwoot:tuning.postgres.sharedBuffersMb must be at least 1 (PostgreSQL refuses less than 128 kB)")
  fi
  if ((f_buffers > memory_mb * 40 / 100)); then
    problems+=("chatwoot:tuning.postgres.sharedBuffersMb is $f_buffers, more than 40 % of this server's $memory_mb MB; Rails, Sidekiq and the page cache need the rest")
  fi
  if ((f_buffers + 128 > f_pg_limit)); then
    problems+=("chatwoot:tuning.postgres.sharedBuffersMb is $f_buffers, but PostgreSQL's container may use only $f_pg_limit MB (chatwoot:tuning.memoryLimitsMb.postgres): it would be killed; leave 128 MB beside the buffers")
  fi
  if ((${#problems[@]} > 0)); then
    printf 'tuning.sh: %s\n' "${problems[@]}" >&2
    return 1
  fi

  emit WEB_CONCURRENCY "$web"
  emit RAILS_MAX_THREADS "$threads"
  emit SIDEKIQ_CONCURRENCY "$sidekiq"
  emit PG_SHARED_BUFFERS "${shared_buffers}MB"
  emit PG_EFFECTIVE_CACHE_SIZE "${effective_cache}MB"
  emit PG_RANDOM_PAGE_COST "$random_page_cost"
  emit PG_WORK_MEM "${work_mem}MB"
  emit PG_MAINTENANCE_WORK_MEM "${maintenance_work_mem}MB"
  emit PG_MAX_CONNECTIONS "$connections"
  emit RAILS_MEMORY_LIMIT "${rails_limit}m"
  emit SIDEKIQ_MEMORY_LIMIT "${sidekiq_limit}m"
  emit POSTGRES_MEMORY_LIMIT "${postgres_limit}m"
  emit REDIS_MEMORY_LIMIT "${redis_limit}m"
}

# Run as a script: arguments, then the lines on stdout.
if [[ "${BASH_SOURCE[0]}" == "$0" ]]; then
  set -euo pipefail
  cpus="" memory_mb=""
  while [[ $# -gt 0 ]]; do
    case "$1" in
      --cpus) cpus="${2:-}"; shift 2 ;;
      --memory-mb) memory_mb="${2:-}"; shift 2 ;;
      *) echo "tuning.sh: unknown argument $1 (usage: tuning.sh [--cpus N] [--memory-mb M])" >&2; exit 2 ;;
    esac
  done
  tuning_for_host "$cpus" "$memory_mb" || exit $?
  printf '%s' "$tuning_lines"
fi
