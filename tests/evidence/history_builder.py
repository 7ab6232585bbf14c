"""Writing a release history straight into a migrated database, for metrics tests with known answers.

Releases, approvals and overrides are plain rows; ledger rows go through `ledger.record`, so the
hash chain stays valid (each test checks it with `audit verify`'s walk).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

from bot.ledger import service as ledger
from bot.ledger.models import DecisionKind
from bot.release.models import Approval, GateOverride, Release, ReleaseKind
from bot.storage.database import Database


def at(day: int, clock: str, month: int = 12) -> datetime:
    """An instant in 2026 (December unless told), e.g. at(1, "10:42")."""
    hour, minute = (int(part) for part in clock.split(":"))
    return datetime(2026, month, day, hour, minute, tzinfo=UTC)


@dataclass
class History:
    db: Database

    async def release(self, *, by: str, created: datetime, finished: datetime, state: str,
                      started: datetime | None = None, verified: datetime | None = None,
                      detected: datetime | None = None, rolled_back: datetime | None = None,
                      kind: ReleaseKind = ReleaseKind.DEPLOY, rollback_of: int | None = None,
                      service: str = "api", environment: str = "production",
                      first_commit: str | None = None) -> int:
        """`first_commit`: the change's earliest commit time (ISO 8601) as the preview stores it."""
        detail = {"change": {"commits": 1, "first_commit_at": first_commit}} if first_commit else {}
        async with self.db.session() as session:
            row = Release(kind=kind, service=service, environment=environment, ref="v1", sha="a" * 40,
                          state=state, requested_by=by, rollback_of=rollback_of, created_at=created,
                          updated_at=finished, started_at=started, finished_at=finished, verified_at=verified,
                          detected_at=detected, rolled_back_at=rolled_back, detail=detail)
            session.add(row)
            await session.flush()
            assert row.id is not None
            return row.id

    async def decide(self, release_id: int, kind: DecisionKind, outcome: str, when: datetime, *,
                     actor: str = "switchman") -> None:
        async with self.db.session() as session:
            await ledger.record(session, kind=kind, actor=actor, decided_at=when, outcome=outcome,
                                release_id=release_id, subject="api/production@v1")

    async def decisions(self, release_id: int, *steps: tuple[str, datetime]) -> None:
        """Release decisions (GO, WAITING, NO-GO) in the order given."""
        for outcome, when in steps:
            await self.decide(release_id, DecisionKind.DECISION, outcome, when)

    async def approve(self, release_id: int, who: str, when: datetime, *, approved: bool = True) -> None:
        async with self.db.session() as session:
            session.add(Approval(release_id=release_id, approver=who, approved=approved, decided_at=when))
        await self.decide(release_id, DecisionKind.APPROVAL if approved else DecisionKind.REJECTION,
                          "approved" if approved else "rejected", when, actor=who)

    async def override(self, release_id: int, who: str, gate: str, when: datetime) -> None:
        async with self.db.session() as session:
            session.add(GateOverride(release_id=release_id, gate=gate, actor=who, reason="hotfix", decided_at=when))
        await self.decide(release_id, DecisionKind.OVERRIDE, "overridden", when, actor=who)

    async def rollback(self, bad: int, *, by: str, when: datetime, done: datetime) -> int:
        """A rollback of `bad` triggered at `when` that went out at once and was verified at `done`."""
        await self.decide(bad, DecisionKind.ROLLBACK_TRIGGER, "rollback", when, actor=by)
        rollback = await self.release(by=by, created=when, started=when, finished=done, verified=done,
                                      state="succeeded", kind=ReleaseKind.ROLLBACK, rollback_of=bad)
        await self.decisions(rollback, ("GO", when))
        return rollback
