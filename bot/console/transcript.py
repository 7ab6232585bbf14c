"""Turning workspace events into readable console lines: who said what, where, and to whom.

Channel posts, thread replies, in-place updates, ephemerals, DMs, modals and the App Home
each get a one-line heading; their Block Kit is rendered as text below it, with buttons and
inputs numbered so the person at the console can press or fill them.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from bot.console.block_text import Interactive, Numbering, render_blocks, render_mrkdwn, render_view
from bot.console.date_tokens import viewing_in
from bot.slack_sim.workspace import SimEvent, SimMessage, Workspace

INDENT = "    "


@dataclass(frozen=True)
class PressTarget:
    """What a numbered button belongs to: a message (channel, ts) or an open view."""

    interactive: Interactive
    message: SimMessage | None = None
    view_id: str | None = None


@dataclass
class Transcript:
    workspace: Workspace
    numbering: Numbering = field(default_factory=Numbering)
    targets: dict[int, PressTarget] = field(default_factory=dict)
    inputs: dict[int, str] = field(default_factory=dict)  # input number → view id
    thread_labels: dict[tuple[str, str], int] = field(default_factory=dict)
    viewer: Callable[[], str | None] = lambda: None  # who is at the console: channel posts are read in their zone

    def user_name(self, user_id: str) -> str:
        user = self.workspace.users.get(user_id)
        return user.name if user else user_id

    def render(self, event: SimEvent) -> list[str]:
        with viewing_in(self.viewer_zone(event)):
            return self._render(event)

    def viewer_zone(self, event: SimEvent) -> str:
        """Whose zone times are shown in: the one person a DM or ephemeral is for, else who is at the console."""
        channel = self.workspace.channels.get(event.channel) if event.channel else None
        reader = (event.user if event.kind == "ephemeral" or event.kind in ("view_open", "view_update", "home")
                  else channel.im_user if channel is not None and channel.is_im else self.viewer())
        user = self.workspace.users.get(reader) if reader else None
        return user.tz if user is not None and user.tz else "UTC"

    def _render(self, event: SimEvent) -> list[str]:
        heading = self._heading(event)
        if event.kind == "usergroup":
            names = ", ".join("@" + self.user_name(u) for u in event.detail.get("users", [])) or "nobody"
            return [f"[user group @{event.detail.get('handle')}] now: {names}"]
        if event.kind == "reaction":
            return [f"{heading} reacted :{event.detail.get('name')}:"]
        if event.kind == "update" and event.text:
            # An edited message was shown in full when posted; its fallback text says what changed.
            return [f"{heading} {render_mrkdwn(event.text, user_name=self.user_name)}"]
        if event.view is not None:
            rendered = render_view(event.view, numbering=self.numbering, user_name=self.user_name)
            for item in rendered.interactives:
                self.targets[item.number] = PressTarget(item, view_id=event.view["id"])
            for field_ in rendered.inputs:
                self.inputs[field_.number] = event.view["id"]
        else:
            rendered = render_blocks(list(event.blocks), numbering=self.numbering, user_name=self.user_name,
                                     fallback_text=event.text or None)
            message = self._message_of(event)
            for item in rendered.interactives:
                self.targets[item.number] = PressTarget(item, message=message)
        return [heading] + [INDENT + line for line in rendered.lines]

    def _message_of(self, event: SimEvent) -> SimMessage:
        assert event.channel is not None and event.ts is not None
        stored = self.workspace.messages.get((event.channel, event.ts))
        if stored is not None:
            return stored
        # Ephemerals are not stored; buttons on them still act on their channel.
        return SimMessage(event.channel, event.ts, event.text, list(event.blocks), event.user or "", event.thread_ts)

    def _heading(self, event: SimEvent) -> str:
        where = self._where(event.channel) if event.channel else ""
        thread = ""
        if event.thread_ts and event.channel:
            thread = f" › thread #{self._thread_label(event.channel, event.thread_ts)}"
        who = self.user_name(event.user) if event.user else "?"
        match event.kind:
            case "message":
                label = ""
                if not event.thread_ts and event.channel and event.ts:
                    label = f" [thread #{self._thread_label(event.channel, event.ts)}]"
                return f"── {where}{thread}{label} · {who}:"
            case "update":
                return f"── {where}{thread} · {who} updated its message:"
            case "ephemeral":
                return f"── {where}{thread} · only visible to @{who}:"
            case "view_open" | "view_update":
                return f"── modal for @{who}:"
            case "home":
                return f"── App Home of @{who}:"
            case _:
                return f"── {where}{thread}"

    def _where(self, channel_id: str) -> str:
        channel = self.workspace.channels.get(channel_id)
        if channel is None:
            return channel_id
        if channel.is_im and channel.im_user:
            return f"DM with @{self.user_name(channel.im_user)}"
        return f"#{channel.name}"

    def _thread_label(self, channel: str, ts: str) -> int:
        key = (channel, ts)
        if key not in self.thread_labels:
            self.thread_labels[key] = len(self.thread_labels) + 1
        return self.thread_labels[key]
