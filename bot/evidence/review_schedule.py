"""Who gets a weekly review, and when: teams from the config, and the review's wall-clock instants.

A team is the services whose review (their own `weekly_review`, else the top-level one) goes to
one channel; the config guarantees they agree on day, time and zone. A review's instant is that
weekday and wall-clock time in its zone, turned into UTC the way every wall-clock rule is
(`bot.wall_clock`: a time skipped by DST is taken when the clocks jump, a repeated one the first time).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

from bot.config.models import WEEKDAYS, SwitchmanConfig, WeeklyReview, review_of
from bot.wall_clock import resolve_wall_clock, wall_clock


@dataclass(frozen=True)
class ReviewTeam:
    channel: str
    services: tuple[str, ...]
    review: WeeklyReview


def review_teams(config: SwitchmanConfig) -> dict[str, ReviewTeam]:
    """Channel → the team reviewed there."""
    found: dict[str, tuple[WeeklyReview, list[str]]] = {}
    for name in sorted(config.services):
        review = review_of(config, name)
        if review is not None:
            found.setdefault(review.channel, (review, []))[1].append(name)
    return {channel: ReviewTeam(channel, tuple(names), review) for channel, (review, names) in found.items()}


def _instant_on(day: datetime, review: WeeklyReview) -> datetime:
    hour, minute = (int(part) for part in review.at.split(":"))
    return resolve_wall_clock(datetime.combine(day.date(), time(hour, minute)), ZoneInfo(review.timezone))


def occurrences_around(review: WeeklyReview, instant: datetime) -> tuple[datetime, datetime]:
    """The review's last instant at or before `instant`, and its first one after."""
    zone = ZoneInfo(review.timezone)
    local = wall_clock(instant, zone)
    back = (local.weekday() - WEEKDAYS.index(review.day)) % 7
    candidate = _instant_on(local - timedelta(days=back), review)
    if candidate > instant:
        candidate = _instant_on(local - timedelta(days=back + 7), review)
    following = _instant_on(wall_clock(candidate, zone) + timedelta(days=7), review)
    return candidate, following
