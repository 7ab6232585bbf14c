"""Tables of the on-call domain: rotations as configured, generated shifts, and pages."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import JSON, Column, Index, UniqueConstraint, text
from sqlmodel import Field, SQLModel

from bot.storage.types import UTCDateTime


class PageStatus(StrEnum):
    TRIGGERED = "triggered"
    ACKNOWLEDGED = "acknowledged"
    RESOLVED = "resolved"


class RotationRecord(SQLModel, table=True):
    __tablename__ = "rotations"

    name: str = Field(primary_key=True, max_length=64)
    timezone: str = Field(max_length=64)
    config_digest: str = Field(max_length=64)
    calendar_secret: str = Field(max_length=64)
    # Learnt from Slack's answer to the first post there, so `/oncall` can tell a rotation's channel.
    channel_id: str | None = Field(default=None, max_length=32)
    updated_at: datetime = Field(sa_column=Column(UTCDateTime(), nullable=False))


class ShiftRecord(SQLModel, table=True):
    __tablename__ = "shifts"
    __table_args__ = (UniqueConstraint("rotation", "start", name="uq_shifts_rotation_start"),)

    id: int | None = Field(default=None, primary_key=True)
    rotation: str = Field(foreign_key="rotations.name", max_length=64)
    start: datetime = Field(sa_column=Column(UTCDateTime(), nullable=False))
    end: datetime = Field(sa_column=Column(UTCDateTime(), nullable=False))
    primary: str | None = Field(default=None, max_length=32)
    shadow: str | None = Field(default=None, max_length=32)
    dst_change: bool = False
    handed_off_at: datetime | None = Field(default=None, sa_column=Column(UTCDateTime()))


# A page counts as open until resolved; at most one open page per (rotation, dedup key), so a
# duplicate webhook delivered twice at once still opens one page.
OPEN_PAGE = "status != 'resolved'"


class Page(SQLModel, table=True):
    __tablename__ = "pages"
    __table_args__ = (Index("ix_pages_rotation_dedup", "rotation", "dedup_key"),
                      Index("uq_pages_one_open", "rotation", "dedup_key", unique=True,
                            sqlite_where=text(OPEN_PAGE), postgresql_where=text(OPEN_PAGE)))

    id: int | None = Field(default=None, primary_key=True)
    rotation: str = Field(max_length=64)
    source: str = Field(max_length=32)
    dedup_key: str = Field(max_length=255)
    title: str = Field(max_length=1000)
    details: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    status: str = Field(default=PageStatus.TRIGGERED, max_length=16)
    service: str | None = Field(default=None, max_length=64)
    primary: str | None = Field(default=None, max_length=32)
    shadow: str | None = Field(default=None, max_length=32)
    escalation_level: int = 0
    created_at: datetime = Field(sa_column=Column(UTCDateTime(), nullable=False))
    acked_by: str | None = Field(default=None, max_length=32)
    acked_at: datetime | None = Field(default=None, sa_column=Column(UTCDateTime()))
    seen_by: str | None = Field(default=None, max_length=32)
    seen_at: datetime | None = Field(default=None, sa_column=Column(UTCDateTime()))
    resolved_at: datetime | None = Field(default=None, sa_column=Column(UTCDateTime()))
    next_escalation_at: datetime | None = Field(default=None, sa_column=Column(UTCDateTime()))
    # Who raised it from Slack (`/oncall page`); None for webhooks.
    opened_by: str | None = Field(default=None, max_length=32)
    # Escalation targets paged so far, in level order; they may ack like the primary.
    escalated_to: list[str] = Field(default_factory=list,
                                    sa_column=Column(JSON, nullable=False, server_default=text("'[]'")))
    resolved_by: str | None = Field(default=None, max_length=64)
    # Why the shadow was not DMed (outside their business hours), for the record and the message.
    shadow_note: str | None = Field(default=None, max_length=255)
    # Set when the first round of DMs and the channel post is queued in the outbox; unset, a restart queues it.
    notified_at: datetime | None = Field(default=None, sa_column=Column(UTCDateTime()))


class ContactStatus(StrEnum):
    SCHEDULED = "scheduled"  # due at `due_at`; a job sends it unless the page is acked first
    SENDING = "sending"  # claimed by a job; a restart finds it and sends it again (a page may not be lost)
    SENT = "sent"
    FAILED = "failed"
    CANCELLED = "cancelled"  # the page was acknowledged or resolved before it was due


class PageContact(SQLModel, table=True):
    """One notification rule carried out for one person on one page: an SMS, a call or an email.

    Rows are written with the event that pages the person (the page's first round, an escalation),
    so they survive restarts; (page, person, method, delay) is unique, so planning twice sends once.
    `destination` keeps only what may be shown: a phone number's last four digits, an email address.
    """

    __tablename__ = "page_contacts"
    __table_args__ = (UniqueConstraint("page_id", "user", "method", "after_seconds",
                                       name="uq_page_contacts_rule"),
                      Index("ix_page_contacts_status_due", "status", "due_at"))

    id: int | None = Field(default=None, primary_key=True)
    page_id: int = Field(foreign_key="pages.id", index=True)
    user: str = Field(max_length=32)
    method: str = Field(max_length=16)
    after_seconds: int = 0
    level: int = 0  # the escalation level that paged the person; 0 when the page opened
    destination: str = Field(max_length=254)
    status: str = Field(default=ContactStatus.SCHEDULED, max_length=16)
    due_at: datetime = Field(sa_column=Column(UTCDateTime(), nullable=False))
    attempted_at: datetime | None = Field(default=None, sa_column=Column(UTCDateTime()))
    finished_at: datetime | None = Field(default=None, sa_column=Column(UTCDateTime()))
    provider_id: str | None = Field(default=None, max_length=255)  # Twilio's SM…/CA… sid, the email's Message-ID
    error: str | None = Field(default=None, max_length=500)
