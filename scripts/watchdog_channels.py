"""Where the watchdog's alerts go (scripts/watchdog.py): mail, a webhook, a ping URL.

Every channel runs under a total deadline (not only a per-read timeout, which a server that
drip-feeds bytes never trips), and whatever an endpoint answers, a garbage status line, a short
body, a thousand headers, a redirect, is a failed delivery reported by its class or status: never
an exception that stops the run, and never the URL (it is a secret). Redirects are not followed:
a webhook or ping URL that moved is a configuration to fix, not a hop to another host or to plain
http.
"""
import json
import os
import signal
import smtplib
import ssl
import urllib.parse
from contextlib import contextmanager
from email.message import EmailMessage
from http.client import HTTPConnection, HTTPSConnection

# Seconds each delivery may take in all: far inside the unit's TimeoutStartSec together with the
# checks (scripts/watchdog.py, RUN_BUDGET).
DELIVERY_SECONDS = 15
PING_SECONDS = 5
# WATCHDOG_TEST_DEADLINE is a test seam: a short deadline for the HTTP channels, so a test of a
# drip-feeding endpoint is quick (mail keeps its own).
WEBHOOK_SECONDS = float(os.environ.get("WATCHDOG_TEST_DEADLINE") or DELIVERY_SECONDS)
PING_SECONDS = float(os.environ.get("WATCHDOG_TEST_DEADLINE") or PING_SECONDS)
MAX_BODY = 64 * 1024


class DeadlineExceeded(Exception):
    """A channel or check used up its total time."""


@contextmanager
def deadline(seconds):
    """Raises DeadlineExceeded in this (the main) thread once `seconds` have passed, whatever
    the code inside is blocked on."""
    def expire(_signum, _frame):
        raise DeadlineExceeded()

    previous = signal.signal(signal.SIGALRM, expire)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


def failure(e):
    """What a failed delivery is reported as: never the exception's text (it may quote the URL)."""
    if isinstance(e, DeliveryError):
        return str(e)
    if isinstance(e, DeadlineExceeded):
        return "no answer in time"
    return type(e).__name__


class DeliveryError(Exception):
    """A delivery the endpoint answered, but not with success (the text is safe to print)."""


def configured(env):
    return [name for name, key in (("email", "ALERT_EMAIL_TO"), ("webhook", "ALERT_WEBHOOK_URL")) if env.get(key)]


def http_post(url, body, content_type, seconds, ca_file=None):
    """POSTs body; success is a 2xx status. Follows no redirect and reads at most MAX_BODY."""
    parts = urllib.parse.urlsplit(url)
    if parts.scheme not in ("https", "http") or not parts.hostname:
        raise DeliveryError("not an http(s) URL")
    target = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    with deadline(seconds):
        if parts.scheme == "https":
            conn = HTTPSConnection(parts.hostname, parts.port, timeout=seconds, context=ssl.create_default_context(cafile=ca_file))
        else:
            conn = HTTPConnection(parts.hostname, parts.port, timeout=seconds)
        try:
            conn.request("POST", target, body=body, headers={"Content-Type": content_type, "User-Agent": "chatwoot-watchdog"})
            res = conn.getresponse()
            status = res.status
            # The whole answer, or the delivery failed: a cut body (IncompleteRead) is not a success.
            if res.length is not None and res.length > MAX_BODY:
                raise DeliveryError(f"HTTP {status} with an answer of {res.length} bytes")
            res.read() if res.length is not None else res.read(MAX_BODY)
        finally:
            conn.close()
    if 300 <= status < 400:
        raise DeliveryError(f"HTTP {status} (redirects are not followed)")
    if not 200 <= status < 300:
        raise DeliveryError(f"HTTP {status}")


def send_email(env, subject, text, ca_file=None):
    msg = EmailMessage()
    msg["Subject"] = subject
    msg["From"] = env.get("MAILER_SENDER_EMAIL", f"watchdog@{env.get('CHATWOOT_DOMAIN', 'localhost')}")
    msg["To"] = env["ALERT_EMAIL_TO"]
    msg.set_content(text)
    host, port = env.get("SMTP_ADDRESS", "localhost"), int(env.get("SMTP_PORT", "25"))
    with deadline(DELIVERY_SECONDS):
        context = ssl.create_default_context(cafile=ca_file)
        if env.get("SMTP_SSL") == "true":
            server = smtplib.SMTP_SSL(host, port, timeout=DELIVERY_SECONDS, context=context)
        else:
            server = smtplib.SMTP(host, port, timeout=DELIVERY_SECONDS)
            if env.get("SMTP_ENABLE_STARTTLS_AUTO") == "true":
                server.starttls(context=context)
        with server:
            if env.get("SMTP_USERNAME"):
                server.login(env["SMTP_USERNAME"], env.get("SMTP_PASSWORD", ""))
            server.send_message(msg)


def deliver(env, subject, text, payload, webhook_ca=None, smtp_ca=None):
    """Sends through every configured channel; returns {channel: reason} for the ones that failed."""
    errors = {}
    if env.get("ALERT_EMAIL_TO"):
        try:
            send_email(env, subject, text, smtp_ca)
        except Exception as e:  # noqa: BLE001 - any answer from a server is a failed delivery
            errors["email"] = failure(e)
    if env.get("ALERT_WEBHOOK_URL"):
        body = {"text": f"*{subject}*\n{text}"} if env.get("ALERT_WEBHOOK_FORMAT", "slack") == "slack" else {"subject": subject, **payload}
        try:
            http_post(env["ALERT_WEBHOOK_URL"], json.dumps(body).encode(), "application/json", WEBHOOK_SECONDS, webhook_ca)
        except Exception as e:  # noqa: BLE001
            errors["webhook"] = failure(e)
    return errors


def ping(env, suffix, ca_file=None):
    """healthchecks.io style: <url>/start, <url> (success), <url>/fail. Returns the failure or None."""
    url = env.get("ALERT_PING_URL")
    if not url:
        return None
    try:
        http_post(url.rstrip("/") + suffix, b"", "text/plain", PING_SECONDS, ca_file)
        return None
    except Exception as e:  # noqa: BLE001 - a broken ping endpoint never stops the checks
        return failure(e)
