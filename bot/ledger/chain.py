"""The hash chain of the decision ledger: canonical form, row hash, and the walk that checks it.

Pure functions only (no database): `service.py` feeds rows in, `switchman audit verify` reports.

A row's hash is SHA-256 over its canonical form: every column except `hash` itself (so `seq` and
`prev_hash` are covered, which is what chains the rows) as compact JSON with sorted keys, instants
in UTC with microseconds. The evidence column must stay `JSON` (kept as written) rather than
`JSONB`, which would renumber floats such as 1e+20 and break the hashes of existing rows.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any

GENESIS = "0" * 64

# Listed, not read from the table: adding a column must be a deliberate change to the chain format.
HASHED_FIELDS = ("seq", "kind", "release_id", "subject", "actor", "outcome", "evidence", "permalink",
                 "decided_at", "prev_hash")


def format_instant(instant: datetime) -> str:
    """`2026-03-29T00:30:00.000000+00:00`: the same instant always gives the same text."""
    if instant.tzinfo is None:
        raise ValueError("ledger instants must be timezone-aware")
    return instant.astimezone(UTC).isoformat(timespec="microseconds")


def _encode(value: Any) -> Any:
    if isinstance(value, datetime):
        return format_instant(value)
    raise TypeError(f"cannot put a {type(value).__name__} in a ledger row")


def canonical(fields: Mapping[str, Any]) -> bytes:
    """The bytes that are hashed: exactly HASHED_FIELDS (a `hash` key is ignored, others refused)."""
    names = set(fields) - {"hash"}
    if names != set(HASHED_FIELDS):
        missing, extra = set(HASHED_FIELDS) - names, names - set(HASHED_FIELDS)
        raise ValueError(f"not a ledger row: missing {sorted(missing)}, unexpected {sorted(extra)}")
    if not isinstance(fields["decided_at"], datetime):
        raise ValueError("decided_at must be a datetime")
    body = {name: fields[name] for name in HASHED_FIELDS}
    text = json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False,
                      default=_encode)
    return text.encode("utf-8")


def row_hash(fields: Mapping[str, Any]) -> str:
    return hashlib.sha256(canonical(fields)).hexdigest()


def fields_of(row: Any) -> dict[str, Any]:
    """The hashed fields of a `Decision` (or anything with those attributes)."""
    return {name: getattr(row, name) for name in HASHED_FIELDS}


class ProblemKind(StrEnum):
    MISSING_ROWS = "missing rows"
    BAD_SEQ = "bad seq"
    BROKEN_LINK = "broken link"
    HASH_MISMATCH = "hash mismatch"
    UNREADABLE = "unreadable row"


@dataclass(frozen=True)
class ChainProblem:
    seq: int
    kind: ProblemKind
    detail: str

    def __str__(self) -> str:
        return f"seq {self.seq}: {self.kind}: {self.detail}"


@dataclass
class VerifyReport:
    """What a walk over the whole ledger found. `head_*` lets an operator compare the chain's end with
    a copy kept elsewhere: dropping the newest rows leaves a shorter chain that is still intact."""

    checked: int = 0
    problems: list[ChainProblem] = field(default_factory=list)
    head_seq: int | None = None
    head_hash: str | None = None

    @property
    def ok(self) -> bool:
        return not self.problems


def _short(digest: str) -> str:
    return digest[:12] + "…" if len(digest) > 12 else digest


class ChainWalker:
    """Checks rows fed in seq order; each problem is reported once, at the row where it shows."""

    def __init__(self) -> None:
        self.report = VerifyReport()
        self._expected_seq = 1
        self._prev_hash: str | None = GENESIS  # None after a gap: the link cannot be checked

    def feed(self, row: Mapping[str, Any]) -> None:
        seq, stored = row["seq"], row["hash"]
        if not self._position(seq):
            return
        if self._prev_hash is not None and row["prev_hash"] != self._prev_hash:
            previous = "the genesis hash" if seq == 1 else f"the hash of seq {seq - 1} ({_short(self._prev_hash)})"
            self._problem(seq, ProblemKind.BROKEN_LINK,
                          f"prev_hash {_short(row['prev_hash'])} does not match {previous}: "
                          "the previous row was changed and re-hashed, or this link was")
        try:
            recomputed = row_hash(row)
        except (TypeError, ValueError) as exc:
            self._problem(seq, ProblemKind.UNREADABLE, f"cannot be hashed: {exc}")
        else:
            if recomputed != stored:
                self._problem(seq, ProblemKind.HASH_MISMATCH,
                              f"stored hash {_short(stored)} but the contents hash to {_short(recomputed)}: "
                              "the row was edited")
        self._prev_hash = stored
        self.report.head_seq, self.report.head_hash = seq, stored

    def unreadable(self, seq: int, reason: str) -> None:
        """A row the database could not even decode: counted, reported, and the link skipped."""
        if not self._position(seq):
            return
        self._problem(seq, ProblemKind.UNREADABLE, reason)
        self._prev_hash = None
        self.report.head_seq, self.report.head_hash = seq, None

    def _position(self, seq: int) -> bool:
        """Counts the row and checks its place; False for a row that has no place in the chain."""
        self.report.checked += 1
        if seq < self._expected_seq:  # rows come in seq order, so only seq < 1 gets here
            self._problem(seq, ProblemKind.BAD_SEQ, "the chain starts at seq 1")
            return False
        if seq > self._expected_seq:
            gone = str(self._expected_seq) if seq - 1 == self._expected_seq else f"{self._expected_seq}–{seq - 1}"
            self._problem(seq, ProblemKind.MISSING_ROWS, f"seq {gone} missing before this row (deleted?)")
            self._prev_hash = None
        self._expected_seq = seq + 1
        return True

    def _problem(self, seq: int, kind: ProblemKind, detail: str) -> None:
        self.report.problems.append(ChainProblem(seq, kind, detail))
