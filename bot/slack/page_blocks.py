"""Block Kit for pages: the page message (DMs and the rotation channel) and its thread notes.

Data in (the page row, its runbook, the reader's role), Slack payload pieces out. Titles and
details come from outside (Alertmanager, event senders), so they are escaped and cut to
Block Kit's limits here.
"""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Any

from bot.oncall.alert_models import NotificationRole
from bot.oncall.models import Page, PageStatus
from bot.slack.dates import slack_date
from bot.slack.ids import ActionId
from bot.slack.replies import section

Message = tuple[str, list[dict[str, Any]]]
USER_ID = re.compile(r"^[UW][A-Z0-9]{2,}$")
SEVERITY_ICON = {"critical": ":red_circle:", "error": ":large_orange_circle:", "warning": ":large_yellow_circle:",
                 "info": ":large_blue_circle:"}
MAX_LINKS = 5


def escape(text: str) -> str:
    """Make outside text inert in mrkdwn: no mentions, links or broadcasts it did not mean."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def who(actor: str | None) -> str:
    if not actor:
        return "nobody"
    return f"<@{actor}>" if USER_ID.match(actor) else escape(actor)


def status_text(page: Page) -> str:
    if page.status == PageStatus.RESOLVED:
        return f":white_check_mark: resolved by {who(page.resolved_by)}"
    if page.status == PageStatus.ACKNOWLEDGED:
        return f":eyes: acknowledged by {who(page.acked_by)}"
    return ":rotating_light: triggered, waiting for an ack"


def page_message(page: Page, *, runbook: str | None, role: str = NotificationRole.CHANNEL, level: int = 0
                 ) -> Message:
    title = f"Page #{page.id}: {page.title}"
    severity = str(page.details.get("severity") or "unknown")
    fields = [
        f"*Status*\n{status_text(page)}",
        f"*Severity*\n{SEVERITY_ICON.get(severity, ':grey_question:')} {escape(severity)}",
        f"*Service*\n{escape(page.service) if page.service else 'not named'}",
        f"*Rotation*\n{escape(page.rotation)}",
        f"*Primary*\n{who(page.primary)}",
        f"*Shadow*\n{who(page.shadow)}" + (" (not paged)" if page.shadow_note else ""),
        f"*Opened*\n{slack_date(page.created_at)} via {escape(page.source)}",
    ]
    if page.escalated_to:
        fields.append("*Escalated to*\n" + ", ".join(who(u) for u in page.escalated_to))
    if page.seen_by:
        fields.append(f"*Seen by*\n{who(page.seen_by)}")
    blocks: list[dict[str, Any]] = [
        {"type": "header", "text": {"type": "plain_text", "text": _cut(title, 150)}},
        {"type": "section", "fields": [{"type": "mrkdwn", "text": _cut(f, 2000)} for f in fields]},
    ]
    description = page.details.get("description")
    if isinstance(description, str) and description.strip():
        blocks.append(section(escape(description)))
    blocks.append(section(f":book: Runbook: <{runbook}>" if runbook else
                          ":book: No runbook configured for this service."))
    links = _links(page.details.get("links"))
    if links:
        blocks.append(section("*Links:* " + " · ".join(links)))
    notes = [_role_note(role, level)] + ([f"Shadow not paged: {escape(page.shadow_note)}"] if page.shadow_note else [])
    notes = [n for n in notes if n]
    if notes:
        blocks.append({"type": "context", "elements": [{"type": "mrkdwn", "text": _cut(n, 3000)} for n in notes]})
    buttons = []
    if page.status == PageStatus.TRIGGERED:
        buttons.append({"type": "button", "action_id": ActionId.PAGE_ACK, "style": "primary",
                        "text": {"type": "plain_text", "text": "Ack"}, "value": str(page.id)})
    if page.status != PageStatus.RESOLVED:
        buttons.append({"type": "button", "action_id": ActionId.PAGE_RESOLVE, "style": "danger",
                        "text": {"type": "plain_text", "text": "Resolve"}, "value": str(page.id)})
    if buttons:
        blocks.append({"type": "actions", "block_id": "page_actions", "elements": buttons})
    return _cut(f"Page #{page.id}: {escape(page.title)} — {status_text(page)}", 3000), blocks


def escalation_note(page: Page, *, level: int, target: str, waited: timedelta) -> Message:
    text = (f":loudspeaker: Nobody acknowledged page #{page.id} within {_duration(waited)}; "
            f"escalated to {who(target)} (level {level}).")
    return text, [section(text)]


def unrouted_alert(*, title: str, status: str, labels: dict[str, str], links: list[dict[str, str]]) -> Message:
    """An alert that matched no rotation: nobody was paged, so the channel is told what to route."""
    icon = ":white_check_mark: resolved" if status == "resolved" else ":warning: firing, *nobody was paged*"
    label_text = ", ".join(f"`{escape(k)}={escape(v)}`" for k, v in sorted(labels.items()))
    text = f"Unrouted alert: {escape(title)} — {icon}"
    blocks: list[dict[str, Any]] = [
        section(_cut(f"*Unrouted alert:* {escape(title)}\n{icon}", 3000)),
        section(_cut(f"*Labels:* {label_text or 'none'}", 3000)),
        {"type": "context", "elements": [{"type": "mrkdwn", "text": (
            "No rotation claims this alert (no `rotation` label naming one, no rotation whose `services` include "
            "its `service` label). Set `fallback_rotation` to page someone for such alerts.")}]},
    ]
    shown = _links(links)
    if shown:
        blocks.insert(2, section("*Links:* " + " · ".join(shown)))
    return _cut(text, 3000), blocks


def _role_note(role: str, level: int) -> str:
    if role == NotificationRole.PRIMARY:
        return "You are the primary on call: your Ack stops escalation."
    if role == NotificationRole.SHADOW:
        return ("You are the shadow on call: your Ack is recorded as seen; escalation goes on until the primary "
                "acks. Follow along with the runbook.")
    if role == NotificationRole.ESCALATION:
        return f"Nobody acknowledged in time; you are escalation level {level}. Your Ack stops escalation."
    return ""


def _links(raw: Any) -> list[str]:
    out = []
    for link in raw if isinstance(raw, list) else []:
        href = link.get("href") if isinstance(link, dict) else None
        if isinstance(href, str) and href.startswith(("https://", "http://")) and not any(c in href for c in "<>| "):
            label = escape(str(link.get("text") or href))[:200].replace("|", "/")
            out.append(f"<{href[:1000]}|{label}>")
    return out[:MAX_LINKS]


def _duration(delta: timedelta) -> str:
    seconds = int(delta.total_seconds())
    if seconds % 3600 == 0 and seconds:
        return f"{seconds // 3600}h"
    if seconds % 60 == 0 and seconds:
        return f"{seconds // 60}m"
    return f"{seconds}s"


def _cut(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"
