"""Durations are strings with a unit; bare numbers are refused with a hint."""

from __future__ import annotations

import contextlib
from datetime import timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bot.config.durations import DurationError, format_duration, parse_duration


@pytest.mark.parametrize(("text", "expected"), [
    ("30s", timedelta(seconds=30)), ("10m", timedelta(minutes=10)), ("2h", timedelta(hours=2)),
    ("1d", timedelta(days=1)), ("1w", timedelta(weeks=1)), ("1h30m", timedelta(minutes=90)),
    ("250ms", timedelta(milliseconds=250)), (" 5m ", timedelta(minutes=5)), ("0s", timedelta(0)),
])
def test_parses_prometheus_style_durations(text: str, expected: timedelta) -> None:
    assert parse_duration(text) == expected


@pytest.mark.parametrize(("text", "complaint"), [
    ("600", "has no unit"), ("1.5", "has no unit"), ("", "empty"), ("10 m", "not a duration"),
    ("5x", "not a duration"), ("30m1h", "largest to smallest"), ("1h1h", "largest to smallest"),
    ("-5m", "not a duration"), ("9999999999999999999999s", "too long a duration"),
    ("99999999999999999ms", "too long a duration"), ("1000000000d", "too long a duration"),
    ("9" * 5000 + "s", "too long a duration"),
])
def test_refuses_malformed_durations_saying_why(text: str, complaint: str) -> None:
    with pytest.raises(DurationError, match=complaint):
        parse_duration(text)


@given(st.integers(min_value=0, max_value=10**9))
def test_format_and_parse_round_trip(milliseconds: int) -> None:
    delta = timedelta(milliseconds=milliseconds)
    assert parse_duration(format_duration(delta)) == delta


@given(st.text(max_size=20))
def test_never_fails_with_anything_but_a_duration_error(text: str) -> None:
    with contextlib.suppress(DurationError):
        parse_duration(text)


@given(st.integers(min_value=0, max_value=10**30), st.sampled_from(["ms", "s", "m", "h", "d", "w"]))
def test_any_number_with_a_unit_is_a_duration_or_too_long(count: int, unit: str) -> None:
    with contextlib.suppress(DurationError):
        assert parse_duration(f"{count}{unit}") >= timedelta(0)
