"""The watchdog's memory between runs (scripts/watchdog.py): what people were last told, and when.

It must survive what a host does to it: a state file of the wrong shape, a directory where the file
should be, a full disk, a clock that jumps. Each save carries a sequence number, so the newest state
wins without trusting the clock; when the state directory cannot be written, the state goes to a
fallback in /run (memory), and the run says so once, as the "state" check.

Times: wall-clock seconds where a person reads them or they must outlive a reboot (reminders,
heartbeat, silence), always clamped so that a clock that was ahead and was corrected cannot stop a
reminder; the boot's monotonic clock where a duration matters within a boot (restart warnings, how
long the host lock is held).
"""
import json
import os
import time

OK, WARN, FAIL = "ok", "warn", "fail"
STATES = (OK, WARN, FAIL)
# A stored wall-clock time this far ahead of now came from a clock that was wrong.
FUTURE_SLACK_SECONDS = 300


def now():
    """Wall-clock seconds. WATCHDOG_FAKE_TIME is a test seam (a clock that jumps)."""
    fake = os.environ.get("WATCHDOG_FAKE_TIME")
    return int(float(fake)) if fake else int(time.time())


def monotonic():
    """Seconds on this boot's monotonic clock. WATCHDOG_FAKE_MONOTONIC is a test seam."""
    fake = os.environ.get("WATCHDOG_FAKE_MONOTONIC")
    return float(fake) if fake else time.monotonic()


def boot_id(root=""):
    """This boot's id: a monotonic time means nothing after a reboot."""
    try:
        with open(root + "/proc/sys/kernel/random/boot_id", encoding="utf-8") as f:
            return f.read().strip()[:64]
    except OSError:
        return "unknown"


def _int(value, default=0):
    return value if isinstance(value, int) and not isinstance(value, bool) else default


def _num(value, default=0.0):
    return float(value) if isinstance(value, (int, float)) and not isinstance(value, bool) else default


def _str(value, default=""):
    return value[:500] if isinstance(value, str) else default


def sanitize(raw, wall):
    """Keeps only fields of the right type (anything else is dropped), with wall-clock times from
    the future brought back to now."""
    if not isinstance(raw, dict):
        return sanitize({}, wall)[0], True
    clamp = lambda t: min(_int(t), wall) if _int(t) <= wall + FUTURE_SLACK_SECONDS else wall  # noqa: E731
    checks = {}
    raw_checks = raw.get("checks") if isinstance(raw.get("checks"), dict) else {}
    for name, c in raw_checks.items():
        if not isinstance(name, str) or not isinstance(c, dict) or c.get("state") not in STATES:
            continue
        checks[name] = {
            "state": c["state"],
            "summary": _str(c.get("summary")),
            "since": clamp(c.get("since", wall)),
            "notified_state": c.get("notified_state") if c.get("notified_state") in STATES else OK,
            "last_notified": clamp(c.get("last_notified")),
        }
    facts = raw.get("facts") if isinstance(raw.get("facts"), dict) else {}
    restarts = facts.get("restarts") if isinstance(facts.get("restarts"), dict) else {}
    recent = facts.get("recent_restarts") if isinstance(facts.get("recent_restarts"), dict) else {}
    state = {
        "seq": _int(raw.get("seq")),
        "checks": checks,
        "facts": {
            "restarts": {k: _int(v) for k, v in restarts.items() if isinstance(k, str)},
            "recent_restarts": {
                k: {"mono": _num(v.get("mono")), "boot": _str(v.get("boot")), "count": _int(v.get("count"))}
                for k, v in recent.items() if isinstance(k, str) and isinstance(v, dict)
            },
        },
        "last_run": clamp(raw.get("last_run")),
        "last_heartbeat": clamp(raw.get("last_heartbeat")),
        "silence_until": _int(raw.get("silence_until")),
        "busy_since": _num(raw.get("busy_since"), -1.0),
        "busy_boot": _str(raw.get("busy_boot")),
        "storage_error": _str(raw.get("storage_error")),
        "delivery_errors": {k: _str(v) for k, v in (raw.get("delivery_errors") or {}).items()} if isinstance(raw.get("delivery_errors"), dict) else {},
    }
    if isinstance(raw.get("tested_channels"), str):
        state["tested_channels"] = raw["tested_channels"][:128]
    changed = json.dumps(raw, sort_keys=True, default=str) != json.dumps(state, sort_keys=True)
    return state, changed


class Store:
    """The state file (primary) and its fallback in memory-backed /run."""

    def __init__(self, state_dir, fallback_dir):
        self.dir = state_dir
        self.file = os.path.join(state_dir, "state.json")
        self.fallback_dir = fallback_dir
        self.fallback = os.path.join(fallback_dir, "state.json")
        self.notes = []  # what load() had to repair, for the run's output

    def _read(self, path):
        if os.path.isdir(path):
            # Something put a directory in its place: set it aside, never delete what is in it.
            aside = f"{path}.broken-{os.getpid()}-{int(time.time())}"
            try:
                os.rename(path, aside)
                self.notes.append(f"{path} was a directory; moved aside to {aside}")
            except OSError as e:
                self.notes.append(f"{path} is a directory and could not be moved aside ({type(e).__name__})")
            return None
        try:
            with open(path, encoding="utf-8") as f:
                return json.load(f)
        except FileNotFoundError:
            return None
        except (OSError, ValueError, RecursionError) as e:
            self.notes.append(f"{path} could not be read ({type(e).__name__}); starting from what is left")
            return None

    def load(self):
        wall = now()
        candidates = []
        for path in (self.file, self.fallback):
            raw = self._read(path)
            if raw is None:
                continue
            state, changed = sanitize(raw, wall)
            if changed and path == self.file and not isinstance(raw, dict):
                self.notes.append(f"{path} had the wrong shape; starting afresh")
            candidates.append(state)
        if not candidates:
            return sanitize({}, wall)[0]
        return max(candidates, key=lambda s: s["seq"])

    def save(self, state):
        """Saves to the state directory, or else to the fallback. Returns the primary's error (its
        class and errno name), or "" when the primary took it; raises only when neither can."""
        state["seq"] = _int(state.get("seq")) + 1
        text = json.dumps(state, indent=1, sort_keys=True)
        try:
            self._write(self.dir, self.file, text)
            state["storage_error"] = ""
            try:
                os.unlink(self.fallback)  # the primary is current again
            except OSError:
                pass
            return ""
        except OSError as e:
            error = type(e).__name__ + (f" {os.strerror(e.errno)}" if e.errno else "")
            state["storage_error"] = error
            self._write(self.fallback_dir, self.fallback, json.dumps(state, indent=1, sort_keys=True))
            return error

    @staticmethod
    def _write(directory, path, text):
        os.makedirs(directory, mode=0o700, exist_ok=True)
        tmp = f"{path}.new"
        try:
            with open(tmp, "w", encoding="utf-8") as f:
                f.write(text)
                f.flush()
                os.fsync(f.fileno())
            os.replace(tmp, path)
        except OSError:
            try:
                os.unlink(tmp)
            except OSError:
                pass
            raise
