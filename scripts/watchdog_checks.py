"""The watchdog's checks (scripts/watchdog.py): each takes the host's .env and a dict of facts shared
between checks and runs, and returns (state, summary). A summary holds names, states and figures,
never a value from the .env.
"""
import json
import os
import re
import socket
import ssl
import subprocess
import time
from http.client import HTTPSConnection, HTTPConnection

from watchdog_state import FAIL, OK, WARN, monotonic

HERE = os.path.dirname(os.path.abspath(__file__))
COMPOSE = os.path.join(HERE, "compose.sh")
BACKUP_TOOL = os.path.join(os.path.dirname(HERE), "docker", "backup", "chatwoot-backup")
# Test seam: another root for /proc and /run.
ROOT = os.environ.get("WATCHDOG_ROOT", "")
RANK = {OK: 0, WARN: 1, FAIL: 2}
# Sidekiq's own latency: the age of the oldest job of each queue (the right end of its list).
QUEUE_LATENCY_LUA = (
    "local r = {} for _, q in ipairs(redis.call('SMEMBERS', 'queues')) do "
    "local e = redis.call('LINDEX', 'queue:' .. q, -1) "
    "if e then table.insert(r, q) table.insert(r, e) end end return r"
)


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
    # that keeps restarting is one warning, not one per minute. The hour is measured on this boot's
    # monotonic clock: a wall clock corrected from days ahead must not keep a warning for days.
    before = (previous or {}).get("restarts", {})
    mono, boot = monotonic(), facts["boot"]
    recent = {
        s: dict(v) for s, v in (previous or {}).get("recent_restarts", {}).items()
        if v.get("boot") == boot and 0 <= mono - v.get("mono", -1) < 3600
    }
    for s, v in found.items():
        if s in before and v["restarts"] > before[s]:
            recent[s] = {"mono": mono, "boot": boot, "count": recent.get(s, {}).get("count", 0) + v["restarts"] - before[s]}
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
