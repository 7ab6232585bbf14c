"""The interaction lane's counts on `/metrics`: running, queued, merged duplicates, refused (decision 0009)."""

from __future__ import annotations

import asyncio

import aiohttp
from prometheus_client.parser import text_string_to_metric_families

from bot.background import BackgroundTasks
from bot.interaction_lane import InteractionLane
from bot.slack_sim.stack import Stack
from bot.web.metrics import Metrics

LANE = "switchman_interaction_lane_"


def lane_figures(text: str) -> dict[str, float]:
    return {sample.name.removeprefix(LANE): sample.value for family in text_string_to_metric_families(text)
            for sample in family.samples if sample.name.startswith(LANE)}


async def test_a_burst_shows_as_running_queued_merged_and_refused() -> None:
    background = BackgroundTasks()
    lane = InteractionLane(background, workers=1, queue_limit=1, busy_limit=0)
    metrics = Metrics(background)
    metrics.watch_lane(lane)
    gate = asyncio.Event()

    async def work() -> None:
        await gate.wait()

    lane.submit(work, name="first", merge_key="alice-approve-7")
    lane.submit(work, name="second", merge_key="bob-approve-7")
    lane.submit(work, name="double click", merge_key="alice-approve-7")
    lane.submit(work, name="third", merge_key="carol-approve-7", on_refused=work)
    during = lane_figures(metrics.render().decode())
    gate.set()
    await background.drain(within=5)
    after = lane_figures(metrics.render().decode())

    assert during == {"running": 1, "queued": 1, "started_total": 1, "merged_total": 1,
                      "merged_unanswered_total": 0, "refused_total": 1, "refused_unanswered_total": 1}
    assert after == {"running": 0, "queued": 0, "started_total": 2, "merged_total": 1,
                     "merged_unanswered_total": 0, "refused_total": 1, "refused_unanswered_total": 1}


async def test_switchman_serves_them_on_its_metrics_page(stack: Stack) -> None:
    """A real `/oncall ROTATION` runs in the lane; once it is answered, /metrics counts it started and idle."""
    delivery = await stack.slack.slash_command("U0ALICE", "/oncall", "api-oncall", channel="C0TEST")
    await stack.settle()
    metrics_url = stack.app_url.removesuffix("/slack/events") + "/metrics"
    async with aiohttp.ClientSession() as session, session.get(metrics_url) as response:
        figures = lane_figures(await response.text())

    assert delivery.status == 200
    assert figures == {"running": 0, "queued": 0, "started_total": 1, "merged_total": 0,
                       "merged_unanswered_total": 0, "refused_total": 0, "refused_unanswered_total": 0}
