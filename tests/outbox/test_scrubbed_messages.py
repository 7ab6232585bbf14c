"""No secret reaches Slack through the outbox, whoever wrote it into a message: every queued text and
Block Kit string is scrubbed of registered secrets and token-shaped strings, not of ordinary words."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

from bot.slack_sim.workspace import BOT_USER_ID
from bot.structured_log import REDACTED, scrubber
from tests.contracts.slack_contract import SlackContract
from tests.release.scenario import SANDBOX, release_config, scenario

WEDNESDAY = datetime(2026, 11, 18, 10, 0, tzinfo=UTC)
PASTED = "ghp_" + "P" * 36  # a GitHub token pasted into a reason by mistake
REGISTERED = "s3cr3t-value-of-some-provider"


async def test_a_token_in_a_reason_is_redacted_in_every_message_and_prose_is_left_alone(
        tmp_path: Path, slack_contract: SlackContract) -> None:
    scrubber.register([REGISTERED])
    reason = f"basic validation done; token {PASTED} and {REGISTERED}"
    async with scenario(tmp_path, slack_contract, config=release_config(SANDBOX), start=WEDNESDAY) as s:
        await s.command("U0ALICE", f'api v1.0.0 to staging --reason "{reason}"')
        await s.stack.settle()
        [release] = await s.releases()
        assert release.reason == reason  # the ledger keeps what was typed; Slack shows it scrubbed

        said = [m.text + str(m.blocks) for m in s.stack.workspace.messages.values() if m.user == BOT_USER_ID]
        assert any("basic validation done" in t and REDACTED in t for t in said)
        assert not any(PASTED in t or REGISTERED in t for t in said)
