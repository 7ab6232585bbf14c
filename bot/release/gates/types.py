"""What a gate is given and what it answers."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import httpx

from bot.clock import Clock
from bot.config.models import SwitchmanConfig
from bot.providers.base import Provider
from bot.release.models import Verdict
from bot.release.ports import Members
from bot.storage.database import Database


@dataclass(frozen=True)
class GateInput:
    release_id: int
    service: str
    environment: str
    ref: str
    sha: str
    requested_by: str


@dataclass(frozen=True)
class GateOutcome:
    verdict: Verdict
    evidence: str
    link: str | None = None


@dataclass(frozen=True)
class GateDeps:
    config: SwitchmanConfig
    db: Database
    provider: Provider
    clock: Clock
    directory: Members
    sleep: Callable[[float], Awaitable[None]]
    http: httpx.AsyncClient
    date: Callable[[datetime | None], str]  # an instant as readers see it (Slack renders it per reader)


GateFunction = Callable[[Any, GateInput, GateDeps], Awaitable[GateOutcome]]
