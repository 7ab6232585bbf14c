"""The author loop's `PeopleLookup` over the Web API: `users.lookupByEmail` and `users.info`.

Failures are sorted as the outbox sorts them (`bot/outbox/wire.py`): 429 → RateLimited with its
Retry-After, 5xx / timeouts / transient codes → Unavailable, anything else → Refused. Slack not
knowing an address (`users_not_found`) is an answer, not a failure: None.
"""

from __future__ import annotations

import json
from typing import Any

import aiohttp
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from bot.authors.people import Person
from bot.outbox.wire import RateLimited, Refused, Unavailable

TRANSIENT = frozenset({"internal_error", "fatal_error", "service_unavailable", "request_timeout", "ratelimited"})
NOBODY = frozenset({"users_not_found", "user_not_found", "user_not_visible", "account_inactive"})


class SlackPeopleLookup:
    def __init__(self, client: AsyncWebClient) -> None:
        self.client = client

    async def by_email(self, email: str) -> Person | None:
        user = await self._user(self.client.users_lookupByEmail(email=email))
        if user is None or user.get("deleted"):
            return None
        return Person(str(user["id"]), user.get("tz") or None, bool(user.get("is_bot") or user.get("is_app_user")))

    async def email_of(self, user_id: str) -> str | None:
        user = await self._user(self.client.users_info(user=user_id))
        email = ((user or {}).get("profile") or {}).get("email")
        return email if isinstance(email, str) and "@" in email else None

    @staticmethod
    async def _user(request: Any) -> dict[str, Any] | None:
        try:
            response = await request
        except SlackApiError as exc:
            data = exc.response.data if isinstance(exc.response.data, dict) else {}
            error, status = str(data.get("error") or ""), exc.response.status_code
            if error in NOBODY:
                return None
            if status == 429 or error == "ratelimited":
                raise RateLimited(_retry_after(exc.response.headers)) from None
            if status >= 500 or error in TRANSIENT:
                raise Unavailable(error or f"http_{status}", maybe_delivered=False) from None
            raise Refused(error or f"http_{status}") from None
        except (TimeoutError, aiohttp.ClientError, json.JSONDecodeError) as exc:
            raise Unavailable(type(exc).__name__, maybe_delivered=False) from None
        user = response.get("user")
        return user if isinstance(user, dict) else None


def _retry_after(headers: Any) -> float:
    value = headers.get("Retry-After") or headers.get("retry-after") if headers else None
    try:
        return max(float(value if isinstance(value, str) else (value or [1])[0]), 0.0)
    except (TypeError, ValueError, IndexError):
        return 1.0
