"""Evaluating an environment's gates concurrently, each within its timeout (§4, §11).

Results are yielded as each gate resolves, so the thread shows them as they arrive and the
total time is that of the slowest gate, not the sum. A gate that raises or times out is
`error` — never a silent pass.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass

from bot.config.gates import GateOptions
from bot.errors import ProviderError
from bot.release.gates.builtin import GATES
from bot.release.gates.types import GateDeps, GateInput, GateOutcome
from bot.release.models import Verdict

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class GateResultNow:
    gate: str
    overridable: bool
    outcome: GateOutcome
    seconds: float


async def run_gates(gates: Sequence[GateOptions], inp: GateInput, deps: GateDeps) -> AsyncIterator[GateResultNow]:
    tasks = [asyncio.create_task(_one(gate, inp, deps)) for gate in gates]
    try:
        for next_done in asyncio.as_completed(tasks):
            yield await next_done
    finally:
        for task in tasks:
            task.cancel()


async def _one(gate: GateOptions, inp: GateInput, deps: GateDeps) -> GateResultNow:
    kind = getattr(gate, "kind", "?")
    started = deps.clock.now()  # the injected clock: real time in production, simulated in tests
    try:
        async with asyncio.timeout(gate.timeout.total_seconds()):
            outcome = await GATES[kind](gate, inp, deps)
    except TimeoutError:
        outcome = GateOutcome(Verdict.ERROR, f"no answer within {gate.timeout.total_seconds():g}s (gate timeout)")
    except ProviderError as exc:
        outcome = GateOutcome(Verdict.ERROR, str(exc))
    except Exception as exc:
        log.exception("gate failed", extra={"gate": kind, "release_id": inp.release_id})
        outcome = GateOutcome(Verdict.ERROR, f"the gate failed unexpectedly ({type(exc).__name__}); "
                                             "see Switchman's logs")
    return GateResultNow(kind, gate.overridable, outcome, (deps.clock.now() - started).total_seconds())
