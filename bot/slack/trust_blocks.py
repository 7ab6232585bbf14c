"""Block Kit for earned deploy rights (§4 `trust:`): the proposal to add a developer to the deployers."""

from __future__ import annotations

from typing import Any

from bot.release.ports import Message
from bot.release.trust_models import TrustProposal
from bot.slack.ids import ActionId
from bot.slack.replies import section


def proposal_message(proposal: TrustProposal, group: str, *, decided: str | None = None) -> Message:
    """Approve / Not yet for members of `group`; once decided, the decision in place of the buttons."""
    text = (f":seedling: <@{proposal.developer}> has shipped {proposal.paired_releases} successful paired "
            f"release{'s' if proposal.paired_releases != 1 else ''} of {proposal.service} to "
            f"{proposal.environment}. Add them to {proposal.environment}'s deployers, so they deploy there "
            f"without a pair? Members of {group} decide.")
    blocks: list[dict[str, Any]] = [section(text)]
    if decided is not None:
        blocks.append(section(decided))
        return f"{text} {decided}", blocks
    value = str(proposal.id)
    blocks.append({"type": "actions", "block_id": f"trust-proposal-{proposal.id}", "elements": [
        {"type": "button", "text": {"type": "plain_text", "text": "Approve"}, "action_id": ActionId.TRUST_APPROVE.value,
         "value": value, "style": "primary"},
        {"type": "button", "text": {"type": "plain_text", "text": "Not yet"}, "action_id": ActionId.TRUST_NOT_YET.value,
         "value": value}]})
    return text, blocks
