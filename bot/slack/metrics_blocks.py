"""Block Kit for `/deploy metrics` (§8): the figures of `bot.evidence.metrics.Metrics` as sections of fields.

Only wording and layout live here; every figure is computed by `bot/evidence`. Durations show
their two largest units (`2h5m`, `47m30s`), shares as whole percents, and anything without data as
"no data". Every text is cut to Block Kit's limits (header 150, field 2000, context 3000).
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from bot.evidence.metrics import Metrics
from bot.evidence.people import Concentration
from bot.evidence.spread import Spread
from bot.evidence.waits import Part
from bot.slack.chart_upload import Chart
from bot.slack.dates import slack_date

NO_DATA = "no data"
UNITS = (("d", 86400), ("h", 3600), ("m", 60), ("s", 1))
PART_LABELS = {Part.QUEUE: "Queue", Part.GATES: "Gates", Part.APPROVAL: "Waiting for approval",
               Part.ROLLOUT: "Rollout and bake"}
CONTEXT_LIMIT = 3000


def span(delta: timedelta | None) -> str:
    """A duration to the second, in its two largest units: `3d4h`, `47m30s`, `0s`."""
    if delta is None:
        return NO_DATA
    left = round(delta.total_seconds())
    parts = []
    for unit, size in UNITS:
        count, left = divmod(left, size)
        if count:
            parts.append(f"{count}{unit}")
    return "".join(parts[:2]) or "0s"


def percent(share: float | None) -> str:
    return NO_DATA if share is None else f"{share:.0%}"


def spread_text(spread: Spread) -> str:
    if spread.count == 0:
        return NO_DATA
    return f"median {span(spread.median)} · p90 {span(spread.p90)} (n={spread.count})"


def scope_text(metrics: Metrics) -> str:
    if len(metrics.targets) == 1:
        return f"{metrics.targets[0].service} {metrics.targets[0].environment}"
    return "every service's production"


def metrics_message(metrics: Metrics) -> dict[str, Any]:
    """The `/deploy metrics` answer: fallback text and blocks for an ephemeral response."""
    d, p = metrics.delivery, metrics.people
    days = round(metrics.window.days)
    title = f"Delivery metrics: {scope_text(metrics)}, last {days} day{'s' if days != 1 else ''}"
    environments = ", ".join(f"{t.service} → {t.environment}" for t in metrics.targets) or "no services configured"
    delivery = [
        ("Deployment frequency", f"{d.per_week:.1f} per week ({d.succeeded} successful deploy"
                                 f"{'s' if d.succeeded != 1 else ''})"),
        ("Lead time (first commit → production)", spread_text(d.lead_time)
         + (f"; {d.succeeded - d.lead_time.count} without commit times" if d.lead_time.count < d.succeeded else "")),
        ("Lead time (request → production)", spread_text(d.request_to_production)),
        ("Change failure rate", f"{percent(d.change_failure_rate)} ({d.failed_changes} of {d.reached_rollout} that "
                                "reached rollout)"),
        *([("Change failure rate by risk", "; ".join(
            f"{level} {percent(f.rate)} ({f.failed} of {f.reached_rollout})"
            for level, f in d.failure_by_risk.items()))] if d.failure_by_risk else []),
        ("Time to restore", spread_text(d.time_to_restore) + (f"; {d.unrestored} not restored" if d.unrestored
                                                              else "")),
    ]
    confidence = [
        ("Time to detect a regression", spread_text(d.time_to_detect)),
        ("Time to rollback", spread_text(d.time_to_rollback) + f"; {d.rollbacks_succeeded} of {d.rollbacks} "
                                                               "rollbacks succeeded"),
        ("Special handling", f"{d.special_handling} of {d.deploys} deploys had an override "
                             f"({percent(d.special_handling_share)})"),
    ]
    waits = [(f"{PART_LABELS[w.part]} — {percent(w.share)}", spread_text(w.spread)) for w in metrics.waits]
    people = [
        ("Started by developers", f"{percent(p.developer_share)} ({p.by_developers} of {p.deploys.total} deploys)"),
        ("Deployers", _concentration(p.deploys, "deploys")),
        ("Approvers", _concentration(p.approvals, "approvals")),
    ]
    blocks: list[dict[str, Any]] = [
        {"type": "header", "text": {"type": "plain_text", "text": _cut(title, 150)}},
        _context(f"{slack_date(metrics.window.start)} to {slack_date(metrics.window.end)} · releases finished in "
                 f"that time · production: {environments}"),
        _fields("*Delivery*", delivery),
        _fields("*Confidence*", confidence),
        _fields("*Where the wait goes* (share of request → production time)", waits),
        _fields("*People*", people),
        _context("Lead time counts from the change's earliest commit (from the provider's compare, kept when the "
                 "release is previewed); a release with no commit time is counted only from its request. "
                 "Definitions: docs/metrics.md."),
    ]
    text = (f"{title}: {d.per_week:.1f} deploys per week, change failure rate {percent(d.change_failure_rate)}, "
            f"lead time (request → production) {spread_text(d.request_to_production)}")
    return {"text": text, "blocks": blocks}


def with_chart(message: dict[str, Any], chart: Chart | None, *, missing: str | None = None) -> dict[str, Any]:
    """The answer with the trend chart under its heading, or a line saying why there is none."""
    if chart is not None:
        block: dict[str, Any] = {"type": "image", "slack_file": {"id": chart.file_id},
                                 "alt_text": chart.alt_text[:2000],
                                 "title": {"type": "plain_text", "text": chart.title[:2000]}}
    else:
        block = _context(f":warning: No trend chart: {missing or 'it is not available'}. The figures below are "
                         "complete.")
    blocks = list(message["blocks"])
    return {**message, "blocks": [*blocks[:2], block, *blocks[2:]]}


def _concentration(c: Concentration, what: str) -> str:
    if c.top is None:
        return NO_DATA
    who = "person" if c.people == 1 else "people"
    return f"{c.people} {who}; <@{c.top}> has {percent(c.top_share)} of {c.total} {what}"


def _fields(title: str, pairs: list[tuple[str, str]]) -> dict[str, Any]:
    return {"type": "section", "text": {"type": "mrkdwn", "text": title},
            "fields": [{"type": "mrkdwn", "text": _cut(f"*{label}*\n{value}", 2000)} for label, value in pairs]}


def _context(text: str) -> dict[str, Any]:
    return {"type": "context", "elements": [{"type": "mrkdwn", "text": _cut(text, CONTEXT_LIMIT)}]}


def _cut(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[:limit - 1] + "…"
