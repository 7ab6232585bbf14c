"""Risk rules and per-level controls as written in switchman.yml (§4 "Risk").

`risk_rules:` (top level, or per service to replace it) says which facts about a change raise its
level; an environment's `risk:` says what each level requires there:

    risk_rules:
      migrations: {globs: ["**/migrations/**", "**/*.sql"], level: high}
      commits: {medium: 5, high: 20}          # more than 5 commits: medium; more than 20: high
      files: {medium: 30}
      risky_paths: {globs: ["deploy/**", "auth/**"], level: high}
      since_last_release: {medium: 7d, high: 30d, never: medium}
      outside_hours: {hours: "Mon-Fri 09:00-18:00", timezone: Europe/Berlin, level: medium}
      first_release_by_person: medium
    ...
        environments:
          production:
            risk: {high: {approvals: 2, strategy: canary, stages: [10, 100], bake: 30m}}

A change's level is the highest level of the rules that fired (low when none did).
"""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Annotated, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import AfterValidator, Field, model_validator

from bot.config.durations import Duration
from bot.config.gates import Strict

Level = Literal["low", "medium", "high"]
WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
HOURS = re.compile(r"^(?P<d1>[A-Za-z]{3})-(?P<d2>[A-Za-z]{3}) "
                   r"(?P<h1>\d{1,2}):(?P<m1>\d\d)-(?P<h2>\d{1,2}):(?P<m2>\d\d)$")
DEFAULT_MIGRATION_GLOBS = ("**/migrations/**", "**/migrate/**", "**/alembic/**", "**/*.sql")


def _glob(text: str) -> str:
    if not text or text.startswith("/") or "\n" in text:
        raise ValueError(f"{text!r} is not a path glob; write it relative to the repository, e.g. 'db/migrations/**'")
    return text


def _hours(text: str) -> str:
    match = HOURS.fullmatch(text.strip())
    if match is None or match["d1"].lower() not in WEEKDAYS or match["d2"].lower() not in WEEKDAYS:
        raise ValueError(f"{text!r} is not working hours; write them as 'Mon-Fri 09:00-18:00'")
    start, end = (int(match["h1"]), int(match["m1"])), (int(match["h2"]), int(match["m2"]))
    if not (start < end <= (24, 0)) or start[1] > 59 or end[1] > 59:
        raise ValueError(f"{text!r}: the hours must run forwards within one day, e.g. 09:00-18:00")
    return text.strip()


def _zone(name: str) -> str:
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise ValueError(f"{name!r} is not an IANA time zone (e.g. Europe/Berlin, UTC)") from None
    return name


Glob = Annotated[str, AfterValidator(_glob)]


class PathRule(Strict):
    globs: list[Glob] = Field(min_length=1)
    level: Literal["medium", "high"] = "high"


class CountRule(Strict):
    """Fires at the highest level whose threshold the count is *more than*."""

    medium: int | None = Field(default=None, ge=0)
    high: int | None = Field(default=None, ge=0)

    @model_validator(mode="after")
    def _order(self) -> CountRule:
        if self.medium is None and self.high is None:
            raise ValueError("give medium, high or both: the count above which the level is raised")
        if self.medium is not None and self.high is not None and self.high <= self.medium:
            raise ValueError(f"high ({self.high}) must be more than medium ({self.medium})")
        return self


class SinceRule(Strict):
    """Time since the service's last successful release in the environment."""

    medium: Duration | None = None
    high: Duration | None = None
    never: Literal["low", "medium", "high"] = "medium"  # no earlier release there through Switchman

    @model_validator(mode="after")
    def _order(self) -> SinceRule:
        if self.medium is not None and self.high is not None and self.high <= self.medium:
            raise ValueError(f"high ({self.high}) must be longer than medium ({self.medium})")
        return self


class HoursRule(Strict):
    hours: Annotated[str, AfterValidator(_hours)] = "Mon-Fri 09:00-18:00"
    timezone: Annotated[str, AfterValidator(_zone)] = "UTC"
    level: Literal["medium", "high"] = "medium"


class RiskRules(Strict):
    migrations: PathRule | None = PathRule(globs=list(DEFAULT_MIGRATION_GLOBS), level="high")
    commits: CountRule | None = CountRule(medium=5, high=20)
    files: CountRule | None = CountRule(medium=30)
    risky_paths: PathRule | None = None
    since_last_release: SinceRule | None = SinceRule(medium=timedelta(days=7), high=timedelta(days=30))
    outside_hours: HoursRule | None = None
    first_release_by_person: Literal["medium", "high"] | None = None


class LevelControls(Strict):
    """What a level requires in one environment; unset keys leave the environment's own settings."""

    approvals: int | None = Field(default=None, ge=1, le=10)
    group: str | None = Field(default=None, pattern=r"^@[\w.-]+$|^S[A-Z0-9]{6,}$",
                              description="who approves when the environment has no approval gate")
    strategy: Literal["rolling", "canary", "blue-green"] | None = None
    stages: list[Annotated[int, Field(ge=1, le=100)]] | None = None
    bake: Duration | None = None

    @model_validator(mode="after")
    def _stages(self) -> LevelControls:
        if self.stages is not None:
            if any(b <= a for a, b in zip(self.stages, self.stages[1:], strict=False)) or self.stages[-1] != 100:
                raise ValueError(f"stages must increase and end at 100, e.g. [10, 50, 100]; got {self.stages}")
            if self.strategy != "canary":
                raise ValueError("stages go with strategy: canary")
        return self


class RiskControls(Strict):
    medium: LevelControls | None = None
    high: LevelControls | None = None

    def for_level(self, level: str) -> LevelControls | None:
        return self.medium if level == "medium" else self.high if level == "high" else None
