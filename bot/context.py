"""`AppContext`: everything a handler or job needs, built once per process and passed explicitly.

There is no module-level app or global state; `create_app` receives this, and so do the
HTTP server, the console and the scheduler.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from slack_sdk.web.async_client import AsyncWebClient

from bot.background import BackgroundTasks
from bot.clock import Clock, SystemClock
from bot.config.models import SwitchmanConfig
from bot.settings import Settings
from bot.storage.database import Database


@dataclass
class AppContext:
    settings: Settings
    config: SwitchmanConfig
    db: Database
    slack: AsyncWebClient
    clock: Clock = field(default_factory=SystemClock)
    background: BackgroundTasks = field(default_factory=BackgroundTasks)
