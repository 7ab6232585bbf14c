"""Block Kit for the post-release report (§8): one section per part, each within Block Kit's limits.

The fallback text is the whole report in mrkdwn (Slack shows it in notifications and to screen
readers, and it is what `release_reports.text` keeps); blocks split each part into sections of at
most 3000 characters and the message into at most 50 blocks.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from bot.config.durations import format_duration
from bot.release.report_data import Report, Stage
from bot.slack.dates import slack_date
from bot.slack.release_blocks import VERDICT_ICON, short, state_text
from bot.slack.replies import section

SECTION_MAX = 3000
MAX_BLOCKS = 50
TEXT_MAX = 40_000
EVIDENCE_MAX = 200
MAX_FILES_NAMED = 10
RISK_ICON = {"low": ":large_green_circle:", "medium": ":large_yellow_circle:", "high": ":red_circle:"}


def report_message(report: Report) -> tuple[str, list[dict[str, Any]]]:
    verb = {"rollback": "Rollback", "drill": "Rollback drill"}.get(report.kind, "Release")
    title = f"Post-release report · {verb} #{report.release_id}"
    parts = [_summary(report), _scope(report), _gates(report), _timeline(report), _health(report),
             _rollback(report), _follow_ups(report)]
    blocks: list[dict[str, Any]] = [{"type": "header", "text": {"type": "plain_text", "text": title[:150]}}]
    for part in parts:
        for chunk in _chunks(part):
            blocks.append(section(chunk))
    if len(blocks) > MAX_BLOCKS:
        blocks = [*blocks[:MAX_BLOCKS - 1], section("…the report is longer than one Slack message; the whole of it "
                                                    "is stored with the release.")]
    text = "\n\n".join([f"*{title}*", *parts])
    return (text if len(text) <= TEXT_MAX else text[:TEXT_MAX - 1] + "…"), blocks


def _chunks(text: str) -> list[str]:
    """Split at line ends into pieces that fit a section; a single overlong line is cut."""
    chunks: list[str] = []
    current = ""
    for line in text.split("\n"):
        line = line if len(line) <= SECTION_MAX else line[:SECTION_MAX - 1] + "…"
        if current and len(current) + 1 + len(line) > SECTION_MAX:
            chunks.append(current)
            current = line
        else:
            current = f"{current}\n{line}" if current else line
    return [*chunks, current] if current else chunks


def _cut(text: str, limit: int = EVIDENCE_MAX) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[:limit - 1] + "…"


def _when(instant: datetime | None) -> str:
    return slack_date(instant) if instant else "—"


def _summary(r: Report) -> str:
    line = (f"{state_text(r.state)} · {r.service} `{r.ref}` (`{short(r.sha)}`) → {r.environment} · "
            f"requested by <@{r.requested_by}> {_when(r.requested_at)}")
    if r.finished_at:
        line += f" · finished {_when(r.finished_at)} ({format_duration(_whole(r.finished_at - r.requested_at))})"
    return line + (f"\n*Outcome:* {_cut(r.outcome, 500)}" if r.outcome else "")


def _whole(delta: timedelta) -> timedelta:
    return timedelta(seconds=max(0, round(delta.total_seconds())))


def _scope(r: Report) -> str:
    s = r.scope
    lines = [f"*Scope and risk:* {RISK_ICON.get(s.risk, '')} *{s.risk}*"
             + (" — " + "; ".join(s.risk_reasons) if s.risk_reasons else "")]
    if s.commits is None:
        lines.append("• commits and files unknown: " + ("nothing ran there before to compare with"
                                                      if s.previous_release_id is None else "no change preview"))
    else:
        lines.append(f"• {s.commits} commit{'s' if s.commits != 1 else ''}, {s.files} file{'s' if s.files != 1 else ''}"
                     + (f", earliest commit {_when(s.first_commit_at)}" if s.first_commit_at else ""))
    if s.migrations:
        named = ", ".join(f"`{m}`" for m in s.migrations[:MAX_FILES_NAMED])
        more = len(s.migrations) - MAX_FILES_NAMED
        lines.append(f"• :warning: migrations flagged: {named}" + (f" and {more} more" if more > 0 else ""))
    if s.since_previous_seconds is not None:
        lines.append(f"• {format_duration(_whole(timedelta(seconds=s.since_previous_seconds)))} since the last "
                     f"release of {r.environment} (#{s.previous_release_id})")
    else:
        lines.append(f"• first release of {r.environment} through Switchman")
    return "\n".join(lines)


def _gates(r: Report) -> str:
    if not r.gates:
        return "*Gates:* none were evaluated"
    lines = ["*Gates:*"]
    for g in r.gates:
        icon = VERDICT_ICON.get(g.verdict, ":grey_question:")  # type: ignore[call-overload]
        mark = (f" — *overridden* by <@{g.overridden_by}>: {_cut(g.override_reason or '')}"
                if g.overridden_by else "")
        lines.append(f"{icon} `{g.gate}` {g.verdict}{mark} — {_cut(g.evidence)}")
    for v in r.approvals:
        lines.append(f"{':thumbsup:' if v.approved else ':thumbsdown:'} <@{v.approver}> "
                     f"{'approved' if v.approved else 'rejected'} {_when(v.at)}"
                     + (f": {_cut(v.comment)}" if v.comment else ""))
    if r.decided:
        who = "Switchman" if r.decided_by == "switchman" else f"<@{r.decided_by}>"
        lines.append(f"Decision: *{r.decided}* (by {who})")
    return "\n".join(lines)


def _timeline(r: Report) -> str:
    head = f"*Strategy and timeline:* {r.strategy}"
    if not r.stages:
        return head + "\n• nothing was rolled out"
    return "\n".join([head, *(_stage(s) for s in r.stages)])


def _stage(s: Stage) -> str:
    parts = [f"• {s.label}: dispatched {_when(s.dispatched_at)}"]
    if s.result:
        parts.append(f"run {s.run} {s.result} {_when(s.result_at)}")
    if s.bake_seconds is not None:
        parts.append(f"baked {format_duration(_whole(timedelta(seconds=s.bake_seconds)))}")
    if s.verification:
        parts.append(f"verification {s.verification} {_when(s.verified_at)}")
    if s.promoted_by:
        parts.append(f"promoted by <@{s.promoted_by}>")
    return " · ".join(parts)


def _health(r: Report) -> str:
    lines = ["*Health:*"]
    for stage in r.stages:
        for c in stage.checks:
            icon = VERDICT_ICON.get(c.verdict, ":grey_question:")  # type: ignore[call-overload]
            lines.append(f"{icon} {stage.label}: `{_cut(c.name, 100)}` {c.verdict} — {_cut(c.evidence)}")
    if len(lines) == 1:
        lines.append("• no verification ran")
    return "\n".join(lines)


def _rollback(r: Report) -> str:
    b = r.rollback
    who = "" if b.triggered_by is None else ("Switchman" if b.triggered_by == "switchman" else f"<@{b.triggered_by}>")
    why = f": {_cut(b.reason)}" if b.reason else ""
    if r.kind == "rollback":
        return (f"*Rollback status:* undoes release #{b.rollback_release_id} (now {b.rollback_state}), "
                f"{'automatically' if b.automatic else 'asked'} by {who}{why}")
    if b.rollback_release_id is None:
        return "*Rollback status:* " + ("rolled back" if b.rolled_back else "not rolled back")
    state = f"rollback #{b.rollback_release_id} {b.rollback_state}"
    verb = "rolled back" if b.rolled_back else "rollback triggered, not completed"
    how = "automatically" if b.automatic else f"by {who}"
    return f"*Rollback status:* {verb} ({state}) — triggered {how} {_when(b.at)}{why}"


def _follow_ups(r: Report) -> str:
    if not r.follow_ups:
        return "*Follow-up:* nothing"
    return "\n".join(["*Follow-up:*", *(f"• {_cut(item, 400)}" for item in r.follow_ups)])
