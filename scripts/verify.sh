#!/usr/bin/env bash
# Verifies that Chatwoot really works, through Caddy, the way a browser and an integrating app
# reach it (the production checklist, automated). Every check runs; each failure is reported with
# what was expected; the exit code is non-zero if any failed.
#
#   verify.sh --domain chat.example.com --version v4.15.1 [--help-center help.example.com]
#             [--frame-origins "https://a https://b"]
#             [--public-ipv4 IP --public-ipv6 IP] [--connect 127.0.0.1:443] [--cacert FILE]
#             [--timeout 300] [--backup-state DIR] [--caddy-admin-socket PATH] [--caddyfile FILE]
#             [--watchdog] [--external] [< '{"api_token":"…","account_id":1,"inbox_id":2,"webhook_url":"…"}']
#
# Requests go to --connect (default: this host's own port 443) with the real hostname, so TLS and
# routing are checked before public DNS caches catch up. With JSON on stdin, an authenticated
# probe checks that the API token sees the inbox and the webhook; the token never reaches argv.
# With --backup-state (the backup service's state directory), it also fails when the last
# successful backup is older than twice its interval. With --watchdog, it also fails when the
# watchdog's timer is not active or one run of it (started here, as the timer would) fails.
# With --external (the Kubernetes target, run from the operator's machine), the checks that read
# the server's own Caddy are left out: on a cluster, the ingress objects carry those rules.
#
# Slightly over ~300 lines: one numbered section per check, each a few lines, read top to bottom.
set -uo pipefail
scripts_dir=${BASH_SOURCE[0]%/*}; [[ "$scripts_dir" != "${BASH_SOURCE[0]}" ]] || scripts_dir=.
# shellcheck source=lib.sh
source "$scripts_dir/lib.sh"

domain="" version="" frame_origins="" ipv4="" ipv6="" connect="127.0.0.1:443" cacert="" timeout=300 backup_state=""
caddy_admin="" caddyfile="" watchdog="" help_center="" external=""
while [[ $# -gt 0 ]]; do
  case "$1" in
    --domain) domain="${2:-}"; shift 2 ;;
    --help-center) help_center="${2:-}"; shift 2 ;;
    --version) version="${2:-}"; shift 2 ;;
    --frame-origins) frame_origins="${2:-}"; shift 2 ;;
    --public-ipv4) ipv4="${2:-}"; shift 2 ;;
    --public-ipv6) ipv6="${2:-}"; shift 2 ;;
    --connect) connect="${2:-}"; shift 2 ;;
    --cacert) cacert="${2:-}"; shift 2 ;;
    --timeout) timeout="${2:-}"; shift 2 ;;
    --backup-state) backup_state="${2:-}"; shift 2 ;;
    --caddy-admin-socket) caddy_admin="${2:-}"; shift 2 ;;
    --caddyfile) caddyfile="${2:-}"; shift 2 ;;
    --watchdog) watchdog=1; shift ;;
    --external) external=1; shift ;;
    *) echo "verify.sh: unknown argument $1" >&2; exit 2 ;;
  esac
done
# Caddy's admin API: the unix socket on the data volume (docker/Caddyfile).
[[ -n "$caddy_admin" || -n "$external" ]] || caddy_admin=$(caddy_admin_socket)
if [[ -z "$domain" || -z "$version" ]]; then
  echo "verify.sh: --domain and --version are required" >&2
  exit 2
fi

base="https://$domain"
# A jq function for reading several fields in one jq: each on one line, "" when absent.
jq_one_line='def one_line: if . == null then "" elif type == "string" then gsub("[\r\n]"; " ") else tojson end;'
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

# --- 1b. The help center's own hostname (chatwoot:helpCenterDomain): TLS and the same Rails -----
if [[ -n "$help_center" ]]; then
  help_curl=(curl -sS --max-time 15 --connect-to "$help_center:443:$connect")
  [[ -n "$cacert" ]] && help_curl+=(--cacert "$cacert")
  while :; do
    help_status=$("${help_curl[@]}" -o "$work/help-health" -w '%{http_code}' "https://$help_center/health" 2>"$work/curl-err")
    help_rc=$?
    [[ $help_rc -eq 0 && "$help_status" == "200" ]] && break
    (($(date +%s) >= deadline)) && break
    sleep 5
  done
  if [[ $help_rc -eq 0 && "$help_status" == "200" ]] && grep -q '"woot"' "$work/help-health"; then
    pass "the help center's https://$help_center answers over TLS"
  elif [[ $help_rc -ne 0 ]]; then
    resolved=$(getent ahosts "$help_center" 2>/dev/null | awk '{print $1}' | sort -u | tr '\n' ' ')
    if [[ -n "$ipv4" && " $resolved " != *" $ipv4 "* ]]; then
      fail "TLS for $help_center could not be set up: it resolves to ${resolved:-nothing}, not this server ($ipv4)." \
        "Create the records \"$help_center A $ipv4\"${ipv6:+ and \"$help_center AAAA $ipv6\"}, then run pulumi up again."
    else
      fail "https://$help_center is not reachable through Caddy (curl: $(<"$work/curl-err")); see: compose.sh logs caddy"
    fi
  else
    fail "https://$help_center/health answered HTTP $help_status, expected 200 {\"status\":\"woot\"}"
  fi
fi

# --- 2. /api: version and backing services ----------------------------------------------------
api_status=$("${curl_base[@]}" -o "$work/api" -w '%{http_code}' "$base/api" 2>/dev/null)
expected_version="${version#v}"
expected_version="${expected_version%-ce}"
if [[ "$api_status" != "200" ]]; then
  fail "/api answered HTTP $api_status, expected 200"
else
  # One jq for the three fields, one line each ("" when absent or not JSON at all).
  api_fields=()
  mapfile -t api_fields < <(jq -r "$jq_one_line"' .version, .data_services, .queue_services | one_line' "$work/api" 2>/dev/null)
  got_version=${api_fields[0]:-}
  if [[ "$got_version" == "$expected_version" ]]; then
    pass "/api reports version $got_version"
  else
    fail "/api reports version '${got_version:-none}', expected $expected_version (the deployed image is not the configured one)"
  fi
  field=1
  for service in data_services:Postgres queue_services:Redis; do
    state=${api_fields[field]:-}
    field=$((field + 1))
    if [[ "$state" == "ok" ]]; then
      pass "/api ${service%%:*} ok"
    else
      fail "/api ${service%%:*} is '${state:-missing}', expected ok (${service#*:} is not reachable from Rails); see: compose.sh logs rails"
    fi
  done
fi

# --- 3. Framing headers on the dashboard -------------------------------------------------------
# header VAR NAME: the values of that response header in $work/headers (its name in any case), one
# line each, into VAR; with builtins (curl -D writes CRLF lines).
header() {
  local line name value found="" want=${2,,}
  [[ -r "$work/headers" ]] || { printf -v "$1" '%s' ""; return 0; }
  while IFS= read -r line || [[ -n "$line" ]]; do
    line=${line%$'\r'}
    [[ "$line" == *:* ]] || continue
    name=${line%%:*}
    [[ "${name,,}" == "$want" ]] || continue
    value=${line#*:}
    value=${value#"${value%%[!$' \t']*}"}
    found+=${found:+$'\n'}$value
  done <"$work/headers"
  printf -v "$1" '%s' "$found"
}
# Several kinds of dashboard response: the login page, the app shell, an API answer.
xfo_paths=(/app/login /app/accounts/1/dashboard /api)
# A request that got no answer checks nothing: it is a failure of its own, never "no header".
xfo_failed="" xfo_unanswered=""
for p in "${xfo_paths[@]}"; do
  : >"$work/headers"
  if ! "${curl_base[@]}" -o /dev/null -D "$work/headers" "$base$p" 2>/dev/null; then
    xfo_unanswered+=" $p"
    continue
  fi
  xfo=""
  header xfo X-Frame-Options
  [[ -n "$xfo" ]] && xfo_failed+=" $p"
done
[[ -z "$xfo_failed" ]] || fail "the dashboard still sends X-Frame-Options on:$xfo_failed (embedding would be blocked)"
[[ -z "$xfo_unanswered" ]] ||
  fail "the dashboard did not answer on:$xfo_unanswered, so its X-Frame-Options could not be checked there; see: compose.sh logs rails caddy"
[[ -n "$xfo_failed$xfo_unanswered" ]] || pass "no X-Frame-Options on the dashboard (${xfo_paths[*]})"
: >"$work/headers"
csp=""
if ! "${curl_base[@]}" -o /dev/null -D "$work/headers" "$base/app/login" 2>/dev/null; then
  fail "/app/login did not answer, so its Content-Security-Policy could not be checked; see: compose.sh logs rails caddy"
else
  header csp Content-Security-Policy
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
fi

# --- 4. Websocket on /cable: a real handshake and a frame that round-trips ----------------------
# A 101 alone proves little (any proxy can send one): the Sec-WebSocket-Accept must be the one
# RFC 6455 derives from our key, and a ping must come back as a pong through Caddy and Rails.
# python3 is on every Ubuntu cloud image (cloud-init runs on it).
ws_result=$(python3 - "$domain" "$connect" "$cacert" <<'PY' 2>&1
import base64, hashlib, os, socket, ssl, sys
domain, connect, cacert = sys.argv[1], sys.argv[2], sys.argv[3]
host, _, port = connect.rpartition(":")
ctx = ssl.create_default_context(cafile=cacert or None)
ctx.set_alpn_protocols(["http/1.1"])
try:
    raw = socket.create_connection((host.strip("[]"), int(port)), timeout=10)
    s = ctx.wrap_socket(raw, server_hostname=domain)
    key = base64.b64encode(os.urandom(16)).decode()
    s.sendall(("GET /cable HTTP/1.1\r\nHost: %s\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
               "Sec-WebSocket-Key: %s\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Protocol: actioncable-v1-json\r\n"
               "Origin: https://%s\r\n\r\n" % (domain, key, domain)).encode())
    buf = b""
    while b"\r\n\r\n" not in buf:
        chunk = s.recv(4096)
        if not chunk:
            break
        buf += chunk
    head, _, rest = buf.partition(b"\r\n\r\n")
    lines = head.decode("latin1").split("\r\n")
    if not lines[0].startswith("HTTP/1.1 101"):
        print("answered %r, expected 101" % lines[0]); sys.exit(1)
    headers = {l.split(":", 1)[0].strip().lower(): l.split(":", 1)[1].strip() for l in lines[1:] if ":" in l}
    expected = base64.b64encode(hashlib.sha1((key + "258EAFA5-E914-47DA-95CA-C5AB0DC85B11").encode()).digest()).decode()
    if headers.get("sec-websocket-accept") != expected:
        print("Sec-WebSocket-Accept is wrong (not derived from the key sent)"); sys.exit(1)
    payload = os.urandom(8)
    mask = os.urandom(4)
    s.sendall(bytes([0x89, 0x80 | len(payload)]) + mask + bytes(b ^ mask[i % 4] for i, b in enumerate(payload)))
    while True:
        while len(rest) < 2:
            chunk = s.recv(4096)
            if not chunk:
                print("the connection closed before a pong came back"); sys.exit(1)
            rest += chunk
        length = rest[1] & 0x7F
        header = 2 + (2 if length == 126 else 8 if length == 127 else 0)
        while len(rest) < header:
            rest += s.recv(4096)
        if length >= 126:
            length = int.from_bytes(rest[2:header], "big")
        while len(rest) < header + length:
            chunk = s.recv(4096)
            if not chunk:
                print("the connection closed mid-frame"); sys.exit(1)
            rest += chunk
        opcode, data, rest = rest[0] & 0x0F, rest[header:header + length], rest[header + length:]
        if opcode == 0xA:
            if data == payload:
                print("ok"); sys.exit(0)
            print("a pong came back with another payload"); sys.exit(1)
except socket.timeout:
    print("no pong within 10 s"); sys.exit(1)
except (OSError, ssl.SSLError) as e:
    print("connection failed: %s" % e.__class__.__name__); sys.exit(1)
PY
)
if [[ "$ws_result" == ok ]]; then
  pass "websocket on /cable: correct handshake, a ping came back as a pong"
else
  fail "websocket on /cable: ${ws_result:-no answer} (live updates would not work)"
fi

# --- 4b. Client-sent address headers never reach Rails -----------------------------------------
# Rails cannot be asked what it received, so ask Caddy what it runs: every reverse_proxy must
# delete them (Rails keys login rate limits on the client address).
if [[ -n "$external" ]]; then
  printf 'skip  %s\n' "the proxy's own configuration: not a server with Caddy (--external)"
elif "${curl_base[0]}" -sS --max-time 5 --unix-socket "$caddy_admin" http://localhost/config/ -o "$work/caddy-config" 2>/dev/null; then
  missing_deletes=$(jq -r '[.. | objects | select(.handler? == "reverse_proxy")] as $p
    | if ($p | length) == 0 then "no reverse_proxy" else
      ["Forwarded", "X-Real-Ip", "Client-Ip", "True-Client-Ip"] - ([$p[] | .headers.request.delete[]?] | unique) | join(" ") end' "$work/caddy-config" 2>/dev/null)
  if [[ -z "$missing_deletes" ]]; then
    pass "Caddy drops client-sent Forwarded, X-Real-IP, Client-IP and True-Client-IP"
  else
    fail "Caddy passes client-sent address headers to Rails (${missing_deletes}); the Caddyfile serving is not the deployed one"
  fi
  # The configuration Caddy serves must be the deployed Caddyfile, adapted where Caddy runs (its
  # environment fills the placeholders); --caddyfile adapts a file with a local caddy instead.
  if [[ -n "$caddyfile" ]]; then
    caddy adapt --config "$caddyfile" --adapter caddyfile >"$work/caddy-deployed" 2>/dev/null
  else
    "$compose" exec -T caddy caddy adapt --config /etc/caddy/Caddyfile --adapter caddyfile >"$work/caddy-deployed" 2>/dev/null
  fi
  # (jq's == compares JSON values: key order and number spelling aside, as jq -S of each would.)
  if [[ -s "$work/caddy-deployed" ]] && jq -e -s 'length == 2 and .[0] == .[1]' "$work/caddy-deployed" "$work/caddy-config" >/dev/null 2>&1; then
    pass "Caddy serves the deployed Caddyfile"
  else
    fail "Caddy does not serve the deployed Caddyfile (a reload did not happen or failed); see: compose.sh logs caddy"
  fi
else
  fail "Caddy's admin API ($caddy_admin) did not answer; cannot check the configuration it serves"
fi

# --- 5. Authenticated probe --------------------------------------------------------------------
if [[ ! -t 0 ]] && probe=$(cat) && [[ -n "$probe" ]]; then
  # One jq for the four fields (the token on its stdin, never in an argument), one line each.
  probe_fields=()
  mapfile -t probe_fields < <(jq -r "$jq_one_line"' .api_token, .account_id, .inbox_id, .webhook_url | one_line' <<<"$probe" 2>/dev/null)
  token=${probe_fields[0]:-} account_id=${probe_fields[1]:-} inbox_id=${probe_fields[2]:-} webhook_url=${probe_fields[3]:-}
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
  backup_tool="${here%/*}/docker/backup/chatwoot-backup"
  healthy=$(bash "$backup_tool" health --state-dir "$backup_state" 2>"$work/backup-problems") || true
  while IFS= read -r line; do [[ -n "$line" ]] && pass "$line"; done <<<"$healthy"
  while IFS= read -r line; do [[ -n "$line" ]] && fail "${line#chatwoot-backup: }"; done <"$work/backup-problems"
fi

# --- 7. The watchdog: its timer runs, and a run of it works now ---------------------------------------
if [[ -n "$watchdog" ]]; then
  if systemctl is-active --quiet chatwoot-watchdog.timer; then
    pass "the watchdog's timer is active (every minute)"
  else
    fail "the watchdog's timer is not active: systemctl enable --now chatwoot-watchdog.timer"
  fi
  if systemctl start chatwoot-watchdog.service; then
    pass "the watchdog ran (npm run status shows what it saw)"
  else
    fail "the watchdog failed to run: journalctl -u chatwoot-watchdog.service"
  fi
  # A new or changed channel gets a test alert, so a wrong address shows now, not at the first outage.
  watchdog_py="$here/watchdog.py"
  if tested=$(python3 "$watchdog_py" test-alert --if-changed 2>&1); then
    while IFS= read -r line; do [[ -n "$line" ]] && pass "alerts: $line"; done <<<"$tested"
  else
    while IFS= read -r line; do [[ -n "$line" ]] && fail "alerts: $line (npm run alerts:test to retry)"; done <<<"$tested"
  fi
fi

if ((failures > 0)); then
  echo "verify.sh: $failures check(s) failed" >&2
  exit 1
fi
echo "verified: https://$domain"
