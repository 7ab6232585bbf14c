"""What `/rollback` may go back to (§2): only a release that succeeded in that environment and whose
commit is neither the one being undone nor quarantined — through signed requests on the sandbox."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

from bot.release.models import EnvironmentState, Release, ReleaseKind, ReleaseState
from tests.contracts.slack_contract import SlackContract
from tests.release.scenario import SANDBOX, Scenario, release_config, scenario

ALICE = "U0ALICE"


@pytest.fixture
async def s(tmp_path: Path, slack_contract: SlackContract):  # type: ignore[no-untyped-def]
    async with scenario(tmp_path, slack_contract, config=release_config(SANDBOX),
                        start=datetime(2026, 11, 18, 10, tzinfo=UTC)) as running:
        yield running


async def deploy(s: Scenario, ref: str, expect: ReleaseState = ReleaseState.SUCCEEDED) -> Release:
    await s.command(ALICE, f"api {ref} to staging")
    release = (await s.releases())[-1]
    assert (release.ref, release.state) == (ref, expect)
    return release


async def roll_back(s: Scenario, text: str = "") -> str:
    """`/rollback api staging TEXT`; returns the answer alice saw."""
    await s.command(ALICE, f"api staging {text}".strip(), command="/rollback")
    return s.ephemerals(ALICE)[-1]


def listed(release: Release) -> str:
    return f"#{release.id} `{release.ref}` (`{(release.sha or '')[:10]}`)"


async def test_a_ref_that_names_no_succeeded_release_is_refused_with_the_valid_targets(s: Scenario) -> None:
    one, two, _three = [await deploy(s, ref) for ref in ("v1.0.0", "v1.1.0", "v1.2.0")]
    before = len(await s.releases())

    for ref in ("hotfix-never-built", "f" * 40):  # the sandbox would resolve either to a commit
        answer = await roll_back(s, f"to {ref}")
        assert f"`{ref}` names no release of api in staging" in answer
        assert f"Valid targets: {listed(two)}, {listed(one)}." in answer
        assert "To release a new commit use `/deploy api REF to staging`" in answer
    assert "names release #3, which is of" in await roll_back(s, "to v1.2.0")  # what runs now
    assert len(await s.releases()) == before  # nothing was started

    await roll_back(s, f"to {(one.sha or '')[:7]}")  # seven hex digits of a succeeded release's commit
    rollback = (await s.releases())[-1]
    assert (rollback.kind, rollback.sha, rollback.state) == (ReleaseKind.ROLLBACK, one.sha, ReleaseState.SUCCEEDED)


async def test_an_id_of_a_failed_or_another_environments_release_is_refused(s: Scenario) -> None:
    good = await deploy(s, "v1.0.0")
    broken = await deploy(s, "v1.1.0-broken", expect=ReleaseState.FAILED)  # its pipeline fails
    await deploy(s, "v1.2.0")
    await s.command(ALICE, "api v1.2.0 to production")  # waits for approval there
    elsewhere = (await s.releases())[-1]

    answer = await roll_back(s, f"to #{broken.id}")
    assert f"#{broken.id} did not succeed in staging (it is failed)" in answer
    assert f"Valid targets: {listed(good)}." in answer
    answer = await roll_back(s, f"to #{elsewhere.id}")
    assert f"#{elsewhere.id} is a release of api to production, not of api to staging" in answer
    assert "#99 does not exist" in await roll_back(s, "to #99")
    assert [r.kind for r in await s.releases()] == [ReleaseKind.DEPLOY] * 4


async def test_rollbacks_in_a_row_never_bring_back_a_quarantined_commit(s: Scenario) -> None:
    one, two, three = [await deploy(s, ref) for ref in ("v1.0.0", "v1.1.0", "v1.2.0")]

    await roll_back(s)  # undoes v1.2.0: back to v1.1.0, v1.2.0 quarantined
    first = (await s.releases())[-1]
    assert (first.rollback_of, first.sha, first.state) == (three.id, two.sha, ReleaseState.SUCCEEDED)

    await roll_back(s)  # undoes v1.1.0: v1.2.0 is newer but quarantined, so back to v1.0.0
    second = (await s.releases())[-1]
    assert (second.rollback_of, second.sha, second.state) == (first.id, one.sha, ReleaseState.SUCCEEDED)
    async with s.stack.ctx.db.session() as session:
        state = await session.get(EnvironmentState, ("api", "staging"))
    assert state is not None and state.quarantined_sha == two.sha  # the column remembers only the latest

    answer = await roll_back(s)  # both newer commits are quarantined: nothing left
    assert "no verified release of api in staging other than" in answer and "not quarantined" in answer
    answer = await roll_back(s, f"to #{three.id}")
    assert f"#{three.id} is of `{(three.sha or '')[:10]}`, which was rolled back and is quarantined" in answer
    assert len(await s.releases()) == 5

    blocked = await deploy(s, "v1.2.0", expect=ReleaseState.BLOCKED)  # the first quarantine still holds
    assert "is quarantined there until a newer commit is deployed" in s.thread_text(blocked)
    await deploy(s, "v1.3.0")  # a newer commit lifts every quarantine
    await deploy(s, "v1.2.0")


async def test_the_form_offers_only_valid_targets(s: Scenario) -> None:
    one, _two, _three = [await deploy(s, ref) for ref in ("v1.0.0", "v1.1.0", "v1.2.0")]
    await roll_back(s)  # v1.2.0 quarantined; v1.1.0 runs
    await s.command(ALICE, "", command="/rollback")
    [opened] = [e for e in s.stack.workspace.events if e.kind == "view_open"]
    assert opened.view is not None
    options = opened.view["blocks"][0]["element"]["options"]
    assert [o["value"] for o in options] == [f"api/staging/{one.id}"]  # not what runs, not the quarantined one
