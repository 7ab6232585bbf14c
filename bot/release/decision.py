"""The release decision (§3): GO, NO-GO (which gates) or WAITING (for whom), from gate results."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from enum import StrEnum

from bot.release.models import Verdict


class DecisionKind(StrEnum):
    GO = "GO"
    NO_GO = "NO-GO"
    WAITING = "WAITING"


@dataclass(frozen=True)
class GateStanding:
    """A gate's latest verdict for a release, and whether it may be overridden."""

    gate: str
    verdict: Verdict
    evidence: str
    overridable: bool
    overridden: bool = False


@dataclass(frozen=True)
class Decision:
    kind: DecisionKind
    blocking: list[str] = field(default_factory=list)  # failing gates not overridden
    overridable: list[str] = field(default_factory=list)  # of those, the ones an override can let through
    waiting_for: list[str] = field(default_factory=list)  # evidence of gates still waiting (approvals)
    overridden: list[str] = field(default_factory=list)
    waiting_gates: list[str] = field(default_factory=list)  # names of the gates still waiting (approval, pair)

    @property
    def special_handling(self) -> bool:
        return bool(self.overridden)


def decide(standings: Iterable[GateStanding]) -> Decision:
    blocking, overridable, waiting, overridden, waiting_gates = [], [], [], [], []
    for s in standings:
        if s.verdict.blocks and s.overridden:
            overridden.append(s.gate)
        elif s.verdict.blocks:
            blocking.append(s.gate)
            if s.overridable:
                overridable.append(s.gate)
        elif s.verdict == Verdict.WAITING:
            waiting.append(s.evidence)
            waiting_gates.append(s.gate)
    if blocking:
        return Decision(DecisionKind.NO_GO, blocking, overridable, waiting, overridden, waiting_gates)
    if waiting:
        return Decision(DecisionKind.WAITING, [], [], waiting, overridden, waiting_gates)
    return Decision(DecisionKind.GO, [], [], [], overridden)
