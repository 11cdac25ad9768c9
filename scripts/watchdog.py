#!/usr/bin/env python3
"""The host's watchdog: checks Chatwoot every minute (chatwoot-watchdog.timer) and alerts on change.

    watchdog.py run                 check everything, record it, alert on a change (the timer runs this)
    watchdog.py status              print the last view of every check
    watchdog.py test-alert          send a test message through every configured channel now
    watchdog.py test-alert --if-changed   only when the channels changed since the last test (verify)
    watchdog.py silence MINUTES     send nothing for that long (at most 1440: maintenance); "silence 0" ends it

What it checks, each ok, warn or fail (watchdog_checks.py): the site through Caddy (/health and
/api, as verify.sh does), the containers (running, healthy, restarts in the last hour), Sidekiq's
queue latency, disk use of the data volume and the root disk (warn 80 %, fail 90 %), memory and
swap, the age of the last database and files backups against their schedule, the TLS
certificate's days left (fail below 14) and a pending reboot; and about itself: whether a deploy
has held the host lock for longer than ALERT_LOCK_MAX_MINUTES (default 30), and whether it can
keep its state (watchdog_state.py).

It alerts when a check changes state (ok -> failing, failing -> recovered), repeats a failure at
most every ALERT_REPEAT_HOURS, and sends a heartbeat once a day so that its silence is noticed too.
A ping URL in the healthchecks.io style gets /start, then success or /fail, on every run.
Channels (watchdog_channels.py) come from the host's .env (scope "host"): ALERT_EMAIL_TO (through
Chatwoot's SMTP settings), ALERT_WEBHOOK_URL with ALERT_WEBHOOK_FORMAT (slack or json), and
ALERT_PING_URL. Messages hold check names, states and figures only: never a value from the .env,
and a channel's failure is reported without its URL.

Under faults: every check and channel has a total deadline, so a run ends well inside the unit's
TimeoutStartSec; the state is saved on every path (SIGTERM included), before anything is sent, so
a run that crashes while sending never makes the next one send it again.

Only the standard library: Ubuntu's python3 runs it as it is. This module is the run and the
operator's commands (about 320 lines besides this text): they share the paths and the state, while
what is checked, where alerts go and how state is kept are modules of their own.
"""
import fcntl
import hashlib
import hmac
import os
import re
import signal
import socket
import sys
import time

import watchdog_channels as channels
import watchdog_checks as checks
from watchdog_state import FAIL, OK, WARN, Store, boot_id, monotonic, now

HERE = os.path.dirname(os.path.abspath(__file__))
APP_DIR = os.environ.get("CHATWOOT_APP_DIR") or os.path.dirname(os.path.dirname(os.path.realpath(HERE)))
if os.path.basename(APP_DIR) == "bundles":
    APP_DIR = os.path.dirname(APP_DIR)
STATE_DIR = os.environ.get("WATCHDOG_STATE_DIR") or os.path.join(APP_DIR, "watchdog")
# Memory-backed: where the state goes while the state directory cannot be written (a full disk).
FALLBACK_DIR = os.environ.get("WATCHDOG_RUNTIME_DIR") or "/run/chatwoot-watchdog"
HEARTBEAT_SECONDS = 24 * 3600
MAX_SILENCE_MINUTES = 24 * 60
DEFAULT_LOCK_MAX_MINUTES = 30
# Each check's total time. The worst run, every check and channel out of time, is
# 10 x CHECK_SECONDS + 2 x DELIVERY_SECONDS + 2 x PING_SECONDS = 190 s, inside the unit's
# TimeoutStartSec=240 (infra/server/commands.ts).
CHECK_SECONDS = 15
CHECKS = [
    ("site", checks.check_site),
    ("tls", checks.check_tls),
    ("containers", checks.check_containers),
    ("queues", checks.check_queues),
    ("disk", checks.check_disk),
    ("memory", checks.check_memory),
    ("backups", checks.check_backups),
    ("reboot", checks.check_reboot),
]


class Terminated(BaseException):
    """systemd stopped the run (SIGTERM): the state is still saved on the way out. Not an
    Exception, so that no handler of a failed check or delivery swallows it."""


def on_sigterm(_signum, _frame):
    raise Terminated()


def read_env(path):
    """NAME='value' lines, as infra/chatwoot/env.ts writes them (no quote inside a value)."""
    values = {}
    with open(path, encoding="utf-8") as f:
        for line in f:
            m = re.match(r"^([A-Z][A-Z0-9_]*)='([^']*)'$", line.rstrip("\n"))
            if m:
                values[m.group(1)] = m.group(2)
    return values


def ca_file(name):
    """Test seams: the CA the receivers' certificates are made with."""
    return os.environ.get(name) or None


def describe(results):
    return "\n".join(f"{name}: {r['state'].upper()} - {r['summary']}" for name, r in results.items())


def lock_owner():
    """Who holds the host lock, as scripts/lib.sh wrote it (a script name, a pid, a time)."""
    try:
        with open(os.path.join(APP_DIR, ".lock.owner"), encoding="utf-8", errors="replace") as f:
            text = f.read(200).strip()
    except OSError:
        return "owner unknown"
    return re.sub(r"[^\w .:()/-]", "?", text) or "owner unknown"


def host_busy():
    """Whether a deploy, rollback, backup or restore holds the host lock (scripts/lib.sh): containers
    come and go on purpose then, so what the checks see is recorded but not alerted on, for a while."""
    try:
        with open(os.path.join(APP_DIR, ".lock"), "a") as f:
            fcntl.flock(f, fcntl.LOCK_EX | fcntl.LOCK_NB)
            fcntl.flock(f, fcntl.LOCK_UN)
        return False
    except BlockingIOError:
        return True
    except OSError:
        return False


def run_checks(env, facts):
    results = {}
    for name, check in CHECKS:
        try:
            with channels.deadline(CHECK_SECONDS):
                verdict, summary = check(env, facts)
        except channels.DeadlineExceeded:
            verdict, summary = FAIL, f"check took longer than {CHECK_SECONDS} s"
        except Exception as e:  # a broken check is a failing check, said without details
            verdict, summary = FAIL, f"check failed ({type(e).__name__})"
        results[name] = {"state": verdict, "summary": summary}
    return results


def lock_check(state, env, busy, boot, mono):
    """How long the host lock has been held, on this boot's monotonic clock."""
    limit = int(env.get("ALERT_LOCK_MAX_MINUTES") or DEFAULT_LOCK_MAX_MINUTES)
    if not busy:
        state["busy_since"], state["busy_boot"] = -1.0, ""
        return {"state": OK, "summary": "no deploy, rollback, backup or restore running"}, False
    if state.get("busy_boot") != boot or not 0 <= mono - state.get("busy_since", -1) < 10 * 365 * 86400:
        state["busy_since"], state["busy_boot"] = mono, boot
    minutes = int((mono - state["busy_since"]) // 60)
    if minutes >= limit:
        return {"state": FAIL, "summary": f"the host lock has been held for {minutes} min (limit {limit}) by {lock_owner()}"}, False
    return {"state": OK, "summary": f"{lock_owner()} holds the host lock ({minutes} min)"}, True


def keep(store, state):
    """Saves the state where it can (watchdog_state.Store); False when nowhere could take it."""
    try:
        store.save(state)
        return True
    except OSError as e:
        state["storage_error"] = f"{type(e).__name__}, and in memory too"
        return False


def cmd_run():
    env = read_env(os.path.join(APP_DIR, ".env"))
    store = Store(STATE_DIR, FALLBACK_DIR)
    state = store.load()
    wall, mono, boot = now(), monotonic(), boot_id(checks.ROOT)
    errors, ping_errors, events, told = {}, [], [], False
    try:
        # Whether the state can be kept is known before anything is decided or sent.
        keep(store, state)
        ping_errors.append(channels.ping(env, "/start", ca_file("WATCHDOG_WEBHOOK_CA_FILE")))
        busy = host_busy()
        facts = {"previous": state["facts"], "boot": boot}
        results = run_checks(env, facts)
        results["lock"], held_back = lock_check(state, env, busy, boot, mono)
        results["state"] = (
            {"state": FAIL, "summary": f"cannot keep its state in {STATE_DIR} ({state['storage_error']}); kept in memory until that is fixed"}
            if state.get("storage_error") else {"state": OK, "summary": "state kept"}
        )

        # An event is a change from what people were last told, or a reminder of a failure that lasts.
        repeat = int(env.get("ALERT_REPEAT_HOURS", "6")) * 3600
        # No stored silence outlasts the longest one `silence` accepts (an older version's, or one
        # set while the clock was ahead).
        silence_until = state["silence_until"] = min(state.get("silence_until", 0), wall + MAX_SILENCE_MINUTES * 60)
        silenced = silence_until > wall or held_back
        for name, r in results.items():
            old = state["checks"].get(name, {})
            r["since"] = old.get("since", wall) if old.get("state") == r["state"] else wall
            r["notified_state"] = old.get("notified_state", OK)
            r["last_notified"] = old.get("last_notified", 0)
            if r["state"] != r["notified_state"]:
                kind = "recovered" if r["state"] == OK else "failing" if r["state"] == FAIL else "warning"
            elif r["state"] != OK and wall - r["last_notified"] >= repeat:
                kind = "still failing" if r["state"] == FAIL else "still warning"
            else:
                continue
            events.append((name, f"{name} {kind}: {r['summary']}"))
        state["checks"] = results
        state["facts"] = {key: facts.get(key, facts["previous"].get(key, {})) for key in ("restarts", "recent_restarts")}
        state["last_run"] = wall

        host = env.get("CHATWOOT_DOMAIN", socket.gethostname())
        failing = [n for n, r in results.items() if r["state"] != OK]
        configured = channels.configured(env)
        if events and not silenced:
            # Recorded as told before sending: a run that dies while sending never sends it twice.
            marks = {name: (results[name]["notified_state"], results[name]["last_notified"]) for name, _ in events}
            for name, _ in events:
                results[name]["notified_state"], results[name]["last_notified"] = results[name]["state"], wall
            previous_heartbeat, state["last_heartbeat"] = state.get("last_heartbeat", 0), wall
            keep(store, state)
            if configured:
                subject = f"[chatwoot {host}] " + (f"{len(failing)} check(s) need attention" if failing else "all checks ok again")
                lines = [text for _, text in events]
                errors = channels.deliver(env, subject, "\n".join(lines) + "\n\nAll checks:\n" + describe(results),
                                          {"host": host, "events": lines, "checks": results},
                                          ca_file("WATCHDOG_WEBHOOK_CA_FILE"), ca_file("WATCHDOG_SMTP_CA_FILE"))
            told = len(errors) < len(configured) or not configured  # nobody to tell: nothing to catch up on
            if not told:  # every channel failed: tell it again next minute
                for name, (notified, at) in marks.items():
                    results[name]["notified_state"], results[name]["last_notified"] = notified, at
                state["last_heartbeat"] = previous_heartbeat
        elif not silenced and configured and wall - state.get("last_heartbeat", 0) >= HEARTBEAT_SECONDS:
            state["last_heartbeat"] = wall
            keep(store, state)
            errors = channels.deliver(env, f"[chatwoot {host}] watchdog heartbeat", "The watchdog is running.\n\n" + describe(results),
                                      {"host": host, "heartbeat": True, "checks": results},
                                      ca_file("WATCHDOG_WEBHOOK_CA_FILE"), ca_file("WATCHDOG_SMTP_CA_FILE"))
            if len(errors) == len(configured):
                state["last_heartbeat"] = 0
        ping_errors.append(channels.ping(env, "/fail" if any(r["state"] == FAIL for r in results.values()) else "",
                                         ca_file("WATCHDOG_WEBHOOK_CA_FILE")))
        for name, r in results.items():
            print(f"watchdog: {name} {r['state']}: {r['summary']}")
        if events and held_back:
            print(f"watchdog: a deploy, rollback, backup or restore is running; {len(events)} event(s) held back")
        elif events and silenced:
            until = time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime(silence_until))
            print(f"watchdog: silenced until {until}; {len(events)} event(s) held back")
    finally:
        pings = [e for e in ping_errors if e]
        state["delivery_errors"] = {**errors, **({"ping": pings[0]} if pings else {})}
        for note in store.notes:
            print(f"watchdog: {note}", file=sys.stderr)
        if not keep(store, state):
            print("watchdog: could not save its state anywhere, not even in memory", file=sys.stderr)
        for channel, error in state["delivery_errors"].items():
            print(f"watchdog: could not deliver to {channel} ({error})", file=sys.stderr)
    return 0


def cmd_status():
    state = Store(STATE_DIR, FALLBACK_DIR).load()
    if not state.get("last_run"):
        print("The watchdog has not run yet (systemctl status chatwoot-watchdog.timer).")
        return 1
    wall = now()
    configured = ", ".join(channels.configured(read_env(os.path.join(APP_DIR, ".env")))) or "none"
    print(f"last run {wall - state['last_run']} s ago; channels: {configured}")
    if state.get("silence_until", 0) > wall:
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
    configured = channels.configured(env) + (["ping"] if env.get("ALERT_PING_URL") else [])
    if not configured:
        print("No alert channel is configured (chatwoot:alerts).", file=sys.stderr)
        return 0 if if_changed else 1
    store = Store(STATE_DIR, FALLBACK_DIR)
    fingerprint = channel_fingerprint(env)
    if if_changed and store.load().get("tested_channels") == fingerprint:
        print("alert channels unchanged since their last test: no test alert sent")
        return 0
    errors = channels.deliver(env, f"[chatwoot {host}] test alert", "A test alert from the watchdog (npm run alerts:test).",
                              {"host": host, "test": True}, ca_file("WATCHDOG_WEBHOOK_CA_FILE"), ca_file("WATCHDOG_SMTP_CA_FILE"))
    ping_error = channels.ping(env, "", ca_file("WATCHDOG_WEBHOOK_CA_FILE"))
    if ping_error:
        errors["ping"] = ping_error
    for channel in configured:
        print(f"{channel}: {'FAILED (' + errors[channel] + ')' if channel in errors else 'sent'}")
    if not errors:
        state = store.load()
        state["tested_channels"] = fingerprint
        store.save(state)
    return 1 if errors else 0


def cmd_silence(minutes):
    if minutes > MAX_SILENCE_MINUTES:
        print(f"watchdog: silence takes at most {MAX_SILENCE_MINUTES} minutes (24 h); run it again to extend a longer maintenance", file=sys.stderr)
        return 2
    store = Store(STATE_DIR, FALLBACK_DIR)
    state = store.load()
    state["silence_until"] = now() + 60 * minutes if minutes > 0 else 0
    error = store.save(state)
    if error:
        print(f"watchdog: the silence is kept in memory only: {STATE_DIR} cannot be written ({error})", file=sys.stderr)
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
    if argv[:1] == ["silence"] and len(argv) == 2 and argv[1].isdigit() and len(argv[1]) <= 6:
        return cmd_silence(int(argv[1]))
    print(f"usage: watchdog.py run | status | test-alert | silence MINUTES (0 to {MAX_SILENCE_MINUTES})", file=sys.stderr)
    return 2


def guarded_main(argv):
    """An unexpected error is reported by its class only: its message may quote a value of the
    .env (a URL, a password), and this output reaches the journal and pulumi up's verify step."""
    signal.signal(signal.SIGTERM, on_sigterm)
    try:
        return main(argv)
    except Terminated:
        print("watchdog: stopped (SIGTERM); its state was saved", file=sys.stderr)
        return 1
    except Exception as e:  # noqa: BLE001 - the last line of defence
        print(f"watchdog: {type(e).__name__} (message withheld: it may contain a configured value)", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(guarded_main(sys.argv[1:]))
