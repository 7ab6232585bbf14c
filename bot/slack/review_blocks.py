"""Block Kit for the weekly release confidence review: the week's figures, each against the mean
of the four weeks before it, with an arrow and the difference.

Only wording and layout live here; every figure comes from `bot.evidence.review`. Counts move by
their difference (`↑2`, `↓0.5`); shares by percentage points (`↑15 pts`). Whether up is good is
left to the reader: the arrow says which way it went, not a verdict.
"""

from __future__ import annotations

from typing import Any

from bot.evidence.review import Review
from bot.slack.dates import slack_date
from bot.slack.metrics_blocks import percent

Message = tuple[str, list[dict[str, Any]]]


def movement(now: float | None, before: float | None, *, share: bool = False) -> str:
    """`↑2 vs 1.5` — the change against the four-week mean; shares in percentage points."""
    if now is None:
        return ""
    if before is None:
        return " · no earlier weeks to compare"
    scale, unit = (100, " pts") if share else (1, "")
    delta = (now - before) * scale
    base = f"{before:.0%}" if share else _number(before)
    if abs(delta) < 0.05:
        return f" · → same as the 4-week average ({base})"
    arrow = "↑" if delta > 0 else "↓"
    return f" · {arrow}{_number(abs(delta))}{unit} vs the 4-week average ({base})"


def _number(value: float) -> str:
    return f"{value:.0f}" if abs(value - round(value)) < 0.05 else f"{value:.1f}"


def _count(review: Review, name: str, label: str, value: int) -> tuple[str, str]:
    return label, f"{value}{movement(float(value), review.baseline(name))}"


def review_message(review: Review, *, services: tuple[str, ...]) -> Message:
    week, names = review.week, ", ".join(services)
    title = f"Weekly release review: {names}"
    title = title if len(title) <= 150 else f"Weekly release review: {len(services)} services"
    n = week.near_misses
    rows = [
        _count(review, "releases", "Production releases", week.releases),
        ("Succeeded", f"{week.succeeded} of {week.releases}"),
        _count(review, "failed_changes", "Failed changes", week.failed_changes),
        _count(review, "rollbacks", "Rollbacks", week.rollbacks),
        ("Near-misses", f"{n.total}{movement(float(n.total), review.baseline('near_misses'))}\n"
                        f"paused {n.paused} · inconclusive gates {n.inconclusive} · overridden {n.overridden}"),
        _count(review, "special_handling", "Special handling (overrides)", week.special_handling),
        ("Deploys by the top person", _person(week.top_deployer, week.top_deployer_share, week.deployers)
         + movement(week.top_deployer_share, review.baseline("top_deployer_share"), share=True)),
        ("Approvals by the top person", _person(week.top_approver, week.top_approver_share, week.approvers)
         + movement(week.top_approver_share, review.baseline("top_approver_share"), share=True)),
    ]
    blocks: list[dict[str, Any]] = [
        {"type": "header", "text": {"type": "plain_text", "text": title}},
        {"type": "context", "elements": [{"type": "mrkdwn", "text": (
            f"Production, {slack_date(week.window.start)} to {slack_date(week.window.end)}, against the mean of "
            "the four weeks before. Near-misses: deploys that went out and did not fail, but only after a pause, a "
            "gate that could not answer, or an override.")[:3000]}]},
        {"type": "section", "fields": [{"type": "mrkdwn", "text": f"*{label}*\n{value}"[:2000]}
                                       for label, value in rows]},
        {"type": "context", "elements": [{"type": "mrkdwn", "text": "Figures: `/deploy metrics --days 7`; "
                                                                    "definitions: docs/metrics.md."}]},
    ]
    text = (f"{title}: {week.releases} releases, {week.failed_changes} failed, {week.rollbacks} rollbacks, "
            f"{n.total} near-misses")
    return text, blocks


def _person(top: str | None, share: float | None, people: int) -> str:
    if top is None:
        return "no data"
    return f"<@{top}> {percent(share)} ({people} {'person' if people == 1 else 'people'})"
