"""Block Kit for on-call posts and DMs: handoffs, reminders, swap/cover requests, graduation proposals.

Data in, (text, blocks) out. Instants use Slack's `<!date>` tokens, so everyone reading a
channel post sees times in their own zone.
"""

from __future__ import annotations

from typing import Any

from bot.oncall.display import mention
from bot.oncall.schedule_models import GraduationProposal, RequestKind, RequestStatus, SwapRequest
from bot.oncall.shifts import Shift
from bot.slack.dates import slack_date
from bot.slack.ids import ActionId
from bot.slack.replies import section

Message = tuple[str, list[dict[str, Any]]]
Pair = tuple[str | None, str | None]


def _context(text: str) -> dict[str, Any]:
    return {"type": "context", "elements": [{"type": "mrkdwn", "text": text[:3000]}]}


def _pair(pair: Pair) -> str:
    return f"primary {mention(pair[0])}, shadow {mention(pair[1])}"


def handoff(rotation: str, outgoing: Pair | None, incoming: Shift, open_pages: int) -> Message:
    text = f":arrows_counterclockwise: *{rotation}* handoff: {_pair((incoming.primary, incoming.shadow))} " \
           f"until {slack_date(incoming.end)}"
    lines = [text]
    if outgoing is not None:
        lines.append(f"Outgoing: {_pair(outgoing)}. Thank you!")
    lines.append(f"Open pages: {open_pages}" if open_pages else "Open pages: none")
    if incoming.dst_change:
        lines.append(f":clock1: The clocks change during this shift: it lasts {incoming.hours:g} h.")
    return text, [section("\n".join(lines))]


def incoming_dm(rotation: str, role: str, shift: Shift, open_pages: int) -> Message:
    partner = shift.shadow if role == "primary" else shift.primary
    partner_role = "shadow" if role == "primary" else "primary"
    text = (f":pager: You are now on call for *{rotation}* as {role} until {slack_date(shift.end)}, "
            f"with {mention(partner)} as {partner_role}.")
    if open_pages:
        text += f" {open_pages} page(s) are still open."
    return text, [section(text)]


def reminder_dm(rotation: str, role: str, shift: Shift) -> Message:
    partner = shift.shadow if role == "primary" else shift.primary
    partner_role = "shadow" if role == "primary" else "primary"
    text = (f":alarm_clock: Reminder: your *{rotation}* shift as {role} starts {slack_date(shift.start)} "
            f"and runs until {slack_date(shift.end)}, with {mention(partner)} as {partner_role}.")
    return text, [section(text)]


def _request_lines(request: SwapRequest) -> list[str]:
    who = mention(request.requester)
    if request.kind == RequestKind.SWAP:
        assert request.swap_start is not None and request.swap_end is not None
        return [f":repeat: *Swap request #{request.id}* in *{request.rotation}* ({request.role}s): "
                f"{who} asks {mention(request.target)} to trade shifts.",
                f"• {mention(request.target)} takes {slack_date(request.start)} → {slack_date(request.end)}",
                f"• {who} takes {slack_date(request.swap_start)} → {slack_date(request.swap_end)}"]
    asked = f" and asks {mention(request.target)}" if request.target else "; any " + request.role + " may take it"
    return [f":sos: *Cover request #{request.id}* in *{request.rotation}*: {who} needs their {request.role} "
            f"shifts covered from {slack_date(request.start)} to {slack_date(request.end)}{asked}."]


def _status_line(request: SwapRequest) -> str:
    match request.status:
        case RequestStatus.OPEN:
            return ("Waiting for " + (mention(request.target) if request.target else f"a {request.role}")
                    + " to press *Take*.")
        case RequestStatus.TAKEN:
            return (f"{mention(request.taker)} offered to take it; waiting for {mention(request.requester)} "
                    f"or a primary of {request.rotation} to press *Approve*.")
        case RequestStatus.APPROVED:
            return f":white_check_mark: Approved by {mention(request.approver)}; the schedule is updated."
        case _:
            return f":no_entry_sign: Declined by {mention(request.approver)}."


def swap_request(request: SwapRequest) -> Message:
    lines = _request_lines(request)
    blocks: list[dict[str, Any]] = [section("\n".join(lines)), _context(_status_line(request))]
    if request.status in (RequestStatus.OPEN, RequestStatus.TAKEN):
        value = str(request.id)
        buttons: list[dict[str, Any]] = []
        if request.status == RequestStatus.OPEN:
            buttons.append({"type": "button", "action_id": ActionId.SWAP_TAKE, "value": value, "style": "primary",
                            "text": {"type": "plain_text", "text": "Take"}})
        buttons += [
            {"type": "button", "action_id": ActionId.SWAP_APPROVE, "value": value,
             "text": {"type": "plain_text", "text": "Approve"}},
            {"type": "button", "action_id": ActionId.SWAP_DECLINE, "value": value, "style": "danger",
             "text": {"type": "plain_text", "text": "Decline"}},
        ]
        blocks.append({"type": "actions", "block_id": f"oncall_request_{request.id}", "elements": buttons})
    return f"{lines[0]} — {request.status}", blocks


def graduation(proposal: GraduationProposal, shifts_needed: int, pages_needed: int) -> Message:
    text = (f":mortar_board: *Graduation proposal* for {mention(proposal.developer)} in *{proposal.rotation}*: "
            f"{proposal.shadow_shifts} shadow shifts (needs {shifts_needed}) and {proposal.pages_seen} pages seen "
            f"(needs {pages_needed}).")
    step = (f"Proposed next step, the reverse shadow: {mention(proposal.developer)} takes the pager as primary "
            f"with {mention(proposal.reverse_shadow)} from ops as their shadow. To do it, add them to the "
            f"rotation's `primaries` in switchman.yml.")
    return text, [section(text), section(step)]
