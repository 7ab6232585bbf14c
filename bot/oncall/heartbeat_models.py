"""The table of heartbeats (§6): when each configured heartbeat last checked in."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Column
from sqlmodel import Field, SQLModel

from bot.storage.types import UTCDateTime


class HeartbeatRecord(SQLModel, table=True):
    __tablename__ = "heartbeats"

    rotation: str = Field(primary_key=True, max_length=64)
    name: str = Field(primary_key=True, max_length=64)
    # The last ping, or when Switchman first saw the heartbeat configured (its clock starts then).
    last_seen_at: datetime = Field(sa_column=Column(UTCDateTime(), nullable=False))
    pings: int = 0
