"""A Slack request that `/slack/events` has already verified and parsed, and the Bolt middleware that trusts it.

Bolt's own request verification (`AsyncRequestVerification`) recomputes the HMAC over the raw body,
and `AsyncBoltRequest` parses the body again, although `slack_request_check.py` has just done both.
`VerifiedBoltRequest` carries the body parsed by that check; `VerifyUnlessVerified` takes the place of
Bolt's verification (`create_app` turns Bolt's off and installs this one where it ran) and skips the
HMAC only for a `VerifiedBoltRequest`, which only the server builds, after the check passed. Every
other request (a test or tool dispatching to Bolt directly, a copy Bolt makes for a lazy listener)
is verified exactly as Bolt always did, with the same 401.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from typing import Any

from slack_bolt.context.async_context import AsyncBoltContext
from slack_bolt.middleware.request_verification.async_request_verification import AsyncRequestVerification
from slack_bolt.request.async_internals import build_async_context
from slack_bolt.request.async_request import AsyncBoltRequest
from slack_bolt.response import BoltResponse


class VerifiedBoltRequest(AsyncBoltRequest):
    """An HTTP request to Bolt whose signature was verified and whose body was parsed by our check."""

    def __init__(self, *, raw_body: str, body: dict[str, Any], query: str, headers: Mapping[str, str]) -> None:
        # An empty body parses for free; the real text and the parsed body are put in place after.
        super().__init__(body="", query=query, headers=dict(headers))
        self.raw_body = raw_body  # kept for anything that reads it (a lazy listener's copy re-parses it)
        self.body = body
        self.context = build_async_context(AsyncBoltContext(), body)


class VerifyUnlessVerified(AsyncRequestVerification):
    """Bolt's signature verification, except for requests our own check has already verified."""

    async def async_process(self, *, req: AsyncBoltRequest, resp: BoltResponse,
                            next: Callable[[], Awaitable[BoltResponse]]) -> BoltResponse:
        if type(req) is VerifiedBoltRequest:
            return await next()
        return await super().async_process(req=req, resp=resp, next=next)
