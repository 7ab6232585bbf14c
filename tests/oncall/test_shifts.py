"""Shift generation and overrides: tiling, determinism, pairing, absences, DST-length shifts."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from itertools import pairwise
from math import lcm

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bot.oncall.handoff_rule import HandoffRule
from bot.oncall.shifts import Absence, Override, Shift, apply_overrides, generate_shifts

from .strategies import NAMED_ZONES, instants, rules_and_windows, utc

PEOPLE = ["ana", "bo", "cy", "dee", "eli", "fay"]
people_lists = st.lists(st.sampled_from(PEOPLE), max_size=4, unique=True)
Window = tuple[HandoffRule, datetime, datetime]


def berlin_weekly() -> HandoffRule:
    return HandoffRule(every="week", timezone="Europe/Berlin", day="monday", at="10:00")


def assert_tiles(shifts: list[Shift], start: datetime, end: datetime) -> None:
    assert shifts, "a non-empty window has at least one shift"
    assert shifts[0].start <= start < shifts[0].end
    assert shifts[-1].start < end <= shifts[-1].end
    for earlier, later in pairwise(shifts):
        assert earlier.end == later.start, "no gap, no overlap"
    for shift in shifts:
        assert shift.start < shift.end
        assert shift.start.tzinfo is UTC and shift.end.tzinfo is UTC
        assert shift.hours == (shift.end - shift.start).total_seconds() / 3600


def assert_nobody_holds_both_roles(shifts: list[Shift]) -> None:
    for shift in shifts:
        assert shift.primary is None or shift.primary != shift.shadow


@st.composite
def absences_in(draw: st.DrawFn, start: datetime, end: datetime) -> list[Absence]:
    found = []
    for _ in range(draw(st.integers(0, 6))):
        begin = start + (end - start) * draw(st.floats(-0.1, 1.0))
        length = (end - start) * draw(st.floats(0.0001, 0.3))
        found.append(Absence(draw(st.sampled_from(PEOPLE)), begin, begin + length))
    return found


# --- DST edges ----------------------------------------------------------------------------------


def test_berlin_weekly_has_167_and_169_hour_shifts_around_the_2026_changes() -> None:
    shifts = generate_shifts(berlin_weekly(), ["ops1", "ops2"], ["dev1"], utc(2026, 3, 1), utc(2026, 11, 30))
    odd = [(s.start.astimezone(berlin_weekly().zone).date().isoformat(), s.hours) for s in shifts if s.dst_change]
    assert odd == [("2026-03-23", 167.0), ("2026-10-19", 169.0)]
    assert {s.hours for s in shifts if not s.dst_change} == {168.0}


def test_lord_howe_weekly_shifts_differ_by_half_an_hour() -> None:
    rule = HandoffRule(every="week", timezone="Australia/Lord_Howe", day="sunday", at="12:00")
    shifts = generate_shifts(rule, ["ops1"], [], utc(2026, 1, 1), utc(2027, 1, 1))
    assert sorted(s.hours for s in shifts if s.dst_change) == [167.5, 168.5]


def test_daily_gap_shifts_are_flagged_on_both_sides() -> None:
    rule = HandoffRule(every="day", timezone="Europe/Berlin", at="02:30")
    shifts = generate_shifts(rule, ["ops1"], [], utc(2026, 3, 27, 12), utc(2026, 3, 30, 12))
    assert [(s.hours, s.dst_change) for s in shifts] == [
        (24.0, False),
        (23.5, True),
        (23.5, True),
        (24.0, False),
    ]


@pytest.mark.parametrize("zone", ["UTC", "Asia/Kolkata", "Etc/GMT+5"])
@pytest.mark.parametrize("every", ["hour", "day", "week"])
def test_zones_without_clock_changes_never_flag_dst(zone: str, every: str) -> None:
    rule = HandoffRule(every=every, timezone=zone, day="friday" if every == "week" else None, at="09:00")  # type: ignore[arg-type]
    window = timedelta(days=20) if every == "hour" else timedelta(days=800)
    shifts = generate_shifts(rule, ["ops1"], ["dev1"], utc(2025, 6, 1), utc(2025, 6, 1) + window)
    assert not any(s.dst_change for s in shifts)
    assert len({s.hours for s in shifts}) == 1


# --- people ---------------------------------------------------------------------------------------


def test_person_in_both_lists_is_never_their_own_shadow() -> None:
    rule = HandoffRule(every="day", timezone="UTC")
    shifts = generate_shifts(rule, ["ana", "bo"], ["bo", "cy"], utc(2026, 1, 1), utc(2026, 1, 9))
    assert_nobody_holds_both_roles(shifts)
    assert any(s.primary == "bo" and s.shadow == "cy" for s in shifts)
    lonely = generate_shifts(rule, ["ana"], ["ana"], utc(2026, 1, 1), utc(2026, 1, 5))
    assert {(s.primary, s.shadow) for s in lonely} == {("ana", None)}


def test_absence_passes_the_role_down_the_list_for_that_shift_only() -> None:
    rule = HandoffRule(every="day", timezone="UTC")
    plain = generate_shifts(rule, ["ana", "bo", "cy"], ["dee", "eli"], utc(2026, 1, 1), utc(2026, 1, 7))
    ana_shift = next(s for s in plain if s.primary == "ana")
    away = Absence("ana", ana_shift.start + timedelta(hours=23), ana_shift.end + timedelta(hours=1))
    shifts = generate_shifts(rule, ["ana", "bo", "cy"], ["dee", "eli"], utc(2026, 1, 1), utc(2026, 1, 7), [away])
    changed = [(before.primary, after.primary) for before, after in zip(plain, shifts, strict=True) if before != after]
    # only ana's shift changes; the absence also overlaps the next shift, but ana is not due there
    assert changed == [("ana", "bo")]


def test_absence_ending_at_a_handoff_does_not_touch_the_next_shift() -> None:
    rule = HandoffRule(every="day", timezone="UTC")
    away = Absence("ana", utc(2025, 12, 31), utc(2026, 1, 1))
    shifts = generate_shifts(rule, ["ana", "bo"], [], utc(2026, 1, 1), utc(2026, 1, 3), [away])
    assert "ana" in {s.primary for s in shifts}


def test_everyone_away_leaves_visible_gaps() -> None:
    rule = HandoffRule(every="day", timezone="UTC")
    away = [Absence(p, utc(2026, 1, 1), utc(2026, 2, 1)) for p in ("ana", "bo")]
    shifts = generate_shifts(rule, ["ana"], ["bo"], utc(2026, 1, 2), utc(2026, 1, 5), away)
    assert {(s.primary, s.shadow) for s in shifts} == {(None, None)}


def test_empty_window_has_no_shifts_and_bad_input_is_refused() -> None:
    rule = HandoffRule(every="day", timezone="UTC")
    assert generate_shifts(rule, ["ana"], [], utc(2026, 1, 1), utc(2026, 1, 1)) == []
    with pytest.raises(ValueError, match="before start"):
        generate_shifts(rule, ["ana"], [], utc(2026, 1, 2), utc(2026, 1, 1))
    with pytest.raises(ValueError, match="timezone-aware"):
        Absence("ana", datetime(2026, 1, 1), utc(2026, 1, 2))
    with pytest.raises(ValueError, match="before it starts"):
        Absence("ana", utc(2026, 1, 2), utc(2026, 1, 1))


# --- properties -----------------------------------------------------------------------------------


@settings(max_examples=40, deadline=None)
@given(rules_and_windows(), people_lists, people_lists)
def test_shifts_tile_and_nobody_holds_both_roles(case: Window, primaries: list[str], shadows: list[str]) -> None:
    rule, start, end = case
    shifts = generate_shifts(rule, primaries, shadows, start, end)
    assert_tiles(shifts, start, end)
    assert_nobody_holds_both_roles(shifts)
    assert all(a.index < b.index for a, b in pairwise(shifts))


@settings(max_examples=40, deadline=None)
@given(rules_and_windows(), st.floats(0, 1), st.floats(0, 1), people_lists, people_lists, st.data())
def test_the_same_instant_gets_the_same_shift_whatever_the_window(
    case: Window, a: float, b: float, primaries: list[str], shadows: list[str], data: st.DataObject
) -> None:
    rule, start, end = case
    absences = data.draw(absences_in(start, end))
    other_start, other_end = sorted((start + (end - start) * a, start + (end - start) * b))
    whole = {s.index: s for s in generate_shifts(rule, primaries, shadows, start, end, absences)}
    part = generate_shifts(rule, primaries, shadows, other_start, max(other_end, other_start + timedelta(1)), absences)
    assert all(s == whole[s.index] for s in part if s.index in whole)
    assert part[0] == whole[part[0].index]


@settings(max_examples=40, deadline=None)
@given(rules_and_windows(), people_lists, people_lists, st.data())
def test_absences_are_respected(case: Window, primaries: list[str], shadows: list[str], data: st.DataObject) -> None:
    rule, start, end = case
    absences = data.draw(absences_in(start, end))
    shifts = generate_shifts(rule, primaries, shadows, start, end, absences)
    plain = {s.index: s for s in generate_shifts(rule, primaries, shadows, start, end)}
    assert_tiles(shifts, start, end)
    assert_nobody_holds_both_roles(shifts)
    for shift in shifts:
        away = {a.person for a in absences if a.start < shift.end and shift.start < a.end}
        assert shift.primary not in away and shift.shadow not in away
        if shift.primary is None:
            assert set(primaries) <= away
        if plain[shift.index].primary not in away:
            assert shift.primary == plain[shift.index].primary
        if shift.shadow is None:
            assert set(shadows) <= away | {shift.primary}


@settings(max_examples=40, deadline=None)
@given(st.sampled_from(NAMED_ZONES), instants, st.integers(1, 5), st.integers(1, 5))
def test_every_shadow_meets_every_primary(zone: str, start: datetime, p: int, s: int) -> None:
    rule = HandoffRule(every="week", timezone=zone, day="tuesday", at="09:30")
    primaries, shadows = [f"ops{i}" for i in range(p)], [f"dev{j}" for j in range(s)]
    weeks = p * s + lcm(p, s) - 1
    shifts = generate_shifts(rule, primaries, shadows, start, start + timedelta(weeks=weeks - 1, hours=1))
    assert len(shifts) >= weeks
    assert {(x.primary, x.shadow) for x in shifts} == {(o, d) for o in primaries for d in shadows}


# --- overrides ------------------------------------------------------------------------------------


def daily_shifts() -> list[Shift]:
    rule = HandoffRule(every="day", timezone="UTC", at="09:00")
    return generate_shifts(rule, ["ana", "bo"], ["cy", "dee"], utc(2026, 1, 1, 9), utc(2026, 1, 4, 9))


def test_override_splits_a_shift_and_keeps_the_tiling() -> None:
    shifts = daily_shifts()
    cover = Override(utc(2026, 1, 2, 12), utc(2026, 1, 2, 18), "primary", "eli")
    result = apply_overrides(shifts, [cover])
    assert_tiles(result, shifts[0].start, shifts[-1].end)
    middle = [s for s in result if s.index == shifts[1].index]
    assert [(s.start.hour, s.end.hour, s.primary, s.shadow) for s in middle] == [
        (9, 12, shifts[1].primary, shifts[1].shadow),
        (12, 18, "eli", shifts[1].shadow),
        (18, 9, shifts[1].primary, shifts[1].shadow),
    ]
    assert [s.hours for s in middle] == [3.0, 6.0, 15.0]


def test_override_across_a_handoff_cuts_both_shifts_and_later_overrides_win() -> None:
    shifts = daily_shifts()
    overrides = [
        Override(utc(2026, 1, 1, 20), utc(2026, 1, 2, 20), "shadow", "eli"),
        Override(utc(2026, 1, 2, 8), utc(2026, 1, 2, 10), "shadow", "fay"),
    ]
    result = apply_overrides(shifts, overrides)
    assert_tiles(result, shifts[0].start, shifts[-1].end)
    assert [(s.start.isoformat()[5:13], s.shadow) for s in result[:5]] == [
        ("01-01T09", shifts[0].shadow),
        ("01-01T20", "eli"),
        ("01-02T08", "fay"),
        ("01-02T09", "fay"),
        ("01-02T10", "eli"),
    ]


def test_override_that_changes_nothing_leaves_the_shift_whole() -> None:
    shifts = daily_shifts()
    same = Override(utc(2026, 1, 2, 12), utc(2026, 1, 2, 13), "primary", str(shifts[1].primary))
    assert apply_overrides(shifts, [same]) == shifts


def test_override_making_someone_both_roles_is_refused_but_a_swap_is_fine() -> None:
    shifts = daily_shifts()
    first = shifts[0]
    clash = Override(first.start, first.end, "primary", str(first.shadow))
    with pytest.raises(ValueError, match=f"make {first.shadow} both primary and shadow"):
        apply_overrides(shifts, [clash])
    swap = [clash, Override(first.start, first.end, "shadow", str(first.primary))]
    swapped = apply_overrides(shifts, swap)
    assert (swapped[0].primary, swapped[0].shadow) == (first.shadow, first.primary)
    with pytest.raises(ValueError, match="role must be primary or shadow"):
        Override(first.start, first.end, "lead", "eli")  # type: ignore[arg-type]


@settings(max_examples=40, deadline=None)
@given(rules_and_windows(), people_lists, people_lists, st.data())
def test_overrides_keep_tiling_and_put_the_last_overrider_in_place(
    case: Window, primaries: list[str], shadows: list[str], data: st.DataObject
) -> None:
    rule, start, end = case
    shifts = generate_shifts(rule, primaries, shadows, start, end)
    span_start, span_end = shifts[0].start, shifts[-1].end
    overrides = []
    for _ in range(data.draw(st.integers(0, 4))):
        a, b = sorted(data.draw(st.floats(-0.1, 1.1)) for _ in range(2))
        begin = span_start + (span_end - span_start) * a
        overrides.append(
            Override(
                begin,
                begin + max((span_end - span_start) * (b - a), timedelta(seconds=1)),
                data.draw(st.sampled_from(["primary", "shadow"])),
                data.draw(st.sampled_from(PEOPLE)),
            )
        )

    def expected(instant: datetime) -> tuple[str | None, str | None]:
        shift = next(s for s in shifts if s.start <= instant < s.end)
        people = {"primary": shift.primary, "shadow": shift.shadow}
        for override in overrides:
            if override.start <= instant < override.end:
                people[override.role] = override.person
        return people["primary"], people["shadow"]

    try:
        result = apply_overrides(shifts, overrides)
    except ValueError:
        cuts = sorted({s.start for s in shifts} | {o.start for o in overrides} | {o.end for o in overrides})
        probes = [t for t in cuts if span_start <= t < span_end]
        assert any(expected(t)[0] is not None and expected(t)[0] == expected(t)[1] for t in probes)
        return
    assert_tiles(result, span_start, span_end)
    assert_nobody_holds_both_roles(result)
    for piece in result:
        assert (piece.primary, piece.shadow) == expected(piece.start)
        assert (piece.primary, piece.shadow) == expected(piece.end - timedelta(microseconds=1))
