"""What the release domain needs from the outside, as Protocols: how its messages look, who is who.

`bot/slack` implements these (Block Kit, the Web API); the domain imports none of it. Messages are
rendered when they are queued, so the outbox stores exactly what will be posted.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import TYPE_CHECKING, Any, Protocol

if TYPE_CHECKING:
    from bot.config.models import Service
    from bot.providers.base import ChangePreview
    from bot.release.decision import Decision
    from bot.release.models import Release, Verdict
    from bot.release.report_data import Report
    from bot.release.trust_models import TrustProposal

Message = tuple[str, list[dict[str, Any]]]  # fallback text and blocks


class ReleaseView(Protocol):
    def parent(self, release: Release, *, position: int | None = None) -> Message: ...
    def queued(self, release: Release, ahead: Sequence[Release]) -> Message: ...
    def preview(self, preview: ChangePreview, service: Service, *, undoing: bool = False) -> Message: ...
    def gate(self, gate: str, verdict: Verdict, evidence: str, link: str | None, seconds: float) -> Message: ...
    def decision(self, release: Release, decision: Decision) -> Message: ...
    def note(self, text: str) -> Message: ...
    def paused(self, release: Release, text: str, *, failed: bool) -> Message: ...
    def report(self, report: Report) -> Message:
        """The post-release report; its text is the whole report (it is stored as the report's text)."""
        ...
    def state_text(self, state: str) -> str: ...
    def trust_proposal(self, proposal: TrustProposal, group: str, *, decided: str | None = None) -> Message:
        """The proposal to grant earned deploy rights: Approve / Not yet buttons, or how it was decided."""
        ...
    def date(self, instant: datetime | None) -> str: ...


class Members(Protocol):
    """Who belongs to a user group (`@handle` or id); a user id stands for itself."""

    async def members(self, ref: str) -> frozenset[str]: ...
    async def is_in_any(self, user: str, refs: list[str]) -> bool: ...
