"""The DORA-style delivery figures, accumulated one finished release at a time (docs/metrics.md).

Deploys and rollbacks to production are told apart by the release's kind; rollback drills are
left out altogether (a rehearsal is not a change, and its rollback step is not a failure). A deploy is a change
that *succeeded* when it passed verification (`verified_at`), *reached rollout* when the ledger has
its GO decision, and *failed* when, having reached rollout, it failed verification (`detected_at`),
was rolled back (state `rolled_back`) or had a rollback triggered against it (a `rollback_trigger`).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from bot.evidence.history import ReleaseFacts
from bot.evidence.spread import Durations, Spread, ratio
from bot.evidence.windows import Window
from bot.release.models import ReleaseKind, ReleaseState

RISK_ORDER = ("low", "medium", "high", "unassessed")


@dataclass(frozen=True)
class RiskFailures:
    failed: int
    reached_rollout: int

    @property
    def rate(self) -> float | None:
        return ratio(self.failed, self.reached_rollout)


@dataclass(frozen=True)
class DeliveryFigures:
    deploys: int  # production deploys that finished in the window, whatever their outcome
    succeeded: int  # of those, the ones that passed verification
    per_week: float  # succeeded ÷ the window's length in weeks
    request_to_production: Spread  # requested → verified, for those that succeeded
    lead_time: Spread  # earliest commit of the change → verified, for those that succeeded with commit times
    reached_rollout: int
    failed_changes: int
    change_failure_rate: float | None  # failed_changes ÷ reached_rollout
    time_to_detect: Spread  # rollout start (GO) → verification failed
    time_to_restore: Spread  # failure detected → the first success in the environment after it
    unrestored: int  # failed changes with no success in their environment since
    rollbacks: int  # rollback releases that finished in the window
    rollbacks_succeeded: int
    time_to_rollback: Spread  # rollback triggered → rollback verified
    special_handling: int  # deploys with an override recorded (a gate let through, a verification promoted)
    special_handling_share: float | None  # special_handling ÷ deploys
    # Per risk level assessed at preview (low / medium / high, "unassessed" when none was stored):
    # (failed changes, changes that reached rollout, failed ÷ reached).
    failure_by_risk: dict[str, RiskFailures] = field(default_factory=dict)


class Delivery:
    def __init__(self) -> None:
        self.deploys = self.succeeded = self.reached_rollout = self.failed_changes = self.unrestored = 0
        self.rollbacks = self.rollbacks_succeeded = self.special_handling = 0
        self.lead, self.detect, self.restore, self.rollback = Durations(), Durations(), Durations(), Durations()
        self.commit_lead = Durations()
        self.by_risk: dict[str, list[int]] = {}  # level → [failed, reached rollout]

    def add(self, release: ReleaseFacts) -> None:
        if release.kind == ReleaseKind.DRILL:
            return  # a rehearsal, not a change: neither a deploy, a failure, nor a rollback
        if release.kind == ReleaseKind.ROLLBACK:
            self.rollbacks += 1
            if release.verified_at is not None:
                self.rollbacks_succeeded += 1
                self.rollback.add(release.created_at, release.verified_at)  # created in the trigger's transaction
            return
        self.deploys += 1
        self.special_handling += release.overridden
        if release.verified_at is not None:
            self.succeeded += 1
            self.lead.add(release.created_at, release.verified_at)
            self.commit_lead.add(release.first_commit_at, release.verified_at)  # nothing when not stored
        went_out = release.went_out
        if went_out is None:
            return
        self.reached_rollout += 1
        level = self.by_risk.setdefault(release.risk or "unassessed", [0, 0])
        level[1] += 1
        self.detect.add(went_out, release.detected_at)
        if not _failed(release):
            return
        self.failed_changes += 1
        level[0] += 1
        if release.restored_at is None or release.detected is None:
            self.unrestored += 1
        else:
            self.restore.add(release.detected, release.restored_at)

    def figures(self, window: Window) -> DeliveryFigures:
        return DeliveryFigures(
            deploys=self.deploys, succeeded=self.succeeded, per_week=self.succeeded / window.weeks,
            request_to_production=self.lead.spread(), lead_time=self.commit_lead.spread(),
            reached_rollout=self.reached_rollout,
            failed_changes=self.failed_changes, change_failure_rate=ratio(self.failed_changes, self.reached_rollout),
            time_to_detect=self.detect.spread(), time_to_restore=self.restore.spread(), unrestored=self.unrestored,
            rollbacks=self.rollbacks, rollbacks_succeeded=self.rollbacks_succeeded,
            time_to_rollback=self.rollback.spread(), special_handling=self.special_handling,
            special_handling_share=ratio(self.special_handling, self.deploys),
            failure_by_risk={level: RiskFailures(*counts) for level, counts in sorted(
                self.by_risk.items(), key=lambda item: RISK_ORDER.index(item[0]) if item[0] in RISK_ORDER else 9)})


def _failed(release: ReleaseFacts) -> bool:
    return (release.detected_at is not None or release.state == ReleaseState.ROLLED_BACK
            or release.trigger_at is not None)

