"""`switchman migrate`: bring the database schema up to date with Alembic.

The Alembic environment ships inside the package, so an installed Switchman migrates
without an alembic.ini on disk.
"""

from __future__ import annotations

import logging
from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import create_engine

from bot.storage.database import sync_url

MIGRATIONS = Path(__file__).parent / "migrations"
log = logging.getLogger(__name__)


def alembic_config(url: str) -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    # ConfigParser interpolation would eat a literal % in a password.
    config.set_main_option("sqlalchemy.url", sync_url(url).replace("%", "%%"))
    config.attributes["configure_logging"] = False
    return config


def upgrade(url: str, revision: str = "heads") -> None:
    command.upgrade(alembic_config(url), revision)
    log.info("database migrated", extra={"revision": current_revision(url)})


def current_revision(url: str) -> str | None:
    """The applied revision(s), comma-separated when branches are applied side by side."""
    engine = create_engine(sync_url(url))
    try:
        with engine.connect() as conn:
            heads = MigrationContext.configure(conn).get_current_heads()
    finally:
        engine.dispose()
    return ",".join(sorted(heads)) if heads else None


def head_revision() -> str | None:
    heads = ScriptDirectory.from_config(alembic_config("sqlite://")).get_heads()
    return ",".join(sorted(heads)) if heads else None
