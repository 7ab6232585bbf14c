"""Tables of the on-call schedule: overrides, absences, swap/cover requests, handoff runs, graduation proposals.

The configured rotation stays the source of who is due; these rows are what people changed
through `/oncall` (overrides, absences), what is waiting for an answer (requests), and what
Switchman already did (handoff runs, graduation proposals), so it never does it twice.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from sqlalchemy import Column, Index, UniqueConstraint
from sqlmodel import Field, SQLModel

from bot.storage.types import UTCDateTime


class RequestKind(StrEnum):
    SWAP = "swap"
    COVER = "cover"


class RequestStatus(StrEnum):
    OPEN = "open"
    TAKEN = "taken"
    APPROVED = "approved"
    DECLINED = "declined"


class ScheduleOverride(SQLModel, table=True):
    """`person` holds `role` in `rotation` for [start, end), whoever the rotation had there."""

    __tablename__ = "oncall_overrides"
    __table_args__ = (Index("ix_oncall_overrides_rotation_end", "rotation", "end"),)

    id: int | None = Field(default=None, primary_key=True)
    rotation: str = Field(max_length=64)
    role: str = Field(max_length=16)
    person: str = Field(max_length=32)
    start: datetime = Field(sa_column=Column(UTCDateTime(), nullable=False))
    end: datetime = Field(sa_column=Column(UTCDateTime(), nullable=False))
    reason: str = Field(default="", max_length=255)
    created_by: str = Field(max_length=32)
    request_id: int | None = Field(default=None, foreign_key="oncall_requests.id")
    created_at: datetime = Field(sa_column=Column(UTCDateTime(), nullable=False))


class AbsenceRecord(SQLModel, table=True):
    """`person` holds no role in any rotation during a shift overlapping [start, end)."""

    __tablename__ = "oncall_absences"
    __table_args__ = (Index("ix_oncall_absences_person_end", "person", "end"),)

    id: int | None = Field(default=None, primary_key=True)
    person: str = Field(max_length=32)
    start: datetime = Field(sa_column=Column(UTCDateTime(), nullable=False))
    end: datetime = Field(sa_column=Column(UTCDateTime(), nullable=False))
    created_at: datetime = Field(sa_column=Column(UTCDateTime(), nullable=False))


class SwapRequest(SQLModel, table=True):
    """A swap (trade two shifts) or cover (take mine) request, posted with Take / Approve buttons.

    A swap: `target` takes [start, end) and the requester takes [swap_start, swap_end) in return.
    A cover: the taker holds the requester's `role` wherever the requester holds it in [start, end).
    """

    __tablename__ = "oncall_requests"

    id: int | None = Field(default=None, primary_key=True)
    kind: str = Field(max_length=8)
    rotation: str = Field(max_length=64, index=True)
    requester: str = Field(max_length=32)
    role: str = Field(max_length=16)
    start: datetime = Field(sa_column=Column(UTCDateTime(), nullable=False))
    end: datetime = Field(sa_column=Column(UTCDateTime(), nullable=False))
    swap_start: datetime | None = Field(default=None, sa_column=Column(UTCDateTime()))
    swap_end: datetime | None = Field(default=None, sa_column=Column(UTCDateTime()))
    target: str | None = Field(default=None, max_length=32)
    status: str = Field(default=RequestStatus.OPEN, max_length=16)
    taker: str | None = Field(default=None, max_length=32)
    approver: str | None = Field(default=None, max_length=32)
    channel_id: str | None = Field(default=None, max_length=32)
    message_ts: str | None = Field(default=None, max_length=32)
    created_at: datetime = Field(sa_column=Column(UTCDateTime(), nullable=False))
    decided_at: datetime | None = Field(default=None, sa_column=Column(UTCDateTime()))


class HandoffRun(SQLModel, table=True):
    """One handoff of a rotation, keyed by the instant the incoming pair took over.

    The unique key makes a handoff happen once however often its job fires: a run is claimed by
    a compare-and-set on `claimed_at` and finished by setting `completed_at`; a claim left by a
    crashed process may be taken over once its lease has run out. `reminded_at` does the same
    for the reminder before the shift. `channel_id` / `message_ts` say where the handoff's post
    landed, once the outbox has posted it.
    """

    __tablename__ = "oncall_handoff_runs"
    __table_args__ = (UniqueConstraint("rotation", "shift_start", name="uq_oncall_handoff_runs_rotation_start"),)

    id: int | None = Field(default=None, primary_key=True)
    rotation: str = Field(max_length=64)
    shift_start: datetime = Field(sa_column=Column(UTCDateTime(), nullable=False))
    shift_end: datetime | None = Field(default=None, sa_column=Column(UTCDateTime()))
    slot_index: int | None = None
    primary: str | None = Field(default=None, max_length=32)
    shadow: str | None = Field(default=None, max_length=32)
    claim_token: str | None = Field(default=None, max_length=32)
    claimed_at: datetime | None = Field(default=None, sa_column=Column(UTCDateTime()))
    completed_at: datetime | None = Field(default=None, sa_column=Column(UTCDateTime()))
    reminded_at: datetime | None = Field(default=None, sa_column=Column(UTCDateTime()))
    channel_id: str | None = Field(default=None, max_length=32)
    message_ts: str | None = Field(default=None, max_length=32)


class GraduationProposal(SQLModel, table=True):
    """The proposal to promote a shadow to primary in a rotation; at most one per developer."""

    __tablename__ = "oncall_graduation_proposals"
    __table_args__ = (UniqueConstraint("rotation", "developer", name="uq_oncall_graduation_rotation_developer"),)

    id: int | None = Field(default=None, primary_key=True)
    rotation: str = Field(max_length=64)
    developer: str = Field(max_length=32)
    reverse_shadow: str | None = Field(default=None, max_length=32)
    shadow_shifts: int
    pages_seen: int
    proposed_at: datetime = Field(sa_column=Column(UTCDateTime(), nullable=False))
    channel_id: str | None = Field(default=None, max_length=32)
    message_ts: str | None = Field(default=None, max_length=32)
