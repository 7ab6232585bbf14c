"""The signature is verified and the body parsed once: by the server's check, which hands Bolt the result.

Real signed HTTP requests to the real aiohttp server and Bolt app (the simulated stack on loopback),
and requests dispatched to the same Bolt app directly, which must still be verified by Bolt.
"""

from __future__ import annotations

import json
import time
from urllib.parse import urlencode

import aiohttp
import pytest
from slack_bolt.request.async_request import AsyncBoltRequest
from slack_bolt.request.internals import parse_body

from bot.commands import deploy
from bot.slack_sim.interactions import sign
from bot.slack_sim.stack import Stack
from bot.web.slack_request_check import Checked, Refusal, check_slack_request
from bot.web.verified_request import VerifiedBoltRequest

FORM = "application/x-www-form-urlencoded"
SECRET = "00112233445566778899aabbccddeeff"
COMMAND = urlencode({"command": "/deploy", "text": "help", "user_id": "U0ALICE", "channel_id": "C0TEST",
                     "team_id": "T0SWITCHSIM", "response_url": "http://127.0.0.1:9/none", "trigger_id": "1.2.3"})
CLICK = urlencode({"payload": json.dumps({
    "type": "block_actions", "team": {"id": "T0SWITCHSIM"}, "user": {"id": "U0ALICE", "team_id": "T0SWITCHSIM"},
    "channel": {"id": "C0TEST"}, "response_url": "http://127.0.0.1:9/none", "trigger_id": "1.2.3",
    "actions": [{"action_id": "release_approve", "value": "7", "type": "button", "text": {"type": "plain_text",
                                                                                          "text": "Approve ✓"}}]})})
EVENT = json.dumps({"type": "event_callback", "team_id": "T0SWITCHSIM",
                    "event": {"type": "app_home_opened", "user": "U0ALICE", "tab": "home"}})


def headers_for(secret: str, body: str, content_type: str = FORM, *, stamp: int | None = None) -> dict[str, str]:
    timestamp = str(int(time.time()) if stamp is None else stamp)
    return {"Content-Type": content_type, "X-Slack-Request-Timestamp": timestamp,
            "X-Slack-Signature": sign(secret, body, timestamp)}


@pytest.mark.parametrize(("body", "content_type"), [
    (COMMAND, FORM), (CLICK, FORM), (EVENT, "application/json"), (EVENT, FORM), ("", FORM),
])
def test_the_check_parses_the_body_as_bolt_would(body: str, content_type: str) -> None:
    checked = check_slack_request(headers_for(SECRET, body, content_type), body.encode(), content_type,
                                  signing_secret=SECRET)

    assert isinstance(checked, Checked)
    assert checked.text == body
    assert checked.body == parse_body(body, content_type)


def test_a_command_whose_text_mentions_payload_keeps_its_fields() -> None:
    """Bolt reads such a form as empty (it looks for a payload field); the check reads its fields."""
    body = urlencode({"command": "/deploy", "text": "api to staging --reason payload size", "user_id": "U0ALICE"})

    checked = check_slack_request(headers_for(SECRET, body), body.encode(), FORM, signing_secret=SECRET)

    assert isinstance(checked, Checked)
    assert checked.body == {"command": "/deploy", "text": "api to staging --reason payload size", "user_id": "U0ALICE"}
    assert parse_body(body, FORM) == {}


def test_a_wrong_signature_is_refused_before_anything_is_parsed() -> None:
    checked = check_slack_request({**headers_for(SECRET, COMMAND), "X-Slack-Signature": "v0=" + "0" * 64},
                                  COMMAND.encode(), FORM, signing_secret=SECRET)

    assert checked == Refusal(401, "the signature does not match")


def test_only_the_unsigned_ssl_check_goes_on_unparsed() -> None:
    checked = check_slack_request({"Content-Type": FORM}, b"ssl_check=1&token=legacy", FORM, signing_secret=SECRET)

    assert checked == Checked("ssl_check=1&token=legacy", None)


async def test_a_command_that_mentions_payload_is_answered_through_the_server(stack: Stack) -> None:
    body = urlencode({"command": "/deploy", "text": "help payload", "user_id": "U0ALICE", "channel_id": "C0TEST",
                      "team_id": "T0SWITCHSIM", "response_url": "http://127.0.0.1:9/none", "trigger_id": "1.2.3"})
    async with aiohttp.ClientSession() as session, session.post(
            stack.app_url, data=body.encode(), headers=headers_for(stack.slack.signing_secret, body)) as response:
        status, text = response.status, await response.text()

    assert status == 200, text  # Bolt parsing it again would have found no command: 404
    assert json.loads(text)["text"] == deploy.USAGE  # `help payload` reads as help


async def test_bolt_dispatched_directly_still_refuses_a_bad_signature(stack: Stack) -> None:
    forged = {**headers_for(stack.slack.signing_secret, COMMAND), "X-Slack-Signature": "v0=" + "0" * 64}

    response = await stack.bolt.async_dispatch(AsyncBoltRequest(body=COMMAND, headers=forged))

    assert response.status == 401
    assert stack.api.calls == []


async def test_bolt_dispatched_directly_answers_a_good_signature(stack: Stack) -> None:
    headers = headers_for(stack.slack.signing_secret, COMMAND)

    response = await stack.bolt.async_dispatch(AsyncBoltRequest(body=COMMAND, headers=headers))

    assert response.status == 200
    assert json.loads(response.body)["text"] == deploy.USAGE


async def test_bolt_dispatches_the_body_the_check_parsed(stack: Stack) -> None:
    """The verified request carries the check's dict: Bolt reads that, not the text (which it would re-parse)."""
    parsed = parse_body(COMMAND, FORM)
    request = VerifiedBoltRequest(raw_body=COMMAND, body=parsed, query="",
                                  headers=headers_for(stack.slack.signing_secret, COMMAND))

    response = await stack.bolt.async_dispatch(request)

    assert response.status == 200
    assert json.loads(response.body)["text"] == deploy.USAGE
    assert request.body is parsed
    assert request.context["user_id"] == "U0ALICE" and request.context["team_id"] == "T0SWITCHSIM"
