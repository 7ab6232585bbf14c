"""`/deploy` with no text opens the deploy form; submitting it requests a release."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

from bot.release.models import ReleaseState
from tests.contracts.slack_contract import SlackContract
from tests.release.scenario import SANDBOX, release_config, scenario


async def test_the_form_requests_a_release_and_reports_by_dm(tmp_path: Path, slack_contract: SlackContract) -> None:
    async with scenario(tmp_path, slack_contract, config=release_config(SANDBOX),
                        start=datetime(2026, 11, 18, 10, tzinfo=UTC)) as s:
        await s.command("U0ALICE", "")
        [opened] = [e for e in s.stack.workspace.events if e.kind == "view_open"]
        assert opened.view is not None and opened.view["callback_id"] == "deploy_modal"
        options = opened.view["blocks"][0]["element"]["options"]
        assert [o["value"] for o in options] == ["api/staging", "api/production"]

        missing = await s.stack.slack.view_submission("U0ALICE", opened.view["id"], {})
        assert missing.json() == {"response_action": "errors",
                                  "errors": {"target": "Choose a service and environment."}}

        await s.stack.slack.view_submission("U0ALICE", opened.view["id"], {
            "target": {"target": {"type": "static_select", "selected_option": {"value": "api/staging"}}},
            "ref": {"ref": {"type": "plain_text_input", "value": "v7.0.0"}},
            "reason": {"reason": {"type": "plain_text_input", "value": "from the form"}}})
        await s.stack.settle()

        [release] = await s.releases()
        assert (release.ref, release.reason, release.state) == ("v7.0.0", "from the form", ReleaseState.SUCCEEDED)
        dms = [e for e in s.stack.workspace.events
               if e.kind == "message" and s.stack.workspace.channels[e.channel or ""].is_im]
        assert any("Release #1 started" in e.text for e in dms)
