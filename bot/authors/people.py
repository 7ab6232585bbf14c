"""Email address → Slack person, through `users.lookupByEmail`, remembered in the database.

A found person is remembered for `FOUND_FOR`, a miss (`users_not_found`) for the shorter
`MISSING_FOR`: a burst of releases by the same authors asks Slack once per address, and an
address Slack does not know yet (a new hire, a personal address) is asked about again later.
The lookup itself is a port (`PeopleLookup`), implemented over the Web API in
`bot/slack/people_lookup.py`; its failures are the outbox's (`bot/outbox/wire.py`).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Protocol

from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from bot.authors.models import KnownPerson

FOUND_FOR = timedelta(days=1)
MISSING_FOR = timedelta(hours=1)


@dataclass(frozen=True)
class Person:
    user_id: str
    tz: str | None
    is_bot: bool = False


class PeopleLookup(Protocol):
    async def by_email(self, email: str) -> Person | None:
        """The Slack person with this address; None when Slack knows nobody by it (`users_not_found`).
        Raises RateLimited, Unavailable or Refused (`bot.outbox.wire`)."""
        ...

    async def email_of(self, user_id: str) -> str | None:
        """The person's profile email (`users.info`); None when Slack does not show it."""
        ...


@dataclass(frozen=True)
class Cached:
    person: Person | None  # None: a remembered miss


async def cached(session: AsyncSession, email: str, *, now: datetime) -> Cached | None:
    """What Slack last said about `email`, while it is fresh; None when Slack must be asked."""
    row = await session.get(KnownPerson, email)
    if row is None or row.expires_at <= now:
        return None
    if row.user_id is None:
        return Cached(None)
    return Cached(Person(row.user_id, row.tz, row.is_bot))


async def remember(session: AsyncSession, email: str, person: Person | None, *, now: datetime) -> None:
    row = await session.get(KnownPerson, email) or KnownPerson(email=email, fetched_at=now, expires_at=now)
    row.user_id = person.user_id if person else None
    row.tz = person.tz if person else None
    row.is_bot = person.is_bot if person else False
    row.fetched_at, row.expires_at = now, now + (FOUND_FOR if person else MISSING_FOR)
    session.add(row)


async def emails_of_user(session: AsyncSession, user_id: str) -> list[str]:
    """Every address remembered for the Slack person (fresh or not): a person may commit under several."""
    rows = (await session.exec(select(KnownPerson.email).where(KnownPerson.user_id == user_id)
                               .order_by(col(KnownPerson.fetched_at).desc()))).all()
    return list(rows)
