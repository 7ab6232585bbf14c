"""The closest valid choice for a mistyped word ("did you mean `production`?"), when one is close enough.

A typo (`prodution`, `apj`) is caught by edit distance (a slip per four letters, at least one) or
difflib's similarity ratio; an abbreviation (`prod`) by being the start of exactly one choice.
Far-off or ambiguous words get no suggestion: a wrong guess misleads more than none.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable

CUTOFF = 0.75  # difflib ratio: one or two slips in a word of six letters or more
MIN_PREFIX = 2


def closest(word: str, choices: Iterable[str]) -> str | None:
    """The one choice `word` most likely meant, or None when none is close enough."""
    options = [c for c in dict.fromkeys(choices) if c]
    lowered = word.lower()
    exact = [c for c in options if c.lower() == lowered]
    if exact:
        return exact[0]
    if len(lowered) >= MIN_PREFIX:
        starting = [c for c in options if c.lower().startswith(lowered)]
        if len(starting) == 1:
            return starting[0]
    by_lower = {c.lower(): c for c in options}
    allowed = max(1, len(lowered) // 4)
    distances = {c: edit_distance(lowered, c) for c in by_lower}
    best = min(distances.values(), default=allowed + 1)
    nearest = [c for c, d in distances.items() if d == best]
    if best <= allowed and len(nearest) == 1:
        return by_lower[nearest[0]]
    matches = difflib.get_close_matches(lowered, list(by_lower), n=1, cutoff=CUTOFF)
    return by_lower[matches[0]] if matches else None


def edit_distance(a: str, b: str) -> int:
    """Insertions, deletions, substitutions and swaps of neighbours turning `a` into `b`."""
    if abs(len(a) - len(b)) > 3 or max(len(a), len(b)) > 64:  # too far apart to suggest; spare the work
        return 4 + abs(len(a) - len(b))
    previous2: list[int] = []
    previous = list(range(len(b) + 1))
    for i, ca in enumerate(a, 1):
        current = [i] + [0] * len(b)
        for j, cb in enumerate(b, 1):
            current[j] = min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + (ca != cb))
            if i > 1 and j > 1 and ca == b[j - 2] and a[i - 2] == cb:
                current[j] = min(current[j], previous2[j - 2] + 1)
        previous2, previous = previous, current
    return previous[-1]


def did_you_mean(word: str, choices: Iterable[str], *, prefix: str = "") -> str:
    """` — did you mean `production`?` (with `prefix` before the choice), or "" when nothing is close."""
    match = closest(word, choices)
    return f" — did you mean `{prefix}{match}`?" if match is not None else ""
