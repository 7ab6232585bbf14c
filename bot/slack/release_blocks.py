"""Block Kit for the release thread (§3): the parent message and each kind of thread reply.

Data in (release rows, gate results, decisions, previews), Slack payload pieces out. Every text
is cut to Block Kit's limits here, so no caller can produce a message Slack would reject.
"""

from __future__ import annotations

from typing import Any

from bot.config.models import Service
from bot.providers.base import ChangePreview
from bot.release.decision import Decision, DecisionKind
from bot.release.models import Release, ReleaseKind, ReleaseState, Verdict
from bot.slack.ids import ActionId
from bot.slack.replies import section

STATE_LABEL = {
    ReleaseState.REQUESTED: (":hourglass_flowing_sand:", "requested"),
    ReleaseState.QUEUED: (":clock3:", "queued"),
    ReleaseState.GATING: (":mag:", "checking gates"),
    ReleaseState.AWAITING_APPROVAL: (":raised_hand:", "awaiting approval"),
    ReleaseState.ROLLING_OUT: (":truck:", "rolling out"),
    ReleaseState.VERIFYING: (":microscope:", "verifying"),
    ReleaseState.PAUSED: (":double_vertical_bar:", "paused"),
    ReleaseState.SUCCEEDED: (":white_check_mark:", "succeeded"),
    ReleaseState.FAILED: (":x:", "failed"),
    ReleaseState.BLOCKED: (":no_entry:", "blocked (NO-GO)"),
    ReleaseState.CANCELLED: (":no_entry_sign:", "cancelled"),
    ReleaseState.REJECTED: (":no_good:", "rejected"),
    ReleaseState.ROLLED_BACK: (":leftwards_arrow_with_hook:", "rolled back"),
    ReleaseState.SUPERSEDED: (":fast_forward:", "superseded"),
}
VERDICT_ICON = {Verdict.PASS: ":white_check_mark:", Verdict.FAIL: ":x:", Verdict.WARN: ":warning:",
                Verdict.ERROR: ":boom:", Verdict.WAITING: ":hourglass:", Verdict.INCONCLUSIVE: ":grey_question:"}
MIGRATION_HINTS = ("migration", "migrations/", "alembic/", "schema.sql", "db/migrate")
MAX_COMMITS = 15


def state_text(state: str) -> str:
    icon, label = STATE_LABEL.get(ReleaseState(state), (":grey_question:", state))
    return f"{icon} {label}"


def short(sha: str | None) -> str:
    return sha[:10] if sha else "?"


def parent_message(release: Release, *, position: int | None = None) -> tuple[str, list[dict[str, Any]]]:
    verb = {ReleaseKind.ROLLBACK: "Rollback", ReleaseKind.DRILL: "Rollback drill"}.get(ReleaseKind(release.kind),
                                                                                       "Release")
    title = f"{verb} #{release.id}: {release.service} {release.ref} → {release.environment}"
    fields = [
        f"*State*\n{state_text(release.state)}" + (f" (#{position} in line)" if position else ""),
        f"*Requested by*\n<@{release.requested_by}>",
        f"*Ref*\n`{release.ref}` (`{short(release.sha)}`)",
        f"*Strategy*\n{release.strategy}",
    ]
    stage = (release.detail or {}).get("stage_label")
    if stage and release.state in (ReleaseState.ROLLING_OUT, ReleaseState.VERIFYING, ReleaseState.PAUSED):
        fields.append(f"*Stage*\n{stage}")
    if release.provider_run_url:
        fields.append(f"*Pipeline*\n<{release.provider_run_url}|run {release.provider_run_id}>")
    blocks: list[dict[str, Any]] = [
        {"type": "header", "text": {"type": "plain_text", "text": title[:150]}},
        {"type": "section", "fields": [{"type": "mrkdwn", "text": f[:2000]} for f in fields]},
    ]
    if release.reason:
        blocks.append(section(f"*Reason:* {release.reason}"))
    if release.rollback_of:
        blocks.append(section(f"Undoes release #{release.rollback_of}."))
    blocks.append({"type": "context", "elements": [
        {"type": "mrkdwn", "text": "Every gate, approval and outcome is recorded in the thread below."}]})
    return f"{title} — {state_text(release.state)}", blocks


def queued_reply(release: Release, ahead: list[Release]) -> tuple[str, list[dict[str, Any]]]:
    lines = ", ".join(f"#{r.id} `{r.ref}` (`{short(r.sha)}`) by <@{r.requested_by}> ({state_text(r.state)})"
                      for r in ahead[:10]) + (f" and {len(ahead) - 10} more" if len(ahead) > 10 else "")
    text = (f":clock3: {release.environment} is busy, so this release waits its turn: you are "
            f"#{len(ahead) + 1} in line behind {lines}. It starts by itself when the environment frees.")
    return text, [section(text)]


def preview_reply(preview: ChangePreview, service: Service, *,
                  undoing: bool = False) -> tuple[str, list[dict[str, Any]]]:
    """The commits a release brings; for a rollback (`undoing`, compared from its target to the undone commit),
    the commits it takes out."""
    if undoing:
        head = (f"*Change preview:* takes out {preview.total_commits} commit{'s' if preview.total_commits != 1 else ''}"
                f" — from `{short(preview.head_sha)}` (running now) back to `{short(preview.base_sha or '')}`")
        if preview.url:
            head += f" · <{preview.url}|compare>"
    elif preview.base_sha is None:
        head = ("*Change preview:* first release of this environment through Switchman; "
                f"deploying `{short(preview.head_sha)}`.")
    else:
        head = (f"*Change preview:* {preview.total_commits} commit{'s' if preview.total_commits != 1 else ''} "
                f"between `{short(preview.base_sha)}` (running now) and `{short(preview.head_sha)}`")
        if preview.url:
            head += f" · <{preview.url}|compare>"
    lines = [f"• `{c.sha[:7]}` {c.title[:120]} — {c.author}" for c in preview.commits[:MAX_COMMITS]]
    if preview.total_commits > MAX_COMMITS:
        lines.append(f"• …and {preview.total_commits - MAX_COMMITS} more")
    migrations = [f for f in preview.files if any(h in f.lower() for h in MIGRATION_HINTS)]
    blocks = [section(head)]
    if lines:
        blocks.append(section("\n".join(lines)))
    if migrations:
        blocks.append(section(":warning: *Database migrations in this change:* "
                              + ", ".join(f"`{m}`" for m in migrations[:10])))
    links = [f"<{url}|{label}>" for label, url in (("Runbook", service.runbook),
                                                     ("Rollback plan", service.rollback_plan)) if url]
    if links:
        blocks.append({"type": "context", "elements": [{"type": "mrkdwn", "text": " · ".join(links)}]})
    return head, blocks


Reply = tuple[str, list[dict[str, Any]]]


def gate_reply(gate: str, verdict: Verdict, evidence: str, link: str | None, seconds: float) -> Reply:
    text = f"{VERDICT_ICON[verdict]} *{gate}* — {verdict.value} · {seconds:.1f}s\n{evidence}"
    if link:
        text += f"\n<{link}|evidence>"
    return f"{gate}: {verdict.value}", [section(text)]


def decision_reply(release: Release, decision: Decision) -> Reply:
    value = str(release.id)
    buttons: list[dict[str, Any]] = []
    if decision.kind == DecisionKind.GO:
        text = ":large_green_circle: *GO* — every gate passed" + _special(decision) + "; rolling out."
    elif decision.kind == DecisionKind.WAITING:
        text = ":large_yellow_circle: *WAITING* — " + "; ".join(decision.waiting_for) + _special(decision)
        if "pair" in decision.waiting_gates:
            buttons.append(_button("Join as pair", ActionId.JOIN_PAIR, value, "primary"))
        if "approval" in decision.waiting_gates or not decision.waiting_gates:
            buttons += [_button("Approve", ActionId.APPROVE, value, None if buttons else "primary"),
                        _button("Reject", ActionId.REJECT, value, "danger")]
    else:
        text = ":red_circle: *NO-GO* — blocked by " + ", ".join(f"`{g}`" for g in decision.blocking)
        if decision.overridable:
            text += ("\nOverridable by a permitted person with a reason: "
                     + ", ".join(f"`{g}`" for g in decision.overridable))
            buttons = [_button("Override…", ActionId.OVERRIDE, value, "danger")]
    blocks = [section(text)]
    if buttons:
        blocks.append({"type": "actions", "block_id": f"release-{release.id}-decision", "elements": buttons})
    return text.split("\n")[0].replace("*", ""), blocks


def _special(decision: Decision) -> str:
    if not decision.overridden:
        return ""
    return " (special handling: " + ", ".join(f"`{g}`" for g in decision.overridden) + " overridden)"


def _button(label: str, action: ActionId, value: str, style: str | None = None) -> dict[str, Any]:
    button: dict[str, Any] = {"type": "button", "text": {"type": "plain_text", "text": label},
                              "action_id": action.value, "value": value}
    if style:
        button["style"] = style
    return button


def note_reply(text: str) -> tuple[str, list[dict[str, Any]]]:
    return text, [section(text)]


def paused_reply(release: Release, text: str, *, failed: bool) -> Reply:
    """A stopped rollout waiting for a person: Roll back / Continue after a failed check, Promote / Abort
    when a check had no data."""
    value = str(release.id)
    if failed:
        head = f":rotating_light: *Rollout stopped.* {text}"
        buttons = [_button("Roll back", ActionId.ROLL_BACK, value, "danger"),
                   _button("Continue anyway", ActionId.CONTINUE, value)]
    else:
        head = f":double_vertical_bar: *Rollout paused.* {text}"
        buttons = [_button("Promote", ActionId.PROMOTE, value, "primary"),
                   _button("Abort", ActionId.ABORT, value, "danger")]
    return head.split("\n")[0].replace("*", ""), [
        section(head), {"type": "actions", "block_id": f"release-{release.id}-paused", "elements": buttons}]
