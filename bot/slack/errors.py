"""The one error handler of the Bolt app (STYLE #5).

User-facing errors become the ephemeral reply the user sees; anything else is logged with a
traceback and a correlation id, and the user gets a short apology quoting it. Slash commands
are answered in the HTTP response itself; interactions (buttons, menus) via their response_url.
"""

from __future__ import annotations

import json
import logging
from typing import Any

import aiohttp
from slack_bolt.response import BoltResponse
from slack_sdk.webhook.async_client import AsyncWebhookClient

from bot.background import BackgroundTasks
from bot.errors import BadInput, Blocked, NotAllowed, UserFacingError, new_correlation_id
from bot.slack import replies

log = logging.getLogger(__name__)


def reply_for(error: BaseException) -> tuple[dict[str, Any], str | None]:
    """The reply for an error, and the correlation id when it was unexpected."""
    if isinstance(error, BadInput):
        return replies.bad_input(error.message, error.usage), None
    if isinstance(error, NotAllowed):
        return replies.not_allowed(error.message), None
    if isinstance(error, Blocked):
        return replies.blocked(error.message), None
    if isinstance(error, UserFacingError):
        return replies.ephemeral(error.message), None
    correlation_id = new_correlation_id()
    return replies.apology(correlation_id), correlation_id


def make_error_handler(background: BackgroundTasks, session: aiohttp.ClientSession | None = None) -> Any:
    async def handle_error(error: Exception, body: dict[str, Any]) -> BoltResponse | None:
        reply, correlation_id = reply_for(error)
        if correlation_id is not None:
            log.error("listener failed", exc_info=error,
                      extra={"correlation_id": correlation_id, "payload_type": body.get("type") or "command",
                             "user": _user(body)})
        if "command" in body:
            return BoltResponse(status=200, body=json.dumps(reply), headers={"content-type": "application/json"})
        response_url = body.get("response_url") or _first_response_url(body)
        if response_url:
            background.spawn(AsyncWebhookClient(response_url, session=session).send_dict(reply), name="error-reply")
        return BoltResponse(status=200, body="")

    return handle_error


def _user(body: dict[str, Any]) -> str | None:
    user = body.get("user")
    if isinstance(user, dict):
        return user.get("id")
    return body.get("user_id")


def _first_response_url(body: dict[str, Any]) -> str | None:
    urls = body.get("response_urls") or []
    return urls[0].get("response_url") if urls else None
