"""Tables of the release domain: releases, their gate results, environment state and locks."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import JSON, Column, Index, Text, UniqueConstraint, text
from sqlmodel import Field, SQLModel

from bot.storage.types import UTCDateTime


class ReleaseKind(StrEnum):
    DEPLOY = "deploy"
    ROLLBACK = "rollback"
    DRILL = "drill"  # `/rollback drill`: back to the previous verified release and forward again, verified


class ReleaseState(StrEnum):
    REQUESTED = "requested"
    QUEUED = "queued"
    GATING = "gating"
    AWAITING_APPROVAL = "awaiting_approval"
    ROLLING_OUT = "rolling_out"
    VERIFYING = "verifying"
    PAUSED = "paused"
    SUCCEEDED = "succeeded"
    FAILED = "failed"
    BLOCKED = "blocked"
    CANCELLED = "cancelled"
    REJECTED = "rejected"
    ROLLED_BACK = "rolled_back"
    SUPERSEDED = "superseded"  # queued, but its commit already ran there when its turn came

    @property
    def in_flight(self) -> bool:
        return self in IN_FLIGHT


IN_FLIGHT = frozenset({ReleaseState.REQUESTED, ReleaseState.GATING, ReleaseState.AWAITING_APPROVAL,
                       ReleaseState.ROLLING_OUT, ReleaseState.VERIFYING, ReleaseState.PAUSED})


class Verdict(StrEnum):
    PASS = "pass"
    FAIL = "fail"
    WARN = "warn"
    ERROR = "error"
    WAITING = "waiting"  # an approval gate that has not yet got its approvals
    INCONCLUSIVE = "inconclusive"  # a verification check with no data to judge by

    @property
    def blocks(self) -> bool:
        return self in (Verdict.FAIL, Verdict.ERROR)


ACTIVE_STATES_SQL = "state IN ('requested', 'gating', 'awaiting_approval', 'rolling_out', 'verifying', 'paused')"


class Release(SQLModel, table=True):
    __tablename__ = "releases"
    __table_args__ = (
        Index("ix_releases_service_env_state", "service", "environment", "state"),
        UniqueConstraint("request_key", name="uq_releases_request_key"),
        # At most one release in flight per environment, whatever the number of replicas:
        # a second one fails to insert and queues instead.
        Index("uq_releases_one_active", "service", "environment", unique=True,
              sqlite_where=text(ACTIVE_STATES_SQL), postgresql_where=text(ACTIVE_STATES_SQL)),
    )

    id: int | None = Field(default=None, primary_key=True)
    kind: str = Field(default=ReleaseKind.DEPLOY, max_length=16)
    service: str = Field(max_length=64)
    environment: str = Field(max_length=64)
    ref: str = Field(max_length=255)
    sha: str | None = Field(default=None, max_length=64)
    strategy: str = Field(default="rolling", max_length=16)
    state: str = Field(default=ReleaseState.REQUESTED, max_length=32)
    requested_by: str = Field(max_length=32)
    reason: str | None = Field(default=None, max_length=2000)
    # Identifies the Slack request that created the release, so a retried delivery creates nothing new.
    request_key: str | None = Field(default=None, max_length=128)
    rollback_of: int | None = Field(default=None, foreign_key="releases.id")
    channel_id: str | None = Field(default=None, max_length=32)
    message_ts: str | None = Field(default=None, max_length=32)
    provider_run_id: str | None = Field(default=None, max_length=255)
    provider_run_url: str | None = Field(default=None, max_length=2000)
    stage_index: int = 0
    detail: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    created_at: datetime = Field(sa_column=Column(UTCDateTime(), nullable=False))
    updated_at: datetime = Field(sa_column=Column(UTCDateTime(), nullable=False))
    started_at: datetime | None = Field(default=None, sa_column=Column(UTCDateTime()))
    finished_at: datetime | None = Field(default=None, sa_column=Column(UTCDateTime()))
    verified_at: datetime | None = Field(default=None, sa_column=Column(UTCDateTime()))
    detected_at: datetime | None = Field(default=None, sa_column=Column(UTCDateTime()))
    rolled_back_at: datetime | None = Field(default=None, sa_column=Column(UTCDateTime()))
    # Held by the one task stepping the release (`engine.advance`); a lapsed lease means nobody is.
    lease_until: datetime | None = Field(default=None, sa_column=Column(UTCDateTime()))


class GateResult(SQLModel, table=True):
    __tablename__ = "gate_results"
    __table_args__ = (UniqueConstraint("release_id", "gate", "attempt", name="uq_gate_results_release_gate"),)

    id: int | None = Field(default=None, primary_key=True)
    release_id: int = Field(foreign_key="releases.id", index=True)
    gate: str = Field(max_length=64)
    attempt: int = 1
    verdict: str = Field(max_length=8)
    evidence: str = Field(default="", max_length=3000)
    link: str | None = Field(default=None, max_length=2000)
    overridable: bool = False
    started_at: datetime = Field(sa_column=Column(UTCDateTime(), nullable=False))
    finished_at: datetime = Field(sa_column=Column(UTCDateTime(), nullable=False))
    message_ts: str | None = Field(default=None, max_length=32)


class EnvironmentState(SQLModel, table=True):
    """What runs in each configured environment now, and which commit is quarantined there."""

    __tablename__ = "environment_states"

    service: str = Field(primary_key=True, max_length=64)
    environment: str = Field(primary_key=True, max_length=64)
    current_sha: str | None = Field(default=None, max_length=64)
    current_ref: str | None = Field(default=None, max_length=255)
    current_release_id: int | None = Field(default=None, foreign_key="releases.id")
    quarantined_sha: str | None = Field(default=None, max_length=64)
    updated_at: datetime = Field(sa_column=Column(UTCDateTime(), nullable=False))


# A lock counts until released; taking one releases the one it replaces and any that expired, so
# at most one unreleased lock per environment, however many `/deploy lock` arrive at once.
UNRELEASED_LOCK = "released_at IS NULL"


class Lock(SQLModel, table=True):
    __tablename__ = "locks"
    __table_args__ = (Index("ix_locks_service_env", "service", "environment"),
                      Index("uq_locks_one_active", "service", "environment", unique=True,
                            sqlite_where=text(UNRELEASED_LOCK), postgresql_where=text(UNRELEASED_LOCK)))

    id: int | None = Field(default=None, primary_key=True)
    service: str = Field(max_length=64)
    environment: str = Field(max_length=64)
    holder: str = Field(max_length=32)
    reason: str = Field(max_length=2000)
    created_at: datetime = Field(sa_column=Column(UTCDateTime(), nullable=False))
    expires_at: datetime = Field(sa_column=Column(UTCDateTime(), nullable=False))
    released_at: datetime | None = Field(default=None, sa_column=Column(UTCDateTime()))
    released_by: str | None = Field(default=None, max_length=32)


class Approval(SQLModel, table=True):
    """One approval (or rejection) per person per release; a double click cannot count twice."""

    __tablename__ = "approvals"
    __table_args__ = (UniqueConstraint("release_id", "approver", name="uq_approvals_release_approver"),)

    id: int | None = Field(default=None, primary_key=True)
    release_id: int = Field(foreign_key="releases.id", index=True)
    approver: str = Field(max_length=32)
    approved: bool = True
    comment: str | None = Field(default=None, max_length=2000)
    decided_at: datetime = Field(sa_column=Column(UTCDateTime(), nullable=False))


class GateOverride(SQLModel, table=True):
    """A gate let through by a permitted person with a reason: special handling (§4)."""

    __tablename__ = "gate_overrides"
    __table_args__ = (UniqueConstraint("release_id", "gate", name="uq_gate_overrides_release_gate"),)

    id: int | None = Field(default=None, primary_key=True)
    release_id: int = Field(foreign_key="releases.id", index=True)
    gate: str = Field(max_length=64)
    actor: str = Field(max_length=32)
    reason: str = Field(max_length=2000)
    decided_at: datetime = Field(sa_column=Column(UTCDateTime(), nullable=False))


class ReleaseReport(SQLModel, table=True):
    """A post-release report (§8), as data (JSON) and as posted (text), tied to the ledger row that
    carries its SHA-256 (`decision_seq`), so an edit of a stored report is detectable."""

    __tablename__ = "release_reports"

    id: int | None = Field(default=None, primary_key=True)
    release_id: int = Field(foreign_key="releases.id", index=True)
    state: str = Field(max_length=32)  # the release's final state the report describes
    decision_seq: int = Field(unique=True)
    risk: str = Field(max_length=8)
    data: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    text: str = Field(sa_column=Column(Text, nullable=False))
    created_at: datetime = Field(sa_column=Column(UTCDateTime(), nullable=False))
