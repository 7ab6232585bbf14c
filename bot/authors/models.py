"""Tables of the author loop: the commits each release brought, the DMs owed to their authors, and
the email → Slack person cache.

`release_commits` is written when a release's change preview is taken (the provider's compare);
it is what `/deploy where` reads. `author_notices` is written in the transaction of the outcome
that makes a DM due (record first); `known_people` spares Slack a `users.lookupByEmail` per
author per release.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from sqlalchemy import Column, Index, UniqueConstraint
from sqlmodel import Field, SQLModel

from bot.storage.types import UTCDateTime


class ReleaseCommit(SQLModel, table=True):
    """One commit a release brought, as its change preview listed it (oldest first: `position`)."""

    __tablename__ = "release_commits"
    __table_args__ = (UniqueConstraint("release_id", "sha", name="uq_release_commits_release_sha"),
                      Index("ix_release_commits_sha", "sha"),
                      Index("ix_release_commits_author_email", "author_email"))

    id: int | None = Field(default=None, primary_key=True)
    release_id: int = Field(foreign_key="releases.id", index=True)
    position: int = 0
    sha: str = Field(max_length=64)
    title: str = Field(default="", max_length=255)
    author_name: str = Field(default="", max_length=255)
    author_email: str | None = Field(default=None, max_length=320)  # lower-cased; None when the provider gave none
    committed_at: datetime | None = Field(default=None, sa_column=Column(UTCDateTime()))


class NoticeOutcome(StrEnum):
    LIVE = "live"  # the release succeeded: the change runs
    ROLLED_BACK = "rolled_back"  # a rollback of the release succeeded
    FAILED_VERIFICATION = "failed_verification"  # verification failed and the release ended failed


class NoticeState(StrEnum):
    PENDING = "pending"  # the author's Slack person is still to be found
    QUEUED = "queued"  # the DM is in the outbox
    SAME_PERSON = "same_person"  # another address of the same person already got this release's DM
    UNKNOWN = "unknown"  # Slack knows no one with this address (users_not_found): skipped
    BOT = "bot"  # a bot or no-reply address, or a bot account in Slack: skipped
    REFUSED = "refused"  # Slack refused the lookup for good (no_permission, ...): skipped, logged


class AuthorNotice(SQLModel, table=True):
    """The DM owed to one author (one email address) for one outcome of one release.

    `dm_key` (release:outcome:Slack user) is set when the DM is queued: unique, so a person with two
    addresses, a retried job, a restart or a second replica never queues a second DM.
    """

    __tablename__ = "author_notices"
    __table_args__ = (UniqueConstraint("release_id", "outcome", "email", name="uq_author_notices_release_email"),
                      UniqueConstraint("dm_key", name="uq_author_notices_dm_key"),
                      Index("ix_author_notices_state", "state", "next_attempt_at"))

    id: int | None = Field(default=None, primary_key=True)
    release_id: int = Field(foreign_key="releases.id", index=True)
    outcome: str = Field(max_length=32)
    email: str = Field(max_length=320)
    author_name: str = Field(default="", max_length=255)
    state: str = Field(default=NoticeState.PENDING, max_length=16)
    slack_user: str | None = Field(default=None, max_length=32)
    dm_key: str | None = Field(default=None, max_length=128)
    attempts: int = 0
    next_attempt_at: datetime | None = Field(default=None, sa_column=Column(UTCDateTime()))
    last_error: str | None = Field(default=None, max_length=255)
    created_at: datetime = Field(sa_column=Column(UTCDateTime(), nullable=False))
    done_at: datetime | None = Field(default=None, sa_column=Column(UTCDateTime()))


class KnownPerson(SQLModel, table=True):
    """What Slack said about an email address (`users.lookupByEmail`), until `expires_at`.

    A miss (`user_id` None) is kept too, for a shorter time, so an unknown author costs one lookup
    per expiry rather than one per release.
    """

    __tablename__ = "known_people"

    email: str = Field(primary_key=True, max_length=320)
    user_id: str | None = Field(default=None, max_length=32, index=True)
    tz: str | None = Field(default=None, max_length=64)
    is_bot: bool = False
    fetched_at: datetime = Field(sa_column=Column(UTCDateTime(), nullable=False))
    expires_at: datetime = Field(sa_column=Column(UTCDateTime(), nullable=False))
