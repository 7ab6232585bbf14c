"""Follow-up items of a post-release report (§8): what a person should look at after this release.

- every gate overridden, and every verification a person promoted past (special handling);
- every gate that warned or errored without blocking, and every verification check that was
  inconclusive or could not ask (no evidence either way);
- a deploy to an environment that has no verification checks configured (`verify:`), which only
  Alertmanager guards after a rollout;
- a release that went out to an environment where no rollback has succeeded in the last 90 days:
  the way back is untested there.
"""

from __future__ import annotations

from bot.release.models import ReleaseKind, Verdict
from bot.release.report_data import Report

UNSURE = (Verdict.INCONCLUSIVE.value, Verdict.ERROR.value)


def follow_ups(report: Report, *, verification_configured: bool, rollback_exercised: bool) -> list[str]:
    items: list[str] = []
    for gate in report.gates:
        if gate.overridden_by:
            items.append(f"Gate `{gate.gate}` ({gate.verdict}) was overridden by <@{gate.overridden_by}>: "
                         f"{gate.override_reason}")
        elif gate.verdict == Verdict.WARN.value:
            items.append(f"Gate `{gate.gate}` warned: {gate.evidence}")
    for stage in report.stages:
        if stage.promoted_by:
            items.append(f"<@{stage.promoted_by}> promoted past the {stage.verification or 'paused'} verification "
                         f"of {stage.label}")
        for check in stage.checks:
            if check.verdict in UNSURE:
                items.append(f"Check `{check.name}` was {check.verdict} after {stage.label}: {check.evidence}")
    went_out = bool(report.stages)
    if report.kind == ReleaseKind.DEPLOY and went_out and not verification_configured:
        items.append(f"{report.environment} has no verification checks (`verify:`): only Alertmanager watched "
                     "this rollout")
    if went_out and not rollback_exercised:
        items.append(f"No rollback has succeeded in {report.service} {report.environment} in the last 90 days: "
                     f"the way back is untested (`/rollback drill {report.service} {report.environment}` tests it)")
    return items
