"""The post-release report's data (§8): plain values a renderer turns into Block Kit and the store
into JSON. `report.py` fills it from the database; `report_followups.py` reads it.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from datetime import datetime
from typing import Any


@dataclass(frozen=True)
class Scope:
    commits: int | None  # None: no change preview was stored
    files: int | None
    migrations: list[str]
    first_commit_at: datetime | None
    previous_release_id: int | None  # the environment's last successful release before this one
    since_previous_seconds: float | None
    risk: str
    risk_reasons: list[str]


@dataclass(frozen=True)
class GateLine:
    gate: str
    verdict: str
    evidence: str
    link: str | None
    overridden_by: str | None = None
    override_reason: str | None = None


@dataclass(frozen=True)
class Vote:
    approver: str
    approved: bool
    comment: str | None
    at: datetime


@dataclass(frozen=True)
class Check:
    name: str
    verdict: str
    evidence: str


@dataclass(frozen=True)
class Stage:
    label: str
    percent: int
    dispatched_at: datetime | None
    run: str | None
    result: str | None  # the pipeline run's end state
    result_at: datetime | None
    verification: str | None  # passed / failed / inconclusive; None when not verified
    verified_at: datetime | None
    bake_seconds: float | None  # run result → verification
    promoted_by: str | None = None  # a person carried on past a paused verification
    checks: list[Check] = field(default_factory=list)


@dataclass(frozen=True)
class RollbackStatus:
    rolled_back: bool  # this release was undone by a rollback that succeeded
    rollback_release_id: int | None  # the rollback of this release (or, for a rollback, what it undid)
    rollback_state: str | None
    triggered_by: str | None
    automatic: bool
    reason: str | None
    at: datetime | None


@dataclass(frozen=True)
class Report:
    release_id: int
    kind: str
    service: str
    environment: str
    ref: str
    sha: str | None
    state: str
    outcome: str  # the outcome's summary as recorded
    requested_by: str
    requested_at: datetime
    finished_at: datetime | None
    scope: Scope
    gates: list[GateLine]
    decided: str | None  # the last gate decision: GO, NO-GO or WAITING
    decided_by: str | None
    approvals: list[Vote]
    strategy: str
    stages: list[Stage]
    rollback: RollbackStatus
    follow_ups: list[str]

    def as_json(self) -> dict[str, Any]:
        return _plain(asdict(self))


def _plain(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_plain(v) for v in value]
    return value.isoformat() if isinstance(value, datetime) else value
