"""Medians and 90th percentiles of durations, by linear interpolation between the closest ranks.

The method is the one PostgreSQL's `percentile_cont` and NumPy's default use (Hyndman and Fan's
type 7): for n sorted values x[0..n-1] and a fraction p, take rank h = (n - 1)·p and answer
x[⌊h⌋] + (h - ⌊h⌋)·(x[⌊h⌋+1] - x[⌊h⌋]). One value is its own median and p90; none gives None.
Values are kept as seconds in a compact `array('d')` (8 bytes each), one per release in the window.
"""

from __future__ import annotations

import math
from array import array
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta


def percentile(values: Sequence[float], fraction: float) -> float | None:
    """The `fraction` percentile (0..1) of `values`, interpolated as above; None when there are none."""
    if not 0 <= fraction <= 1:
        raise ValueError("a percentile is a fraction from 0 to 1")
    ordered = sorted(values)
    if not ordered:
        return None
    rank = (len(ordered) - 1) * fraction
    low = math.floor(rank)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (rank - low) * (ordered[high] - ordered[low])


@dataclass(frozen=True)
class Spread:
    """How long something took across releases: how many, the median and the 90th percentile."""

    count: int
    median: timedelta | None
    p90: timedelta | None
    total: timedelta  # the sum, for shares of a whole


class Durations:
    """Collects durations one at a time; `spread()` summarises them."""

    def __init__(self) -> None:
        self.seconds = array("d")

    def add(self, start: datetime | None, end: datetime | None) -> None:
        """Adds end - start; a missing instant adds nothing, and a negative span counts as zero."""
        if start is not None and end is not None:
            self.seconds.append(max((end - start).total_seconds(), 0.0))

    def add_seconds(self, seconds: float) -> None:
        self.seconds.append(max(seconds, 0.0))

    def spread(self) -> Spread:
        median, p90 = percentile(self.seconds, 0.5), percentile(self.seconds, 0.9)
        return Spread(len(self.seconds), _delta(median), _delta(p90), timedelta(seconds=math.fsum(self.seconds)))


def ratio(part: int | float, whole: int | float) -> float | None:
    """part ÷ whole, or None when the whole is empty (there is nothing to take a share of)."""
    return part / whole if whole else None


def _delta(seconds: float | None) -> timedelta | None:
    return None if seconds is None else timedelta(seconds=seconds)
