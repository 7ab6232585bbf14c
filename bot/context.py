"""`AppContext`: everything a handler or job needs, built once per process and passed explicitly.

There is no module-level app or global state; `create_app` receives this, and so do the
HTTP server, the console and the background work.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

import aiohttp
import httpx
from slack_sdk.web.async_client import AsyncWebClient

from bot.background import BackgroundTasks
from bot.clock import Clock, SystemClock
from bot.config.models import SwitchmanConfig
from bot.interaction_lane import InteractionLane
from bot.oncall.ports import ContactChannels, OncallView
from bot.outbox.sender import OutboxSender
from bot.providers.base import Provider
from bot.release.ports import ReleaseView
from bot.scheduler import ApsScheduler, Scheduler
from bot.settings import Settings
from bot.slack.directory import Directory
from bot.slack.oncall_view import BlockKitOncallView
from bot.slack.release_view import BlockKitReleaseView
from bot.storage.database import Database
from bot.storage.leadership import LeaderState
from bot.web.metrics import Metrics

Sleep = Callable[[float], Awaitable[None]]


@dataclass
class AppContext:
    settings: Settings
    config: SwitchmanConfig
    db: Database
    slack: AsyncWebClient
    clock: Clock = field(default_factory=SystemClock)
    background: BackgroundTasks = field(default_factory=BackgroundTasks)
    http: httpx.AsyncClient | None = None
    webhooks: aiohttp.ClientSession | None = None  # shared by every response_url post
    providers: dict[str, Provider] = field(default_factory=dict)
    # Waiting between polls goes through here, so tests and the console decide how long a wait is.
    sleep: Sleep = asyncio.sleep
    scheduler: Scheduler = field(default_factory=ApsScheduler)
    # Every message to Slack goes through here (record first, send after): set up by `build_context`.
    outbox: OutboxSender | None = None
    release_view: ReleaseView = field(default_factory=BlockKitReleaseView)
    oncall_view: OncallView = field(default_factory=BlockKitOncallView)
    # SMS and voice (Twilio) and email (SMTP) for pages, as configured: set up by `build_context`.
    contacts: ContactChannels | None = None
    # Whether this process leads (runs timers, the outbox sender and the watchers): always, on SQLite.
    leader: LeaderState = field(default_factory=LeaderState)
    directory: Directory = field(init=False)
    metrics: Metrics = field(init=False)
    # The short work clicks and commands leave after their ack runs here, bounded; release work does not.
    lane: InteractionLane = field(init=False)

    def __post_init__(self) -> None:
        self.lane = InteractionLane(self.background)
        self.directory = Directory(self.slack, self.clock)
        self.metrics = Metrics(self.background)
        self.metrics.watch_lane(self.lane)
