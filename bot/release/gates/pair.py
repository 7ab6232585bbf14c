"""The `pair` gate (§4 `trust:`): a developer not yet trusted in an environment releases there with a pair.

Added to a release by the request (never configured). It waits — like an approval — until a member of
the environment's `trust.with` group presses Join as pair (`bot/release/pairing.py`), which records its pass.
"""

from __future__ import annotations

from bot.config.gates import PairJoined
from bot.release.gates.types import GateDeps, GateInput, GateOutcome
from bot.release.models import Verdict
from bot.release.trust_models import TrustPair


async def pair_joined(gate: PairJoined, inp: GateInput, deps: GateDeps) -> GateOutcome:
    async with deps.db.session() as session:
        joined = await session.get(TrustPair, inp.release_id)
    if joined is not None:
        return GateOutcome(Verdict.PASS, f"<@{joined.pair}> ({gate.group}) pairs on this release")
    return GateOutcome(Verdict.WAITING, f"<@{inp.requested_by}> is not yet a deployer of {inp.environment}, so "
                                        f"this release waits for a pair: a member of {gate.group} presses "
                                        "*Join as pair*")
