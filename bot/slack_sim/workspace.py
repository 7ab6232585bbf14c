"""The state of a simulated workspace: people, channels, user groups, messages, views, and an event log."""

from __future__ import annotations

import itertools
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from bot.slack_sim.files import SimFiles

TEAM_ID = "T0SWITCHSIM"
BOT_USER_ID = "U0SWITCHBOT"
BOT_ID = "B0SWITCHBOT"
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


@dataclass
class SimUser:
    id: str
    name: str
    real_name: str
    tz: str = "UTC"
    is_bot: bool = False
    email: str | None = None  # what users.lookupByEmail finds them by (and users.info shows)


@dataclass
class SimChannel:
    id: str
    name: str
    is_im: bool = False
    im_user: str | None = None
    bot_member: bool = True  # False after remove_bot: posts there answer not_in_channel
    archived: bool = False

    def bot_may_post(self) -> bool:
        """Bots post to DMs they opened and to channels they are a member of."""
        return self.is_im or self.bot_member


@dataclass
class SimUsergroup:
    id: str
    handle: str
    name: str
    users: list[str] = field(default_factory=list)


@dataclass
class SimMessage:
    channel: str
    ts: str
    text: str
    blocks: list[dict[str, Any]]
    user: str
    thread_ts: str | None = None
    edits: int = 0
    metadata: dict[str, Any] | None = None  # {"event_type": ..., "event_payload": {...}}


@dataclass(frozen=True)
class SimEvent:
    """One thing that became visible in the workspace, in the order it happened.

    kind: message | update | ephemeral | view_open | view_update | home | usergroup | reaction
    """

    seq: int
    kind: str
    channel: str | None = None
    ts: str | None = None
    thread_ts: str | None = None
    user: str | None = None  # who sees it (ephemerals, views) or who posted it (messages)
    text: str = ""
    blocks: tuple[dict[str, Any], ...] = ()
    view: dict[str, Any] | None = None
    detail: dict[str, Any] = field(default_factory=dict)


# The bot token's scopes as a missing_scope answer lists them (`provided`): manifest.yml's bot scopes.
BOT_SCOPES = ("commands", "chat:write", "im:write", "users:read", "users:read.email", "usergroups:read",
              "usergroups:write", "files:write")


class Workspace:
    def __init__(self, *, clock: Callable[[], datetime] | None = None) -> None:
        # Message timestamps follow `clock` when there is one (the Web API sets its own), so that
        # conversations.history's oldest/latest mean what they mean on Slack; else a counter.
        self.clock = clock
        self.join_allowed = True  # False: conversations.join answers missing_scope (no channels:join)
        self.bot_scopes: list[str] = list(BOT_SCOPES)
        self.users: dict[str, SimUser] = {BOT_USER_ID: SimUser(BOT_USER_ID, "switchman", "Switchman", is_bot=True)}
        self.channels: dict[str, SimChannel] = {}
        self.usergroups: dict[str, SimUsergroup] = {}
        self.messages: dict[tuple[str, str], SimMessage] = {}
        self.views: dict[str, dict[str, Any]] = {}
        self.view_owner: dict[str, str] = {}
        self.events: list[SimEvent] = []
        self.files = SimFiles(team=TEAM_ID, scopes=lambda: self.bot_scopes, user=BOT_USER_ID)
        self.subscribers: list[Callable[[SimEvent], None]] = []
        self._ids = itertools.count(1)
        self._ts = itertools.count(1)
        self._last_ts_micros: dict[str, int] = {}
        self._ts_counts: dict[str, int] = {}

    # --- directory -----------------------------------------------------------------------------
    def add_user(self, user_id: str, name: str, *, real_name: str | None = None, tz: str = "UTC",
                 email: str | None = None, is_bot: bool = False) -> SimUser:
        user = SimUser(user_id, name, real_name or name.title(), tz, is_bot=is_bot, email=email)
        self.users[user_id] = user
        return user

    def user_by_email(self, email: str) -> SimUser | None:
        """As users.lookupByEmail finds people: by address, case-insensitively."""
        wanted = email.strip().lower()
        return next((u for u in self.users.values() if u.email and u.email.lower() == wanted), None)

    def user_by_name(self, name: str) -> SimUser | None:
        name = name.lstrip("@").lower()
        return next((u for u in self.users.values() if u.name.lower() == name or u.id == name.upper()), None)

    def add_channel(self, name: str) -> SimChannel:
        name = name.lstrip("#")
        existing = self.channel_by_name(name)
        if existing:
            return existing
        channel = SimChannel(f"C{next(self._ids):08d}", name)
        self.channels[channel.id] = channel
        return channel

    def channel_by_name(self, name: str) -> SimChannel | None:
        name = name.lstrip("#")
        return next((c for c in self.channels.values() if c.name == name and not c.is_im), None)

    def resolve_channel(self, ref: str) -> SimChannel | None:
        """A channel by id, or by `#name` / `name` as chat.postMessage accepts."""
        return self.channels.get(ref) or self.channel_by_name(ref)

    def remove_bot(self, ref: str) -> SimChannel:
        """Take the bot out of a channel (by id, `#name` or name): posts there answer not_in_channel."""
        channel = self._existing_channel(ref)
        channel.bot_member = False
        return channel

    def add_bot(self, ref: str) -> SimChannel:
        """The bot joins (or is invited to) a channel, as conversations.join does."""
        channel = self._existing_channel(ref)
        channel.bot_member = True
        return channel

    def archive(self, ref: str) -> SimChannel:
        channel = self._existing_channel(ref)
        channel.archived = True
        return channel

    def _existing_channel(self, ref: str) -> SimChannel:
        channel = self.resolve_channel(ref)
        if channel is None:
            raise KeyError(f"no channel {ref!r} in the simulated workspace")
        return channel

    def im_with(self, user_id: str) -> SimChannel:
        found = next((c for c in self.channels.values() if c.is_im and c.im_user == user_id), None)
        if found:
            return found
        channel = SimChannel(f"D{next(self._ids):08d}", f"dm-{user_id}", is_im=True, im_user=user_id)
        self.channels[channel.id] = channel
        return channel

    def add_usergroup(self, handle: str, users: list[str]) -> SimUsergroup:
        handle = handle.lstrip("@")
        group = SimUsergroup(f"S{next(self._ids):08d}", handle, handle.replace("-", " ").title(), list(users))
        self.usergroups[group.id] = group
        return group

    def usergroup(self, ref: str) -> SimUsergroup | None:
        return self.usergroups.get(ref) or next(
            (g for g in self.usergroups.values() if g.handle == ref.lstrip("@")), None)

    # --- messages -----------------------------------------------------------------------------
    def next_ts(self, channel: str = "") -> str:
        """A new message ts, unique and increasing in its channel (as Slack's: seconds.microseconds).

        Per channel, as on Slack, so what happens in one channel does not shift the ts of another.
        """
        count = self._ts_counts[channel] = self._ts_counts.get(channel, 0) + 1
        if self.clock is None:
            micros = (1_700_000_000 + count) * 1_000_000
        else:
            # The clock's second, then the channel's message count: the same messages give the same ts
            # whatever else happens in that second (the console's transcripts depend on it).
            micros = (self.clock() - EPOCH) // timedelta(seconds=1) * 1_000_000
        micros += count % 1_000_000
        micros = max(micros, self._last_ts_micros.get(channel, 0) + 1)
        self._last_ts_micros[channel] = micros
        return f"{micros // 1_000_000}.{micros % 1_000_000:06d}"

    def post(self, channel: str, text: str, blocks: list[dict[str, Any]], user: str,
             thread_ts: str | None = None, metadata: dict[str, Any] | None = None) -> SimMessage:
        message = SimMessage(channel, self.next_ts(channel), text, blocks, user, thread_ts, metadata=metadata)
        self.messages[(channel, message.ts)] = message
        self._log("message", channel=channel, ts=message.ts, thread_ts=thread_ts, user=user, text=text,
                  blocks=tuple(blocks))
        return message

    def update(self, channel: str, ts: str, text: str, blocks: list[dict[str, Any]],
               metadata: dict[str, Any] | None = None) -> SimMessage | None:
        """Edit a message; its metadata stays unless new metadata is given."""
        message = self.messages.get((channel, ts))
        if message is None:
            return None
        message.text, message.blocks, message.edits = text, blocks, message.edits + 1
        if metadata is not None:
            message.metadata = metadata
        self._log("update", channel=channel, ts=ts, thread_ts=message.thread_ts, user=message.user, text=text,
                  blocks=tuple(blocks))
        return message

    def ephemeral(self, channel: str, user: str, text: str, blocks: list[dict[str, Any]],
                  thread_ts: str | None = None) -> str:
        ts = self.next_ts(f"ephemeral:{channel}:{user}")
        self._log("ephemeral", channel=channel, ts=ts, thread_ts=thread_ts, user=user, text=text, blocks=tuple(blocks))
        return ts

    def thread(self, channel: str, ts: str) -> list[SimMessage]:
        return [m for m in self.messages.values() if m.channel == channel and m.thread_ts == ts]

    def channel_history(self, channel: str) -> list[SimMessage]:
        """The channel's own messages (not thread replies), newest first, as conversations.history."""
        top = [m for m in self.messages.values() if m.channel == channel and m.thread_ts in (None, m.ts)]
        return sorted(top, key=lambda m: ts_key(m.ts), reverse=True)

    def react(self, channel: str, ts: str, name: str) -> None:
        self._log("reaction", channel=channel, ts=ts, detail={"name": name})

    # --- views --------------------------------------------------------------------------------
    def open_view(self, user: str, view: dict[str, Any]) -> dict[str, Any]:
        view_id = f"V{next(self._ids):08d}"
        stored = {**view, "id": view_id, "team_id": TEAM_ID, "hash": f"{view_id}-1", "app_id": "A0SWITCH",
                  "bot_id": BOT_ID, "state": {"values": {}}}
        self.views[view_id] = stored
        self.view_owner[view_id] = user
        self._log("view_open", user=user, view=stored)
        return stored

    def update_view(self, view_id: str, view: dict[str, Any]) -> dict[str, Any] | None:
        if view_id not in self.views:
            return None
        version = int(self.views[view_id]["hash"].rsplit("-", 1)[1]) + 1
        stored = {**self.views[view_id], **view, "id": view_id, "hash": f"{view_id}-{version}"}
        self.views[view_id] = stored
        self._log("view_update", user=self.view_owner[view_id], view=stored)
        return stored

    def publish_home(self, user: str, view: dict[str, Any]) -> dict[str, Any]:
        view_id = next((v for v, owner in self.view_owner.items()
                        if owner == user and self.views[v].get("type") == "home"), None)
        stored = {**view, "id": view_id or f"V{next(self._ids):08d}", "team_id": TEAM_ID, "hash": "home",
                  "app_id": "A0SWITCH", "bot_id": BOT_ID, "state": {"values": {}}}
        self.views[stored["id"]] = stored
        self.view_owner[stored["id"]] = user
        self._log("home", user=user, view=stored)
        return stored

    def set_usergroup_users(self, group_id: str, users: list[str]) -> SimUsergroup | None:
        group = self.usergroups.get(group_id)
        if group is None:
            return None
        group.users = list(users)
        self._log("usergroup", detail={"usergroup": group.id, "handle": group.handle, "users": list(users)})
        return group

    def _log(self, kind: str, **fields: Any) -> None:
        event = SimEvent(seq=len(self.events) + 1, kind=kind, **fields)
        self.events.append(event)
        for subscriber in self.subscribers:
            subscriber(event)

    def events_since(self, seq: int) -> list[SimEvent]:
        return self.events[seq:]


def ts_key(ts: str) -> tuple[int, int]:
    """Order Slack timestamps numerically ("seconds.micros"), whatever their width."""
    seconds, _, micros = ts.partition(".")
    return int(seconds), int(micros.ljust(6, "0")[:6] or 0)
