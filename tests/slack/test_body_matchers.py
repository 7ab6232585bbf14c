"""Bolt's built-in matchers, called with the body alone, match exactly what Bolt's own call matches."""

from __future__ import annotations

import json
from urllib.parse import urlencode

import pytest
from slack_bolt.listener_matcher.async_builtins import AsyncBuiltinListenerMatcher
from slack_bolt.request.async_request import AsyncBoltRequest
from slack_bolt.response import BoltResponse

from bot.slack.body_matchers import BodyOnlyMatcher
from bot.slack.ids import ActionId, CallbackId, Command
from bot.slack_sim.stack import Stack

FORM = {"content-type": "application/x-www-form-urlencoded"}


def command(name: str) -> str:
    return urlencode({"command": name, "text": "help", "user_id": "U0ALICE", "team_id": "T0SWITCHSIM",
                      "channel_id": "C0TEST", "trigger_id": "1.2.3", "response_url": "http://127.0.0.1:9/x"})


def interaction(payload: dict[str, object]) -> str:
    return urlencode({"payload": json.dumps({"team": {"id": "T0SWITCHSIM"}, "user": {"id": "U0ALICE"}, **payload})})


BODIES = [
    *(command(c.value) for c in Command),
    *(interaction({"type": "block_actions", "actions": [{"action_id": a.value, "value": "7", "type": "button"}]})
      for a in ActionId),
    *(interaction({"type": "view_submission", "view": {"id": "V1", "type": "modal", "callback_id": c.value,
                                                         "state": {"values": {}}}})
      for c in CallbackId),
    json.dumps({"type": "event_callback", "team_id": "T0SWITCHSIM",
                "event": {"type": "app_home_opened", "user": "U0ALICE", "tab": "home"}}),
]


def test_every_listener_matches_on_the_body_alone(stack: Stack) -> None:
    listeners = stack.bolt._async_listeners

    assert len(listeners) >= 15
    assert all(type(listener.matchers[0]) is BodyOnlyMatcher for listener in listeners)


@pytest.mark.parametrize("body", BODIES)
async def test_each_matcher_answers_as_bolts_own_call_does(stack: Stack, body: str) -> None:
    headers = {"content-type": "application/json"} if body.startswith("{") else FORM
    matched_by_us, matched_by_bolt = [], []
    for listener in stack.bolt._async_listeners:
        matcher = listener.matchers[0]
        request, response = AsyncBoltRequest(body=body, headers=headers), BoltResponse(status=200)
        matched_by_us.append(await matcher.async_matches(request, response))
        matched_by_bolt.append(await AsyncBuiltinListenerMatcher.async_matches(matcher, request, response))

    assert matched_by_us == matched_by_bolt
    assert sum(matched_by_us) >= 1  # every id the app declares has a listener that takes it
