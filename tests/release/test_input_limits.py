"""Over-long, out-of-range and forged input (§2 "Limits"): a clear reply with the usage, nothing stored.

Each test is one defect measured on main; they go through signed requests to the real app.
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlmodel import select

from bot.commands import deploy, oncall, rollback
from bot.commands.help_hint import help_hint
from bot.commands.limits import MAX_ID
from bot.oncall.models import Page
from bot.oncall.schedule_models import SwapRequest
from bot.release.models import GateOverride, Lock, ReleaseState
from bot.slack.ids import ActionId
from tests.contracts.slack_contract import SlackContract
from tests.release.scenario import SANDBOX, Scenario, release_config, scenario

WEDNESDAY = datetime(2026, 11, 18, 10, 0, tzinfo=UTC)
ALICE, CAROL = "U0ALICE", "U0CAROL"
APOLOGY = "Something went wrong"
NOTHING = {"Lock": 0, "Page": 0, "SwapRequest": 0, "GateOverride": 0, "releases": 0, "ledger": 0}


@pytest.fixture
async def s(tmp_path: Path, slack_contract: SlackContract):  # type: ignore[no-untyped-def]
    async with scenario(tmp_path, slack_contract, config=release_config(SANDBOX), start=WEDNESDAY) as running:
        yield running


async def stored(s: Scenario) -> dict[str, int]:
    """How many rows each table a refused request must not touch holds."""
    async with s.stack.ctx.db.session() as session:
        counts = {table.__name__: len((await session.exec(select(table))).all())
                  for table in (Lock, Page, SwapRequest, GateOverride)}
    return {**counts, "releases": len(await s.releases()), "ledger": len(await s.ledger())}


def refused(reply: object, complaint: str, usage: str) -> None:
    """A slash command's ack: what was wrong, then where the usage is, and no apology."""
    assert isinstance(reply, dict), reply
    assert complaint in reply["text"] and APOLOGY not in reply["text"]
    assert reply["text"].splitlines()[-1] == help_hint(usage)


async def test_a_300_character_ref_gets_the_usage_and_leaves_the_environment_free(s: Scenario) -> None:
    reply = await s.command(ALICE, f"api {'a' * 300} to staging")
    refused(reply.json(), "a ref is at most 255 bytes; this one is 300", deploy.USAGE)
    assert await stored(s) == NOTHING

    await s.command(ALICE, "api v1.0.0 to staging")
    [release] = await s.releases()
    assert release.state == ReleaseState.SUCCEEDED


async def test_the_forms_256_byte_ref_is_a_field_error_and_a_255_byte_one_ships(s: Scenario) -> None:
    await s.command(ALICE, "")
    [opened] = [e.view for e in s.stack.workspace.events if e.kind == "view_open"]
    assert opened is not None
    ref_input = opened["blocks"][1]["element"]
    assert ref_input["max_length"] == 255  # Slack stops typing at 255 characters; bytes are checked here

    def form(ref: str) -> dict[str, dict[str, object]]:
        return {"target": {"target": {"type": "static_select", "selected_option": {"value": "api/staging"}}},
                "ref": {"ref": {"type": "plain_text_input", "value": ref}}}

    too_long = await s.stack.slack.view_submission(ALICE, opened["id"], form("é" * 128))  # 128 characters
    await s.stack.settle()
    assert too_long.json() == {"response_action": "errors",
                               "errors": {"ref": "A ref is at most 255 bytes; this one is 256."}}
    assert await stored(s) == NOTHING

    longest = "v" + "é" * 127  # 255 bytes: the ledger's subject `api/staging@<ref>` must hold it
    await s.stack.slack.view_submission(ALICE, opened["id"], form(longest))
    await s.stack.settle()
    [release] = await s.releases()
    assert (release.ref, release.state) == (longest, ReleaseState.SUCCEEDED)
    assert any(d.subject == f"api/staging@{longest}" for d in await s.ledger(release.id))


async def test_rollback_to_an_over_long_ref_gets_the_usage(s: Scenario) -> None:
    await s.command(ALICE, "api v1.0.0 to staging")
    before = await stored(s)
    reply = await s.command(ALICE, f"api staging to v1.0{'.0' * 200}", command="/rollback")
    refused(reply.json(), "a ref is at most 255 bytes", rollback.USAGE)
    assert await stored(s) == before


async def test_an_override_reason_over_500_characters_is_a_field_error(s: Scenario) -> None:
    await s.command(CAROL, 'lock api production --reason "database maintenance"')
    await s.command(ALICE, "api v1.0.0 to production")
    release = (await s.releases())[-1]
    assert release.state == ReleaseState.BLOCKED
    await s.press(CAROL, release, ActionId.OVERRIDE)
    [modal] = [e.view for e in s.stack.workspace.events if e.kind == "view_open"]
    assert modal is not None
    before = await stored(s)
    submit = await s.stack.slack.view_submission(CAROL, modal["id"], {
        "gates": {"gates": {"type": "checkboxes", "selected_options": [{"value": "not_locked"}]}},
        "reason": {"reason": {"type": "plain_text_input", "value": "x" * 501}}})
    await s.stack.settle()
    assert submit.json() == {"response_action": "errors",
                             "errors": {"reason": "A reason is at most 500 characters; this one is 501."}}
    assert await stored(s) == before and (await s.release(release.id or 0)).state == ReleaseState.BLOCKED


@pytest.mark.parametrize("text", ["cancel 2147483648", "cancel #100000000000000000000000", "cancel ²"])
async def test_an_id_out_of_range_gets_the_usage(tmp_path: Path, slack_contract: SlackContract,
                                                 database_url: str, text: str) -> None:
    async with scenario(tmp_path, slack_contract, config=release_config(SANDBOX), start=WEDNESDAY,
                        database_url=database_url) as s:
        reply = await s.command(ALICE, text)
        refused(reply.json(), f"ids are whole numbers from 1 to {MAX_ID}", deploy.USAGE)
        assert await stored(s) == NOTHING

        await s.command(ALICE, f"cancel {MAX_ID}")  # the largest id is a question the database can answer
        assert not any(APOLOGY in t for t in s.ephemerals(ALICE))


async def test_a_lock_for_longer_than_any_duration_gets_the_usage(s: Scenario) -> None:
    reply = await s.command(ALICE, 'lock api staging --for 9999999999999999999999s --reason "maintenance"')
    refused(reply.json(), "--for: '9999999999999999999999s' is too long a duration", deploy.USAGE)
    reply = await s.command(ALICE, 'lock api staging --for 366d --reason "maintenance"')
    refused(reply.json(), "--for takes a duration from 1s up to 365d", deploy.USAGE)
    assert await stored(s) == NOTHING


@pytest.mark.parametrize("text", ['page api-oncall "' + "x" * 1001 + '"', "ack 2147483648", "resolve abc",
                                  "away 2026-12-01 2099-12-31", "schedule api-oncall --weeks 99999999999999999999"])
async def test_oncall_input_over_a_limit_gets_the_usage(s: Scenario, text: str) -> None:
    reply = await s.command(ALICE, text, command="/oncall")
    assert reply.json()["text"].startswith(":warning: ")
    refused(reply.json(), "", oncall.USAGE)
    assert await stored(s) == NOTHING


BUTTONS = [(ActionId.APPROVE, "release"), (ActionId.PROMOTE, "release"), (ActionId.OVERRIDE, "release"),
           (ActionId.PAGE_ACK, "page"), (ActionId.SWAP_TAKE, "swap or cover request")]


@pytest.mark.parametrize(("action_id", "what", "value"), [
    *[(action_id, what, value) for action_id, what in BUTTONS for value in ("abc", "100000000000000000000000")],
    (ActionId.APPROVE, "release", "0"), (ActionId.APPROVE, "release", None),  # the rest: tests/commands/test_limits
])
async def test_a_button_value_that_names_nothing_is_answered_clearly(s: Scenario, action_id: ActionId, what: str,
                                                                     value: str | None) -> None:
    await s.command(ALICE, "api v1.0.0 to staging")
    [release] = await s.releases()
    before = await stored(s)
    click = await s.stack.slack.block_action(CAROL, s.parent(release), action_id=action_id, block_id="actions",
                                             value=value)
    await s.stack.settle()
    assert click.status == 200
    assert s.ephemerals(CAROL) == [f":warning: this button does not name a {what}"]
    assert await stored(s) == before
