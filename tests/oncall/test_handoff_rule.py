"""HandoffRule: wall-clock handoffs as UTC instants, across DST gaps, folds and odd offsets."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from itertools import pairwise
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bot.oncall.handoff_rule import HandoffRule, Slot
from bot.wall_clock import resolve_wall_clock

from .strategies import (
    NAMED_ZONES,
    instants,
    local,
    oracle_handoffs,
    oracle_resolve,
    rules,
    rules_aimed_at_a_clock_change,
    rules_and_windows,
    utc,
)


def local_readings(rule: HandoffRule, start: datetime, end: datetime) -> list[str]:
    return [h.astimezone(rule.zone).isoformat() for h in rule.handoffs_between(start, end)]


# --- DST edges, one zone at a time -------------------------------------------------------------


def test_berlin_weekly_monday_keeps_ten_local_across_both_changes() -> None:
    rule = HandoffRule(every="week", timezone="Europe/Berlin", day="monday", at="10:00")
    spring = rule.handoffs_between(utc(2026, 3, 20), utc(2026, 4, 1))
    autumn = rule.handoffs_between(utc(2026, 10, 16), utc(2026, 10, 28))
    assert spring == [utc(2026, 3, 23, 9), utc(2026, 3, 30, 8)]
    assert autumn == [utc(2026, 10, 19, 8), utc(2026, 10, 26, 9)]
    assert spring[1] - spring[0] == timedelta(hours=167)
    assert autumn[1] - autumn[0] == timedelta(hours=169)


def test_berlin_daily_0230_in_the_spring_gap_moves_to_0300() -> None:
    rule = HandoffRule(every="day", timezone="Europe/Berlin", at="02:30")
    assert local_readings(rule, utc(2026, 3, 28), utc(2026, 3, 31)) == [
        "2026-03-28T02:30:00+01:00",
        "2026-03-29T03:00:00+02:00",
        "2026-03-30T02:30:00+02:00",
    ]


def test_chicago_0130_on_fall_back_day_happens_once_at_first_occurrence() -> None:
    rule = HandoffRule(every="day", timezone="America/Chicago", at="01:30")
    handoffs = rule.handoffs_between(utc(2026, 10, 31), utc(2026, 11, 3))
    assert handoffs == [utc(2026, 10, 31, 6, 30), utc(2026, 11, 1, 6, 30), utc(2026, 11, 2, 7, 30)]
    assert handoffs[2] - handoffs[1] == timedelta(hours=25)


def test_chicago_hourly_at_half_past_does_not_repeat_in_the_fold() -> None:
    rule = HandoffRule(every="hour", timezone="America/Chicago", at=":30")
    assert local_readings(rule, utc(2026, 11, 1, 5), utc(2026, 11, 1, 9)) == [
        "2026-11-01T00:30:00-05:00",
        "2026-11-01T01:30:00-05:00",
        "2026-11-01T02:30:00-06:00",
    ]


def test_berlin_hourly_on_the_hour_loses_the_slot_swallowed_by_the_gap() -> None:
    rule = HandoffRule(every="hour", timezone="Europe/Berlin", at=":00")
    assert local_readings(rule, utc(2026, 3, 28, 23), utc(2026, 3, 29, 3)) == [
        "2026-03-29T00:00:00+01:00",
        "2026-03-29T01:00:00+01:00",
        "2026-03-29T03:00:00+02:00",
        "2026-03-29T04:00:00+02:00",
    ]


def test_lord_howe_half_hour_dst() -> None:
    weekly = HandoffRule(every="week", timezone="Australia/Lord_Howe", day="sunday", at="12:00")
    april = weekly.handoffs_between(utc(2026, 3, 28), utc(2026, 4, 10))
    october = weekly.handoffs_between(utc(2026, 9, 26), utc(2026, 10, 10))
    assert [b - a for a, b in pairwise(april)] == [timedelta(hours=168.5)]
    assert [b - a for a, b in pairwise(october)] == [timedelta(hours=167.5)]
    daily = HandoffRule(every="day", timezone="Australia/Lord_Howe", at="02:15")
    assert local_readings(daily, utc(2026, 10, 3, 12), utc(2026, 10, 4, 12)) == ["2026-10-04T02:30:00+11:00"]
    fold = HandoffRule(every="day", timezone="Australia/Lord_Howe", at="01:45")
    assert local_readings(fold, utc(2026, 4, 4, 12), utc(2026, 4, 5, 12)) == ["2026-04-05T01:45:00+11:00"]


def test_sao_paulo_southern_hemisphere_midnight_changes() -> None:
    gap = HandoffRule(every="day", timezone="America/Sao_Paulo", at="00:30")
    assert local_readings(gap, utc(2018, 11, 4), utc(2018, 11, 5)) == ["2018-11-04T01:00:00-02:00"]
    fold = HandoffRule(every="day", timezone="America/Sao_Paulo", at="23:30")
    assert fold.handoffs_between(utc(2019, 2, 16, 12), utc(2019, 2, 17, 12)) == [utc(2019, 2, 17, 1, 30)]


def test_chatham_45_minute_offset_gap() -> None:
    rule = HandoffRule(every="day", timezone="Pacific/Chatham", at="03:00")
    assert local_readings(rule, utc(2026, 9, 26), utc(2026, 9, 27)) == ["2026-09-27T03:45:00+13:45"]


def test_st_johns_and_london_gaps() -> None:
    st_johns = HandoffRule(every="day", timezone="America/St_Johns", at="02:10")
    assert local_readings(st_johns, utc(2026, 3, 8), utc(2026, 3, 9)) == ["2026-03-08T03:00:00-02:30"]
    london = HandoffRule(every="day", timezone="Europe/London", at="01:30")
    assert local_readings(london, utc(2026, 3, 29), utc(2026, 3, 30)) == ["2026-03-29T02:00:00+01:00"]


@pytest.mark.parametrize("zone", ["Asia/Kolkata", "UTC"])
def test_zone_without_dst_has_even_days_for_years(zone: str) -> None:
    rule = HandoffRule(every="day", timezone=zone, at="09:00")
    handoffs = rule.handoffs_between(utc(2024, 1, 1), utc(2030, 1, 1))
    assert {b - a for a, b in pairwise(handoffs)} == {timedelta(days=1)}
    assert {h.astimezone(rule.zone).strftime("%H:%M") for h in handoffs} == {"09:00"}


def test_monthly_day_is_clamped_to_the_month() -> None:
    rule = HandoffRule(every="month", timezone="Europe/Berlin", day=31, at="09:00")
    days = [h.astimezone(rule.zone).date() for h in rule.handoffs_between(utc(2027, 12, 1), utc(2028, 5, 1))]
    assert days == [
        date(2027, 12, 31),
        date(2028, 1, 31),
        date(2028, 2, 29),
        date(2028, 3, 31),
        date(2028, 4, 30),
    ]


def test_interval_is_anchored_not_relative_to_the_window() -> None:
    rule = HandoffRule(
        every="week",
        timezone="Europe/Berlin",
        day="wednesday",
        at="09:00",
        interval=2,
        anchor=date(2026, 1, 1),
    )
    first = rule.handoffs_between(utc(2026, 1, 1), utc(2026, 3, 1))
    assert [h.astimezone(rule.zone).date() for h in first] == [
        date(2026, 1, 7),
        date(2026, 1, 21),
        date(2026, 2, 4),
        date(2026, 2, 18),
    ]
    assert rule.handoffs_between(utc(2026, 1, 10), utc(2026, 3, 1)) == first[1:]


def test_hourly_interval_uses_the_hour_of_at_as_phase() -> None:
    rule = HandoffRule(every="hour", timezone="Europe/Berlin", at="08:00", interval=12)
    readings = local_readings(rule, utc(2026, 10, 24), utc(2026, 10, 27))
    assert {r[11:16] for r in readings} == {"08:00", "20:00"}
    assert len(readings) == 6


def test_next_handoff_after_is_strictly_after() -> None:
    rule = HandoffRule(every="week", timezone="Europe/Berlin", day="mon", at="10:00")
    assert rule.next_handoff_after(utc(2026, 3, 23, 9)) == utc(2026, 3, 30, 8)
    assert rule.next_handoff_after(utc(2026, 3, 23, 8, 59)) == utc(2026, 3, 23, 9)


def test_resolve_wall_clock_folds_and_gaps() -> None:
    berlin = ZoneInfo("Europe/Berlin")
    assert resolve_wall_clock(datetime(2026, 10, 25, 2, 30), berlin) == utc(2026, 10, 25, 0, 30)
    assert resolve_wall_clock(datetime(2026, 3, 29, 2, 0), berlin) == utc(2026, 3, 29, 1)
    assert resolve_wall_clock(datetime(2026, 3, 29, 2, 59), berlin) == utc(2026, 3, 29, 1)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"every": "fortnight", "timezone": "UTC"}, "every must be one of"),
        ({"every": "day", "timezone": "Mars/Olympus"}, "unknown time zone"),
        ({"every": "day", "timezone": "UTC", "at": "25:00"}, "between 00:00 and 23:59"),
        ({"every": "day", "timezone": "UTC", "at": ":30"}, '"HH:MM"'),
        ({"every": "day", "timezone": "UTC", "day": "monday"}, "day does not apply"),
        ({"every": "week", "timezone": "UTC"}, "weekly handoff needs day"),
        ({"every": "week", "timezone": "UTC", "day": "mo"}, "weekly handoff needs day"),
        ({"every": "month", "timezone": "UTC", "day": 32}, "monthly handoff needs day"),
        ({"every": "month", "timezone": "UTC", "day": "1"}, "monthly handoff needs day"),
        ({"every": "day", "timezone": "UTC", "interval": 0}, "interval must be"),
    ],
)
def test_invalid_rules_are_refused_with_a_reason(kwargs: dict[str, object], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        HandoffRule(**kwargs)  # type: ignore[arg-type]


def test_naive_and_reversed_windows_are_refused() -> None:
    rule = HandoffRule(every="day", timezone="UTC")
    with pytest.raises(ValueError, match="timezone-aware"):
        rule.handoffs_between(datetime(2026, 1, 1), utc(2026, 1, 2))
    with pytest.raises(ValueError, match="before start"):
        rule.handoffs_between(utc(2026, 1, 2), utc(2026, 1, 1))


# --- properties across zones, rules and windows ------------------------------------------------


@settings(max_examples=40, deadline=None)
@given(rules_and_windows())
def test_handoffs_match_a_brute_force_oracle(case: tuple[HandoffRule, datetime, datetime]) -> None:
    rule, start, end = case
    handoffs = rule.handoffs_between(start, end)
    assert handoffs == oracle_handoffs(rule, start, end)
    assert all(h.tzinfo is UTC for h in handoffs)
    assert all(a < b for a, b in pairwise(handoffs)), "strictly increasing: no handoff twice in a fold"


@settings(max_examples=40, deadline=None)
@given(rules_and_windows())
def test_each_handoff_is_at_its_wall_time_or_first_after_a_gap(
    case: tuple[HandoffRule, datetime, datetime],
) -> None:
    rule, start, end = case
    zone = rule.zone
    for slot in _slots(rule, start, end)[:300]:
        reading = local(slot.start, zone)
        if reading == slot.wall_start:
            # first occurrence: no earlier instant reads the same wall time
            assert oracle_resolve(slot.wall_start, zone) == slot.start
        else:
            assert reading > slot.wall_start
            assert local(slot.start - timedelta(seconds=1), zone) < slot.wall_start, "first instant after the gap"


@settings(max_examples=100, deadline=None)
@given(rules_aimed_at_a_clock_change())
def test_handoffs_aimed_into_gaps_and_folds(case: tuple[HandoffRule, datetime, datetime]) -> None:
    rule, wall, expected = case
    nearby = rule.handoffs_between(expected - timedelta(hours=3), expected + timedelta(hours=3))
    assert expected in nearby
    assert sum(local(h, rule.zone) == wall for h in nearby) <= 1, "a repeated wall time hands off once"
    if rule.every != "hour":
        assert nearby == [expected]


@settings(max_examples=40, deadline=None)
@given(rules_and_windows(), st.floats(0, 1))
def test_windows_split_anywhere_give_the_same_handoffs(
    case: tuple[HandoffRule, datetime, datetime], cut: float
) -> None:
    rule, start, end = case
    middle = start + (end - start) * cut
    assert rule.handoffs_between(start, middle) + rule.handoffs_between(middle, end) == rule.handoffs_between(
        start, end
    )


@settings(max_examples=80, deadline=None)
@given(rules(), instants)
def test_next_handoff_after_agrees_with_index_at(rule: HandoffRule, instant: datetime) -> None:
    following = rule.next_handoff_after(instant)
    assert following > instant
    assert rule.handoffs_between(instant + timedelta(microseconds=1), following) == []
    index = rule.index_at(instant)
    assert rule.handoff_at(index) <= instant < rule.handoff_at(index + 1)


@settings(max_examples=30, deadline=None)
@given(rules(st.sampled_from(NAMED_ZONES)), st.integers(-2000, 2000))
def test_wall_times_increase_with_the_index(rule: HandoffRule, index: int) -> None:
    assert rule.wall_time(index) < rule.wall_time(index + 1)
    assert rule.handoff_at(index) <= rule.handoff_at(index + 1)


def _slots(rule: HandoffRule, start: datetime, end: datetime) -> list[Slot]:
    found: list[Slot] = []
    for slot in rule.slots(start):
        if slot.start >= end:
            return found
        found.append(slot)
    return found
