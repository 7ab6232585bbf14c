"""Where the wait goes: a successful deploy's request → production time, split into four parts.

- *queue*: requested → started (`created_at` → `started_at`; zero when it started at once);
- *approval*: waiting for people — from each WAITING decision to the next decision, and from each
  NO-GO decision to the override that let it through;
- *gates*: the rest of started → GO, the time the gates themselves took (including re-gating after
  an override);
- *rollout and bake*: GO → verified (every stage's pipeline run, bake and verification, and any pause).

The four add up to the whole lead time of each release. Each part gets a median and p90 over the
releases, and a share: its sum over all releases ÷ the sum of their lead times.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from bot.evidence.history import ReleaseFacts
from bot.evidence.spread import Durations, Spread, ratio
from bot.ledger.models import DecisionKind
from bot.release.decision import DecisionKind as Verdict
from bot.release.models import ReleaseKind


class Part(StrEnum):
    QUEUE = "queue"
    GATES = "gates"
    APPROVAL = "approval"
    ROLLOUT = "rollout and bake"


@dataclass(frozen=True)
class WaitPart:
    part: Part
    spread: Spread
    share: float | None  # of the total lead time of the releases split


class Waits:
    def __init__(self) -> None:
        self.parts = {part: Durations() for part in Part}

    def add(self, release: ReleaseFacts) -> None:
        """Split a deploy that went out and passed verification; any other release adds nothing."""
        went_out = release.went_out
        if release.kind != ReleaseKind.DEPLOY or release.verified_at is None or went_out is None:
            return
        started = release.started_at or release.created_at
        people = _waiting_for_people(release, went_out)
        gating = (went_out - started).total_seconds()
        self.parts[Part.QUEUE].add(release.created_at, started)
        self.parts[Part.APPROVAL].add_seconds(people)
        self.parts[Part.GATES].add_seconds(gating - people)
        self.parts[Part.ROLLOUT].add(went_out, release.verified_at)

    def figures(self) -> tuple[WaitPart, ...]:
        spreads = {part: durations.spread() for part, durations in self.parts.items()}
        whole = sum(s.total.total_seconds() for s in spreads.values())
        return tuple(WaitPart(part, spread, ratio(spread.total.total_seconds(), whole))
                     for part, spread in spreads.items())


def _waiting_for_people(release: ReleaseFacts, went_out: datetime) -> float:
    """Seconds between started and GO spent waiting for an approval or for an override."""
    waited = 0.0
    since: datetime | None = None
    until_kind = ""
    for step in release.steps:
        if step.at > went_out:
            break
        if since is not None and step.kind == until_kind:
            waited += (step.at - since).total_seconds()
            since = None
        if step.kind == DecisionKind.DECISION and step.outcome == Verdict.WAITING:
            since, until_kind = step.at, DecisionKind.DECISION
        elif step.kind == DecisionKind.DECISION and step.outcome == Verdict.NO_GO:
            since, until_kind = step.at, DecisionKind.OVERRIDE
        if step.kind == DecisionKind.DECISION and step.outcome == Verdict.GO:
            break
    return waited
