#!/bin/bash
# TEST STAND-IN FOR THE docker CLI, NOT DOCKER. Put first on PATH by the script tests.
#
# Records every call as one line "CHATWOOT_IMAGE=<image> <args>" in $STANDIN_LOG and:
#   - fails (exit 1) when that line matches the extended regex $STANDIN_FAIL;
#   - for "compose … cp SRC rails:DEST", copies SRC into $STANDIN_CONTAINER (the rails container's /);
#   - for "compose … exec -T rails bundle exec rails runner FILE [ARGS]", runs FILE with plain Ruby
#     and the stand-ins in $STANDIN_MODELS (infra/test/chatwoot_models.rb, without RubyGems, or
#     active_storage_standin.rb), ARGS and stdin passed through, after a Rails-like log line.
#   - prints the text after the tab of the first line of $STANDIN_REPLIES ("regex<TAB>text") whose
#     regex matches the call line (a \n in the text is a line break); lines with the same regex answer successive calls in order (the
#     last one repeats), so a query can answer differently before and after a migration;
#   - for "compose … exec -T [-e CHATWOOT_UPSTREAM=X] caddy caddy reload" that does not fail, writes the
#     configuration Caddy's admin API would then serve (upstream X, or Rails') to $STANDIN_CADDY_CONFIG,
#     which the stand-in curl (infra/test/standin-curl.sh) answers with; a refused reload changes nothing.
# Everything else succeeds silently.
#   - with STANDIN_HOOK set, lets that program handle the call first (exit 100: not handled);
#   - with STANDIN_JOB_LOCK set, marks an "up" or "pull" call made while someone holds that lock:
#     " [job lock held]" (only those: the check starts a process, and what a test asks of the lock
#     is whether the containers were started or pulled under it).
set -uo pipefail
line="CHATWOOT_IMAGE=${CHATWOOT_IMAGE:-} $*"
held=""
if [[ -n "${STANDIN_JOB_LOCK:-}" && " $* " =~ \ (up|pull)\  && -e "$STANDIN_JOB_LOCK" ]] && ! flock -n 9 9<"$STANDIN_JOB_LOCK" 2>/dev/null; then
  held=" [job lock held]"
fi
printf '%s%s\n' "$line" "$held" >>"${STANDIN_LOG:?}"
if [[ -n "${STANDIN_FAIL:-}" && "$line" =~ $STANDIN_FAIL ]]; then
  echo "stand-in docker: failing on purpose ($STANDIN_FAIL)" >&2
  exit 1
fi

# Caddy's reload, as Caddy does it: a successful one changes the configuration its admin API
# serves (STANDIN_CADDY_CONFIG, read by the stand-in curl), a refused one (above) changes nothing.
if [[ -n "${STANDIN_CADDY_CONFIG:-}" && "$line" =~ \ exec\ -T\ (-e\ CHATWOOT_UPSTREAM=([^ ]+)\ )?caddy\ caddy\ reload ]]; then
  printf '{"srv0":{"routes":[{"handle":[{"handler":"reverse_proxy","upstreams":[{"dial":"%s"}]}]}]}}\n' \
    "${BASH_REMATCH[2]:-127.0.0.1:3000}" >"$STANDIN_CADDY_CONFIG"
fi

# A test may act on some calls itself (STANDIN_HOOK, e.g. start and stop real processes); it exits
# 100 for the calls it leaves to this stand-in.
if [[ -n "${STANDIN_HOOK:-}" ]]; then
  "$STANDIN_HOOK" "$@"
  rc=$?
  [[ $rc -eq 100 ]] || exit "$rc"
fi

if [[ -n "${STANDIN_REPLIES:-}" && -r "$STANDIN_REPLIES" ]]; then
  used="$STANDIN_LOG.replies"
  chosen="" answer="" found=""
  while IFS=$'\t' read -r pattern reply; do
    [[ "$line" =~ $pattern ]] || continue
    if [[ -z "$found" ]]; then
      found=1 chosen=$pattern
      skip=0
      if [[ -r "$used" ]]; then
        while IFS= read -r seen; do [[ "$seen" == "$pattern" ]] && skip=$((skip + 1)); done <"$used"
      fi
    fi
    [[ "$pattern" == "$chosen" ]] || continue
    answer=$reply
    ((skip == 0)) && break
    skip=$((skip - 1))
  done <"$STANDIN_REPLIES"
  if [[ -n "$found" ]]; then
    printf '%s\n' "$chosen" >>"$used"
    printf '%s\n' "${answer//\\n/$'\n'}"
    exit 0
  fi
fi

# The compose subcommand: the first word after "compose" and its global options.
args=("$@")
i=0
[[ "${args[0]:-}" == compose ]] && i=1
while [[ $i -lt ${#args[@]} ]]; do
  case "${args[i]}" in
    --project-name | --env-file | -f | -p) i=$((i + 2)) ;;
    *) break ;;
  esac
done
case "${args[i]:-}" in
  cp)
    src="${args[i + 1]}" dest="${args[i + 2]#rails:}"
    mkdir -p "$STANDIN_CONTAINER${dest%/*}"
    cp "$src" "$STANDIN_CONTAINER$dest"
    ;;
  exec)
    [[ " $* " == *" rails runner "* ]] || exit 0
    # rails runner FILE [ARGS…]: the script gets ARGS in ARGV, as under Rails.
    for ((j = i; j < ${#args[@]}; j++)); do [[ "${args[j]}" == runner ]] && break; done
    file="${args[j + 1]}"
    echo "I, [2026-11-20T12:00:00] INFO -- : noise Rails writes to stdout"
    # The in-memory models need only Ruby's standard library: without RubyGems, which is half of
    # Ruby's start here, and a script that needed a gem would fail (the storage stand-in needs them).
    gems=()
    [[ "${STANDIN_MODELS:?}" == */chatwoot_models.rb ]] && gems=(--disable-gems)
    exec ruby "${gems[@]}" -r "$STANDIN_MODELS" "$STANDIN_CONTAINER$file" "${args[@]:j+2}"
    ;;
esac
exit 0
