"""The private iCalendar feed: valid RFC 5545 (checked with the `icalendar` package), the same shifts as
`/oncall schedule`, stable UIDs, and a 404 that gives nothing away."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import aiohttp
import icalendar
import pytest

from bot.oncall import ical
from bot.oncall.roster import schedule
from bot.oncall.shifts import Shift
from bot.slack.ids import ActionId
from tests.contracts.slack_contract import SlackContract
from tests.oncall.schedule_scenario import DEV2, DEV3, PUBLIC_URL, channel_messages, oncall, press, schedule_scenario
from tests.release.scenario import Scenario


@pytest.fixture
async def s(tmp_path: Path, slack_contract: SlackContract):  # type: ignore[no-untyped-def]
    async with schedule_scenario(tmp_path, slack_contract) as running:
        yield running


async def fetch(s: Scenario, url: str) -> tuple[int, bytes, str]:
    local = url.replace(PUBLIC_URL, s.stack.app_url.rsplit("/slack/events", 1)[0])
    async with aiohttp.ClientSession() as session, session.get(local) as response:
        return response.status, await response.read(), response.headers.get("Content-Type", "")


async def feed_url(s: Scenario, rotation: str = "api-oncall") -> str:
    return (await oncall(s, DEV2, f"calendar {rotation}")).split("\n")[-1]


async def test_the_feed_is_rfc_5545_and_lists_the_same_shifts_as_schedule(s: Scenario) -> None:
    await oncall(s, DEV2, f"swap api-oncall <@{DEV3}> 2026-11-24")  # overrides show in both views
    await press(s, DEV3, channel_messages(s, "#api-oncall")[-1], ActionId.SWAP_TAKE)
    status, body, content_type = await fetch(s, await feed_url(s))
    assert status == 200 and content_type.startswith("text/calendar")

    physical = body.split(b"\r\n")
    assert physical[-1] == b"" and b"\n" not in body.replace(b"\r\n", b"")
    assert all(len(line) <= 75 for line in physical)
    calendar = icalendar.Calendar.from_ical(body)
    assert str(calendar["VERSION"]) == "2.0" and "Switchman" in str(calendar["PRODID"])
    events = calendar.walk("VEVENT")
    assert all(e.get("DTSTAMP") is not None and e.decoded("DTSTART").tzinfo is not None for e in events)

    now = s.clock.now()
    expected = await schedule(s.stack.ctx, "api-oncall", now, now + timedelta(weeks=4))
    listed = _pairs_from_feed(events, expected[0].start, now + timedelta(weeks=4))
    assert listed == [(x.start, x.end, "Primary: " + _name(x.primary), "Shadow: " + _name(x.shadow))
                      for x in expected]
    assert ("Shadow: dev3" in listed[1]) and ("Shadow: dev2" in listed[2])  # the swap, in the feed
    answer = await oncall(s, DEV2, "schedule api-oncall --weeks 4")
    shift_lines = [line for line in answer.splitlines() if line.startswith("• ") and " → " in line]
    assert len(shift_lines) == len(listed)
    for line, shift in zip(shift_lines, expected, strict=True):
        assert f"primary <@{shift.primary}>, shadow <@{shift.shadow}>" in line


async def test_uids_are_stable_per_shift_and_role(s: Scenario) -> None:
    url = await feed_url(s)
    first = icalendar.Calendar.from_ical((await fetch(s, url))[1]).walk("VEVENT")
    await s.time.advance(timedelta(hours=3))
    second = icalendar.Calendar.from_ical((await fetch(s, url))[1]).walk("VEVENT")
    uids = [str(e["UID"]) for e in first]
    assert len(set(uids)) == len(uids)
    assert {str(e["UID"]): e.decoded("DTSTART") for e in first} == {
        str(e["UID"]): e.decoded("DTSTART") for e in second}


async def test_a_wrong_secret_or_rotation_is_a_plain_404(s: Scenario) -> None:
    url = await feed_url(s)
    wrong_secret = url.rsplit("/", 1)[0] + "/not-the-secret.ics"
    no_rotation = url.replace("/api-oncall/", "/payments/")
    other_rotation = url.replace("/api-oncall/", "/web-oncall/")
    answers = [await fetch(s, u) for u in (wrong_secret, no_rotation, other_rotation)]
    assert [a[0] for a in answers] == [404, 404, 404]
    assert len({a[1] for a in answers}) == 1 and b"api-oncall" not in answers[0][1]


def test_long_lines_fold_at_75_octets_without_splitting_a_character() -> None:
    start = datetime(2026, 3, 23, 9, tzinfo=UTC)
    shift = Shift(index=1, start=start, end=start + timedelta(hours=167), primary="U1", shadow="U2",
                  hours=167.0, dst_change=True)
    names = {"U1": "Zoë Ångström-Øvergård; the one, and only " * 3, "U2": "李小龍\nnew line"}
    body = ical.calendar("api-oncall", [shift], names, now=start).encode()
    assert all(len(line) <= 75 for line in body.split(b"\r\n"))
    [primary, shadow] = icalendar.Calendar.from_ical(body).walk("VEVENT")
    assert str(primary["SUMMARY"]) == "Primary: " + names["U1"]
    assert str(shadow["SUMMARY"]) == "Shadow: 李小龍\nnew line"
    assert "lasts 167 h" in str(primary["DESCRIPTION"])


def _name(user: str | None) -> str:
    assert user is not None
    return user.lower().removeprefix("u01")  # the seeded workspace names U01DEV2 "dev2"


def _pairs_from_feed(events: list[icalendar.cal.Component], start: datetime, end: datetime
                     ) -> list[tuple[datetime, datetime, str, str]]:
    by_start: dict[datetime, dict[str, str]] = {}
    ends: dict[datetime, datetime] = {}
    for event in events:
        begins = event.decoded("DTSTART")
        if start <= begins < end:
            role = str(event["UID"]).rsplit("-", 1)[1].split("@")[0]
            by_start.setdefault(begins, {})[role] = str(event["SUMMARY"])
            ends[begins] = event.decoded("DTEND")
    return [(b, ends[b], roles["primary"], roles["shadow"]) for b, roles in sorted(by_start.items())]
