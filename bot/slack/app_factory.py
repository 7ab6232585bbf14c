"""`create_app`: the async Bolt app, built per process from an AppContext (no module-level App).

The app runs listeners inline (`process_before_response=True`) so the ack is the HTTP
response itself instead of being polled for every 10 ms by Bolt's default runner (§11);
listeners therefore validate, ack and hand slow work to `ctx.background`. Bolt's own signature
check is replaced by one that skips requests the HTTP server has already verified and parsed
(`bot/web/verified_request.py`); every other request is verified as Bolt always did.
"""

from __future__ import annotations

import logging

from slack_bolt.async_app import AsyncApp
from slack_sdk.web.async_client import AsyncWebClient

from bot.context import AppContext
from bot.slack.body_matchers import match_on_body_only
from bot.slack.errors import make_error_handler
from bot.web.verified_request import VerifyUnlessVerified
from handlers import register_listeners

log = logging.getLogger(__name__)


def create_app(ctx: AppContext, *, client: AsyncWebClient | None = None, signing_secret: str | None = None) -> AsyncApp:
    client = client or ctx.slack
    app = AsyncApp(
        client=client,
        signing_secret=signing_secret or ctx.settings.signing_secret or "",
        process_before_response=True,
        logger=logging.getLogger("switchman.bolt"),
        request_verification_enabled=False,  # VerifyUnlessVerified takes its place (before authorize)
        before_authorize=VerifyUnlessVerified(signing_secret or ctx.settings.signing_secret or "",
                                              base_logger=logging.getLogger("switchman.bolt")),
    )
    app.error(make_error_handler(ctx.background, ctx.webhooks))
    register_listeners(app, ctx)
    match_on_body_only(app)  # Bolt's matchers, without building every listener argument per listener
    return app


def web_client(token: str | None, base_url: str) -> AsyncWebClient:
    """The Web API client; its base_url is the one switch that reroutes every call (GovSlack, tests)."""
    return AsyncWebClient(token=token, base_url=base_url, timeout=10)
