"""Imports every table so `SQLModel.metadata` is complete (for Alembic and tests)."""

from sqlmodel import SQLModel

from bot.authors import models as author_models
from bot.evidence import review_models
from bot.ledger import models as ledger_models
from bot.oncall import alert_models, heartbeat_models
from bot.oncall import models as oncall_models
from bot.oncall import schedule_models as oncall_schedule_models
from bot.outbox import models as outbox_models
from bot.release import models as release_models
from bot.release import trust_models
from bot.storage import handled_requests
from bot.web import log_models as web_log_models

metadata = SQLModel.metadata
__all__ = ["alert_models", "author_models", "handled_requests", "heartbeat_models", "ledger_models", "metadata",
           "oncall_models", "oncall_schedule_models", "outbox_models", "release_models", "review_models",
           "trust_models", "web_log_models"]
