"""The requests the benchmark sends: signed Slack commands and clicks, and Alertmanager webhook posts.

Slack bodies are form-encoded as Slack sends them; the signature is Slack's `v0=` HMAC-SHA256 of
`v0:{timestamp}:{body}` with the app's signing secret. The same secret, token and reply are
used by every benchmarked server, so they all answer the same request with the same bytes.
Alertmanager posts its webhook (version 4) as JSON with the shared secret as a bearer token.

Kinds: `command` (`/deploy help`), `oncall` (`/oncall api-oncall`), `click` (Approve of a release
that does not exist), `deploy` (`/deploy api to staging`, a real release request), `approve`
(Approve of a real release waiting for approval, whose id the benchmark passes in) and `alert`.
Every kind but `command` is sent as many distinct requests in turn (see `variants`), and each
`build` gives them fresh trigger ids, so no run's requests are retries of an earlier run's.
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
# `/deploy api to staging`: a real release request on the example config's sandbox provider, by CLICKERS
# different people in turn, each with its own trigger id.
DEPLOY_TEXT = "api to staging"
# The Approve clicks on a real release: the first APPROVERS clickers are in the approver group (their votes are
# recorded; the gate needs more, so the release keeps waiting), the others are not (each is told only members
# may approve, and nothing changes).
APPROVERS = 9
# Alertmanager: ALERT_GROUPS distinct alert groups per run, sent in turn; the first notification of a group
# opens a page, the later ones are Alertmanager's repeats of a group already paged (deduplicated by design).
ALERT_PATH = "/webhooks/alertmanager"
WEBHOOK_SECRET = "bench-webhook-secret-0123456789abcdef"  # a benchmark-only secret
ALERT_GROUPS = 20
ALERT_ROTATION = "api-oncall"
NO_SIGNATURE = "-"  # in a variants line: send no X-Slack-Signature (the webhook is authenticated by its bearer token)


def bench_user(n: int) -> str:
    """The n-th person the benchmark's requests come from (0 is USER_ID)."""
    return USER_ID if n == 0 else f"{USER_ID}{n:04d}"


def command_reply() -> dict[str, Any]:
    """What Switchman acks `/deploy help` with; the reference apps ack with the same payload."""
    return replies.usage(deploy.USAGE)


@dataclass(frozen=True)
class SignedRequest:
    """One Slack request, signed at `timestamp`: the body, its content type and its signature."""

    kind: str  # see the module docstring
    body: str
    content_type: str
    timestamp: int
    signature: str
    # Further (body, signature) pairs, same timestamp: wrk sends `body` and these in turn.
    variants: tuple[tuple[str, str], ...] = ()
    path: str = EVENTS_PATH
    authorization: str | None = None  # the webhook's bearer token, instead of Slack's signature

    def headers(self) -> dict[str, str]:
        if self.authorization is not None:
            return {"Content-Type": self.content_type, "Authorization": self.authorization}
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


def click_body(response_url: str, *, now: float, user: str = USER_ID, trigger: str = "benchtrigger",
               value: str = CLICK_VALUE) -> str:
    message_ts = f"{now:.6f}"
    action = {"action_id": CLICK_ACTION_ID, "block_id": "release_actions", "type": "button",
              "value": value, "action_ts": f"{now:.6f}",
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
                        {"type": "button", "action_id": CLICK_ACTION_ID, "value": value,
                         "text": {"type": "plain_text", "text": "Approve"}}]}]},
        "response_url": response_url, "actions": [action],
    }
    return urlencode({"payload": json.dumps(payload)})


def alert_body(group: int, *, nonce: str) -> str:
    """An Alertmanager webhook (version 4) with one firing alert of group `group`, routed by its rotation label."""
    labels = {"alertname": "BenchDiskFull", "rotation": ALERT_ROTATION, "severity": "critical",
              "instance": f"db-{nonce}-{group}"}
    payload = {
        "version": "4", "groupKey": f'{{}}:{{instance="db-{nonce}-{group}"}}', "truncatedAlerts": 0,
        "status": "firing", "receiver": "switchman", "groupLabels": {"instance": labels["instance"]},
        "commonLabels": labels, "commonAnnotations": {"summary": "disk 95% full"},
        "externalURL": "http://alertmanager.example.com:9093",
        "alerts": [{"status": "firing", "labels": labels, "annotations": {"summary": "disk 95% full"},
                    "startsAt": "2026-12-07T09:55:00.123456789Z", "endsAt": "0001-01-01T00:00:00Z",
                    "generatorURL": "http://prometheus.example.com:9090/graph?g0.expr=disk",
                    "fingerprint": hashlib.sha256(labels["instance"].encode()).hexdigest()[:16]}],
    }
    return json.dumps(payload, separators=(",", ":"))


def build(kind: str, *, response_url: str, secret: str = SIGNING_SECRET, now: float | None = None,
          release_id: int | None = None) -> SignedRequest:
    """A freshly signed request of `kind`; `release_id` is the release an `approve` click approves."""
    clock = time.time() if now is None else now
    timestamp = int(clock)
    nonce = f"{clock:.3f}".replace(".", "")  # fresh trigger ids per build: a new run is never a retry
    if kind == "alert":
        bodies = [alert_body(n, nonce=nonce) for n in range(ALERT_GROUPS)]
        return SignedRequest(kind, bodies[0], "application/json", timestamp, NO_SIGNATURE,
                             tuple((body, NO_SIGNATURE) for body in bodies[1:]), path=ALERT_PATH,
                             authorization=f"Bearer {WEBHOOK_SECRET}")
    if kind == "command":
        bodies = [command_body(response_url)]
    elif kind == "oncall":  # distinct invocations: one body repeated would be Slack retrying one command
        bodies = [command_body(response_url, command=ONCALL_COMMAND, text=ONCALL_TEXT, user=bench_user(n),
                               trigger=f"oncall{nonce}n{n}") for n in range(CLICKERS)]
    elif kind == "deploy":
        bodies = [command_body(response_url, text=DEPLOY_TEXT, user=bench_user(n), trigger=f"deploy{nonce}n{n}")
                  for n in range(CLICKERS)]
    elif kind == "click":
        bodies = [click_body(response_url, now=clock, user=bench_user(n), trigger=f"click{nonce}n{n}")
                  for n in range(CLICKERS)]
    elif kind == "approve":
        if release_id is None:
            raise ValueError("an approve click needs the id of the release waiting for approval")
        bodies = [click_body(response_url, now=clock, user=bench_user(n), trigger=f"approve{nonce}n{n}",
                             value=str(release_id)) for n in range(CLICKERS)]
    else:
        raise ValueError(f"unknown request kind {kind!r}")
    signed = [(body, sign(secret, body, timestamp)) for body in bodies]
    return SignedRequest(kind, signed[0][0], FORM, timestamp, signed[0][1], tuple(signed[1:]))


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
