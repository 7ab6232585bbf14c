"""The on-call domain's `OncallView` port, rendered as Block Kit by `page_blocks` and `oncall_blocks`."""

from __future__ import annotations

from datetime import timedelta

from bot.oncall.models import Page
from bot.oncall.ports import Message, Pair
from bot.oncall.schedule_models import GraduationProposal, SwapRequest
from bot.oncall.shifts import Shift
from bot.slack import oncall_blocks, page_blocks


class BlockKitOncallView:
    def page(self, page: Page, *, runbook: str | None, role: str, level: int = 0) -> Message:
        return page_blocks.page_message(page, runbook=runbook, role=role, level=level)

    def escalation_note(self, page: Page, *, level: int, target: str, waited: timedelta) -> Message:
        return page_blocks.escalation_note(page, level=level, target=target, waited=waited)

    def unrouted_alert(self, *, title: str, status: str, labels: dict[str, str], links: list[dict[str, str]]
                       ) -> Message:
        return page_blocks.unrouted_alert(title=title, status=status, labels=labels, links=links)

    def who(self, actor: str | None) -> str:
        return page_blocks.who(actor)

    def handoff(self, rotation: str, outgoing: Pair | None, incoming: Shift, open_pages: int) -> Message:
        return oncall_blocks.handoff(rotation, outgoing, incoming, open_pages)

    def incoming_dm(self, rotation: str, role: str, shift: Shift, open_pages: int) -> Message:
        return oncall_blocks.incoming_dm(rotation, role, shift, open_pages)

    def reminder_dm(self, rotation: str, role: str, shift: Shift) -> Message:
        return oncall_blocks.reminder_dm(rotation, role, shift)

    def swap_request(self, request: SwapRequest) -> Message:
        return oncall_blocks.swap_request(request)

    def graduation(self, proposal: GraduationProposal, shifts_needed: int, pages_needed: int) -> Message:
        return oncall_blocks.graduation(proposal, shifts_needed, pages_needed)
