"""The chain's canonical form and hash, and the walk that checks a sequence of rows."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bot.ledger.chain import (
    GENESIS,
    HASHED_FIELDS,
    ChainProblem,
    ChainWalker,
    ProblemKind,
    canonical,
    row_hash,
)
from bot.ledger.models import Decision

NOW = datetime(2026, 3, 29, 0, 30, tzinfo=UTC)
json_scalars = st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False, allow_infinity=False) | st.text()
json_values = st.recursive(json_scalars, lambda inner: st.lists(inner, max_size=3)
                           | st.dictionaries(st.text(max_size=8), inner, max_size=3), max_leaves=8)
instants = st.datetimes(min_value=datetime(2000, 1, 1), max_value=datetime(2100, 1, 1), timezones=st.just(UTC))
offsets = st.integers(min_value=-14 * 60, max_value=14 * 60).map(lambda m: timezone(timedelta(minutes=m)))
hashes = st.text("0123456789abcdef", min_size=64, max_size=64)
rows = st.fixed_dictionaries({
    "seq": st.integers(min_value=1, max_value=2**31), "kind": st.text(max_size=32),
    "release_id": st.none() | st.integers(min_value=1), "subject": st.text(), "actor": st.text(min_size=1),
    "outcome": st.text(), "evidence": st.dictionaries(st.text(max_size=8), json_values, max_size=4),
    "permalink": st.none() | st.text(), "decided_at": instants, "prev_hash": hashes,
})


def _different(value: Any) -> Any:
    """A value of the same column that is certainly not equal to `value`."""
    if isinstance(value, bool) or value is None:
        return "x"
    if isinstance(value, int):
        return value + 1
    if isinstance(value, datetime):
        return value + timedelta(microseconds=1)
    if isinstance(value, dict):
        return {**value, "\x00added": True}
    return value + "x"


def test_every_column_but_hash_is_hashed() -> None:
    columns = {c.name for c in Decision.__table__.columns}  # type: ignore[attr-defined]
    assert set(HASHED_FIELDS) == columns - {"hash"}


@given(rows, st.sampled_from(HASHED_FIELDS))
def test_changing_any_field_changes_the_hash(row: dict[str, Any], name: str) -> None:
    assert row_hash({**row, name: _different(row[name])}) != row_hash(row)


@given(rows, st.randoms(use_true_random=False))
def test_canonical_form_ignores_dict_order(row: dict[str, Any], rnd: random.Random) -> None:
    names = list(row)
    rnd.shuffle(names)
    evidence = list(row["evidence"].items())
    rnd.shuffle(evidence)
    shuffled = {name: row[name] for name in names} | {"evidence": dict(evidence)}
    assert canonical(shuffled) == canonical(row)


@given(rows, offsets)
def test_canonical_form_ignores_the_offset_an_instant_was_written_in(row: dict[str, Any], offset: timezone) -> None:
    elsewhere = {**row, "decided_at": row["decided_at"].astimezone(offset)}
    assert canonical(elsewhere) == canonical(row)


def test_canonical_form_is_compact_sorted_json_with_utc_microseconds() -> None:
    row = {"seq": 1, "kind": "approval", "release_id": None, "subject": "api", "actor": "U0CAROL", "outcome": "",
           "evidence": {"b": 1, "a": [1, 2]}, "permalink": None, "prev_hash": GENESIS,
           "decided_at": datetime(2026, 3, 29, 2, 30, tzinfo=timezone(timedelta(hours=2)))}
    assert canonical(row).decode() == (
        '{"actor":"U0CAROL","decided_at":"2026-03-29T00:30:00.000000+00:00","evidence":{"a":[1,2],"b":1},'
        '"kind":"approval","outcome":"","permalink":null,"prev_hash":"' + GENESIS + '","release_id":null,'
        '"seq":1,"subject":"api"}')
    assert row_hash(row) == row_hash({**row, "hash": "ignored"})


@pytest.mark.parametrize("broken", [
    {"decided_at": datetime(2026, 1, 1)},  # naive: which instant is it?
    {"extra": 1},
    {"evidence": {"x": float("nan")}},
])
def test_rows_that_cannot_be_hashed_honestly_are_refused(broken: dict[str, Any]) -> None:
    row = {name: "" for name in HASHED_FIELDS} | {"decided_at": NOW}
    with pytest.raises(ValueError):
        canonical(row | broken)


def _chain(n: int) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    for seq in range(1, n + 1):
        fields = {"seq": seq, "kind": "approval", "release_id": 7, "subject": "api", "actor": "U0CAROL",
                  "outcome": "approved", "evidence": {"n": seq}, "permalink": None,
                  "decided_at": NOW + timedelta(minutes=seq), "prev_hash": out[-1]["hash"] if out else GENESIS}
        out.append(fields | {"hash": row_hash(fields)})
    return out


def _walk(rows: list[dict[str, Any]]) -> list[ChainProblem]:
    walker = ChainWalker()
    for row in rows:
        walker.feed(row)
    assert walker.report.checked == len(rows)
    return walker.report.problems


def test_an_intact_chain_has_no_problems_and_reports_its_head() -> None:
    chain = _chain(4)
    walker = ChainWalker()
    for row in chain:
        walker.feed(row)
    assert walker.report.ok
    assert (walker.report.head_seq, walker.report.head_hash) == (4, chain[-1]["hash"])


def test_each_kind_of_tampering_is_named_once_at_its_row() -> None:
    edited = _chain(4)
    edited[1]["outcome"] = "rejected"
    assert [(p.seq, p.kind) for p in _walk(edited)] == [(2, ProblemKind.HASH_MISMATCH)]

    deleted = _chain(4)
    del deleted[1]
    assert [(p.seq, p.kind) for p in _walk(deleted)] == [(3, ProblemKind.MISSING_ROWS)]

    first_gone = _chain(3)[2:]
    assert [(p.seq, p.kind, p.detail[:14]) for p in _walk(first_gone)] == [(3, ProblemKind.MISSING_ROWS,
                                                                            "seq 1–2 missin")]
    rehashed = _chain(4)
    rehashed[1]["outcome"] = "rejected"
    rehashed[1]["hash"] = row_hash(rehashed[1])
    [problem] = _walk(rehashed)
    assert (problem.seq, problem.kind) == (3, ProblemKind.BROKEN_LINK)
    assert "the hash of seq 2" in problem.detail


def test_a_row_before_the_start_is_reported_without_breaking_the_rest() -> None:
    stray = _chain(1)[0] | {"seq": 0}
    assert [(p.seq, p.kind) for p in _walk([stray, *_chain(3)])] == [(0, ProblemKind.BAD_SEQ)]
