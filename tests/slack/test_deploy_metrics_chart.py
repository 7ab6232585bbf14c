"""`/deploy metrics` answers with its figures and the 12-week trend chart, uploaded with files v2;
when the upload fails the figures come all the same, with a line saying why there is no chart."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from bot.slack_sim.workspace import SimEvent
from tests.contracts.slack_contract import SlackContract
from tests.release.scenario import SANDBOX, Scenario, release_config, scenario

START = datetime(2026, 12, 7, 9, 30, tzinfo=UTC)


def answer(s: Scenario, user: str) -> SimEvent:
    return [e for e in s.stack.workspace.events if e.kind == "ephemeral" and e.user == user][-1]


def labels(event: SimEvent) -> list[str]:
    return [f["text"].partition("\n")[0] for b in event.blocks for f in b.get("fields", [])]


def images(event: SimEvent) -> list[dict[str, Any]]:
    return [b for b in event.blocks if b["type"] == "image"]


async def test_the_answer_carries_the_chart_and_the_same_figures(tmp_path: Path, slack_contract: SlackContract) -> None:
    async with scenario(tmp_path, slack_contract, config=release_config(SANDBOX), start=START) as s:
        await s.command("U0BOB", "metrics api")
        first = answer(s, "U0BOB")
        assert first.blocks[0]["text"]["text"] == "Delivery metrics: api production, last 90 days"
        [image] = images(first)
        file = s.stack.workspace.files.files[image["slack_file"]["id"]]
        assert file.completed and file.data is not None and file.data.startswith(b"\x89PNG")
        assert image["title"]["text"].startswith("Delivery of api in production, 12 weeks")
        assert "*Deployment frequency*" in labels(first) and "*Change failure rate*" in labels(first)

        await s.time.advance(timedelta(minutes=2))
        await s.command("U0ALICE", "metrics api --days 30")  # same scope, soon after: the same upload
        assert images(answer(s, "U0ALICE")) == [image]
        assert len(s.stack.api.calls_of("files.getUploadURLExternal")) == 1
        await s.command("U0ALICE", "metrics")  # every service: a chart of its own
        assert images(answer(s, "U0ALICE"))[0]["title"]["text"].startswith("Delivery of every service")
        assert len(s.stack.api.calls_of("files.getUploadURLExternal")) == 2


async def test_a_refused_upload_still_answers_with_the_figures(tmp_path: Path, slack_contract: SlackContract) -> None:
    async with scenario(tmp_path, slack_contract, config=release_config(SANDBOX), start=START) as s:
        s.stack.api.fail("files.completeUploadExternal", error="file_uploads_except_images_disabled")
        await s.command("U0BOB", "metrics api")
        event = answer(s, "U0BOB")
        assert images(event) == []
        assert "No trend chart: Slack refused the upload (file_uploads_except_images_disabled)" in str(event.blocks)
        assert "*Deployment frequency*" in labels(event)
