"""The decision ledger table. Rows are only ever inserted; each carries the previous row's hash."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import JSON, Column, Integer
from sqlmodel import Field, SQLModel

from bot.storage.types import UTCDateTime


class DecisionKind(StrEnum):
    GATE_VERDICT = "gate_verdict"
    DECISION = "decision"
    APPROVAL = "approval"
    REJECTION = "rejection"
    OVERRIDE = "override"
    LOCK = "lock"
    UNLOCK = "unlock"
    ROLLBACK_TRIGGER = "rollback_trigger"
    OUTCOME = "outcome"
    STAGE_RESULT = "stage_result"  # a stage's pipeline run and its verification
    CANCEL = "cancel"
    GRADUATION = "graduation"
    SWAP = "swap"
    COVER = "cover"
    REPORT = "report"  # a post-release report: its SHA-256, so the stored report cannot change unseen
    PAIR = "pair"  # a member of `trust.with` joined a developer's release as their pair
    TRUST = "trust"  # earned deploy rights: proposed, granted, not yet, revoked
    ESCALATION = "escalation"  # a release waited past `approval_timeout`: the on-call primary is asked
    RISK = "risk"  # a change's risk level, the rules that fired and the controls it brought
    DRILL = "drill"  # a rollback drill was started (`/rollback drill`), or one of its steps was verified


class Decision(SQLModel, table=True):
    __tablename__ = "decisions"

    # seq is the chain order; unique so two writers can never both append after the same row.
    seq: int = Field(sa_column=Column(Integer, primary_key=True, autoincrement=False))
    kind: str = Field(max_length=32)
    release_id: int | None = Field(default=None, index=True)
    # Wide enough for `service/environment@ref` at their limits: 64 + 1 + 64 + 1 + a 255-byte ref.
    subject: str = Field(default="", max_length=512)
    actor: str = Field(max_length=64)
    outcome: str = Field(default="", max_length=64)
    evidence: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    permalink: str | None = Field(default=None, max_length=2000)
    decided_at: datetime = Field(sa_column=Column(UTCDateTime(), nullable=False))
    prev_hash: str = Field(max_length=64)
    hash: str = Field(max_length=64, unique=True)
