"""Tables of inbound paging: every Alertmanager alert as last reported, and the Slack messages of pages.

`alerts` is keyed by Alertmanager's fingerprint and upserted on every delivery, so it answers
"what is firing for service X now" (release verification asks that). `page_notifications`
remembers each message of a page that reached Slack — DMs and the channel post — filled as the
outbox posts them: who was reached, as what, and where their message is.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import JSON, Column, Text, UniqueConstraint
from sqlmodel import Field, SQLModel

from bot.storage.types import UTCDateTime


class AlertStatus(StrEnum):
    FIRING = "firing"
    RESOLVED = "resolved"


class NotificationRole(StrEnum):
    PRIMARY = "primary"
    SHADOW = "shadow"
    ESCALATION = "escalation"
    CHANNEL = "channel"


class Alert(SQLModel, table=True):
    __tablename__ = "alerts"

    fingerprint: str = Field(primary_key=True, max_length=128)
    status: str = Field(max_length=16, index=True)
    service: str | None = Field(default=None, max_length=64, index=True)
    labels: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    annotations: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    starts_at: datetime = Field(sa_column=Column(UTCDateTime(), nullable=False))
    # None while Alertmanager reports no end (Go's zero time, 0001-01-01).
    ends_at: datetime | None = Field(default=None, sa_column=Column(UTCDateTime()))
    generator_url: str | None = Field(default=None, sa_column=Column(Text()))
    group_key: str = Field(sa_column=Column(Text(), nullable=False))
    received_at: datetime = Field(sa_column=Column(UTCDateTime(), nullable=False))


class PageNotification(SQLModel, table=True):
    __tablename__ = "page_notifications"
    __table_args__ = (UniqueConstraint("page_id", "channel", name="uq_page_notifications_page_channel"),)

    id: int | None = Field(default=None, primary_key=True)
    page_id: int = Field(foreign_key="pages.id", index=True)
    role: str = Field(max_length=16)
    user: str | None = Field(default=None, max_length=32)  # None for the channel post
    level: int = 0  # the escalation level that sent it; 0 when the page opened
    channel: str = Field(max_length=32)
    ts: str = Field(max_length=32)
    sent_at: datetime = Field(sa_column=Column(UTCDateTime(), nullable=False))
