"""Slack date tokens in the console: each reader sees the time in their own zone, with the zone named."""

from __future__ import annotations

from datetime import UTC, datetime

from bot.console.date_tokens import render_date, viewing_in
from bot.console.transcript import Transcript
from bot.slack.dates import slack_date
from bot.slack_sim.workspace import SimEvent, Workspace

HANDOFF = datetime(2026, 11, 23, 9, tzinfo=UTC)  # Mon 10:00 in Berlin, 03:00 in Chicago


def token_inside(token: str) -> tuple[str, str]:
    inside, _, fallback = token.strip("<>").partition("|")
    return inside.lstrip("!"), fallback


def test_a_slack_date_reads_in_the_viewers_zone_with_the_zone_named() -> None:
    command, fallback = token_inside(slack_date(HANDOFF))

    assert fallback == "2026-11-23 09:00 UTC"  # what clients that cannot localise show: UTC, named
    with viewing_in("Europe/Berlin"):
        assert render_date(command, fallback) == "Mon 23 Nov 10:00 CET"
    with viewing_in("America/Chicago"):
        assert render_date(command, fallback) == "Mon 23 Nov 03:00 CST"
    assert render_date(command, fallback) == "Mon 23 Nov 09:00 UTC"  # nobody in particular: UTC
    with viewing_in("Not/AZone"):
        assert render_date(command, fallback) == "Mon 23 Nov 09:00 UTC"


def workspace() -> Workspace:
    space = Workspace()
    space.add_user("U0BOB", "bob", tz="America/Chicago")
    space.add_user("U01OPS1", "ops1", tz="Europe/Berlin")
    space.add_channel("#api-oncall")
    return space


def test_a_channel_post_is_read_by_whoever_is_at_the_console_and_a_dm_by_its_owner() -> None:
    space = workspace()
    transcript = Transcript(space, viewer=lambda: "U0BOB")
    channel = space.channel_by_name("api-oncall")
    im = space.im_with("U01OPS1")
    assert channel is not None
    text = f"handoff until {slack_date(HANDOFF)}"
    blocks = ({"type": "section", "text": {"type": "mrkdwn", "text": text}},)
    post = SimEvent(1, "message", channel=channel.id, ts="1.0", text=text, user="U0BOT", blocks=blocks)
    dm = SimEvent(2, "message", channel=im.id, ts="2.0", text=text, user="U0BOT", blocks=blocks)

    assert "handoff until Mon 23 Nov 03:00 CST" in "\n".join(transcript.render(post))
    assert "handoff until Mon 23 Nov 10:00 CET" in "\n".join(transcript.render(dm))
