"""The release domain's `ReleaseView` port, rendered as Block Kit by `release_blocks`."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from bot.config.models import Service
from bot.providers.base import ChangePreview
from bot.release.decision import Decision
from bot.release.models import Release, Verdict
from bot.release.ports import Message
from bot.release.report_data import Report
from bot.release.trust_models import TrustProposal
from bot.slack import release_blocks as blocks
from bot.slack.dates import slack_date
from bot.slack.report_blocks import report_message
from bot.slack.trust_blocks import proposal_message


class BlockKitReleaseView:
    def parent(self, release: Release, *, position: int | None = None) -> Message:
        return blocks.parent_message(release, position=position)

    def queued(self, release: Release, ahead: Sequence[Release]) -> Message:
        return blocks.queued_reply(release, list(ahead))

    def preview(self, preview: ChangePreview, service: Service, *, undoing: bool = False) -> Message:
        return blocks.preview_reply(preview, service, undoing=undoing)

    def gate(self, gate: str, verdict: Verdict, evidence: str, link: str | None, seconds: float) -> Message:
        return blocks.gate_reply(gate, verdict, evidence, link, seconds)

    def decision(self, release: Release, decision: Decision) -> Message:
        return blocks.decision_reply(release, decision)

    def note(self, text: str) -> Message:
        return blocks.note_reply(text)

    def paused(self, release: Release, text: str, *, failed: bool) -> Message:
        return blocks.paused_reply(release, text, failed=failed)

    def report(self, report: Report) -> Message:
        return report_message(report)

    def state_text(self, state: str) -> str:
        return blocks.state_text(state)

    def trust_proposal(self, proposal: TrustProposal, group: str, *, decided: str | None = None) -> Message:
        return proposal_message(proposal, group, decided=decided)

    def date(self, instant: datetime | None) -> str:
        return slack_date(instant)
