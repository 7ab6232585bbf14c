"""What the web release log reads: filtered release lists a page at a time, one release with its ledger
decisions and their chain check, recorded `audit verify` runs, page views, and on-call pages.

Every list is read newest first by keyset (`id < before`, `LIMIT n + 1`), so page 1,000 costs what
page 1 does; the (column, id) indexes of migration 0021 serve each filter in id order.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from sqlalchemy import ColumnElement, Select, Table, and_, func, or_, select
from sqlmodel.ext.asyncio.session import AsyncSession

from bot.ledger.chain import GENESIS, VerifyReport, row_hash
from bot.ledger.models import Decision, DecisionKind
from bot.release.models import GateOverride, Release, ReleaseReport, ReleaseState
from bot.release.report_post import digest
from bot.web.log_models import AuditRun, WebLogView

RELEASES: Table = Release.__table__  # type: ignore[attr-defined]
DECISIONS: Table = Decision.__table__  # type: ignore[attr-defined]
AUDIT_RUNS: Table = AuditRun.__table__  # type: ignore[attr-defined]
OUTCOMES = tuple(state.value for state in ReleaseState)
MAX_TEXT = 128


class BadFilter(ValueError):
    """A query parameter that cannot be honoured: shown to the viewer with the accepted forms."""


@dataclass(frozen=True)
class ReleaseFilter:
    service: str | None = None
    environment: str | None = None
    outcome: str | None = None
    person: str | None = None
    since: date | None = None  # created on or after this UTC day
    until: date | None = None  # created on or before this UTC day

    @classmethod
    def parse(cls, query: Mapping[str, str]) -> ReleaseFilter:
        def text(name: str) -> str | None:
            value = (query.get(name) or "").strip()
            if len(value) > MAX_TEXT:
                raise BadFilter(f"{name} is longer than {MAX_TEXT} characters")
            return value or None

        def day(name: str) -> date | None:
            value = text(name)
            try:
                return date.fromisoformat(value) if value else None
            except ValueError:
                raise BadFilter(f"{name} {value!r} is not a date: use YYYY-MM-DD, e.g. 2026-11-30") from None

        found = cls(text("service"), text("environment"), text("outcome"), text("person"), day("since"), day("until"))
        if found.outcome is not None and found.outcome not in OUTCOMES:
            raise BadFilter(f"outcome {found.outcome!r} is not one of: {', '.join(OUTCOMES)}")
        if found.since and found.until and found.since > found.until:
            raise BadFilter(f"since ({found.since}) is after until ({found.until})")
        return found

    def params(self) -> dict[str, str]:
        """The filter as query parameters (for links that keep it)."""
        values = {"service": self.service, "environment": self.environment, "outcome": self.outcome,
                  "person": self.person, "since": self.since and self.since.isoformat(),
                  "until": self.until and self.until.isoformat()}
        return {k: v for k, v in values.items() if v}

    def where(self) -> list[ColumnElement[bool]]:
        c = RELEASES.c
        clauses: list[ColumnElement[bool]] = []
        if self.service:
            clauses.append(c.service == self.service)
        if self.environment:
            clauses.append(c.environment == self.environment)
        if self.outcome:
            clauses.append(c.state == self.outcome)
        if self.person:
            decided = select(DECISIONS.c.release_id).where(DECISIONS.c.actor == self.person,
                                                           DECISIONS.c.release_id.is_not(None))
            clauses.append(or_(c.requested_by == self.person, c.id.in_(decided)))
        if self.since or self.until:
            clauses += self._created_between()
        return clauses

    def _created_between(self) -> list[ColumnElement[bool]]:
        """The date range as an id range plus the exact test. The first and last id created in the range
        (read from the created_at index) bound the rows, so the newest-first page is read in id order and
        stops after one page, instead of sorting every release of a year-long range. The exact test is
        wrapped (`coalesce`) so the planner does not pick the created_at index for it and sort anyway."""
        c = RELEASES.c
        created = func.coalesce(c.created_at, c.created_at)
        inside: list[ColumnElement[bool]] = []
        if self.since:
            inside.append(c.created_at >= datetime.combine(self.since, time(), UTC))
        if self.until:
            inside.append(c.created_at < datetime.combine(self.until + timedelta(days=1), time(), UTC))
        first = select(func.min(c.id)).where(*inside).scalar_subquery()
        last = select(func.max(c.id)).where(*inside).scalar_subquery()
        exact = [created >= datetime.combine(self.since, time(), UTC)] if self.since else []
        if self.until:
            exact.append(created < datetime.combine(self.until + timedelta(days=1), time(), UTC))
        return [c.id >= first, c.id <= last, *exact]


def releases_query(found: ReleaseFilter) -> Select[Any]:
    """Every matching release in id order: what the CSV and JSON links stream."""
    return select(RELEASES).where(and_(True, *found.where())).order_by(RELEASES.c.id)


@dataclass(frozen=True)
class ReleasePage:
    rows: list[dict[str, Any]]
    next_before: int | None  # the cursor of the next (older) page; None on the last one


async def release_page(session: AsyncSession, found: ReleaseFilter, *, before: int | None, size: int) -> ReleasePage:
    c = RELEASES.c
    query = select(c.id, c.kind, c.service, c.environment, c.ref, c.state, c.requested_by, c.created_at,
                   c.finished_at).where(and_(True, *found.where()))
    if before is not None:
        query = query.where(c.id < before)
    rows = [dict(r) for r in (await (await session.connection()).execute(
        query.order_by(c.id.desc()).limit(size + 1))).mappings()]
    more = len(rows) > size
    rows = rows[:size]
    return ReleasePage(rows, rows[-1]["id"] if more and rows else None)


@dataclass
class ChainCheck:
    """Whether this release's ledger rows are intact: each hashes to its stored hash and links to its
    neighbours. The whole chain is walked by `switchman audit verify` (its last run is shown beside)."""

    checked: int = 0
    problems: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems


@dataclass
class ReleaseView:
    release: dict[str, Any]
    decisions: list[dict[str, Any]]
    chain: ChainCheck
    report: dict[str, Any] | None
    overrides: list[dict[str, Any]]
    last_audit: AuditRun | None


async def _rows_at(session: AsyncSession, seqs: set[int]) -> tuple[dict[int, dict[str, Any]], dict[int, str]]:
    """The decision rows at these seqs, each read alone if the batch cannot be decoded (a tampered value);
    the second part names the rows that could not be decoded at all."""
    connection = await session.connection()
    query = select(DECISIONS).where(DECISIONS.c.seq.in_(sorted(seqs)))
    try:
        return {r["seq"]: dict(r) for r in (await connection.execute(query)).mappings()}, {}
    except ValueError:
        found: dict[int, dict[str, Any]] = {}
        unreadable: dict[int, str] = {}
        for seq in sorted(seqs):
            try:
                row = (await connection.execute(select(DECISIONS).where(DECISIONS.c.seq == seq))).mappings().first()
            except ValueError:
                unreadable[seq] = f"seq {seq}: the row cannot be decoded (edited outside Switchman)"
                found[seq] = {"seq": seq, "unreadable": True, "kind": "unreadable", "evidence": {}}
                continue
            if row is not None:
                found[seq] = dict(row)
        return found, unreadable


def check_rows(own: list[int], rows: Mapping[int, Mapping[str, Any]]) -> ChainCheck:
    """Checks each of `own` against its stored hash and its neighbours (seq - 1 and seq + 1) in `rows`."""
    check = ChainCheck()
    for seq in own:
        row = rows.get(seq)
        if row is None or row.get("unreadable"):
            continue
        check.checked += 1
        try:
            if row_hash(row) != row["hash"]:
                check.problems.append(f"seq {seq}: its contents no longer match its hash (the row was edited)")
        except (TypeError, ValueError) as exc:
            check.problems.append(f"seq {seq}: cannot be hashed ({exc})")
        previous = rows.get(seq - 1)
        expected = GENESIS if seq == 1 else (previous or {}).get("hash")
        if seq > 1 and previous is None:
            check.problems.append(f"seq {seq}: the row before it (seq {seq - 1}) is missing (deleted?)")
        elif row["prev_hash"] != expected:
            check.problems.append(f"seq {seq}: it does not link to the row before it (that row was changed)")
        following = rows.get(seq + 1)
        if following is not None and not following.get("unreadable") and following["prev_hash"] != row["hash"]:
            check.problems.append(f"seq {seq}: the row after it does not link back to it (this row was re-hashed)")
    return check


async def release_view(session: AsyncSession, release_id: int) -> ReleaseView | None:
    connection = await session.connection()
    release = (await connection.execute(select(RELEASES).where(RELEASES.c.id == release_id))).mappings().first()
    if release is None:
        return None
    own = list((await connection.execute(select(DECISIONS.c.seq).where(DECISIONS.c.release_id == release_id)
                                          .order_by(DECISIONS.c.seq))).scalars())
    rows, unreadable = await _rows_at(session, {n for s in own for n in (s - 1, s, s + 1) if n >= 1})
    chain = check_rows(own, rows)
    chain.problems[:0] = [problem for seq, problem in unreadable.items() if seq in own]
    report_table: Table = ReleaseReport.__table__  # type: ignore[attr-defined]
    report_row = (await connection.execute(select(report_table).where(report_table.c.release_id == release_id)
                                           .order_by(report_table.c.id.desc()).limit(1))).mappings().first()
    report = dict(report_row) if report_row is not None else None
    if report is not None:
        anchor = rows.get(report["decision_seq"]) or {}
        if (anchor.get("evidence") or {}).get("report_sha256") != digest(report["data"]):
            chain.problems.append(f"the stored report does not match the SHA-256 recorded at seq "
                                  f"{report['decision_seq']} (the report was edited)")
    override_table: Table = GateOverride.__table__  # type: ignore[attr-defined]
    overrides = [dict(r) for r in (await connection.execute(
        select(override_table).where(override_table.c.release_id == release_id)
        .order_by(override_table.c.id))).mappings()]
    decisions = [rows[s] for s in own if s in rows]
    return ReleaseView(dict(release), decisions, chain, report, overrides, await last_audit(session))


async def last_audit(session: AsyncSession) -> AuditRun | None:
    table: Table = AuditRun.__table__  # type: ignore[attr-defined]
    row = (await (await session.connection()).execute(
        select(table).order_by(table.c.id.desc()).limit(1))).mappings().first()
    return AuditRun(**row) if row is not None else None


async def audit_runs(session: AsyncSession, *, limit: int) -> list[AuditRun]:
    table: Table = AuditRun.__table__  # type: ignore[attr-defined]
    rows = (await (await session.connection()).execute(
        select(table).order_by(table.c.id.desc()).limit(limit))).mappings()
    return [AuditRun(**r) for r in rows]


def audit_run(report: VerifyReport, *, at: datetime) -> AuditRun:
    first = min(report.problems, key=lambda p: p.seq) if report.problems else None
    return AuditRun(ran_at=at, ok=report.ok, checked=report.checked, problems=len(report.problems),
                    first_problem=str(first)[:2000] if first else None, head_seq=report.head_seq,
                    head_hash=report.head_hash)


def view_row(*, viewer: str, via: str, path: str, status: int, remote: str | None, at: datetime) -> WebLogView:
    return WebLogView(viewer=viewer[:254], via=via, path=path[:2000], status=status, remote=(remote or "")[:64] or None,
                      viewed_at=at)


DECISION_LABELS = {
    DecisionKind.GATE_VERDICT: "Gate verdict", DecisionKind.DECISION: "Decision", DecisionKind.APPROVAL: "Approval",
    DecisionKind.REJECTION: "Rejection", DecisionKind.OVERRIDE: "Override (special handling)",
    DecisionKind.LOCK: "Lock", DecisionKind.UNLOCK: "Unlock", DecisionKind.ROLLBACK_TRIGGER: "Rollback triggered",
    DecisionKind.OUTCOME: "Outcome", DecisionKind.STAGE_RESULT: "Stage / verification", DecisionKind.CANCEL: "Cancel",
    DecisionKind.REPORT: "Post-release report",
}
