"""The roster with absences and overrides: properties over random rotations and changes."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from itertools import pairwise
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from bot.config.models import Rotation
from bot.oncall.roster import effective_shifts, upcoming_shifts
from bot.oncall.shifts import Absence, Override

PEOPLE = ["U0A", "U0B", "U0C", "U0D", "U0E"]
START = datetime(2026, 1, 1, tzinfo=UTC)


@st.composite
def rotations(draw: st.DrawFn) -> Rotation:
    every = draw(st.sampled_from(["hour", "day", "week"]))
    handoff: dict[str, Any] = {"every": every, "at": draw(st.sampled_from(["00:00", "02:30", "10:00"]))}
    if every == "week":
        handoff["day"] = draw(st.sampled_from(["monday", "sunday"]))
    primaries = draw(st.lists(st.sampled_from(PEOPLE), min_size=1, max_size=3, unique=True))
    # Shadows may overlap the primaries (config allows it with two people or more): the hard case.
    shadows = draw(st.lists(st.sampled_from(PEOPLE), min_size=0, max_size=3, unique=True))
    if len(set(primaries) | set(shadows)) < 2:
        shadows = [p for p in PEOPLE if p not in primaries][:1]
    return Rotation.model_validate({
        "channel": "#oncall", "timezone": draw(st.sampled_from(["Europe/Berlin", "America/Chicago", "UTC",
                                                                "Australia/Lord_Howe"])),
        "handoff": handoff, "primaries": primaries, "shadows": shadows})


offsets = st.integers(min_value=-5 * 24, max_value=40 * 24).map(lambda h: timedelta(hours=h))
lengths = st.integers(min_value=1, max_value=10 * 24).map(lambda h: timedelta(hours=h))
absences = st.builds(lambda person, at, length: Absence(person, START + at, START + at + length),
                     st.sampled_from(PEOPLE), offsets, lengths)
overrides = st.builds(lambda role, person, at, length: Override(START + at, START + at + length, role, person),
                      st.sampled_from(["primary", "shadow"]), st.sampled_from(PEOPLE), offsets, lengths)


@settings(max_examples=150, deadline=None)
@given(rotations(), st.lists(absences, max_size=4), st.lists(overrides, max_size=5),
       st.integers(min_value=0, max_value=20 * 24), st.integers(min_value=1, max_value=20 * 24))
def test_the_roster_still_tiles_time_and_never_gives_one_person_both_roles(
        rotation: Rotation, away: list[Absence], changes: list[Override], begin: int, hours: int) -> None:
    start = START + timedelta(hours=begin)
    end = start + timedelta(hours=hours)
    pieces = effective_shifts(rotation, start, end, absences=away, overrides=changes)
    assert pieces and pieces[0].start <= start < pieces[0].end and pieces[-1].end >= end
    assert all(a.end == b.start for a, b in pairwise(pieces))
    assert all(p.start < p.end for p in pieces)
    assert all(p.primary is None or p.primary != p.shadow for p in pieces)


@settings(max_examples=100, deadline=None)
@given(rotations(), st.lists(absences, max_size=4), st.integers(min_value=0, max_value=20 * 24))
def test_an_absent_person_holds_no_generated_role(rotation: Rotation, away: list[Absence], begin: int) -> None:
    start = START + timedelta(hours=begin)
    for piece in effective_shifts(rotation, start, start + timedelta(days=14), absences=away):
        gone = {a.person for a in away if a.overlaps(piece.start, piece.end)}
        assert piece.primary not in gone and piece.shadow not in gone


def test_an_override_that_would_give_both_roles_is_left_out_not_fatal() -> None:
    rotation = Rotation.model_validate({"channel": "#oncall", "timezone": "UTC",
                                        "handoff": {"every": "day", "at": "00:00"},
                                        "primaries": ["U0A"], "shadows": ["U0B", "U0C"]})
    day = upcoming_shifts(rotation, START, START + timedelta(hours=1))[0]
    clash = Override(day.start, day.end, "shadow", "U0A")  # the primary, as shadow
    fine = Override(day.start, day.end, "shadow", "U0C")
    [piece] = effective_shifts(rotation, day.start, day.end, overrides=[fine, clash])
    assert (piece.primary, piece.shadow) == ("U0A", "U0C")
