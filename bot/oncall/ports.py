"""What the on-call domain needs from the outside, as a Protocol: how its messages look.

`bot/slack/oncall_view.py` implements it with Block Kit; the domain imports none of it. Messages
are rendered when they are queued in the outbox, so the outbox stores exactly what will be posted.
Who is who in the workspace (time zones, user groups) is `ctx.directory`.
"""

from __future__ import annotations

from datetime import timedelta
from typing import TYPE_CHECKING, Any, Protocol

if TYPE_CHECKING:
    from bot.oncall.models import Page
    from bot.oncall.schedule_models import GraduationProposal, SwapRequest
    from bot.oncall.shifts import Shift

Message = tuple[str, list[dict[str, Any]]]  # fallback text and blocks
Pair = tuple[str | None, str | None]  # (primary, shadow)


class OncallView(Protocol):
    # --- pages ----------------------------------------------------------------------------------
    def page(self, page: Page, *, runbook: str | None, role: str, level: int = 0) -> Message:
        """The page as `role` (primary, shadow, escalation, channel) reads it, with Ack / Resolve."""
        ...

    def escalation_note(self, page: Page, *, level: int, target: str, waited: timedelta) -> Message: ...

    def unrouted_alert(self, *, title: str, status: str, labels: dict[str, str], links: list[dict[str, str]]
                       ) -> Message:
        """An alert no rotation claims, posted in `unrouted_channel` (edited when it resolves)."""
        ...

    def who(self, actor: str | None) -> str:
        """A person (a mention) or a system (`alertmanager`), safe to put in a reply."""
        ...

    # --- the schedule ---------------------------------------------------------------------------
    def handoff(self, rotation: str, outgoing: Pair | None, incoming: Shift, open_pages: int) -> Message: ...
    def incoming_dm(self, rotation: str, role: str, shift: Shift, open_pages: int) -> Message: ...
    def reminder_dm(self, rotation: str, role: str, shift: Shift) -> Message: ...
    def swap_request(self, request: SwapRequest) -> Message: ...
    def graduation(self, proposal: GraduationProposal, shifts_needed: int, pages_needed: int) -> Message: ...


class ContactChannels(Protocol):
    """SMS and voice (Twilio) and email (SMTP), as the on-call domain uses them; `bot/notify` implements it.

    Each returns the provider's id of what it sent (a Twilio sid, the email's Message-ID) or raises
    `bot.errors.ProviderError` with a message fit to show on the page: it names no secret, and a phone
    number only by its last four digits. Retries of transient failures happen inside.
    """

    async def sms(self, to: str, body: str) -> str: ...
    async def call(self, to: str, say: str) -> str: ...
    async def email(self, to: str, subject: str, body: str) -> str: ...
