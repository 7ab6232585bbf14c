"""Ctrl-C during a console wait ends the wait, not the console.

While `interruptibly` runs its work, SIGINT cancels that work instead of raising KeyboardInterrupt
(or cancelling the whole `asyncio.run`); the handler in place before (asyncio's own, which ends
the console) is back as soon as the work ends, so Ctrl-C at the prompt still leaves.
"""

from __future__ import annotations

import asyncio
import signal
import threading
from collections.abc import Coroutine
from types import FrameType
from typing import Any


async def interruptibly(work: Coroutine[Any, Any, None]) -> bool:
    """Run `work`; True when it ran to its end, False when Ctrl-C (SIGINT) ended it first."""
    task = asyncio.ensure_future(work)
    if threading.current_thread() is not threading.main_thread():  # only the main thread may take signals
        await task
        return True
    loop = asyncio.get_running_loop()
    interrupted = False

    def on_sigint(signum: int, frame: FrameType | None) -> None:
        nonlocal interrupted
        interrupted = True
        loop.call_soon_threadsafe(task.cancel)  # also wakes the loop if it is waiting in select()

    previous = signal.signal(signal.SIGINT, on_sigint)
    try:
        await asyncio.wait({task})
    except asyncio.CancelledError:
        task.cancel()
        raise
    finally:
        signal.signal(signal.SIGINT, previous)
    if task.cancelled() and interrupted:
        return False
    task.result()  # the work's own failure, if any
    return True
