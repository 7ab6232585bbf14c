"""The signed Slack requests the benchmark sends: a `/deploy help` slash command and a button click.

Bodies are form-encoded as Slack sends them; the signature is Slack's `v0=` HMAC-SHA256 of
`v0:{timestamp}:{body}` with the app's signing secret. The same secret, token and reply are
used by every benchmarked server, so they all answer the same request with the same bytes.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

from bot.commands import deploy
from bot.slack import replies
from bot.slack.ids import ActionId, Command

SIGNING_SECRET = "bench0123456789abcdef0123456789ab"  # a benchmark-only secret, not a real app's
BOT_TOKEN = "xoxb-0000-0000-benchmarkonly"
TEAM_ID = "T0BENCH"
USER_ID = "U0BENCH"
CHANNEL_ID = "C0BENCH"
EVENTS_PATH = "/slack/events"
FORM = "application/x-www-form-urlencoded"

COMMAND = Command.DEPLOY.value
COMMAND_TEXT = "help"
# `/oncall ROTATION`: the next shifts of a rotation of the example config. Switchman acks it empty and
# answers through the response_url after reading the rotation (its interaction lane, `answer_once`).
ONCALL_COMMAND = Command.ONCALL.value
ONCALL_TEXT = "api-oncall"
# The button whose click is measured: a real Switchman action id, so the click is only
# benchmarked once Switchman registers a listener for it. Its value is the id of a release that
# does not exist in the benchmark's fresh database: Switchman acks the click, then (in the
# background) finds no such release and says so through the response_url. Every click does the
# same work, and no click changes state, however many wrk sends.
CLICK_ACTION_ID = ActionId.APPROVE.value
CLICK_VALUE = "999999"
# wrk sends the click as this many different people, in turn: a burst of distinct clicks, not one body
# repeated (which Switchman's interaction lane would merge as a double click; see decision 0009).
CLICKERS = 500


def command_reply() -> dict[str, Any]:
    """What Switchman acks `/deploy help` with; the reference apps ack with the same payload."""
    return replies.usage(deploy.USAGE)


@dataclass(frozen=True)
class SignedRequest:
    """One Slack request, signed at `timestamp`: the body, its content type and its signature."""

    kind: str  # "command", "oncall" or "click"
    body: str
    content_type: str
    timestamp: int
    signature: str
    # Further (body, signature) pairs, same timestamp: wrk sends `body` and these in turn.
    variants: tuple[tuple[str, str], ...] = ()

    def headers(self) -> dict[str, str]:
        return {"Content-Type": self.content_type, "X-Slack-Request-Timestamp": str(self.timestamp),
                "X-Slack-Signature": self.signature}


def sign(secret: str, body: str, timestamp: int) -> str:
    base = f"v0:{timestamp}:{body}".encode()
    return "v0=" + hmac.new(secret.encode(), base, hashlib.sha256).hexdigest()


def signature_is_valid(secret: str, body: bytes, timestamp: str, signature: str, *, now: float,
                       tolerance: int = 300) -> bool:
    """Slack's check: a fresh timestamp and a matching HMAC (compared in constant time)."""
    try:
        stamp = int(timestamp)
    except ValueError:
        return False
    if abs(now - stamp) > tolerance:
        return False
    base = b"v0:" + timestamp.encode() + b":" + body
    expected = "v0=" + hmac.new(secret.encode(), base, hashlib.sha256).hexdigest()
    return hmac.compare_digest(expected, signature)


def command_body(response_url: str, *, command: str = COMMAND, text: str = COMMAND_TEXT, user: str = USER_ID,
                 trigger: str = "benchtrigger") -> str:
    form = {
        "token": "legacy-verification-token-unused", "team_id": TEAM_ID, "team_domain": "switchman-bench",
        "channel_id": CHANNEL_ID, "channel_name": "bench", "user_id": user, "user_name": "bench",
        "command": command, "text": text, "api_app_id": "A0BENCH", "is_enterprise_install": "false",
        "response_url": response_url, "trigger_id": f"1000000001.{TEAM_ID}.{trigger}",
    }
    return urlencode(form)


def click_body(response_url: str, *, now: float, user: str = USER_ID, trigger: str = "benchtrigger") -> str:
    message_ts = f"{now:.6f}"
    action = {"action_id": CLICK_ACTION_ID, "block_id": "release_actions", "type": "button",
              "value": CLICK_VALUE, "action_ts": f"{now:.6f}",
              "text": {"type": "plain_text", "text": "Approve"}}
    payload = {
        "type": "block_actions", "team": {"id": TEAM_ID, "domain": "switchman-bench"},
        "user": {"id": user, "username": "bench", "team_id": TEAM_ID},
        "api_app_id": "A0BENCH", "token": "legacy-verification-token-unused",
        "container": {"type": "message", "message_ts": message_ts, "channel_id": CHANNEL_ID,
                      "is_ephemeral": False},
        "trigger_id": f"1000000002.{TEAM_ID}.{trigger}", "channel": {"id": CHANNEL_ID, "name": "bench"},
        "message": {"type": "message", "ts": message_ts, "text": "release waiting for approval",
                    "blocks": [{"type": "actions", "block_id": "release_actions", "elements": [
                        {"type": "button", "action_id": CLICK_ACTION_ID, "value": CLICK_VALUE,
                         "text": {"type": "plain_text", "text": "Approve"}}]}]},
        "response_url": response_url, "actions": [action],
    }
    return urlencode({"payload": json.dumps(payload)})


def build(kind: str, *, response_url: str, secret: str = SIGNING_SECRET, now: float | None = None) -> SignedRequest:
    """A freshly signed request of `kind` ("command", "oncall" or "click")."""
    clock = time.time() if now is None else now
    if kind == "command":
        body = command_body(response_url)
    elif kind == "oncall":
        body = command_body(response_url, command=ONCALL_COMMAND, text=ONCALL_TEXT)
    elif kind == "click":
        body = click_body(response_url, now=clock)
    else:
        raise ValueError(f"unknown request kind {kind!r}")
    timestamp = int(clock)
    variants: tuple[tuple[str, str], ...] = ()
    others: list[str] = []
    if kind == "click":
        others = [click_body(response_url, now=clock, user=f"{USER_ID}{n:04d}", trigger=f"benchtrigger{n}")
                  for n in range(1, CLICKERS)]
    elif kind == "oncall":  # distinct invocations: one body repeated would be Slack retrying one command
        others = [command_body(response_url, command=ONCALL_COMMAND, text=ONCALL_TEXT, user=f"{USER_ID}{n:04d}",
                               trigger=f"benchtrigger{n}") for n in range(1, CLICKERS)]
    if others:
        variants = tuple((other, sign(secret, other, timestamp)) for other in others)
    return SignedRequest(kind, body, FORM, timestamp, sign(secret, body, timestamp), variants)


@dataclass(frozen=True)
class Answer:
    status: int
    body: str


def send(url: str, request: SignedRequest, *, timeout: float = 10) -> Answer:
    """POST the request once (no retries) and return the status and body, whatever the status."""
    http_request = urllib.request.Request(url, data=request.body.encode(), headers=request.headers(),
                                          method="POST")
    try:
        with urllib.request.urlopen(http_request, timeout=timeout) as response:
            return Answer(response.status, response.read().decode())
    except urllib.error.HTTPError as error:
        return Answer(error.code, error.read().decode(errors="replace"))
