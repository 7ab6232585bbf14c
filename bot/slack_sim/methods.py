"""What the simulated Web API's methods do: chat.*, conversations.*, views.*, users.* (info, lookupByEmail),
usergroups.*, reactions.add, and the files v2 upload (files.getUploadURLExternal, files.completeUploadExternal;
see `files`).

Each takes a call's decoded arguments, changes the workspace as Slack would, and returns the JSON
body Slack would answer with, refusals included (channel_not_found, not_in_channel, is_archived,
missing_scope, ...). The wire, the contract checks and the failure modes are web_api's.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any

from bot.slack_sim.history import conversations_history, conversations_replies
from bot.slack_sim.shapes import conversation_json, message_json, user_json, usergroup_json
from bot.slack_sim.workspace import BOT_ID, BOT_USER_ID, TEAM_ID, SimChannel, Workspace

WORKSPACE_URL = "https://switchman-sim.slack.com/"
METADATA_EVENT_TYPE = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_-")

Handler = Callable[[dict[str, Any]], dict[str, Any]]


class WebApiMethods:
    """The methods of one simulated workspace; `triggers` are the trigger_ids Slack handed out (views.open)."""

    def __init__(self, workspace: Workspace, *, now: Callable[[], datetime], triggers: dict[str, str]) -> None:
        self.workspace = workspace
        self._now = now
        self._triggers = triggers

    def handlers(self) -> dict[str, Handler]:
        return {
            "auth.test": self._auth_test,
            "chat.postMessage": self._post_message,
            "chat.update": self._update,
            "chat.postEphemeral": self._post_ephemeral,
            "chat.getPermalink": self._permalink,
            "conversations.open": self._conversations_open,
            "conversations.join": self._conversations_join,
            "conversations.list": self._conversations_list,
            "conversations.history": lambda p: conversations_history(self.workspace, p),
            "conversations.replies": lambda p: conversations_replies(self.workspace, p),
            "views.open": self._views_open,
            "views.update": self._views_update,
            "views.publish": self._views_publish,
            "users.info": self._users_info,
            "users.lookupByEmail": self._users_lookup_by_email,
            "usergroups.list": self._usergroups_list,
            "usergroups.users.list": self._usergroup_users,
            "usergroups.users.update": self._usergroup_update,
            "reactions.add": self._reactions_add,
            "files.getUploadURLExternal": self.workspace.files.get_upload_url,
            "files.completeUploadExternal": self.workspace.files.complete,
        }

    def _auth_test(self, _: dict[str, Any]) -> dict[str, Any]:
        return {"ok": True, "url": WORKSPACE_URL, "team": "Switchman Sim", "user": "switchman",
                "team_id": TEAM_ID, "user_id": BOT_USER_ID, "bot_id": BOT_ID, "is_enterprise_install": False}

    def _post_message(self, p: dict[str, Any]) -> dict[str, Any]:
        channel = self.workspace.resolve_channel(str(p.get("channel") or ""))
        if channel is None:
            return _error("channel_not_found")
        if channel.archived:
            return _error("is_archived")
        if not channel.bot_may_post():
            return _error("not_in_channel")
        if self.workspace.files.image_problems(p.get("blocks")):
            return _error("invalid_blocks")
        metadata, warnings = _metadata(p)
        message = self.workspace.post(channel.id, p.get("text", ""), p.get("blocks") or [], BOT_USER_ID,
                                      p.get("thread_ts"), metadata=metadata)
        return _with_warnings({"ok": True, "channel": channel.id, "ts": message.ts,
                               "message": message_json(message)}, warnings)

    def _update(self, p: dict[str, Any]) -> dict[str, Any]:
        channel = self.workspace.resolve_channel(str(p.get("channel") or ""))
        if channel is None:
            return _error("channel_not_found")
        if channel.archived:
            return _error("is_inactive")  # chat.update's code for "frozen, archived or deleted channel"
        if not channel.bot_may_post():
            return _error("not_in_channel")
        metadata, warnings = _metadata(p)
        message = self.workspace.update(channel.id, p.get("ts", ""), p.get("text", ""), p.get("blocks") or [],
                                        metadata=metadata)
        if message is None:
            return _error("message_not_found")
        return _with_warnings({"ok": True, "channel": channel.id, "ts": message.ts, "text": message.text,
                               "message": message_json(message)}, warnings)

    def _post_ephemeral(self, p: dict[str, Any]) -> dict[str, Any]:
        channel = self.workspace.resolve_channel(str(p.get("channel") or ""))
        if channel is None:
            return _error("channel_not_found")
        if not channel.bot_may_post():
            return _error("not_in_channel")
        if p.get("user") not in self.workspace.users:
            return _error("user_not_in_channel")
        ts = self.workspace.ephemeral(channel.id, p["user"], p.get("text", ""), p.get("blocks") or [],
                                      p.get("thread_ts"))
        return {"ok": True, "message_ts": ts}

    def _permalink(self, p: dict[str, Any]) -> dict[str, Any]:
        channel = self._channel_id(p.get("channel"))
        ts = str(p.get("message_ts", ""))
        if channel is None or (channel, ts) not in self.workspace.messages:
            return _error("message_not_found")
        message = self.workspace.messages[(channel, ts)]
        link = f"{WORKSPACE_URL}archives/{channel}/p{ts.replace('.', '')}"
        if message.thread_ts:
            link += f"?thread_ts={message.thread_ts}&cid={channel}"
        return {"ok": True, "channel": channel, "permalink": link}

    def _conversations_open(self, p: dict[str, Any]) -> dict[str, Any]:
        users = [u for u in str(p.get("users", "")).split(",") if u]
        if len(users) != 1 or users[0] not in self.workspace.users:
            return _error("user_not_found")
        return {"ok": True, "channel": {"id": self.workspace.im_with(users[0]).id}}

    def _conversations_join(self, p: dict[str, Any]) -> dict[str, Any]:
        if not self.workspace.join_allowed:
            return {"ok": False, "error": "missing_scope", "needed": "channels:join",
                    "provided": ",".join(self.workspace.bot_scopes)}
        channel: SimChannel | None = self.workspace.channels.get(str(p.get("channel", "")))  # ids only
        if channel is None:
            return _error("channel_not_found")
        if channel.is_im:
            return _error("method_not_supported_for_channel_type")
        if channel.archived:
            return _error("is_archived")
        already = channel.bot_member
        self.workspace.add_bot(channel.id)
        body: dict[str, Any] = {"ok": True, "channel": conversation_json(channel)}
        return _with_warnings(body, ["already_in_channel"] if already else [])

    def _conversations_list(self, p: dict[str, Any]) -> dict[str, Any]:
        """The workspace's channels (the simulation has only public ones), oldest first, `limit` a page."""
        types = {t.strip() for t in str(p.get("types") or "public_channel").split(",")}
        skip_archived = str(p.get("exclude_archived", "")).lower() in ("1", "true")
        channels = [c for c in self.workspace.channels.values()
                    if not c.is_im and "public_channel" in types and not (skip_archived and c.archived)]
        limit = min(max(int(p.get("limit") or 100), 1), 1000)
        cursor = str(p.get("cursor") or "")
        start = int(cursor.removeprefix("offset:")) if cursor.startswith("offset:") else 0
        if cursor and not cursor.startswith("offset:"):
            return _error("invalid_cursor")
        page, more = channels[start:start + limit], start + limit < len(channels)
        return {"ok": True, "channels": [conversation_json(c) for c in page],
                "response_metadata": {"next_cursor": f"offset:{start + limit}" if more else ""}}

    def _views_open(self, p: dict[str, Any]) -> dict[str, Any]:
        user = self._triggers.get(str(p.get("trigger_id")))
        if user is None:
            return _error("invalid_trigger_id")
        return {"ok": True, "view": self.workspace.open_view(user, p["view"])}

    def _views_update(self, p: dict[str, Any]) -> dict[str, Any]:
        view = self.workspace.update_view(str(p.get("view_id", "")), p["view"])
        return {"ok": True, "view": view} if view is not None else _error("not_found")

    def _views_publish(self, p: dict[str, Any]) -> dict[str, Any]:
        if p.get("user_id") not in self.workspace.users:
            return _error("user_not_found")
        view = p.get("view")
        if self.workspace.files.image_problems(view.get("blocks") if isinstance(view, dict) else None):
            return _error("invalid_blocks")
        return {"ok": True, "view": self.workspace.publish_home(p["user_id"], p["view"])}

    def _users_info(self, p: dict[str, Any]) -> dict[str, Any]:
        user = self.workspace.users.get(str(p.get("user", "")))
        return {"ok": True, "user": user_json(user, self._now())} if user else _error("user_not_found")

    def _users_lookup_by_email(self, p: dict[str, Any]) -> dict[str, Any]:
        user = self.workspace.user_by_email(str(p.get("email", "")))
        return {"ok": True, "user": user_json(user, self._now())} if user else _error("users_not_found")

    def _usergroups_list(self, _: dict[str, Any]) -> dict[str, Any]:
        return {"ok": True, "usergroups": [usergroup_json(g) for g in self.workspace.usergroups.values()]}

    def _usergroup_users(self, p: dict[str, Any]) -> dict[str, Any]:
        group = self.workspace.usergroups.get(str(p.get("usergroup", "")))
        return {"ok": True, "users": list(group.users)} if group else _error("no_such_subteam")

    def _usergroup_update(self, p: dict[str, Any]) -> dict[str, Any]:
        users = [u for u in str(p.get("users", "")).split(",") if u]
        group = self.workspace.set_usergroup_users(str(p.get("usergroup", "")), users)
        if group is None:
            return _error("no_such_subteam")
        return {"ok": True, "usergroup": {**usergroup_json(group), "users": list(group.users)}}

    def _reactions_add(self, p: dict[str, Any]) -> dict[str, Any]:
        channel = self._channel_id(p.get("channel"))
        if channel is None:
            return _error("channel_not_found")
        self.workspace.react(channel, str(p.get("timestamp")), str(p.get("name")))
        return {"ok": True}

    def _channel_id(self, ref: Any) -> str | None:
        channel = self.workspace.resolve_channel(str(ref or ""))
        return channel.id if channel else None


def _metadata(p: dict[str, Any]) -> tuple[dict[str, Any] | None, list[str]]:
    """The message metadata to store, and warnings: Slack drops metadata it cannot read, and warns."""
    metadata = p.get("metadata")
    if metadata is None:
        return None, []
    event_type = metadata.get("event_type") if isinstance(metadata, dict) else None
    if (not isinstance(event_type, str) or not event_type or not set(event_type) <= METADATA_EVENT_TYPE
            or not isinstance(metadata.get("event_payload"), dict)):
        return None, ["invalid_metadata_schema"]
    return {"event_type": event_type, "event_payload": metadata["event_payload"]}, []


def _with_warnings(body: dict[str, Any], warnings: list[str]) -> dict[str, Any]:
    if warnings:
        body["warning"] = ",".join(warnings)
        body["response_metadata"] = {"warnings": warnings}
    return body


def _error(code: str) -> dict[str, Any]:
    return {"ok": False, "error": code}
