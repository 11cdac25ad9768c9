#!/usr/bin/env python3
"""The host's watchdog: checks Chatwoot every minute (chatwoot-watchdog.timer) and alerts on change.

    watchdog.py run                 check everything, record it, alert on a change (the timer runs this)
    watchdog.py status              print the last view of every check
    watchdog.py test-alert          send a test message through every configured channel now
    watchdog.py test-alert --if-changed   only when the channels changed since the last test (verify)
    watchdog.py silence MINUTES     send nothing for that long (maintenance); "silence 0" ends it

What it checks, each ok, warn or fail: the site through Caddy (/health and /api, as verify.sh
does), the containers (running, healthy, restarts since the last run), Sidekiq's queue latency,
disk use of the data volume and the root disk (warn 80 %, fail 90 %), memory and swap, the age of
the last database and files backups against their schedule, the TLS certificate's days left (fail
below 14) and a pending reboot.

It alerts when a check changes state (ok -> failing, failing -> recovered), repeats a failure at
most every ALERT_REPEAT_HOURS, and sends a heartbeat once a day so that its silence is noticed too.
A ping URL in the healthchecks.io style gets /start, then success or /fail, on every run.
Channels and their settings come from the host's .env (scope "host"): ALERT_EMAIL_TO (through
Chatwoot's SMTP settings), ALERT_WEBHOOK_URL with ALERT_WEBHOOK_FORMAT (slack or json), and
ALERT_PING_URL. Messages hold check names, states and figures only: never a value from the .env,
and a channel's failure is reported without its URL.

Only the standard library: Ubuntu's python3 runs it as it is.
"""
import fcntl
import hashlib
import hmac
import json
import os
import re
import smtplib
import socket
import ssl
import subprocess
import sys
import time
import urllib.error
import urllib.request
from email.message import EmailMessage
from http.client import HTTPSConnection, HTTPConnection

HERE = os.path.dirname(os.path.abspath(__file__))
APP_DIR = os.environ.get("CHATWOOT_APP_DIR") or os.path.dirname(os.path.dirname(os.path.realpath(HERE)))
if os.path.basename(APP_DIR) == "bundles":
    APP_DIR = os.path.dirname(APP_DIR)
STATE_DIR = os.environ.get("WATCHDOG_STATE_DIR") or os.path.join(APP_DIR, "watchdog")
STATE_FILE = os.path.join(STATE_DIR, "state.json")
# Test seams: another root for /proc and /run, another URL and CA for the site.
ROOT = os.environ.get("WATCHDOG_ROOT", "")
COMPOSE = os.path.join(HERE, "compose.sh")
BACKUP_TOOL = os.path.join(os.path.dirname(HERE), "docker", "backup", "chatwoot-backup")

OK, WARN, FAIL = "ok", "warn", "fail"
RANK = {OK: 0, WARN: 1, FAIL: 2}
HEARTBEAT_SECONDS = 24 * 3600
# Sidekiq's own latency: the age of the oldest job of each queue (the right end of its list).
QUEUE_LATENCY_LUA = (
    "local r = {} for _, q in ipairs(redis.call('SMEMBERS', 'queues')) do "
    "local e = redis.call('LINDEX', 'queue:' .. q, -1) "
    "if e then table.insert(r, q) table.insert(r, e) end end return r"
)


def read_env(path):
    """NAME='value' lines, as infra/render/env.ts writes them (no quote inside a value)."""
    values = {}
    with open(path, encoding="utf-8") as f:
        for line in f:
            m = re.match(r"^([A-Z][A-Z0-9_]*)='([^']*)'$", line.rstrip("\n"))
            if m:
                values[m.group(1)] = m.group(2)
    return values


def run(cmd, timeout=30):
    """(exit status, stdout) of a command; its stderr is dropped, it may quote configuration."""
    try:
        p = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True, timeout=timeout)
        return p.returncode, p.stdout
    except (OSError, subprocess.TimeoutExpired):
        return 127, ""


class SiteConnection(HTTPSConnection):
    """HTTPS to the site's name, dialled at Caddy on this host (SNI and the certificate stay the site's)."""

    def __init__(self, host, dial, port, context):
        super().__init__(host, port, context=context, timeout=10)
        self.dial = dial

    def connect(self):
        sock = socket.create_connection((self.dial, self.port), self.timeout)
        self.sock = self._context.wrap_socket(sock, server_hostname=self.host)


def site_get(env, path):
    """(status, body, certificate) of GET path through Caddy on this host."""
    url = os.environ.get("WATCHDOG_URL")
    if url and url.startswith("http://"):
        host, port = url[len("http://"):].split(":")
        conn = HTTPConnection(host, int(port), timeout=10)
        cert = None
    else:
        context = ssl.create_default_context(cafile=os.environ.get("WATCHDOG_CA_FILE") or None)
        dial, port = "127.0.0.1", 443
        if url:
            dial, port = url[len("https://"):].split(":")[0], int(url.rsplit(":", 1)[1])
        conn = SiteConnection(env["CHATWOOT_DOMAIN"], dial, port, context)
    try:
        conn.request("GET", path, headers={"Host": env["CHATWOOT_DOMAIN"], "User-Agent": "chatwoot-watchdog"})
        res = conn.getresponse()
        body = res.read(65536)
        cert = conn.sock.getpeercert() if isinstance(conn, HTTPSConnection) else None
        return res.status, body, cert
    finally:
        conn.close()


# --- checks: each returns (state, summary) --------------------------------------------------------


def check_site(env, facts):
    try:
        status, _, cert = site_get(env, "/health")
        facts["cert"] = cert
        if status != 200:
            return FAIL, f"/health answered {status}"
        status, body, _ = site_get(env, "/api")
        if status != 200:
            return FAIL, f"/api answered {status}"
        api = json.loads(body)
    except ssl.SSLCertVerificationError:
        return FAIL, "TLS certificate not valid for the site"
    except (OSError, ValueError) as e:
        return FAIL, f"site unreachable ({type(e).__name__})"
    broken = [k for k in ("data_services", "queue_services") if api.get(k) != "ok"]
    if broken:
        return FAIL, "/api reports " + ", ".join(f"{k}={api.get(k)}" for k in broken)
    return OK, f"/health and /api ok, version {api.get('version', '?')}"


def check_tls(env, facts):
    cert = facts.get("cert")
    if not cert or "notAfter" not in cert:
        return WARN, "certificate not read (the site check failed)"
    days = int((ssl.cert_time_to_seconds(cert["notAfter"]) - time.time()) // 86400)
    if days < 14:
        return FAIL, f"certificate expires in {days} days"
    return OK, f"certificate valid for {days} more days"


def check_containers(env, facts):
    previous = facts.get("previous")
    services = ["rails", "sidekiq", "postgres", "redis", "caddy"] + (["backup"] if env.get("BACKUP_ENABLED") == "true" else [])
    # Not one-off containers (a migration's `compose run`): only the services themselves.
    code, ids = run(["docker", "ps", "-aq", "--filter", "label=com.docker.compose.project=chatwoot", "--filter", "label=com.docker.compose.oneoff=False"])
    if code != 0:
        return FAIL, "docker did not answer"
    found = {}
    if ids.split():
        fmt = '{{index .Config.Labels "com.docker.compose.service"}} {{.RestartCount}} {{.State.Status}} {{if .State.Health}}{{.State.Health.Status}}{{else}}none{{end}}'
        code, out = run(["docker", "inspect", "--format", fmt] + ids.split())
        if code != 0:
            return FAIL, "docker inspect failed"
        for line in out.splitlines():
            parts = line.split()
            if len(parts) == 4 and parts[0] in services:
                found[parts[0]] = {"restarts": int(parts[1]), "state": parts[2], "health": parts[3]}
    facts["restarts"] = {s: v["restarts"] for s, v in found.items()}
    problems = [f"{s} missing" for s in services if s not in found]
    problems += [f"{s} {v['state']}" for s, v in sorted(found.items()) if v["state"] != "running"]
    problems += [f"{s} unhealthy" for s, v in sorted(found.items()) if v["health"] == "unhealthy"]
    if problems:
        return FAIL, ", ".join(problems)
    # A restart is a moment, not a state: it warns for an hour after the last one, so a container
    # that keeps restarting is one warning, not one per minute.
    before = (previous or {}).get("restarts", {})
    recent = {s: dict(v) for s, v in (previous or {}).get("recent_restarts", {}).items() if time.time() - v["at"] < 3600}
    for s, v in found.items():
        if s in before and v["restarts"] > before[s]:
            recent[s] = {"at": int(time.time()), "count": recent.get(s, {}).get("count", 0) + v["restarts"] - before[s]}
    facts["recent_restarts"] = recent
    if recent:
        return WARN, ", ".join(f"{s} restarted {v['count']}x" for s, v in sorted(recent.items())) + " in the last hour"
    return OK, f"{len(found)} containers running and healthy"


def check_queues(env, facts):
    code, out = run([COMPOSE, "exec", "-T", "redis", "sh", "-c",
                     'REDISCLI_AUTH="$REDIS_PASSWORD" exec redis-cli --no-auth-warning --raw EVAL "$0" 0', QUEUE_LATENCY_LUA])
    if code != 0:
        return FAIL, "could not read Sidekiq's queues from Redis"
    lines = out.splitlines()
    worst, worst_queue = 0.0, ""
    for queue, entry in zip(lines[0::2], lines[1::2]):
        try:
            enqueued = float(json.loads(entry).get("enqueued_at", 0))
        except ValueError:
            continue
        # Sidekiq 8 stores milliseconds, earlier versions seconds.
        if enqueued > 1e11:
            enqueued /= 1000
        latency = max(0.0, time.time() - enqueued)
        if latency > worst:
            worst, worst_queue = latency, queue
    minutes = int(worst // 60)
    if worst > 15 * 60:
        return FAIL, f"queue {worst_queue} waits {minutes} min (is Sidekiq working?)"
    if worst > 5 * 60:
        return WARN, f"queue {worst_queue} waits {minutes} min"
    return OK, f"oldest job waits {int(worst)} s"


def check_disk(env, facts):
    worst, parts = OK, []
    for name, path in (("data volume", env.get("CHATWOOT_DATA_DIR", "/srv/chatwoot")), ("root disk", "/")):
        code, out = run(["df", "-P", path])
        rows = out.strip().splitlines()
        m = re.search(r"(\d+)%", rows[-1]) if code == 0 and len(rows) >= 2 else None
        if not m:
            return FAIL, f"df could not read the {name}"
        used = int(m.group(1))
        state = FAIL if used >= 90 else WARN if used >= 80 else OK
        worst = max(worst, state, key=RANK.get)
        parts.append(f"{name} {used}% used")
    return worst, ", ".join(parts)


def check_memory(env, facts):
    info = {}
    with open(ROOT + "/proc/meminfo", encoding="utf-8") as f:
        for line in f:
            key, _, rest = line.partition(":")
            info[key] = int(rest.split()[0])
    available = 100 * info.get("MemAvailable", 0) / max(1, info.get("MemTotal", 1))
    swap_total = info.get("SwapTotal", 0)
    swap_used = 100 * (swap_total - info.get("SwapFree", 0)) / swap_total if swap_total else 0
    state = OK
    if available < 10 or swap_used > 80:
        state = FAIL
    elif available < 20 or swap_used > 50:
        state = WARN
    return state, f"{available:.0f}% memory available, {swap_used:.0f}% swap used"


def check_backups(env, facts):
    if env.get("BACKUP_ENABLED") != "true":
        return OK, "backups are off (chatwoot:backup.enabled)"
    state_dir = os.path.join(env.get("CHATWOOT_DATA_DIR", "/srv/chatwoot"), "backup")
    try:
        p = subprocess.run(["bash", BACKUP_TOOL, "health", "--state-dir", state_dir], stdout=subprocess.PIPE,
                           stderr=subprocess.STDOUT, text=True, timeout=30)
    except (OSError, subprocess.TimeoutExpired):
        return FAIL, "could not read the backup status"
    lines = [line.replace("chatwoot-backup: ", "") for line in p.stdout.splitlines() if line.strip()]
    return (OK if p.returncode == 0 else FAIL), "; ".join(lines) or "no backup status"


def check_reboot(env, facts):
    flag = ROOT + "/run/reboot-required"
    if not os.path.exists(flag):
        return OK, "no reboot pending"
    try:
        with open(flag + ".pkgs", encoding="utf-8") as f:
            pkgs = sorted(set(f.read().split()))
    except OSError:
        pkgs = []
    return WARN, "reboot required to finish updates" + (f" ({', '.join(pkgs[:5])})" if pkgs else "")


CHECKS = [
    ("site", check_site),
    ("tls", check_tls),
    ("containers", check_containers),
    ("queues", check_queues),
    ("disk", check_disk),
    ("memory", check_memory),
    ("backups", check_backups),
    ("reboot", check_reboot),
]


# --- state and alerting ---------------------------------------------------------------------------


def load_state():
    try:
        with open(STATE_FILE, encoding="utf-8") as f:
            return json.load(f)
    except (OSError, ValueError):
        return {"checks": {}}


def save_state(state):
    os.makedirs(STATE_DIR, mode=0o700, exist_ok=True)
    tmp = STATE_FILE + ".new"
    with open(tmp, "w", encoding="utf-8") as f:
        json.dump(state, f, indent=1, sort_keys=True)
    os.replace(tmp, STATE_FILE)


def channels(env):
    out = []
    if env.get("ALERT_EMAIL_TO"):
        out.append("email")
    if env.get("ALERT_WEBHOOK_URL"):
        out.append("webhook")
    return out


def send_email(env, subject, text):
    msg = EmailMessage()
    msg["Subject"] = subject
    msg["From"] = env.get("MAILER_SENDER_EMAIL", f"watchdog@{env.get('CHATWOOT_DOMAIN', 'localhost')}")
    msg["To"] = env["ALERT_EMAIL_TO"]
    msg.set_content(text)
    host, port = env.get("SMTP_ADDRESS", "localhost"), int(env.get("SMTP_PORT", "25"))
    context = ssl.create_default_context(cafile=os.environ.get("WATCHDOG_SMTP_CA_FILE") or None)
    if env.get("SMTP_SSL") == "true":
        server = smtplib.SMTP_SSL(host, port, timeout=20, context=context)
    else:
        server = smtplib.SMTP(host, port, timeout=20)
        if env.get("SMTP_ENABLE_STARTTLS_AUTO") == "true":
            server.starttls(context=context)
    with server:
        if env.get("SMTP_USERNAME"):
            server.login(env["SMTP_USERNAME"], env.get("SMTP_PASSWORD", ""))
        server.send_message(msg)


def post_json(url, payload):
    req = urllib.request.Request(url, data=json.dumps(payload).encode(), headers={"Content-Type": "application/json", "User-Agent": "chatwoot-watchdog"})
    with urllib.request.urlopen(req, timeout=15) as res:
        res.read()


def deliver(env, subject, text, payload):
    """Sends through every channel; returns {channel: error} for the ones that failed (no URL in it)."""
    errors = {}
    if env.get("ALERT_EMAIL_TO"):
        try:
            send_email(env, subject, text)
        except (OSError, smtplib.SMTPException) as e:
            errors["email"] = type(e).__name__
    if env.get("ALERT_WEBHOOK_URL"):
        body = {"text": f"*{subject}*\n{text}"} if env.get("ALERT_WEBHOOK_FORMAT", "slack") == "slack" else {"subject": subject, **payload}
        try:
            post_json(env["ALERT_WEBHOOK_URL"], body)
        except urllib.error.HTTPError as e:
            errors["webhook"] = f"HTTP {e.code}"
        except (OSError, ValueError) as e:
            errors["webhook"] = type(e).__name__
    return errors


def ping(env, suffix):
    """healthchecks.io style: <url>/start, <url> (success), <url>/fail. Failures are only counted."""
    url = env.get("ALERT_PING_URL")
    if not url:
        return None
    try:
        with urllib.request.urlopen(urllib.request.Request(url.rstrip("/") + suffix, data=b"", headers={"User-Agent": "chatwoot-watchdog"}), timeout=10) as res:
            res.read()
        return None
    except urllib.error.HTTPError as e:
        return f"HTTP {e.code}"
    except (OSError, ValueError) as e:
        return type(e).__name__


def describe(results):
    return "\n".join(f"{name}: {r['state'].upper()} - {r['summary']}" for name, r in results.items())


def host_busy():
    """Whether a deploy, rollback, backup or restore holds the host lock (scripts/lib.sh): containers
    come and go on purpose then, so what the checks see is recorded but not alerted on."""
    try:
        with open(os.path.join(APP_DIR, ".lock"), "a") as f:
            fcntl.flock(f, fcntl.LOCK_EX | fcntl.LOCK_NB)
            fcntl.flock(f, fcntl.LOCK_UN)
        return False
    except BlockingIOError:
        return True
    except OSError:
        return False


def cmd_run():
    env = read_env(os.path.join(APP_DIR, ".env"))
    state = load_state()
    now = int(time.time())
    busy = host_busy()
    ping_errors = [e for e in [ping(env, "/start")] if e]
    facts = {"previous": state.get("facts", {})}
    results = {}
    for name, check in CHECKS:
        try:
            verdict, summary = check(env, facts)
        except Exception as e:  # a broken check is a failing check, said without details
            verdict, summary = FAIL, f"check failed ({type(e).__name__})"
        results[name] = {"state": verdict, "summary": summary}

    # An event is a change from what people were last told, or a reminder of a failure that lasts.
    repeat = int(env.get("ALERT_REPEAT_HOURS", "6")) * 3600
    silenced = state.get("silence_until", 0) > now or busy
    events = []
    old_checks = state.get("checks", {})
    for name, r in results.items():
        old = old_checks.get(name, {})
        r["since"] = old.get("since", now) if old.get("state") == r["state"] else now
        r["notified_state"] = old.get("notified_state", OK)
        r["last_notified"] = old.get("last_notified", 0)
        if r["state"] != r["notified_state"]:
            kind = "recovered" if r["state"] == OK else "failing" if r["state"] == FAIL else "warning"
        elif r["state"] != OK and now - r["last_notified"] >= repeat:
            kind = "still failing" if r["state"] == FAIL else "still warning"
        else:
            continue
        events.append((name, f"{name} {kind}: {r['summary']}"))

    host = env.get("CHATWOOT_DOMAIN", socket.gethostname())
    failing = [n for n, r in results.items() if r["state"] != OK]
    errors = {}
    told = False
    if events and not silenced:
        if channels(env):
            subject = f"[chatwoot {host}] " + (f"{len(failing)} check(s) need attention" if failing else "all checks ok again")
            lines = [text for _, text in events]
            errors = deliver(env, subject, "\n".join(lines) + "\n\nAll checks:\n" + describe(results),
                             {"host": host, "events": lines, "checks": results})
            told = len(errors) < len(channels(env))
        else:
            told = True  # nobody to tell: nothing to catch up on later
        if told:
            for name, _ in events:
                results[name]["notified_state"], results[name]["last_notified"] = results[name]["state"], now
            state["last_heartbeat"] = now
    elif not silenced and channels(env) and now - state.get("last_heartbeat", 0) >= HEARTBEAT_SECONDS:
        errors = deliver(env, f"[chatwoot {host}] watchdog heartbeat", "The watchdog is running.\n\n" + describe(results),
                         {"host": host, "heartbeat": True, "checks": results})
        if len(errors) < len(channels(env)):
            state["last_heartbeat"] = now
    ping_error = ping(env, "/fail" if any(r["state"] == FAIL for r in results.values()) else "")
    ping_errors += [ping_error] if ping_error else []

    state["checks"] = results
    state["facts"] = {key: facts.get(key, facts["previous"].get(key, {})) for key in ("restarts", "recent_restarts")}
    state["last_run"] = now
    state["delivery_errors"] = {**errors, **({"ping": ping_errors[0]} if ping_errors else {})}
    save_state(state)
    for name, r in results.items():
        print(f"watchdog: {name} {r['state']}: {r['summary']}")
    for channel, error in state["delivery_errors"].items():
        print(f"watchdog: could not deliver to {channel} ({error})", file=sys.stderr)
    if busy and events:
        print(f"watchdog: a deploy, rollback, backup or restore is running; {len(events)} event(s) held back")
    elif silenced and events:
        until = time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime(state["silence_until"]))
        print(f"watchdog: silenced until {until}; {len(events)} event(s) held back")
    return 0


def cmd_status():
    state = load_state()
    if not state.get("last_run"):
        print("The watchdog has not run yet (systemctl status chatwoot-watchdog.timer).")
        return 1
    now = int(time.time())
    print(f"last run {now - state['last_run']} s ago; channels: {', '.join(channels(read_env(os.path.join(APP_DIR, '.env')))) or 'none'}")
    if state.get("silence_until", 0) > now:
        print(f"SILENCED until {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime(state['silence_until']))}")
    for name, r in state.get("checks", {}).items():
        print(f"{name:<11} {r['state'].upper():<5} {r['summary']} (since {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime(r['since']))})")
    for channel, error in state.get("delivery_errors", {}).items():
        print(f"delivery to {channel} failed last time: {error}")
    return 0 if all(r["state"] == OK for r in state.get("checks", {}).values()) else 2


def channel_fingerprint(env):
    """A keyed hash of everything that decides where alerts go. Keyed with SECRET_KEY_BASE, which
    only the .env holds: the state file alone cannot be used to guess a weak SMTP password."""
    keys = sorted(k for k in env if k.startswith("ALERT_") or k.startswith("SMTP_") or k == "MAILER_SENDER_EMAIL")
    text = "\n".join(f"{k}={env[k]}" for k in keys).encode()
    return hmac.new(env.get("SECRET_KEY_BASE", "").encode(), text, hashlib.sha256).hexdigest()


def cmd_test_alert(if_changed=False):
    env = read_env(os.path.join(APP_DIR, ".env"))
    host = env.get("CHATWOOT_DOMAIN", socket.gethostname())
    configured = channels(env) + (["ping"] if env.get("ALERT_PING_URL") else [])
    if not configured:
        print("No alert channel is configured (chatwoot:alerts).", file=sys.stderr)
        return 0 if if_changed else 1
    state = load_state()
    fingerprint = channel_fingerprint(env)
    if if_changed and state.get("tested_channels") == fingerprint:
        print("alert channels unchanged since their last test: no test alert sent")
        return 0
    errors = deliver(env, f"[chatwoot {host}] test alert", "A test alert from the watchdog (npm run alerts:test).", {"host": host, "test": True})
    ping_error = ping(env, "")
    if ping_error:
        errors["ping"] = ping_error
    for channel in configured:
        print(f"{channel}: {'FAILED (' + errors[channel] + ')' if channel in errors else 'sent'}")
    if not errors:
        state = load_state()
        state["tested_channels"] = fingerprint
        save_state(state)
    return 1 if errors else 0


def cmd_silence(minutes):
    state = load_state()
    state["silence_until"] = int(time.time()) + 60 * minutes if minutes > 0 else 0
    save_state(state)
    print(f"alerts silenced for {minutes} min" if minutes > 0 else "alerts on again")
    return 0


def main(argv):
    if not os.path.exists(os.path.join(APP_DIR, ".env")) and argv[:1] != ["silence"]:
        print(f"watchdog: {os.path.join(APP_DIR, '.env')} is missing; the write-env step of pulumi up writes it", file=sys.stderr)
        return 1
    if argv[:1] == ["run"]:
        return cmd_run()
    if argv[:1] == ["status"]:
        return cmd_status()
    if argv == ["test-alert"] or argv == ["test-alert", "--if-changed"]:
        return cmd_test_alert(if_changed=len(argv) == 2)
    if argv[:1] == ["silence"] and len(argv) == 2 and argv[1].isdigit():
        return cmd_silence(int(argv[1]))
    print("usage: watchdog.py run | status | test-alert | silence MINUTES", file=sys.stderr)
    return 2


def guarded_main(argv):
    """An unexpected error is reported by its class only: its message may quote a value of the
    .env (a URL, a password), and this output reaches the journal and pulumi up's verify step."""
    try:
        return main(argv)
    except Exception as e:  # noqa: BLE001 - the last line of defence
        print(f"watchdog: {type(e).__name__} (message withheld: it may contain a configured value)", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(guarded_main(sys.argv[1:]))
