"""The pairing scheme: every shadow meets every primary, and the load stays even."""

from __future__ import annotations

from collections import Counter
from math import gcd, lcm

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bot.oncall.pairing import due_positions, first_eligible

sizes = st.integers(1, 8)


@settings(max_examples=100, deadline=None)
@given(sizes, sizes, st.integers(-10_000, 10_000))
def test_g_aligned_blocks_hold_every_pair_exactly_once(p: int, s: int, q: int) -> None:
    block = lcm(p, s)
    pairs = Counter(due_positions(k, p, s) for k in range(q * block, q * block + p * s))
    assert pairs == Counter({(i, j): 1 for i in range(p) for j in range(s)})


@settings(max_examples=100, deadline=None)
@given(sizes, sizes, st.integers(-10_000, 10_000))
def test_any_long_enough_run_holds_every_pair(p: int, s: int, first: int) -> None:
    run = range(first, first + p * s + lcm(p, s) - 1)
    assert {due_positions(k, p, s) for k in run} == {(i, j) for i in range(p) for j in range(s)}


@settings(max_examples=100, deadline=None)
@given(sizes, sizes, st.integers(-10_000, 10_000))
def test_each_lcm_block_spreads_the_load_evenly(p: int, s: int, q: int) -> None:
    block = lcm(p, s)
    due = [due_positions(k, p, s) for k in range(q * block, (q + 1) * block)]
    assert Counter(i for i, _ in due) == Counter({i: block // p for i in range(p)})
    assert Counter(j for _, j in due) == Counter({j: block // s for j in range(s)})


def test_coprime_lists_rotate_plainly_and_shared_factors_slip() -> None:
    assert [due_positions(k, 2, 3) for k in range(6)] == [(0, 0), (1, 1), (0, 2), (1, 0), (0, 1), (1, 2)]
    # 2 and 4 share a factor: without the slip, primary 0 would only ever meet shadows 0 and 2
    assert gcd(2, 4) == 2
    assert [due_positions(k, 2, 4) for k in range(8)] == [
        (0, 0),
        (1, 1),
        (0, 2),
        (1, 3),
        (0, 1),
        (1, 2),
        (0, 3),
        (1, 0),
    ]


def test_empty_lists_have_nobody_due() -> None:
    assert due_positions(5, 0, 3) == (None, 2)
    assert due_positions(5, 2, 0) == (1, None)


@pytest.mark.parametrize(
    ("due", "away", "expected"),
    [(1, set(), "B"), (1, {"B"}, "C"), (2, {"C"}, "A"), (0, {"A", "B", "C"}, None), (None, set(), None)],
)
def test_first_eligible_walks_on_and_wraps(due: int | None, away: set[str], expected: str | None) -> None:
    assert first_eligible(["A", "B", "C"], due, lambda person: person not in away) == expected
