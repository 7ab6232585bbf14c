"""The App Home tab through signed `app_home_opened` events: the viewer's services, releases in flight,
their next shift, and the trend chart uploaded with files v2 — or, when Slack will not take it, without."""

from __future__ import annotations

import io
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from PIL import Image

from bot.evidence.chart import SIZE_PX
from bot.release.models import Release
from tests.contracts.slack_contract import SlackContract
from tests.release.scenario import SANDBOX, Scenario, release_config, scenario

START = datetime(2026, 12, 7, 9, 30, tzinfo=UTC)  # a Monday, just after api-oncall's 10:00 Berlin handoff
def config() -> str:
    # release_config ends with the rotations block; put web under services, before it.
    base = release_config(SANDBOX)
    web = """  web:
    channel: "#web-releases"
    provider: sandbox
    repo: acme/web
    workflow: deploy.yml
    environments:
      production:
        deployers: ["U0CAROL"]
"""
    return base.replace("rotations:\n", web + "rotations:\n", 1)


async def open_home(s: Scenario, user: str) -> dict[str, Any]:
    delivery = await s.stack.slack.event({"type": "app_home_opened", "user": user, "channel": "D0HOME",
                                          "tab": "home", "event_ts": f"{s.clock.now().timestamp():.6f}"})
    assert delivery.status == 200
    await s.stack.settle()
    views = [e.view for e in s.stack.workspace.events if e.kind == "home" and e.user == user]
    assert views, "no Home tab was published"
    view = views[-1]
    assert view is not None
    return view


def texts(view: dict[str, Any]) -> str:
    out = []
    for block in view["blocks"]:
        if isinstance(block.get("text"), dict):
            out.append(block["text"]["text"])
        out += [e.get("text", "") for e in block.get("elements", []) if isinstance(e, dict)]
    return "\n".join(out)


def images(view: dict[str, Any]) -> list[dict[str, Any]]:
    return [b for b in view["blocks"] if b["type"] == "image"]


async def in_flight(s: Scenario, *, service: str, ref: str, state: str) -> int:
    now = s.clock.now()
    async with s.stack.ctx.db.session() as session:
        row = Release(service=service, environment="production", ref=ref, state=state, requested_by="U0ALICE",
                      created_at=now, updated_at=now, started_at=now,
                      detail={"permalink": "https://switchman-sim.slack.com/archives/C1/p1"})
        session.add(row)
        await session.flush()
        assert row.id is not None
        return row.id


@pytest.fixture
def contract(slack_contract: SlackContract) -> SlackContract:
    return slack_contract


async def test_home_shows_my_services_releases_shift_and_an_uploaded_chart(tmp_path: Path,
                                                                           contract: SlackContract) -> None:
    async with scenario(tmp_path, contract, config=config(), start=START) as s:
        release_id = await in_flight(s, service="api", ref="v2.4.0", state="awaiting_approval")
        await in_flight(s, service="web", ref="w9", state="rolling_out")
        view = await open_home(s, "U01DEV1")  # api-oncall's shadow: api is theirs, web is not

        text = texts(view)
        assert "Your services" in text and "*api* — `staging` → `production`" in text and "*web*" not in text
        assert f"<https://switchman-sim.slack.com/archives/C1/p1|#{release_id}> *api* `v2.4.0` → production — " \
               "awaiting approval, by <@U0ALICE>" in text
        assert "w9" not in text
        assert "*api-oncall* shadow: on call *now*, until <!date^" in text
        # The chart: the three files v2 steps, then an image block showing that file.
        api = s.stack.api
        [reserve] = api.calls_of("files.getUploadURLExternal")
        [upload] = api.calls_of("upload")
        [complete] = api.calls_of("files.completeUploadExternal")
        assert reserve.params["filename"].endswith(".png") and int(reserve.params["length"]) == upload.params["bytes"]
        assert "channel_id" not in complete.params and "channels" not in complete.params  # private to the app
        [image] = images(view)
        file = s.stack.workspace.files.files[image["slack_file"]["id"]]
        assert file.completed and file.data is not None
        png = Image.open(io.BytesIO(file.data))
        assert png.format == "PNG" and png.size == SIZE_PX
        assert "api" in image["title"]["text"]
        assert image["alt_text"].endswith("Latest week: 0 deploys, lead time no data, change failure rate no data, "
                                          "time to restore no data.")
        assert file.alt_txt == image["alt_text"]

        # Open again soon: the same picture, nothing uploaded again. Later: drawn and uploaded anew.
        await s.time.advance(timedelta(minutes=5))
        again = await open_home(s, "U01DEV1")
        assert images(again) == [image] and len(api.calls_of("files.getUploadURLExternal")) == 1
        await s.time.advance(timedelta(minutes=15))
        later = await open_home(s, "U01DEV1")
        assert len(api.calls_of("files.getUploadURLExternal")) == 2
        assert images(later)[0]["slack_file"]["id"] != image["slack_file"]["id"]


async def test_a_deployer_by_group_sees_their_service_and_is_not_on_call(tmp_path: Path,
                                                                         contract: SlackContract) -> None:
    async with scenario(tmp_path, contract, config=config(), start=START) as s:
        view = await open_home(s, "U0CAROL")  # web's deployer by id; api production's overrider through @sre
        text = texts(view)
        assert "*web* — `production`" in text and "*api* —" in text
        assert "Nothing in flight for these services." in text
        assert "You are not on call: you are in no rotation." in text
        alice = texts(await open_home(s, "U0ALICE"))  # in @api-devs, api production's deployers
        assert "*api* —" in alice and "*web* —" not in alice


async def test_someone_with_no_service_sees_them_all(tmp_path: Path, contract: SlackContract) -> None:
    async with scenario(tmp_path, contract, config=config(), start=START) as s:
        s.stack.workspace.add_user("U0ERIN", "erin")
        text = texts(await open_home(s, "U0ERIN"))
        assert "every service is shown" in text and "*api* —" in text and "*web* —" in text


@pytest.mark.parametrize(("method", "failure", "reason"), [
    ("files.getUploadURLExternal", {"status": 429, "retry_after": 30}, "Slack is rate-limiting uploads"),
    ("files.getUploadURLExternal", {"error": "file_uploads_disabled"},
     "Slack refused the upload (file_uploads_disabled)"),
    ("upload", {"status": 500}, "Slack's upload answered HTTP 500"),
    ("files.completeUploadExternal", {"status": 503, "error": "service_unavailable"},
     "Slack is unavailable (HTTP 503)"),
])
async def test_a_failed_upload_publishes_the_tab_without_the_chart(tmp_path: Path, contract: SlackContract,
                                                                    method: str, failure: dict[str, Any],
                                                                    reason: str) -> None:
    async with scenario(tmp_path, contract, config=config(), start=START) as s:
        s.stack.api.fail(method, **failure)
        view = await open_home(s, "U01DEV1")
        assert images(view) == []
        text = texts(view)
        assert f"The trend chart is not shown: {reason}" in text and "`/deploy metrics`" in text
        assert "*api-oncall* shadow" in text  # the rest of the tab is all there


async def test_a_rate_limited_upload_is_not_retried_before_retry_after(tmp_path: Path,
                                                                       contract: SlackContract) -> None:
    async with scenario(tmp_path, contract, config=config(), start=START) as s:
        s.stack.api.fail("files.getUploadURLExternal", status=429, retry_after=120)
        await open_home(s, "U01DEV1")
        await s.time.advance(timedelta(seconds=60))
        held = await open_home(s, "U01DEV1")
        assert images(held) == [] and len(s.stack.api.calls_of("files.getUploadURLExternal")) == 1
        await s.time.advance(timedelta(seconds=61))
        assert len(images(await open_home(s, "U01DEV1"))) == 1


async def test_without_the_files_scope_the_tab_says_so(tmp_path: Path, contract: SlackContract) -> None:
    async with scenario(tmp_path, contract, config=config(), start=START) as s:
        s.stack.workspace.bot_scopes.remove("files:write")
        text = texts(await open_home(s, "U01DEV1"))
        assert "The trend chart is not shown: Slack refused the upload (missing_scope)" in text


async def test_a_view_slack_will_not_show_the_picture_in_is_published_without_it(
        tmp_path: Path, contract: SlackContract) -> None:
    async with scenario(tmp_path, contract, config=config(), start=START) as s:
        s.stack.api.fail("views.publish", error="invalid_blocks",
                         match=lambda p: any(b.get("type") == "image" for b in p["view"]["blocks"]))
        view = await open_home(s, "U01DEV1")
        assert images(view) == [] and "Slack would not show the uploaded picture yet" in texts(view)


async def test_a_rate_limited_publish_leaves_the_tab_as_it_was(tmp_path: Path, contract: SlackContract) -> None:
    async with scenario(tmp_path, contract, config=config(), start=START) as s:
        s.stack.api.fail("views.publish", status=429, retry_after=5)
        delivery = await s.stack.slack.event({"type": "app_home_opened", "user": "U01DEV1", "tab": "home",
                                              "event_ts": "1796630400.000100"})
        await s.stack.settle()
        assert delivery.status == 200
        assert [e for e in s.stack.workspace.events if e.kind == "home"] == []
        assert len(s.stack.api.calls_of("views.publish")) == 1  # no retry storm; the next opening publishes
        assert len(images(await open_home(s, "U01DEV1"))) == 1
