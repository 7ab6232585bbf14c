"""The weekly-reviews table: one row per team channel and week, written with the review's post.

The unique (channel, week_end) key makes the review exactly-once: the row and the outbox message
that posts the review are committed together, so whichever process (a restart, a second replica)
commits first posts it, and any other one fails on the key with nothing queued.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Column, UniqueConstraint
from sqlmodel import Field, SQLModel

from bot.storage.types import UTCDateTime


class WeeklyReviewRun(SQLModel, table=True):
    __tablename__ = "weekly_reviews"
    __table_args__ = (UniqueConstraint("channel", "week_end", name="uq_weekly_reviews_channel_week"),)

    id: int | None = Field(default=None, primary_key=True)
    channel: str = Field(max_length=64)
    week_end: datetime = Field(sa_column=Column(UTCDateTime(), nullable=False))  # the review's scheduled instant
    services: list[str] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    figures: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    posted_at: datetime = Field(sa_column=Column(UTCDateTime(), nullable=False))  # queued in the outbox
