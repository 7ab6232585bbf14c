"""Starting the console: a simulated workspace, the real app on loopback, and a session over it."""

from __future__ import annotations

from bot.console.session import ConsoleSession, run_session, script_lines, stdout_writer, terminal_lines
from bot.settings import Settings
from bot.slack_sim.stack import simulated_stack


async def run_console(settings: Settings, *, script: str | None, as_user: str | None) -> int:
    async with simulated_stack(settings) as stack:
        session = ConsoleSession(stack, out=stdout_writer)
        if as_user:
            await session.handle(f"/as {as_user}")
        if script is not None:
            return await run_session(session, script_lines(script), echo=True)
        return await run_session(session, terminal_lines(lambda: session.prompt), echo=False)
