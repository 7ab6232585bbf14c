"""The CI verdict over every mix of check-run outcomes and commit statuses (property-based)."""

from __future__ import annotations

from datetime import UTC, datetime

from hypothesis import given, settings
from hypothesis import strategies as st

from bot.providers.base import CiVerdict
from bot.providers.github_checks import ci_verdict
from tests.contracts.github_contract import GitHubContract
from tests.fakes.github_bodies import Bodies

CONTRACT = GitHubContract.load()
BODIES = Bodies(CONTRACT, "https://github.example", "acme/api")
AT = datetime(2024, 5, 6, 12, 0, tzinfo=UTC)
SHA = "a" * 40
CHECKS_URL = "https://github.example/acme/api/commit/aaaa/checks"
CHECK_STATUSES = ("queued", "in_progress", "completed", "waiting", "requested", "pending")
CONCLUSIONS = ("success", "failure", "neutral", "cancelled", "skipped", "timed_out", "action_required")
BAD = {"failure", "cancelled", "timed_out", "action_required", "error"}

check_runs = st.lists(st.tuples(st.sampled_from(CHECK_STATUSES), st.sampled_from(CONCLUSIONS)), max_size=6)
statuses = st.lists(st.sampled_from(("success", "pending", "failure", "error")), max_size=4)


def expected(runs: list[tuple[str, str]], states: list[str]) -> CiVerdict:
    """The rule as PRODUCT states it, written independently of the implementation."""
    outcomes = [conclusion if status == "completed" else "running" for status, conclusion in runs] + states
    if any(o in BAD for o in outcomes):
        return CiVerdict.FAIL
    if any(o in ("running", "pending") for o in outcomes):
        return CiVerdict.PENDING
    return CiVerdict.NONE if not outcomes else CiVerdict.PASS


@settings(max_examples=200, deadline=None)
@given(runs=check_runs, states=statuses)
def test_verdict_table(runs: list[tuple[str, str]], states: list[str]) -> None:
    bodies = [BODIES.check_run(id=i, sha=SHA, name=f"check-{i}", status=status,
                               conclusion=conclusion if status == "completed" else None, at=AT)
              for i, (status, conclusion) in enumerate(runs)]
    listed = [BODIES.commit_status(id=i, context=f"ci/{i}", state=state, at=AT) for i, state in enumerate(states)]
    combined = BODIES.combined_status(sha=SHA, statuses=listed)
    # The generated bodies are ones GitHub could send.
    assert CONTRACT.check_response("GET", f"/repos/acme/api/commits/{SHA}/check-runs", 200,
                                   {"total_count": len(bodies), "check_runs": bodies}) == []
    assert CONTRACT.check_response("GET", f"/repos/acme/api/commits/{SHA}/status", 200, combined) == []

    status = ci_verdict(bodies, combined, checks_url=CHECKS_URL)

    assert status.verdict is expected(runs, states)
    failing_checks = [f"check-{i}" for i, (s, c) in enumerate(runs) if s == "completed" and c in BAD]
    failing_statuses = [f"ci/{i}" for i, state in enumerate(states) if state in BAD]
    assert status.failing == (failing_checks + failing_statuses if status.verdict is CiVerdict.FAIL else [])
    if status.verdict is CiVerdict.FAIL:
        assert status.summary.startswith((failing_checks + failing_statuses)[0])
        assert status.url != CHECKS_URL  # straight to the first failure
    else:
        assert status.url == CHECKS_URL


def test_a_combined_state_worse_than_the_listed_statuses_wins() -> None:
    """More than one page of statuses: the combined state still counts."""
    listed = [BODIES.commit_status(id=1, context="ci/a", state="success", at=AT)]
    combined = {**BODIES.combined_status(sha=SHA, statuses=listed), "state": "failure", "total_count": 150}
    status = ci_verdict([], combined, checks_url=CHECKS_URL)
    assert (status.verdict, status.summary) == (CiVerdict.FAIL, "commit status failed")


def test_no_statuses_means_the_pending_combined_state_is_ignored() -> None:
    combined = BODIES.combined_status(sha=SHA, statuses=[])
    assert combined["state"] == "pending"  # what GitHub says for a commit without statuses
    run = BODIES.check_run(id=1, sha=SHA, name="build", status="completed", conclusion="success", at=AT)
    assert ci_verdict([run], combined, checks_url=CHECKS_URL).verdict is CiVerdict.PASS
