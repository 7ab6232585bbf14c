"""Opening the App Home publishes a Home tab built from the configuration."""

from __future__ import annotations

from bot.slack_sim.stack import Stack


async def test_opening_the_home_tab_publishes_services_and_rotations(stack: Stack) -> None:
    delivery = await stack.slack.event({"type": "app_home_opened", "user": "U0BOB", "channel": "D0BOB",
                                        "tab": "home", "event_ts": "1700000000.000100"})
    await stack.settle()

    assert delivery.status == 200
    [call] = stack.api.calls_of("views.publish")
    assert call.params["user_id"] == "U0BOB"
    home = [e for e in stack.workspace.events if e.kind == "home"]
    assert len(home) == 1 and home[0].user == "U0BOB"
    texts = [b["text"]["text"] for b in home[0].view["blocks"] if b["type"] == "section"]  # type: ignore[index]
    assert any(t.startswith("*api* — `staging` → `production`") for t in texts)
    assert any(t.startswith("*api-oncall* — 2 primaries, 3 shadows") for t in texts)


async def test_the_messages_tab_publishes_nothing(stack: Stack) -> None:
    await stack.slack.event({"type": "app_home_opened", "user": "U0BOB", "tab": "messages",
                             "event_ts": "1700000000.000200"})
    await stack.settle()
    assert stack.api.calls_of("views.publish") == []


async def test_an_event_that_names_nobody_publishes_nothing(stack: Stack) -> None:
    # Found by tests/fuzz: no `user` was a KeyError, and a malformed one reached views.publish.
    for user in (None, "", {"id": "U0BOB"}, "alice"):
        event = {"type": "app_home_opened", "tab": "home", "event_ts": "1700000000.000300"}
        if user is not None:
            event["user"] = user
        assert (await stack.slack.event(event)).status == 200
    await stack.settle()
    assert stack.api.calls_of("views.publish") == []
