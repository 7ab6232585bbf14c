"""A change that fails verification and is rolled back automatically: its authors hear why, once, and
never that it was live. On the sandbox provider, whose commits carry `<name>@example.com` authors."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlmodel import select

from bot.authors.models import AuthorNotice, ReleaseCommit
from bot.providers.sandbox import AUTHOR_DOMAIN, AUTHORS
from bot.release.models import ReleaseState
from bot.slack.ids import ActionId
from tests.contracts.slack_contract import SlackContract
from tests.release.scenario import scenario
from tests.release.test_rollback import Health, config, ship

WEDNESDAY = datetime(2026, 11, 18, 10, tzinfo=UTC)
ALICE, CAROL = "U0ALICE", "U0CAROL"


@pytest.fixture
async def health() -> AsyncIterator[Health]:
    endpoint = Health()
    runner = await endpoint.start()
    yield endpoint
    await runner.cleanup()


async def test_authors_of_a_change_rolled_back_after_failed_verification_hear_why(
        tmp_path: Path, slack_contract: SlackContract, health: Health) -> None:
    async with scenario(tmp_path, slack_contract, config=config(health.url), start=WEDNESDAY) as s:
        people = {name: f"U0{name.upper()}" for name in AUTHORS}
        for name, user in people.items():
            s.stack.workspace.add_user(user, name, tz="Europe/Berlin", email=f"{name}@{AUTHOR_DOMAIN}")
        await ship(s, "v1.0.0")
        await s.command(ALICE, "api v1.1.0 to production")
        bad = (await s.releases())[-1]
        await s.press(CAROL, bad, ActionId.APPROVE)
        health.status = 503
        await s.time.advance(timedelta(minutes=5))
        await s.stack.settle()
        await s.time.advance(timedelta(seconds=5))
        await s.stack.settle()
        assert (await s.release(bad.id or 0)).state == ReleaseState.ROLLED_BACK

        async with s.stack.ctx.db.session() as session:
            commits = (await session.exec(select(ReleaseCommit).where(ReleaseCommit.release_id == bad.id))).all()
            notices = (await session.exec(select(AuthorNotice))).all()
        authors = {c.author_name for c in commits}
        assert authors and {n.outcome for n in notices} == {"rolled_back"}  # never "live", never twice
        for name, user in people.items():
            im = s.stack.workspace.im_with(user).id
            dms = [m for m in s.stack.workspace.messages.values() if m.channel == im]
            if name not in authors:
                assert dms == []
                continue
            [dm] = dms
            assert "Your change was rolled back in *api production*" in dm.text
            assert "CET (Europe/Berlin)" in dm.text and "answered 503, expected 200" in dm.text
