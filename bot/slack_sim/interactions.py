"""What Slack sends to the app: signed slash commands, block actions and view submissions.

The payloads follow Slack's documented shapes; each request is signed with the signing
secret exactly as Slack signs (`v0=` HMAC-SHA256 of `v0:{timestamp}:{body}`) and posted over
HTTP to the app's `/slack/events`. A slash command's ack body is shown in the workspace as
the ephemeral reply Slack would show.
"""

from __future__ import annotations

import hashlib
import hmac
import itertools
import json
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

import aiohttp

from bot.slack_sim.web_api import ResponseTarget, SlackWebApi
from bot.slack_sim.workspace import TEAM_ID, SimMessage


@dataclass(frozen=True)
class Delivery:
    status: int
    body: str

    def json(self) -> Any:
        return json.loads(self.body) if self.body else None


def sign(secret: str, body: str, timestamp: int) -> str:
    base = f"v0:{timestamp}:{body}".encode()
    return "v0=" + hmac.new(secret.encode(), base, hashlib.sha256).hexdigest()


class SlackSide:
    """Sends interactions to one app, as the users of one simulated workspace."""

    def __init__(self, api: SlackWebApi, app_url: str, signing_secret: str,
                 now: Callable[[], float] = time.time) -> None:
        self.api = api
        self.workspace = api.workspace
        self.app_url = app_url
        self.signing_secret = signing_secret
        self._now = now  # Bolt checks signatures against the real clock, so this is the real clock by default
        self._ids = itertools.count(1)
        self.sent: list[tuple[str, str]] = []  # (body, content type) of every delivery, for replays

    async def replay(self, index: int = -1, *, retry_num: int = 1) -> Delivery:
        """Deliver an earlier request again, byte for byte, as Slack does when it retries."""
        body, content_type = self.sent[index]
        return await self.post(body, content_type, retry_num=retry_num, record=False)

    async def post(self, body: str, content_type: str, *, retry_num: int | None = None,
                   signature: str | None = None, record: bool = True) -> Delivery:
        if record:
            self.sent.append((body, content_type))
        timestamp = int(self._now())
        headers = {
            "Content-Type": content_type,
            "X-Slack-Request-Timestamp": str(timestamp),
            "X-Slack-Signature": signature or sign(self.signing_secret, body, timestamp),
        }
        if retry_num is not None:
            headers["X-Slack-Retry-Num"] = str(retry_num)
            headers["X-Slack-Retry-Reason"] = "http_timeout"
        async with aiohttp.ClientSession() as session, session.post(self.app_url, data=body.encode(),
                                                                     headers=headers) as resp:
            return Delivery(resp.status, await resp.text())

    def _trigger(self, user: str) -> str:
        trigger_id = f"{next(self._ids)}.{TEAM_ID}.trigger{next(self._ids)}"
        self.api.register_trigger(trigger_id, user)
        return trigger_id

    async def slash_command(self, user: str, command: str, text: str, *, channel: str,
                            retry_num: int | None = None, signature: str | None = None) -> Delivery:
        channel_obj = self.workspace.resolve_channel(channel)
        channel_id = channel_obj.id if channel_obj else channel
        response_url = self.api.new_response_url(ResponseTarget(channel_id, user))
        form = {
            "token": "legacy-verification-token-unused", "team_id": TEAM_ID, "team_domain": "switchman-sim",
            "channel_id": channel_id, "channel_name": channel_obj.name if channel_obj else "unknown",
            "user_id": user, "user_name": self.workspace.users[user].name if user in self.workspace.users else user,
            "command": command, "text": text, "api_app_id": "A0SWITCH", "is_enterprise_install": "false",
            "response_url": response_url, "trigger_id": self._trigger(user),
        }
        delivery = await self.post(urlencode(form), "application/x-www-form-urlencoded",
                                   retry_num=retry_num, signature=signature)
        if delivery.status == 200 and delivery.body.startswith("{"):
            self.api.record_reply(ResponseTarget(channel_id, user), delivery.json())
        return delivery

    async def block_action(self, user: str, message: SimMessage, *, action_id: str, block_id: str | None,
                           value: str | None = None, selected: str | None = None,
                           element_type: str = "button") -> Delivery:
        response_url = self.api.new_response_url(
            ResponseTarget(message.channel, user, message.ts, message.thread_ts))
        action: dict[str, Any] = {"action_id": action_id, "block_id": block_id or "", "type": element_type,
                                  "action_ts": f"{self._now():.6f}"}
        if value is not None:
            action["value"] = value
        if selected is not None:
            action["selected_option"] = {"text": {"type": "plain_text", "text": selected}, "value": selected}
        payload = {
            "type": "block_actions", "team": {"id": TEAM_ID, "domain": "switchman-sim"},
            "user": {"id": user, "username": self._name(user), "team_id": TEAM_ID},
            "api_app_id": "A0SWITCH", "token": "legacy-verification-token-unused",
            "container": {"type": "message", "message_ts": message.ts, "channel_id": message.channel,
                          "is_ephemeral": False},
            "trigger_id": self._trigger(user), "channel": {"id": message.channel},
            "message": {"type": "message", "ts": message.ts, "text": message.text, "blocks": message.blocks,
                        **({"thread_ts": message.thread_ts} if message.thread_ts else {})},
            "response_url": response_url, "actions": [action],
        }
        return await self.post(urlencode({"payload": json.dumps(payload)}), "application/x-www-form-urlencoded")

    async def event(self, event: dict[str, Any]) -> Delivery:
        """An Events API delivery (e.g. app_home_opened), wrapped as Slack wraps it."""
        envelope = {"token": "legacy-verification-token-unused", "team_id": TEAM_ID, "api_app_id": "A0SWITCH",
                    "type": "event_callback", "event_id": f"Ev{next(self._ids):08d}",
                    "event_time": int(self._now()), "event": event,
                    "authorizations": [{"team_id": TEAM_ID, "user_id": "U0SWITCHBOT", "is_bot": True}]}
        return await self.post(json.dumps(envelope), "application/json")

    async def view_submission(self, user: str, view_id: str, values: dict[str, dict[str, Any]]) -> Delivery:
        """`values` maps block_id → action_id → element state, as in `view.state.values`."""
        view = dict(self.workspace.views[view_id])
        view["state"] = {"values": values}
        payload = {
            "type": "view_submission", "team": {"id": TEAM_ID, "domain": "switchman-sim"},
            "user": {"id": user, "username": self._name(user), "team_id": TEAM_ID},
            "api_app_id": "A0SWITCH", "token": "legacy-verification-token-unused",
            "trigger_id": self._trigger(user), "view": view, "response_urls": [],
        }
        return await self.post(urlencode({"payload": json.dumps(payload)}), "application/x-www-form-urlencoded")

    def _name(self, user: str) -> str:
        return self.workspace.users[user].name if user in self.workspace.users else user
