#!/usr/bin/env bash
# Verifies that Chatwoot really works, through Caddy, the way a browser and an integrating app
# reach it (the production checklist, automated). Every check runs; each failure is reported with
# what was expected; the exit code is non-zero if any failed.
#
#   verify.sh --domain chat.example.com --version v4.15.1 [--frame-origins "https://a https://b"]
#             [--public-ipv4 IP --public-ipv6 IP] [--connect 127.0.0.1:443] [--cacert FILE]
#             [--timeout 300] [--backup-state DIR] [< '{"api_token":"…","account_id":1,"inbox_id":2,"webhook_url":"…"}']
#
# Requests go to --connect (default: this host's own port 443) with the real hostname, so TLS and
# routing are checked before public DNS caches catch up. With JSON on stdin, an authenticated
# probe checks that the API token sees the inbox and the webhook; the token never reaches argv.
# With --backup-state (the backup service's state directory), it also fails when the last
# successful backup is older than twice its interval.
set -uo pipefail

domain="" version="" frame_origins="" ipv4="" ipv6="" connect="127.0.0.1:443" cacert="" timeout=300 backup_state=""
while [[ $# -gt 0 ]]; do
  case "$1" in
    --domain) domain="${2:-}"; shift 2 ;;
    --version) version="${2:-}"; shift 2 ;;
    --frame-origins) frame_origins="${2:-}"; shift 2 ;;
    --public-ipv4) ipv4="${2:-}"; shift 2 ;;
    --public-ipv6) ipv6="${2:-}"; shift 2 ;;
    --connect) connect="${2:-}"; shift 2 ;;
    --cacert) cacert="${2:-}"; shift 2 ;;
    --timeout) timeout="${2:-}"; shift 2 ;;
    --backup-state) backup_state="${2:-}"; shift 2 ;;
    *) echo "verify.sh: unknown argument $1" >&2; exit 2 ;;
  esac
done
if [[ -z "$domain" || -z "$version" ]]; then
  echo "verify.sh: --domain and --version are required" >&2
  exit 2
fi

base="https://$domain"
curl_base=(curl -sS --max-time 15 --connect-to "$domain:443:$connect")
[[ -n "$cacert" ]] && curl_base+=(--cacert "$cacert")

failures=0
pass() { printf 'ok    %s\n' "$*"; }
fail() {
  printf 'FAIL  %s\n' "$*" >&2
  failures=$((failures + 1))
}

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

# --- 1. TLS and /health, with patience: Caddy may still be obtaining the certificate -------------
deadline=$(($(date +%s) + timeout))
health_status="" curl_error=""
while :; do
  health_status=$("${curl_base[@]}" -o "$work/health" -w '%{http_code}' "$base/health" 2>"$work/curl-err")
  curl_rc=$?
  curl_error=$(<"$work/curl-err")
  [[ $curl_rc -eq 0 && "$health_status" == "200" ]] && break
  (($(date +%s) >= deadline)) && break
  sleep 5
done

if [[ $curl_rc -ne 0 ]]; then
  resolved=$(getent ahosts "$domain" 2>/dev/null | awk '{print $1}' | sort -u | tr '\n' ' ')
  if [[ -n "$ipv4" && " $resolved " != *" $ipv4 "* ]]; then
    fail "TLS for $domain could not be set up: $domain resolves to ${resolved:-nothing}, not this server ($ipv4)." \
      "Caddy can only obtain a certificate once DNS points here. Create the records" \
      "\"$domain A $ipv4\"${ipv6:+ and \"$domain AAAA $ipv6\"}, then run pulumi up again."
  else
    fail "https://$domain is not reachable through Caddy (curl: ${curl_error:-exit $curl_rc}); see: compose.sh logs caddy"
  fi
  echo "verify.sh: $failures check(s) failed" >&2
  exit 1
fi
if [[ "$health_status" == "200" ]] && grep -q '"woot"' "$work/health"; then
  pass "/health answers through Caddy over TLS"
else
  fail "/health answered HTTP $health_status, expected 200 {\"status\":\"woot\"}; see: compose.sh logs rails"
fi

# --- 2. /api: version and backing services ----------------------------------------------------
api_status=$("${curl_base[@]}" -o "$work/api" -w '%{http_code}' "$base/api" 2>/dev/null)
expected_version="${version#v}"
expected_version="${expected_version%-ce}"
if [[ "$api_status" != "200" ]]; then
  fail "/api answered HTTP $api_status, expected 200"
else
  got_version=$(jq -r '.version // empty' "$work/api" 2>/dev/null)
  if [[ "$got_version" == "$expected_version" ]]; then
    pass "/api reports version $got_version"
  else
    fail "/api reports version '${got_version:-none}', expected $expected_version (the deployed image is not the configured one)"
  fi
  for service in data_services:Postgres queue_services:Redis; do
    state=$(jq -r ".${service%%:*} // empty" "$work/api" 2>/dev/null)
    if [[ "$state" == "ok" ]]; then
      pass "/api ${service%%:*} ok"
    else
      fail "/api ${service%%:*} is '${state:-missing}', expected ok (${service#*:} is not reachable from Rails); see: compose.sh logs rails"
    fi
  done
fi

# --- 3. Framing headers on the dashboard -------------------------------------------------------
"${curl_base[@]}" -o /dev/null -D "$work/headers" "$base/app/login" 2>/dev/null
header() { tr -d '\r' <"$work/headers" | awk -v name="$1" 'tolower($0) ~ "^"tolower(name)":" {sub(/^[^:]*:[ \t]*/, ""); print}'; }
if [[ -n "$(header X-Frame-Options)" ]]; then
  fail "the dashboard still sends X-Frame-Options: $(header X-Frame-Options) (embedding would be blocked)"
else
  pass "no X-Frame-Options on the dashboard"
fi
csp=$(header Content-Security-Policy)
if [[ -n "$frame_origins" ]]; then
  expected_csp="frame-ancestors 'self' $frame_origins"
  if [[ "$csp" == "$expected_csp" ]]; then
    pass "frame-ancestors allows: $frame_origins"
  else
    fail "Content-Security-Policy is '${csp:-absent}', expected \"$expected_csp\""
  fi
elif [[ "$csp" == *frame-ancestors* ]]; then
  fail "Content-Security-Policy restricts framing ('$csp') though no allowlist is configured"
else
  pass "no frame-ancestors restriction (no allowlist configured)"
fi

# --- 4. Websocket upgrade on /cable (curl then waits on the open socket until --max-time: 101 is enough) --
ws_status=$("${curl_base[@]}" --http1.1 --max-time 3 -o /dev/null -w '%{http_code}' \
  -H 'Connection: Upgrade' -H 'Upgrade: websocket' -H 'Sec-WebSocket-Version: 13' \
  -H 'Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==' -H 'Sec-WebSocket-Protocol: actioncable-v1-json' \
  "$base/cable" 2>/dev/null)
if [[ "$ws_status" == "101" ]]; then
  pass "websocket upgrade on /cable"
else
  fail "websocket upgrade on /cable answered HTTP ${ws_status:-nothing}, expected 101 (live updates would not work)"
fi

# --- 5. Authenticated probe --------------------------------------------------------------------
if [[ ! -t 0 ]] && probe=$(cat) && [[ -n "$probe" ]]; then
  token=$(jq -r '.api_token // empty' <<<"$probe")
  account_id=$(jq -r '.account_id // empty' <<<"$probe")
  inbox_id=$(jq -r '.inbox_id // empty' <<<"$probe")
  webhook_url=$(jq -r '.webhook_url // empty' <<<"$probe")
  (umask 077 && printf 'api_access_token: %s\n' "$token" >"$work/auth")
  api() { "${curl_base[@]}" -H "@$work/auth" -o "$work/$1" -w '%{http_code}' "$base/api/v1/accounts/$account_id/$1" 2>/dev/null; }
  status=$(api inboxes)
  if [[ "$status" != "200" ]]; then
    fail "the API token was refused listing inboxes of account $account_id (HTTP $status)"
  elif jq -e --argjson id "$inbox_id" '.payload | any(.id == $id)' "$work/inboxes" >/dev/null 2>&1; then
    pass "the API token sees inbox $inbox_id in account $account_id"
  else
    fail "inbox $inbox_id is not in account $account_id's inboxes"
  fi
  if [[ -n "$webhook_url" ]]; then
    status=$(api webhooks)
    if [[ "$status" == "200" ]] && jq -e --arg url "$webhook_url" '.payload.webhooks | any(.url == $url)' "$work/webhooks" >/dev/null 2>&1; then
      pass "the account webhook to $webhook_url exists"
    else
      fail "no account webhook to $webhook_url (HTTP $status)"
    fi
  fi
fi

# --- 6. Backups: the service's own health rule, reading the status file it writes ------------------
if [[ -n "$backup_state" ]]; then
  backup_tool="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd -P)/docker/backup/chatwoot-backup"
  healthy=$(bash "$backup_tool" health --state-dir "$backup_state" 2>"$work/backup-problems") || true
  while IFS= read -r line; do [[ -n "$line" ]] && pass "$line"; done <<<"$healthy"
  while IFS= read -r line; do [[ -n "$line" ]] && fail "${line#chatwoot-backup: }"; done <"$work/backup-problems"
fi

if ((failures > 0)); then
  echo "verify.sh: $failures check(s) failed" >&2
  exit 1
fi
echo "verified: https://$domain"
