"""Tables of earned deploy rights (§4 `trust:`): who paired on which release, proposals, and the rights granted.

Each row is written in the same transaction as the ledger decision it stands for, so the tables and the
ledger never disagree; their unique keys make a double click or a Slack retry count once.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from sqlalchemy import Column, Index, text
from sqlmodel import Field, SQLModel

from bot.storage.types import UTCDateTime


class TrustPair(SQLModel, table=True):
    """The member of the `trust.with` group who joined a developer's release as their pair: one per release."""

    __tablename__ = "trust_pairs"

    release_id: int = Field(primary_key=True, foreign_key="releases.id")
    service: str = Field(max_length=64)
    environment: str = Field(max_length=64)
    developer: str = Field(max_length=32, index=True)
    pair: str = Field(max_length=32)
    joined_at: datetime = Field(sa_column=Column(UTCDateTime(), nullable=False))


class ProposalState(StrEnum):
    OPEN = "open"
    APPROVED = "approved"
    DECLINED = "declined"  # "Not yet": proposed again after as many further paired releases


OPEN_PROPOSAL = "state = 'open'"


class TrustProposal(SQLModel, table=True):
    """Switchman's proposal to add a developer to an environment's deployers, and how it was decided."""

    __tablename__ = "trust_proposals"
    __table_args__ = (Index("uq_trust_proposals_one_open", "service", "environment", "developer", unique=True,
                            sqlite_where=text(OPEN_PROPOSAL), postgresql_where=text(OPEN_PROPOSAL)),)

    id: int | None = Field(default=None, primary_key=True)
    service: str = Field(max_length=64)
    environment: str = Field(max_length=64)
    developer: str = Field(max_length=32)
    paired_releases: int
    state: str = Field(default=ProposalState.OPEN, max_length=16)
    proposed_at: datetime = Field(sa_column=Column(UTCDateTime(), nullable=False))
    decided_by: str | None = Field(default=None, max_length=32)
    decided_at: datetime | None = Field(default=None, sa_column=Column(UTCDateTime()))


class DeployRight(SQLModel, table=True):
    """A right to deploy unpaired, earned by pairing: granted by a ledger decision, revoked by another."""

    __tablename__ = "deploy_rights"

    service: str = Field(primary_key=True, max_length=64)
    environment: str = Field(primary_key=True, max_length=64)
    user: str = Field(primary_key=True, max_length=32)
    granted: bool = True
    granted_by: str = Field(max_length=32)
    granted_at: datetime = Field(sa_column=Column(UTCDateTime(), nullable=False))
    grant_seq: int  # the ledger row of the grant
    revoked_by: str | None = Field(default=None, max_length=32)
    revoked_at: datetime | None = Field(default=None, sa_column=Column(UTCDateTime()))
    revoke_seq: int | None = None
