"""What a step of the engine tells it to do next."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class Step(StrEnum):
    CONTINUE = "continue"  # the release moved on: look at it again and take the next step now
    WAIT = "wait"  # nothing to do until something happens (a click, a job, a timer)


@dataclass(frozen=True)
class RollBack:
    """Verification failed (or a person aborted): undo the release."""

    evidence: str
    actor: str | None = None  # None: Switchman decided, automatically
