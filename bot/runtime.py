"""Assembling a running Switchman: settings → config → migrated database → AppContext.

`serve` and `console` both start here, so they run the same code on the same schema.
"""

from __future__ import annotations

import asyncio
import logging

from bot.background import BackgroundTasks
from bot.clock import Clock, SystemClock
from bot.config.loader import load_config
from bot.context import AppContext
from bot.settings import Settings
from bot.slack.app_factory import web_client
from bot.storage.database import Database
from bot.storage.migrate import upgrade

log = logging.getLogger(__name__)


async def build_context(settings: Settings, *, clock: Clock | None = None, migrate: bool = True) -> AppContext:
    config = load_config(settings.config_path)
    if migrate:
        # Alembic is synchronous; keep the event loop free while it runs.
        await asyncio.to_thread(upgrade, settings.database_url)
    db = Database(settings.database_url)
    slack = web_client(settings.bot_token, settings.slack_api_url)
    log.info("switchman ready", extra={"config": str(settings.config_path), "database": db.dialect,
                                        "services": len(config.services), "rotations": len(config.rotations)})
    return AppContext(settings=settings, config=config, db=db, slack=slack, clock=clock or SystemClock(),
                      background=BackgroundTasks())


async def close_context(ctx: AppContext) -> None:
    await ctx.background.close()
    await ctx.db.dispose()
