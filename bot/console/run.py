"""Starting the console: a simulated workspace, the real app on loopback, and a session over it.

With `--at`, the console runs on simulated time: the clock starts at that instant and every wait
(polling a pipeline, backing off) moves it forward instead of sleeping, so a script gives the
same transcript every time, whatever day it runs. The clock only moves when the console lets it,
after the work the last line started has finished or is waiting for time (`SettlingTime`).

`/alert` posts to the app's Alertmanager webhook, which needs `SWITCHMAN_WEBHOOK_SECRET`; when it
is not set, the console makes up one for its session (it never leaves the process).
"""

from __future__ import annotations

import secrets
from dataclasses import replace
from datetime import datetime

from bot.console.session import ConsoleSession, run_session, script_lines, stdout_writer, terminal_lines
from bot.settings import Settings
from bot.simulated_time import SettlingTime
from bot.slack_sim.stack import simulated_stack
from bot.structured_log import scrubber


async def run_console(settings: Settings, *, script: str | None, as_user: str | None,
                      at: datetime | None = None) -> int:
    # No rate limit in the console's Slack: a 429 wait would move simulated time by an amount that depends on
    # how tasks interleave, and the demo transcripts must come out the same every run.
    time = SettlingTime(at) if at is not None else None
    if not settings.webhook_secret:
        settings = replace(settings, webhook_secret=secrets.token_hex(16))
        scrubber.register([settings.webhook_secret])
    async with simulated_stack(settings, time=time, rate_limit=None) as stack:
        if time is not None:
            time.attach(stack.ctx.background)
        session = ConsoleSession(stack, out=stdout_writer, time=time)
        if as_user:
            await session.handle(f"/as {as_user}")
        if script is not None:
            return await run_session(session, script_lines(script), echo=True)
        return await run_session(session, terminal_lines(lambda: session.prompt), echo=False)
