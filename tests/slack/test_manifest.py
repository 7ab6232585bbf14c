"""manifest.yml (HTTP mode) and manifest.socket-mode.yml are valid Slack app manifests declaring what the code
registers; their scopes are checked against the code in test_manifest_scopes.py."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from slack_bolt.async_app import AsyncApp

from bot.slack.ids import Command, Event
from bot.slack_sim.stack import Stack

ROOT = Path(__file__).resolve().parents[2]
VALIDATOR = ROOT.parent / "shared" / "contracts" / "slack" / "validate_manifest.py"


MANIFESTS = ("manifest.yml", "manifest.socket-mode.yml")


def manifest(name: str = "manifest.yml") -> dict:  # type: ignore[type-arg]
    return yaml.safe_load((ROOT / name).read_text())


@pytest.mark.parametrize("name", MANIFESTS)
def test_manifest_validates_against_the_shared_schema(name: str) -> None:
    result = subprocess.run([sys.executable, str(VALIDATOR), str(ROOT / name)],
                            capture_output=True, text=True, check=False)
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout.strip() == ""


@pytest.mark.parametrize("name", MANIFESTS)
def test_every_command_in_code_is_declared_and_nothing_else(name: str) -> None:
    declared = {c["command"] for c in manifest(name)["features"]["slash_commands"]}
    assert declared == {c.value for c in Command}


@pytest.mark.parametrize("name", MANIFESTS)
def test_events_in_code_are_subscribed(name: str) -> None:
    subscribed = set(manifest(name)["settings"]["event_subscriptions"]["bot_events"])
    assert {e.value for e in Event} <= subscribed


def test_the_two_manifests_differ_only_in_how_slack_reaches_the_app() -> None:
    http, socket = manifest("manifest.yml"), manifest("manifest.socket-mode.yml")

    assert http["settings"]["socket_mode_enabled"] is False and socket["settings"]["socket_mode_enabled"] is True
    assert all(c["url"].endswith("/slack/events") for c in http["features"]["slash_commands"])
    assert http["settings"]["interactivity"]["request_url"].endswith("/slack/events")
    for command in socket["features"]["slash_commands"]:
        del http["features"]["slash_commands"][[c["command"] for c in http["features"]["slash_commands"]].index(
            command["command"])]["url"]
    for section in ("event_subscriptions", "interactivity"):
        del http["settings"][section]["request_url"]
    http["settings"]["socket_mode_enabled"] = True
    assert http == socket


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

