"""Strict checks on a request to `/slack/events` before Bolt sees it.

Bolt turns some malformed requests into a 500 (a non-numeric `X-Slack-Request-Timestamp` raises
inside its signature check; a signed `payload=` that is not JSON raises while it parses the body).
Here every such request is answered instead: 401 when the signature cannot be verified (missing,
malformed, stale or wrong), 400 when a correctly signed body is not what Slack sends (not UTF-8,
neither form-encoded nor JSON, a `payload` that is not a JSON object). Slack's `ssl_check=1`
probe is left to Bolt, which answers it 200 and runs no listener, as Bolt's own check does.

The check verifies the signature and parses the body once: what it lets through carries the parsed
body (`Checked`), which `verified_request.py` hands to Bolt so Bolt neither parses nor verifies it
again (both were done twice per request before, the largest cost of a click's ack; docs/benchmarks.md).
"""

from __future__ import annotations

import hashlib
import hmac
import json
import re
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qsl

from bot.web.form_decoding import form_fields

MAX_AGE_SECONDS = 60 * 5  # Slack's replay window
FORM = "application/x-www-form-urlencoded"
JSON = "application/json"
# name=value pairs joined by &: checked with one regular expression, since this runs before every ack (§11).
FORM_SHAPE = re.compile(r"[^&=]+=[^&]*(?:&[^&=]+=[^&]*)*")


@dataclass(frozen=True)
class Refusal:
    status: int  # 401 or 400
    reason: str  # said in the response body and the log; never holds the secret or the body


@dataclass(frozen=True)
class Checked:
    """A request that may go on to Bolt: its text, and its body parsed once, as Bolt would parse it.

    `body` is None only for Slack's unsigned `ssl_check` probe, which Bolt answers itself: every other
    request that gets here has had its signature verified, so Bolt need not verify it again.
    """

    text: str
    body: dict[str, Any] | None


def check_slack_request(headers: Mapping[str, str], body: bytes, content_type: str, *, signing_secret: str | None,
                        now: Callable[[], float] = time.time) -> Refusal | Checked:
    """Why the request is refused, or its text and parsed body when Slack signed it and shaped it as Slack does."""
    if content_type == FORM and _is_ssl_check(body):
        parsed = _parse(body, content_type)
        return parsed if isinstance(parsed, Refusal) else Checked(body.decode("utf-8"), None)
    unsigned = _signature_problem(headers, body, signing_secret, now())
    if unsigned is not None:
        return Refusal(401, unsigned)
    parsed = _parse(body, content_type)
    return parsed if isinstance(parsed, Refusal) else Checked(parsed[0], parsed[1])


def _signature_problem(headers: Mapping[str, str], body: bytes, secret: str | None, now: float) -> str | None:
    timestamp = headers.get("X-Slack-Request-Timestamp", "")
    signature = headers.get("X-Slack-Signature", "")
    if not secret:
        return "no signing secret is configured"
    if not timestamp or not signature:
        return "missing X-Slack-Request-Timestamp or X-Slack-Signature"
    if not (timestamp.isascii() and timestamp.isdigit()):
        return "X-Slack-Request-Timestamp is not a number of seconds"
    if abs(now - int(timestamp)) > MAX_AGE_SECONDS:
        return "X-Slack-Request-Timestamp is more than five minutes away from now"
    expected = "v0=" + hmac.new(secret.encode(), b"v0:" + timestamp.encode() + b":" + body, hashlib.sha256).hexdigest()
    if not hmac.compare_digest(expected.encode(), signature.encode("utf-8", "replace")):
        return "the signature does not match"
    return None


def _parse(body: bytes, content_type: str) -> Refusal | tuple[str, dict[str, Any]]:
    """The body's text and its fields, as Bolt's `parse_body` reads them, or why Slack would never send it."""
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError:
        return Refusal(400, "the body is not UTF-8")
    if content_type == JSON or (content_type == FORM and text.startswith("{")):
        body_object = _json_object(text)
        if body_object is None:
            return Refusal(400, "the body is not a JSON object")
        return _envelope_problem(body_object) or (text, body_object)
    if content_type != FORM:
        return Refusal(400, f"the body must be {FORM} or {JSON}, not {content_type or 'unlabelled'}")
    if not text:
        return text, {}
    if not FORM_SHAPE.fullmatch(text):
        return Refusal(400, "the body is not form-encoded")
    fields = form_fields(text)  # what parse_qsl gives, decoded in C where it can be (form_decoding.py)
    payload = fields.get("payload")
    if payload is None:
        # Bolt reads any form that merely mentions "payload" (in a command's text, say) as empty; these are its fields.
        return text, fields
    payload_object = _json_object(payload)
    if payload_object is None:
        return Refusal(400, "the payload field is not a JSON object")
    return _envelope_problem(payload_object) or (text, payload_object)


def _json_object(text: str) -> dict[str, Any] | None:
    try:
        decoded = json.loads(text)
    except ValueError:
        return None
    return decoded if isinstance(decoded, dict) else None


# The envelope fields Bolt reads before any listener runs, and the JSON types Slack sends them as:
# a field of another type makes Bolt raise (a 500) instead of answering.
_ENVELOPE_TYPES: dict[str, tuple[type, ...]] = {
    "user": (dict, str), "team": (dict, type(None)), "channel": (dict, type(None)), "enterprise": (dict, type(None)),
    "actions": (list,), "view": (dict,), "event": (dict,), "team_id": (str,), "type": (str,),
}
_EVENT_TYPES: dict[str, tuple[type, ...]] = {"user": (str, dict), "type": (str,), "channel": (str, dict)}


def _envelope_problem(body: dict[str, Any]) -> Refusal | None:
    """A signed body whose envelope Slack would never send: 400 naming the field, before Bolt reads it."""
    for name, types in _ENVELOPE_TYPES.items():
        if name in body and not isinstance(body[name], types):
            return Refusal(400, f"the {name} field is not what Slack sends")
    actions = body.get("actions")
    if isinstance(actions, list) and not all(isinstance(a, dict) for a in actions):
        return Refusal(400, "the actions field is not what Slack sends")
    event = body.get("event")
    if isinstance(event, dict):
        for name, types in _EVENT_TYPES.items():
            if name in event and not isinstance(event[name], types):
                return Refusal(400, f"the event's {name} field is not what Slack sends")
    return None


def _is_ssl_check(body: bytes) -> bool:
    if b"ssl_check=" not in body:
        return False
    try:
        fields = dict(parse_qsl(body.decode("utf-8"), keep_blank_values=True))
    except (UnicodeDecodeError, ValueError):
        return False
    return fields.get("ssl_check") == "1"
