"""What a metrics question is about: which (service, environment) pairs, and which stretch of time.

Production is the last environment of a service in the configuration's order (`staging`, then
`production`): the order the config lists environments in is the order a change is promoted in.
A window is half-open, `(end - days, end]`, so a window ending now includes what finished this very
instant; a release belongs to it when it finished inside it.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from bot.config.models import SwitchmanConfig

DEFAULT_DAYS = 90


@dataclass(frozen=True)
class Target:
    service: str
    environment: str


@dataclass(frozen=True)
class Window:
    start: datetime
    end: datetime

    @property
    def days(self) -> float:
        return (self.end - self.start) / timedelta(days=1)

    @property
    def weeks(self) -> float:
        return self.days / 7


def window_ending(now: datetime, days: int = DEFAULT_DAYS) -> Window:
    if now.tzinfo is None:
        raise ValueError("the window's end must be timezone-aware")
    if days < 1:
        raise ValueError("a window is at least one day long")
    return Window(now - timedelta(days=days), now)


def production_environment(config: SwitchmanConfig, service: str) -> str:
    """The last environment listed for the service: where its changes end up."""
    return list(config.services[service].environments)[-1]


def production_targets(config: SwitchmanConfig, service: str | None = None) -> tuple[Target, ...]:
    """Each named service's production environment; every configured service when none is named."""
    names = [service] if service is not None else sorted(config.services)
    return tuple(Target(name, production_environment(config, name)) for name in names)


def operators(config: SwitchmanConfig) -> frozenset[str]:
    """People who are a primary in some rotation: ops. Everyone else who deploys is a developer."""
    return frozenset(person for rotation in config.rotations.values() for person in rotation.primaries)
