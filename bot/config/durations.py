"""Durations written as in Prometheus and Argo Rollouts: `30s`, `10m`, `2h`, `1d`, `1h30m`.

A bare number is refused: `600` could mean seconds or minutes, and a deploy gate that
waits 600 minutes instead of 600 seconds is the kind of mistake this refusal exists for.
"""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Annotated, Any

from pydantic import BeforeValidator, PlainSerializer

_UNITS = {"ms": 0.001, "s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}
_ORDER = ["w", "d", "h", "m", "s", "ms"]
_TERM = re.compile(r"(\d+)(ms|s|m|h|d|w)")
# More digits than any duration timedelta can hold (its limit is 86_399_999_999_999 seconds) is refused
# before the arithmetic, which would overflow or, past 4300 digits, make int() raise ValueError.
_MAX_DIGITS = 18
USAGE = "a number with a unit: ms, s, m, h, d or w (for example 30s, 10m, 2h, 1d, 1h30m)"


class DurationError(ValueError):
    pass


def parse_duration(text: str) -> timedelta:
    """Parse `1h30m`-style text; units must appear largest first, each at most once."""
    if not isinstance(text, str):
        raise DurationError(f"expected {USAGE}; got {text!r}")
    raw = text.strip()
    if not raw:
        raise DurationError(f"expected {USAGE}; got an empty value")
    if re.fullmatch(r"\d+(\.\d+)?", raw):
        raise DurationError(f"{raw} has no unit; write it as {raw}s, {raw}m or whichever unit you mean ({USAGE})")
    pos = 0
    seconds = 0.0
    last_rank = -1
    for match in _TERM.finditer(raw):
        if match.start() != pos:
            break
        unit = match.group(2)
        rank = _ORDER.index(unit)
        if rank <= last_rank:
            raise DurationError(f"{raw!r}: units must go from largest to smallest, each once ({USAGE})")
        last_rank = rank
        if len(match.group(1)) > _MAX_DIGITS:
            raise _too_long(raw)
        seconds += int(match.group(1)) * _UNITS[unit]
        pos = match.end()
    if pos != len(raw) or pos == 0:
        raise DurationError(f"{raw!r} is not a duration; expected {USAGE}")
    try:
        return timedelta(seconds=seconds)
    except OverflowError:
        raise _too_long(raw) from None


def _too_long(raw: str) -> DurationError:
    shown = raw if len(raw) <= 40 else raw[:40] + "…"
    return DurationError(f"{shown!r} is too long a duration; the longest is {timedelta.max.days} days")


def format_duration(delta: timedelta) -> str:
    """The shortest `1h30m`-style text for a duration (inverse of parse_duration)."""
    total_ms = round(delta.total_seconds() * 1000)
    if total_ms == 0:
        return "0s"
    parts = []
    for unit in _ORDER:
        size = round(_UNITS[unit] * 1000)
        count, total_ms = divmod(total_ms, size)
        if count:
            parts.append(f"{count}{unit}")
    return "".join(parts)


def _validate(value: Any) -> timedelta:
    if isinstance(value, timedelta):
        return value
    if isinstance(value, bool | int | float):
        raise DurationError(f"{value} has no unit; write it as {value}s, {value}m or whichever unit you mean")
    return parse_duration(value)


Duration = Annotated[timedelta, BeforeValidator(_validate), PlainSerializer(format_duration, return_type=str)]


def format_days(delta: timedelta) -> str:
    """A window of whole days as days (`30 days`, not `4w2d`); anything else as `format_duration` writes it."""
    days, rest = divmod(delta, timedelta(days=1))
    return f"{days} day{'s' if days != 1 else ''}" if days and not rest else format_duration(delta)
