"""The CI verdict for one commit on GitHub: check runs (Actions and apps) plus legacy commit statuses.

PASS only when every check run completed with success, neutral or skipped and every legacy status
is success (or there are none). FAIL as soon as one check run concluded failure, cancelled,
timed_out, action_required (or anything else not a success: `stale`, or a value GitHub adds later)
or one status is failure or error. PENDING when nothing failed but something is queued or running,
or a status is pending. NONE when the commit has no check runs and no statuses at all.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from bot.providers.base import CiStatus, CiVerdict

PASSING_CONCLUSIONS = frozenset({"success", "neutral", "skipped"})
CONCLUSION_WORDS = {
    "failure": "failed", "cancelled": "was cancelled", "timed_out": "timed out",
    "action_required": "needs action", "stale": "is stale",
}
STATUS_WORDS = {"failure": "failed", "error": "errored"}
MAX_NAMES = 5


def ci_verdict(check_runs: Sequence[Mapping[str, Any]], combined: Mapping[str, Any], *, checks_url: str) -> CiStatus:
    """Judge a commit from its check runs and its combined status (the GitHub response bodies)."""
    statuses = [s for s in combined.get("statuses") or [] if isinstance(s, Mapping)]
    failing: list[tuple[str, str, str | None]] = []  # name, what happened, where to look
    waiting: list[str] = []
    for run in check_runs:
        name = str(run.get("name") or "unnamed check")
        if run.get("status") != "completed":
            waiting.append(name)
        elif run.get("conclusion") not in PASSING_CONCLUSIONS:
            conclusion = str(run.get("conclusion"))
            word = CONCLUSION_WORDS.get(conclusion, f"ended {conclusion}")
            failing.append((name, word, run.get("html_url") or run.get("details_url")))
    for status in statuses:
        context = str(status.get("context") or "unnamed status")
        state = status.get("state")
        if state in STATUS_WORDS:
            failing.append((context, STATUS_WORDS[str(state)], status.get("target_url")))
        elif state != "success":
            waiting.append(context)
    # The combined state covers statuses beyond the listed page; believe it when it is worse.
    combined_state = combined.get("state")
    if int(combined.get("total_count") or 0) > 0:
        if combined_state in STATUS_WORDS and not any(s.get("state") in STATUS_WORDS for s in statuses):
            failing.append(("commit status", STATUS_WORDS[str(combined_state)], None))
        elif combined_state == "pending" and not any(s.get("state") == "pending" for s in statuses):
            waiting.append("commit status")
    total = len(check_runs) + max(len(statuses), int(combined.get("total_count") or 0))
    if failing:
        names = [name for name, _, _ in failing]
        summary = ", ".join(f"{name} {word}" for name, word, _ in failing[:MAX_NAMES]) + _more(len(failing))
        url = next((link for _, _, link in failing if link), checks_url)
        return CiStatus(CiVerdict.FAIL, summary, url=url, failing=names)
    if waiting:
        summary = f"{len(waiting)} of {total} {_checks(total)} still running: " \
                  f"{', '.join(waiting[:MAX_NAMES])}{_more(len(waiting))}"
        return CiStatus(CiVerdict.PENDING, summary, url=checks_url)
    if total == 0:
        return CiStatus(CiVerdict.NONE, "no checks or statuses reported for this commit", url=checks_url)
    return CiStatus(CiVerdict.PASS, f"{total} {_checks(total)} passed", url=checks_url)


def _checks(n: int) -> str:
    return "check" if n == 1 else "checks"


def _more(n: int) -> str:
    return f" and {n - MAX_NAMES} more" if n > MAX_NAMES else ""
