"""Who is who in the workspace: user-group members and people's time zones, from the Web API.

Answers are cached briefly (an approval burst would otherwise call usergroups.users.list for
every click); the cache is keyed on the injected clock so tests control expiry.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from bot.clock import Clock

log = logging.getLogger(__name__)
CACHE_FOR = timedelta(seconds=60)


UNKNOWN_PERSON = frozenset({"user_not_found", "user_not_visible", "account_inactive"})


@dataclass
class Directory:
    client: AsyncWebClient
    clock: Clock
    _groups: dict[str, tuple[datetime, str]] = field(default_factory=dict)  # handle → (fetched, id)
    _members: dict[str, tuple[datetime, frozenset[str]]] = field(default_factory=dict)
    _zones: dict[str, tuple[datetime, str]] = field(default_factory=dict)

    async def usergroup_id(self, ref: str) -> str | None:
        """`@handle` or `S…` id → the group's id (None when no such group)."""
        if not ref.startswith("@"):
            return ref
        handle = ref[1:]
        cached = self._groups.get(handle)
        if cached and self._fresh(cached[0]):
            return cached[1]
        response = await self.client.usergroups_list()
        now = self.clock.now()
        groups: list[dict[str, str]] = response.get("usergroups", [])
        for group in groups:
            self._groups[group["handle"]] = (now, group["id"])
        found = self._groups.get(handle)
        return found[1] if found else None

    async def members(self, ref: str) -> frozenset[str]:
        """Members of a user group (`@handle` / `S…`), or the person itself for a user id."""
        if ref.startswith(("U", "W")):
            return frozenset({ref})
        group_id = await self.usergroup_id(ref)
        if group_id is None:
            return frozenset()
        cached = self._members.get(group_id)
        if cached and self._fresh(cached[0]):
            return cached[1]
        response = await self.client.usergroups_users_list(usergroup=group_id)
        users: frozenset[str] = frozenset(response.get("users", []))
        self._members[group_id] = (self.clock.now(), users)
        return users

    async def is_in_any(self, user: str, refs: list[str]) -> bool:
        for ref in refs:
            if user in await self.members(ref):
                return True
        return False

    async def time_zone(self, user: str) -> str:
        cached = self._zones.get(user)
        if cached and self._fresh(cached[0]):
            return cached[1]
        profile: dict[str, Any] = {}
        try:
            profile = (await self.client.users_info(user=user)).get("user") or {}
        except SlackApiError as exc:
            if exc.response.get("error") not in UNKNOWN_PERSON:
                raise
            # Slack does not know the person (or will not say): times are shown to them in UTC.
            log.warning("slack does not know a person; their times are shown in UTC",
                        extra={"user": user, "error": exc.response.get("error")})
        zone = profile.get("tz") or "UTC"
        self._zones[user] = (self.clock.now(), zone)
        return zone

    async def time_zone_or(self, user: str, fallback: str) -> str:
        """The person's zone, or `fallback` when Slack will not say (a deactivated account, an error)."""
        try:
            return await self.time_zone(user)
        except SlackApiError as exc:
            log.warning("no time zone for a person; using a fallback",
                        extra={"user": user, "error": exc.response.get("error")})
            return fallback

    def forget_groups(self) -> None:
        self._groups.clear()
        self._members.clear()

    def _fresh(self, fetched: datetime) -> bool:
        return self.clock.now() - fetched < CACHE_FOR
