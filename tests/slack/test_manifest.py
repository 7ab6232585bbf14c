"""manifest.yml is a valid Slack app manifest and declares what the code registers."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import yaml
from slack_bolt.async_app import AsyncApp

from bot.slack.ids import Command, Event
from bot.slack_sim.stack import Stack

ROOT = Path(__file__).resolve().parents[2]
VALIDATOR = ROOT.parent / "shared" / "contracts" / "slack" / "validate_manifest.py"


def manifest() -> dict:  # type: ignore[type-arg]
    return yaml.safe_load((ROOT / "manifest.yml").read_text())


def test_manifest_validates_against_the_shared_schema() -> None:
    result = subprocess.run([sys.executable, str(VALIDATOR), str(ROOT / "manifest.yml")],
                            capture_output=True, text=True, check=False)
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout.strip() == ""


def test_every_command_in_code_is_declared_and_nothing_else() -> None:
    declared = {c["command"] for c in manifest()["features"]["slash_commands"]}
    assert declared == {c.value for c in Command}


def test_events_in_code_are_subscribed() -> None:
    subscribed = set(manifest()["settings"]["event_subscriptions"]["bot_events"])
    assert {e.value for e in Event} <= subscribed


async def test_every_command_and_event_has_exactly_one_listener(stack: Stack) -> None:
    # Two listeners for one command would silently shadow each other (only the first runs).
    bolt = stack.bolt
    for command in Command:
        body = {"command": command.value, "text": "help"}
        assert sum([await _matches(listener, bolt, body) for listener in bolt._async_listeners]) == 1, command
    event_body = {"type": "event_callback", "event": {"type": Event.APP_HOME_OPENED, "user": "U0ALICE"}}
    assert sum([await _matches(listener, bolt, event_body) for listener in bolt._async_listeners]) == 1


async def _matches(listener: object, bolt: AsyncApp, body: dict) -> bool:  # type: ignore[type-arg]
    from slack_bolt.request.async_request import AsyncBoltRequest
    from slack_bolt.response import BoltResponse

    request = AsyncBoltRequest(body=body, mode="socket_mode")
    return bool(await listener.async_matches(req=request, resp=BoltResponse(status=200)))  # type: ignore[attr-defined]


def test_scopes_are_the_least_needed() -> None:
    scopes = set(manifest()["oauth_config"]["scopes"]["bot"])
    assert scopes == {"commands", "chat:write", "im:write", "users:read", "users:read.email", "usergroups:read",
                      "usergroups:write",
                      "reactions:write", "channels:history", "groups:history", "im:history", "channels:join",
                      "channels:read", "groups:read", "files:write"}
