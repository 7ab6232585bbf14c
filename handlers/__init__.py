"""Slack listeners only: one module per command or surface, each exposing `register(app, ctx)`."""

from __future__ import annotations

from slack_bolt.async_app import AsyncApp

from bot.context import AppContext
from handlers import deploy, home, oncall, oncall_actions, page_actions, release_actions, rollback, trust_actions


def register_listeners(app: AsyncApp, ctx: AppContext) -> None:
    for module in (deploy, release_actions, rollback, oncall, oncall_actions, page_actions, home, trust_actions):
        module.register(app, ctx)
