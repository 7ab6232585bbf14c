"""The release state machine: state × event → next state, in one table.

Every state change of a release goes through `store.apply`, which looks the pair up here and
refuses anything not listed. Reading this table is reading every path a release can take.
"""

from __future__ import annotations

from enum import StrEnum

from bot.release.models import IN_FLIGHT, ReleaseState

S = ReleaseState


class Event(StrEnum):
    START = "start"  # its turn came: gates are evaluated
    GO = "go"  # every gate passed (or was overridden): roll out
    WAIT = "wait"  # only approvals are missing
    NO_GO = "no_go"  # a gate blocks
    REJECT = "reject"  # an approver said no
    OVERRIDE = "override"  # a permitted person let the blocking gates through: decide again
    BAKE = "bake"  # a stage's pipeline run succeeded: bake and verify
    VERIFIED = "verified"  # verification passed: next stage
    PAUSE = "pause"  # verification inconclusive (or failed without auto-rollback): a person decides
    PROMOTE = "promote"  # a person carried on past the pause
    SUCCEED = "succeed"  # the last stage is out and verified
    FAIL = "fail"  # a run failed, verification failed, Slack refused, or a step broke
    CANCEL = "cancel"  # someone cancelled it, or a rollback took the environment
    SUPERSEDE = "supersede"  # queued, but what it would deploy already runs there
    UNDONE = "undone"  # a rollback of it succeeded


_UNFINISHED = (*sorted(IN_FLIGHT), S.QUEUED)

TRANSITIONS: dict[tuple[ReleaseState, Event], ReleaseState] = {
    (S.QUEUED, Event.START): S.GATING,
    (S.REQUESTED, Event.START): S.GATING,
    (S.QUEUED, Event.SUPERSEDE): S.SUPERSEDED,
    (S.GATING, Event.GO): S.ROLLING_OUT,
    (S.GATING, Event.WAIT): S.AWAITING_APPROVAL,
    (S.GATING, Event.NO_GO): S.BLOCKED,
    (S.GATING, Event.REJECT): S.REJECTED,
    (S.AWAITING_APPROVAL, Event.GO): S.ROLLING_OUT,
    (S.AWAITING_APPROVAL, Event.NO_GO): S.BLOCKED,
    (S.AWAITING_APPROVAL, Event.REJECT): S.REJECTED,
    (S.AWAITING_APPROVAL, Event.WAIT): S.AWAITING_APPROVAL,
    (S.BLOCKED, Event.OVERRIDE): S.GATING,
    (S.ROLLING_OUT, Event.BAKE): S.VERIFYING,
    (S.ROLLING_OUT, Event.SUCCEED): S.SUCCEEDED,
    (S.VERIFYING, Event.VERIFIED): S.ROLLING_OUT,
    (S.VERIFYING, Event.PAUSE): S.PAUSED,
    (S.PAUSED, Event.PROMOTE): S.ROLLING_OUT,
    (S.SUCCEEDED, Event.UNDONE): S.ROLLED_BACK,
    (S.FAILED, Event.UNDONE): S.ROLLED_BACK,
    **{(state, Event.FAIL): S.FAILED for state in _UNFINISHED},
    **{(state, Event.CANCEL): S.CANCELLED for state in _UNFINISHED},
}


class IllegalTransition(RuntimeError):
    pass


def next_state(state: str, event: Event) -> ReleaseState:
    found = TRANSITIONS.get((ReleaseState(state), event))
    if found is None:
        raise IllegalTransition(f"a release that is {state} cannot {event.value}")
    return found


def allows(state: str, event: Event) -> bool:
    return (ReleaseState(state), event) in TRANSITIONS


def sources(event: Event) -> set[ReleaseState]:
    """Every state `event` can move a release out of."""
    return {state for state, e in TRANSITIONS if e == event}
