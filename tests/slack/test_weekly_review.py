"""The weekly release confidence review on simulated time: it fires at the configured wall-clock
instant, posts once in the team's channel with the figures of a generated history, and a restart,
a second replica or a repeated job never posts it twice."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from pydantic import ValidationError
from sqlmodel import select

from bot.config.models import SwitchmanConfig, WeeklyReview
from bot.evidence.review_models import WeeklyReviewRun
from bot.evidence.review_schedule import occurrences_around, review_teams
from bot.ledger.models import DecisionKind
from bot.slack import review_post
from bot.slack.review_blocks import movement
from bot.slack_sim.workspace import SimMessage
from tests.contracts.slack_contract import SlackContract
from tests.evidence.history_builder import History, at
from tests.release.scenario import SANDBOX, Scenario, release_config, scenario

ALICE, BOB, CAROL = "U0ALICE", "U0BOB", "U0CAROL"
# Monday 09:00 Berlin = 08:00 UTC in December: the week reviewed is (Nov 30 08:00, Dec 7 08:00] UTC.
REVIEW = '\nweekly_review: {channel: "#api-team", day: monday, at: "09:00", timezone: Europe/Berlin}\n'
START = at(6, "12:00")  # the Sunday before
DUE = at(7, "08:00")


async def write_history(h: History) -> None:
    # The week reviewed: five production deploys.
    r1 = await h.release(by=ALICE, created=at(1, "10:00"), started=at(1, "10:00"), finished=at(1, "10:40"),
                         verified=at(1, "10:40"), state="succeeded")
    await h.decisions(r1, ("WAITING", at(1, "10:01")))
    await h.approve(r1, CAROL, at(1, "10:05"))
    await h.decisions(r1, ("GO", at(1, "10:05")))
    # r2 went out after a freeze was overridden: a near-miss (overridden), special handling.
    r2 = await h.release(by=BOB, created=at(2, "10:00"), started=at(2, "10:00"), finished=at(2, "10:40"),
                         verified=at(2, "10:40"), state="succeeded")
    await h.decisions(r2, ("NO-GO", at(2, "10:01")))
    await h.override(r2, CAROL, "freeze_window", at(2, "10:10"))
    await h.decisions(r2, ("GO", at(2, "10:11")))
    # r3: a gate could not answer (error), then passed on re-evaluation: a near-miss (inconclusive gate).
    r3 = await h.release(by=ALICE, created=at(3, "10:00"), started=at(3, "10:00"), finished=at(3, "10:40"),
                         verified=at(3, "10:40"), state="succeeded")
    await h.decide(r3, DecisionKind.GATE_VERDICT, "error", at(3, "10:01"), actor="gate:ci_green")
    await h.decisions(r3, ("GO", at(3, "10:05")))
    # r4: verification had no data, the rollout paused and CAROL promoted it: paused and overridden.
    r4 = await h.release(by=ALICE, created=at(4, "10:00"), started=at(4, "10:00"), finished=at(4, "11:00"),
                         verified=at(4, "11:00"), state="succeeded")
    await h.decisions(r4, ("GO", at(4, "10:02")))
    await h.decide(r4, DecisionKind.STAGE_RESULT, "inconclusive", at(4, "10:20"), actor="verification")
    await h.override(r4, CAROL, "verification", at(4, "10:30"))
    # r5 failed verification and was rolled back: a failed change, not a near-miss, though overridden.
    r5 = await h.release(by=ALICE, created=at(5, "10:00"), started=at(5, "10:00"), finished=at(5, "10:50"),
                         detected=at(5, "10:30"), rolled_back=at(5, "10:50"), state="rolled_back")
    await h.override(r5, CAROL, "not_locked", at(5, "10:01"))
    await h.decisions(r5, ("GO", at(5, "10:02")))
    await h.rollback(r5, by=ALICE, when=at(5, "10:31"), done=at(5, "10:50"))
    # Three weeks before: two healthy deploys, one each; the other three baseline weeks are empty.
    for who, day in ((ALICE, 17), (BOB, 18)):
        r = await h.release(by=who, created=at(day, "10:00", 11), started=at(day, "10:00", 11),
                            finished=at(day, "10:30", 11), verified=at(day, "10:30", 11), state="succeeded")
        await h.decisions(r, ("GO", at(day, "10:05", 11)))
    # After the week's end: not in this review.
    late = await h.release(by=BOB, created=at(7, "08:30"), started=at(7, "08:30"), finished=at(7, "09:00"),
                           verified=at(7, "09:00"), state="succeeded")
    await h.decisions(late, ("GO", at(7, "08:35")))


def reviews(s: Scenario) -> list[SimMessage]:
    channel = s.stack.workspace.channel_by_name("api-team")
    assert channel is not None
    return s.stack.workspace.channel_history(channel.id)


def fields(message: SimMessage) -> dict[str, str]:
    found = {}
    for block in message.blocks:
        for f in block.get("fields", []):
            label, _, value = f["text"].partition("\n")
            found[label.strip("*")] = value
    return found


async def test_the_review_posts_once_at_its_wall_clock_time_with_the_weeks_figures(
        tmp_path: Path, slack_contract: SlackContract) -> None:
    async with scenario(tmp_path, slack_contract, config=release_config(SANDBOX) + REVIEW, start=START) as s:
        await write_history(History(s.stack.ctx.db))
        [job] = [j for j in s.time.scheduler.jobs() if j.name == review_post.REVIEW_JOB]
        assert (job.id, job.at) == ("weekly-review-#api-team", DUE)

        await s.time.advance(DUE - START - timedelta(seconds=1))
        await s.stack.settle()
        assert reviews(s) == []
        await s.time.advance(timedelta(seconds=1))
        await s.stack.settle()

        [post] = reviews(s)
        assert post.blocks[0]["text"]["text"] == "Weekly release review: api"
        f = fields(post)
        # 5 deploys against a 4-week mean of (0 + 2 + 0 + 0) / 4 = 0.5.
        assert f["Production releases"] == "5 · ↑4.5 vs the 4-week average (0.5)"
        assert f["Succeeded"] == "4 of 5"
        assert f["Failed changes"] == "1 · ↑1 vs the 4-week average (0)"
        assert f["Rollbacks"] == "1 · ↑1 vs the 4-week average (0)"
        assert f["Near-misses"] == ("3 · ↑3 vs the 4-week average (0)\n"
                                    "paused 1 · inconclusive gates 1 · overridden 3")
        assert f["Special handling (overrides)"] == "3 · ↑3 vs the 4-week average (0)"
        # ALICE requested 4 of 5; three weeks ago the top share was 50 % (the only week with deploys).
        assert f["Deploys by the top person"] == f"<@{ALICE}> 80% (2 people) · ↑30 pts vs the 4-week average (50%)"
        assert f["Approvals by the top person"] == f"<@{CAROL}> 100% (1 person) · no earlier weeks to compare"

        # The next week's review is planned; running this week's again posts nothing.
        [following] = [j for j in s.time.scheduler.jobs() if j.name == review_post.REVIEW_JOB]
        assert following.at == DUE + timedelta(days=7)
        await review_post.run_review(s.stack.ctx, channel="#api-team", week_end=DUE.isoformat())
        team = review_teams(s.stack.ctx.config)["#api-team"]
        results = await asyncio.gather(review_post.post_review(s.stack.ctx, team, DUE),
                                       review_post.post_review(s.stack.ctx, team, DUE))
        assert results == [False, False]
        await s.stack.settle()
        assert len(reviews(s)) == 1
        async with s.stack.ctx.db.session() as session:
            [row] = (await session.exec(select(WeeklyReviewRun))).all()
        assert (row.channel, row.week_end, row.services) == ("#api-team", DUE, ["api"])
        assert row.figures["near_misses"] == 3


@pytest.mark.postgres
async def test_two_replicas_at_once_post_once(tmp_path: Path, slack_contract: SlackContract,
                                              database_url: str) -> None:
    start = DUE + timedelta(days=1)  # past the catch-up: nothing is posted at start
    async with scenario(tmp_path, slack_contract, config=release_config(SANDBOX) + REVIEW, start=start,
                        database_url=database_url) as s:
        team = review_teams(s.stack.ctx.config)["#api-team"]
        week = DUE + timedelta(days=7)
        results = await asyncio.gather(review_post.post_review(s.stack.ctx, team, week),
                                       review_post.post_review(s.stack.ctx, team, week))
        assert sorted(results) == [False, True]
        await s.stack.settle()
        [post] = reviews(s)
        assert post.text.startswith("Weekly release review: api: 0 releases")


async def test_a_restart_after_the_time_posts_the_missed_review_late_and_once(
        tmp_path: Path, slack_contract: SlackContract) -> None:
    late = DUE + timedelta(hours=2)  # Switchman was down at 09:00 Berlin and is back at 11:00
    async with scenario(tmp_path, slack_contract, config=release_config(SANDBOX) + REVIEW, start=late) as s:
        await s.time.advance(timedelta(0))
        await s.stack.settle()
        [post] = reviews(s)
        assert "to <!date^" in str(post.blocks[1])  # the week that ended at 09:00, not at 11:00
        # A second start (plan again, as a restart does) finds it posted and only plans next week's.
        await review_post.plan_jobs(s.stack.ctx)
        [job] = [j for j in s.time.scheduler.jobs() if j.name == review_post.REVIEW_JOB]
        assert job.at == DUE + timedelta(days=7)
        await s.time.advance(timedelta(hours=1))
        await s.stack.settle()
        assert len(reviews(s)) == 1
        async with s.stack.ctx.db.session() as session:
            [row] = (await session.exec(select(WeeklyReviewRun))).all()
        assert row.week_end == DUE


def test_review_instants_follow_the_wall_clock_across_dst() -> None:
    review = WeeklyReview(channel="#team", day="Sunday", at="02:30", timezone="Europe/Berlin")
    # Sunday 29 March 2026: Berlin skips 02:00–03:00; the review is taken when the clocks jump.
    last, following = occurrences_around(review, datetime(2026, 3, 30, tzinfo=UTC))
    assert last == datetime(2026, 3, 29, 1, 0, tzinfo=UTC)  # 03:00 CEST
    assert following == datetime(2026, 4, 5, 0, 30, tzinfo=UTC)  # 02:30 CEST
    before, _ = occurrences_around(review, datetime(2026, 3, 22, 1, 29, tzinfo=UTC))  # a minute early
    assert before == datetime(2026, 3, 15, 1, 30, tzinfo=UTC)  # 02:30 CET, the week before


def test_one_channel_gets_one_review_and_days_are_checked() -> None:
    base = {"providers": {"s": {"kind": "sandbox"}}, "weekly_review": {"channel": "#team"},
            "services": {"api": {"channel": "#api", "provider": "s", "environments": {"production": {}}},
                         "web": {"channel": "#web", "provider": "s", "environments": {"production": {}},
                                 "weekly_review": {"channel": "#team", "day": "friday"}}}}
    with pytest.raises(ValidationError, match="#team already has api's review on monday 09:00 UTC"):
        SwitchmanConfig.model_validate(base)
    with pytest.raises(ValidationError, match="day must be one of monday"):
        WeeklyReview(channel="#team", day="someday")
    base["services"]["web"]["weekly_review"] = {"channel": "#web-team", "day": "Friday", "at": "16:00"}  # type: ignore[index]
    teams = review_teams(SwitchmanConfig.model_validate(base))
    assert {c: t.services for c, t in teams.items()} == {"#team": ("api",), "#web-team": ("web",)}
    assert teams["#web-team"].review.when == "friday 16:00 UTC"



async def test_a_run_that_fails_tries_again_for_the_same_week(tmp_path: Path, slack_contract: SlackContract,
                                                               monkeypatch: pytest.MonkeyPatch) -> None:
    async with scenario(tmp_path, slack_contract, config=release_config(SANDBOX) + REVIEW, start=START) as s:
        real = review_post.weekly_review
        failures = iter([True, True])

        async def flaky(*args: object, **kwargs: object) -> object:
            if next(failures, False):
                raise ConnectionError("database away")
            return await real(*args, **kwargs)  # type: ignore[arg-type]

        monkeypatch.setattr(review_post, "weekly_review", flaky)
        await s.time.advance(DUE - START)
        [retry] = [j for j in s.time.scheduler.jobs() if j.name == review_post.REVIEW_JOB]
        assert (retry.at, retry.kwargs["week_end"]) == (DUE + review_post.RETRY_AFTER, DUE.isoformat())
        await s.time.advance(review_post.RETRY_AFTER * 2)
        await s.stack.settle()
        assert len(reviews(s)) == 1
        [following] = [j for j in s.time.scheduler.jobs() if j.name == review_post.REVIEW_JOB]
        assert following.at == DUE + timedelta(days=7)


def test_movements_are_differences_against_the_four_week_mean() -> None:
    assert movement(2, 1.5) == " · ↑0.5 vs the 4-week average (1.5)"
    assert movement(0, 2) == " · ↓2 vs the 4-week average (2)"
    assert movement(0.8, 0.5, share=True) == " · ↑30 pts vs the 4-week average (50%)"
    assert movement(3, 3) == " · → same as the 4-week average (3)"
    assert movement(1, None) == " · no earlier weeks to compare"
    assert movement(None, 1) == ""
