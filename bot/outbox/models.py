"""Tables of the outbox: the messages to send, and the anchors (posted messages others thread under).

A row is written in the same transaction as the decision or state change it announces, so the
database always knows what Slack must be told, whatever Slack is doing. Rows of one `thread` are
sent strictly in id order; rows of different threads are independent.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import JSON, Column, Index, Text
from sqlmodel import Field, SQLModel

from bot.storage.types import UTCDateTime


class OutboxKind(StrEnum):
    POST = "post"  # chat.postMessage to a channel, or into the thread of an anchor (`reply_to`)
    UPDATE = "update"  # chat.update of an anchored message (`target`)
    DM = "dm"  # conversations.open with a person, then chat.postMessage
    USERGROUP = "usergroup"  # usergroups.users.update: `channel` is the group id, `text` the user ids


class OutboxState(StrEnum):
    PENDING = "pending"
    SENT = "sent"
    FAILED = "failed"  # Slack refused for good (not_in_channel, channel_not_found, ...): never retried
    SUPERSEDED = "superseded"  # an update overtaken by a newer update of the same message


class OutboxMessage(SQLModel, table=True):
    __tablename__ = "outbox_messages"
    __table_args__ = (Index("ix_outbox_state_thread", "state", "thread", "id"),
                      Index("ix_outbox_state_channel_thread", "state", "channel", "thread"))  # migration 0023

    id: int | None = Field(default=None, primary_key=True)
    thread: str = Field(max_length=128)  # the ordering group, e.g. "release:12"
    owner: str | None = Field(default=None, max_length=128)  # who hears of a permanent refusal
    kind: str = Field(max_length=16)
    channel: str = Field(max_length=64)  # channel id or #name; a user id for DM
    anchor: str | None = Field(default=None, max_length=128)  # names this POST for later replies/updates
    reply_to: str | None = Field(default=None, max_length=128)  # POST into the thread of this anchor
    target: str | None = Field(default=None, max_length=128)  # UPDATE this anchor's message
    text: str = Field(default="", sa_column=Column(Text, nullable=False))
    blocks: list[dict[str, Any]] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    decision_seq: int | None = Field(default=None, index=True)  # the ledger row this message evidences
    state: str = Field(default=OutboxState.PENDING, max_length=16)
    attempts: int = 0
    next_attempt_at: datetime | None = Field(default=None, sa_column=Column(UTCDateTime()))
    # Set just before the call is made and cleared once its outcome is known: when set at the next
    # attempt, the earlier call may have reached Slack, so the message is looked for before resending.
    sending_since: datetime | None = Field(default=None, sa_column=Column(UTCDateTime()))
    last_error: str | None = Field(default=None, max_length=255)
    sent_channel: str | None = Field(default=None, max_length=32)
    sent_ts: str | None = Field(default=None, max_length=32)
    permalink: str | None = Field(default=None, max_length=2000)
    created_at: datetime = Field(sa_column=Column(UTCDateTime(), nullable=False))
    sent_at: datetime | None = Field(default=None, sa_column=Column(UTCDateTime()))


class OutboxAnchor(SQLModel, table=True):
    """Where an anchored message landed: replies go into its thread, updates edit it."""

    __tablename__ = "outbox_anchors"

    name: str = Field(primary_key=True, max_length=128)
    message_id: int = Field(foreign_key="outbox_messages.id")
    channel: str = Field(max_length=32)
    ts: str = Field(max_length=32)
    permalink: str | None = Field(default=None, max_length=2000)
