"""Tables of the web release log: every page view with its viewer, and every `audit verify` run."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Column, Index
from sqlmodel import Field, SQLModel

from bot.storage.types import UTCDateTime


class WebLogView(SQLModel, table=True):
    """One request to `/log/` (refused ones too): who, how they were identified, what they asked for."""

    __tablename__ = "web_log_views"
    __table_args__ = (Index("ix_web_log_views_viewer_at", "viewer", "viewed_at"),)

    id: int | None = Field(default=None, primary_key=True)
    viewer: str = Field(max_length=254)  # "" when nobody could be identified
    via: str = Field(max_length=16)  # link, session, proxy, or none
    path: str = Field(max_length=2000)  # with its query: which filters were read
    status: int
    remote: str | None = Field(default=None, max_length=64)
    viewed_at: datetime = Field(sa_column=Column(UTCDateTime(), nullable=False, index=True))


class AuditRun(SQLModel, table=True):
    """The result of one walk over the whole ledger (`switchman audit verify`)."""

    __tablename__ = "audit_runs"

    id: int | None = Field(default=None, primary_key=True)
    ran_at: datetime = Field(sa_column=Column(UTCDateTime(), nullable=False))
    ok: bool
    checked: int
    problems: int
    first_problem: str | None = Field(default=None, max_length=2000)
    head_seq: int | None = None
    head_hash: str | None = Field(default=None, max_length=64)
