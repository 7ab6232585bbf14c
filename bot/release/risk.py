"""A change's risk level (§4 "Risk"): the configured rules applied to the facts of one change.

`assess` is pure: given the rules (`bot/config/risk.py`) and the facts (`ChangeFacts`, gathered by
`risk_facts.py` from the provider's compare and the stored history) it says which rules fired and
the level, the highest among them (low when none fired). A rule whose facts the provider could not
give (no compare, no file list) is listed as unknown and raises nothing: it does not guess.
"""

from __future__ import annotations

import re
from dataclasses import asdict, dataclass, field
from datetime import datetime, time, timedelta
from functools import lru_cache
from typing import Any
from zoneinfo import ZoneInfo

from bot.config.durations import format_duration
from bot.config.risk import HOURS, WEEKDAYS, CountRule, HoursRule, PathRule, RiskRules, SinceRule

LEVELS = ("low", "medium", "high")


def rank(level: str) -> int:
    return LEVELS.index(level)


@dataclass(frozen=True)
class ChangeFacts:
    files: list[str] | None  # every changed path; None when the provider could not say
    commits: int | None  # None when the provider could not say
    since_last: timedelta | None  # since the service's last successful release there; None: never
    at: datetime  # when the change was requested
    first_by_person: bool  # the requester has never released this service there before
    # Why files and commits are None, in words for the thread.
    unknown_why: str = "the provider did not say which files and commits the change has"


@dataclass(frozen=True)
class Fired:
    rule: str
    level: str
    text: str


@dataclass(frozen=True)
class Assessment:
    level: str
    fired: list[Fired] = field(default_factory=list)
    unknown: list[str] = field(default_factory=list)  # rules that could not be judged
    unknown_why: str = ""

    def as_json(self) -> dict[str, Any]:
        return asdict(self)

    @staticmethod
    def from_json(data: dict[str, Any]) -> Assessment:
        return Assessment(str(data.get("level", "low")), [Fired(**f) for f in data.get("fired") or []],
                          list(data.get("unknown") or []), str(data.get("unknown_why") or ""))

    @property
    def reasons(self) -> list[str]:
        return [f.text for f in self.fired]

    @property
    def unknown_text(self) -> str | None:
        """One line for the rules that could not be judged, or None."""
        if not self.unknown:
            return None
        return f"unknown, so not counted: {', '.join(self.unknown)} — {self.unknown_why}"


def assess(rules: RiskRules, facts: ChangeFacts) -> Assessment:
    fired: list[Fired] = []
    unknown: list[str] = []
    for name, rule in (("migrations", rules.migrations), ("risky_paths", rules.risky_paths)):
        if rule is not None:
            _paths(name, rule, facts.files, fired, unknown)
    if rules.commits is not None:
        _count("commits", rules.commits, facts.commits, "commits", fired, unknown)
    if rules.files is not None:
        _count("files", rules.files, None if facts.files is None else len(facts.files), "files changed", fired,
               unknown)
    if rules.since_last_release is not None:
        _since(rules.since_last_release, facts.since_last, fired)
    if rules.outside_hours is not None and not within_hours(rules.outside_hours, facts.at):
        hours = rules.outside_hours
        fired.append(Fired("outside_hours", hours.level,
                           f"requested outside working hours ({hours.hours} {hours.timezone})"))
    if rules.first_release_by_person is not None and facts.first_by_person:
        fired.append(Fired("first_release_by_person", rules.first_release_by_person,
                           "the requester's first release of this service here"))
    level = max((f.level for f in fired), key=rank, default="low")
    return Assessment(level, fired, unknown, facts.unknown_why if unknown else "")


def _paths(name: str, rule: PathRule, files: list[str] | None, fired: list[Fired], unknown: list[str]) -> None:
    if files is None:
        unknown.append(name)
        return
    matched = [f for f in files if any(glob_matches(g, f) for g in rule.globs)]
    if matched:
        shown = ", ".join(f"`{f}`" for f in matched[:5]) + (f" and {len(matched) - 5} more" if len(matched) > 5 else "")
        what = "migration" if name == "migrations" else "risky path"
        fired.append(Fired(name, rule.level, f"{len(matched)} {what}{'s' if len(matched) > 1 else ''}: {shown}"))


def _count(name: str, rule: CountRule, count: int | None, noun: str, fired: list[Fired], unknown: list[str]) -> None:
    if count is None:
        unknown.append(name)
        return
    for level, threshold in (("high", rule.high), ("medium", rule.medium)):
        if threshold is not None and count > threshold:
            fired.append(Fired(name, level, f"{count} {noun} (more than {threshold})"))
            return


def _since(rule: SinceRule, since: timedelta | None, fired: list[Fired]) -> None:
    if since is None:
        if rule.never != "low":
            fired.append(Fired("since_last_release", rule.never, "the first release here through Switchman"))
        return
    for level, limit in (("high", rule.high), ("medium", rule.medium)):
        if limit is not None and since > limit:
            fired.append(Fired("since_last_release", level, f"{format_duration(_whole_minutes(since))} since the "
                                                             f"last release here (more than {format_duration(limit)})"))
            return


def _whole_minutes(delta: timedelta) -> timedelta:
    return timedelta(minutes=int(delta.total_seconds() // 60))


def within_hours(rule: HoursRule, at: datetime) -> bool:
    """Whether `at` falls inside the working hours, read on the wall clock of the rule's zone."""
    match = HOURS.fullmatch(rule.hours)
    assert match is not None  # validated with the config
    first, last = WEEKDAYS.index(match["d1"].lower()), WEEKDAYS.index(match["d2"].lower())
    days = {(first + i) % 7 for i in range(((last - first) % 7) + 1)}
    local = at.astimezone(ZoneInfo(rule.timezone))
    start = time(int(match["h1"]), int(match["m1"]))
    end_minutes = int(match["h2"]) * 60 + int(match["m2"])
    minutes = local.hour * 60 + local.minute
    return local.weekday() in days and start.hour * 60 + start.minute <= minutes < end_minutes


@lru_cache(maxsize=256)
def _glob_regex(pattern: str) -> re.Pattern[str]:
    out, i = [], 0
    while i < len(pattern):
        if pattern.startswith("**/", i):
            out.append("(?:.*/)?")
            i += 3
        elif pattern.startswith("**", i):
            out.append(".*")
            i += 2
        elif pattern[i] == "*":
            out.append("[^/]*")
            i += 1
        elif pattern[i] == "?":
            out.append("[^/]")
            i += 1
        else:
            out.append(re.escape(pattern[i]))
            i += 1
    return re.compile("".join(out))


def glob_matches(pattern: str, path: str) -> bool:
    """`*` stays within one directory, `**` crosses any number of them (`**/x` also matches `x`)."""
    return _glob_regex(pattern).fullmatch(path.strip("/")) is not None
