"""The JSON shapes of Slack objects the simulated Web API answers with: messages, users, groups, channels.

Each follows the contract in ../shared/contracts/slack (objs_message, objs_user, objs_subteam,
objs_conversation); the fields are the ones the fake can fill truthfully.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from bot.slack_sim.workspace import BOT_ID, BOT_USER_ID, TEAM_ID, SimChannel, SimMessage, SimUser, SimUsergroup


def message_json(message: SimMessage, *, include_metadata: bool = True) -> dict[str, Any]:
    """A stored message as chat.* responses and conversations.history/replies show it."""
    body: dict[str, Any] = {"type": "message", "text": message.text, "user": message.user, "ts": message.ts,
                            "team": TEAM_ID}
    if message.user == BOT_USER_ID:
        body["bot_id"] = BOT_ID
    if message.blocks:
        body["blocks"] = message.blocks
    if message.thread_ts:
        body["thread_ts"] = message.thread_ts
    if include_metadata and message.metadata is not None:
        body["metadata"] = message.metadata
    return body


def thread_parent_json(message: SimMessage, replies: list[SimMessage],
                       *, include_metadata: bool) -> dict[str, Any]:
    """A message with its thread summary (reply_count, reply_users, latest_reply), as Slack lists it."""
    body = message_json(message, include_metadata=include_metadata)
    if replies:
        users = list(dict.fromkeys(r.user for r in replies))
        body.update(thread_ts=message.ts, reply_count=len(replies), reply_users_count=len(users),
                    reply_users=users, latest_reply=replies[-1].ts, subscribed=False)
    return body


def reply_json(message: SimMessage, parent: SimMessage, *, include_metadata: bool) -> dict[str, Any]:
    return {**message_json(message, include_metadata=include_metadata), "parent_user_id": parent.user}


def conversation_json(channel: SimChannel) -> dict[str, Any]:
    """A public channel as conversations.join answers it."""
    return {
        "id": channel.id, "name": channel.name, "name_normalized": channel.name, "created": 1_700_000_000,
        "creator": BOT_USER_ID, "is_channel": True, "is_group": False, "is_im": False, "is_mpim": False,
        "is_private": False, "is_archived": channel.archived, "is_general": channel.name == "general",
        "is_member": channel.bot_member, "is_shared": False, "is_ext_shared": False, "is_org_shared": False,
        "is_pending_ext_shared": False, "pending_shared": [], "previous_names": [], "unlinked": 0,
        "topic": {"value": "", "creator": "", "last_set": 0},
        "purpose": {"value": "", "creator": "", "last_set": 0},
    }


def usergroup_json(group: SimUsergroup) -> dict[str, Any]:
    return {"id": group.id, "team_id": TEAM_ID, "is_usergroup": True, "name": group.name,
            "description": f"{group.name} (simulated)", "handle": group.handle, "is_external": False,
            "date_create": 1_700_000_000, "date_update": 1_700_000_000, "date_delete": 0, "auto_type": None,
            "created_by": "U0SWITCHBOT", "updated_by": "U0SWITCHBOT", "deleted_by": None,
            "prefs": {"channels": [], "groups": []}, "user_count": len(group.users)}


def user_json(user: SimUser, now: datetime) -> dict[str, Any]:
    offset = int(now.astimezone(ZoneInfo(user.tz)).utcoffset().total_seconds())  # type: ignore[union-attr]
    return {
        "id": user.id, "team_id": TEAM_ID, "name": user.name, "deleted": False, "real_name": user.real_name,
        "tz": user.tz, "tz_label": user.tz, "tz_offset": offset, "is_bot": user.is_bot, "is_admin": False,
        "is_owner": False, "is_primary_owner": False, "is_restricted": False, "is_ultra_restricted": False,
        "is_app_user": False, "updated": 1_700_000_000, "color": "9f69e7",
        "profile": {"real_name": user.real_name, "display_name": user.name, "avatar_hash": "g0000000000",
                    "real_name_normalized": user.real_name, "display_name_normalized": user.name,
                    "team": TEAM_ID, "title": "", "phone": "", "skype": "", "status_text": "", "status_emoji": "",
                    "image_24": "https://example.invalid/24.png", "image_32": "https://example.invalid/32.png",
                    "image_48": "https://example.invalid/48.png", "image_72": "https://example.invalid/72.png",
                    "image_192": "https://example.invalid/192.png", "image_512": "https://example.invalid/512.png",
                    **({"email": user.email} if user.email else {})},
    }
