"""Bolt's built-in listener matchers, called with the request body alone, as they ask.

For every request Bolt asks each listener in turn whether it matches, and its built-in matcher
(`app.command(...)`, `app.action(...)`, …) builds every argument a listener could take (ack, say,
respond, client, the payload in eight shapes, …) before calling a function that takes only `body`.
With Switchman's nineteen listeners, a command registered late paid that a dozen times per
request, a fifth of its ack's CPU (docs/benchmarks.md). `match_on_body_only` makes each such
matcher pass the body directly: the same function, the same answer, without the rest.
"""

from __future__ import annotations

from slack_bolt.async_app import AsyncApp
from slack_bolt.listener_matcher.async_builtins import AsyncBuiltinListenerMatcher
from slack_bolt.request.async_request import AsyncBoltRequest
from slack_bolt.response import BoltResponse


class BodyOnlyMatcher(AsyncBuiltinListenerMatcher):
    """A built-in matcher whose function takes only `body`: called with it, nothing else built."""

    async def async_matches(self, req: AsyncBoltRequest, resp: BoltResponse) -> bool:
        return bool(await self.func(body=req.body))  # type: ignore[misc]  # Bolt types func as returning bool


def match_on_body_only(app: AsyncApp) -> int:
    """Turn the app's built-in matchers that take only `body` into `BodyOnlyMatcher`s; how many there were.

    Bolt keeps its listeners in `_async_listeners`; should a later Bolt not, nothing changes (and the
    test that counts them fails), so matching is never wrong, only slower.
    """
    swapped = 0
    for listener in getattr(app, "_async_listeners", ()):
        for matcher in getattr(listener, "matchers", ()):
            if type(matcher) is AsyncBuiltinListenerMatcher and list(matcher.arg_names) == ["body"]:
                matcher.__class__ = BodyOnlyMatcher
                swapped += 1
    return swapped
