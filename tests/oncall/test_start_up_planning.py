"""Start-up planning reads every rotation's state at once; it must plan exactly what `plan_rotation`
plans one rotation at a time (absences, covers, handoffs already announced or reminded, broken rules)."""

from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path

from sqlmodel import select

from bot.oncall import handoffs, rotation_records
from bot.oncall.models import RotationRecord
from bot.oncall.schedule_models import AbsenceRecord, HandoffRun, ScheduleOverride
from bot.scheduler import ScheduledJob
from tests.contracts.slack_contract import SlackContract
from tests.oncall.schedule_scenario import OPS1, OPS2, OPS3, SCHEDULE_CONFIG, WEDNESDAY, schedule_scenario
from tests.release.scenario import Scenario

CONFIG = SCHEDULE_CONFIG + """
  night-oncall:
    channel: "#night-oncall"
    timezone: Asia/Tokyo
    handoff: {every: hour, interval: 12, at: "08:00"}
    primaries: [U01OPS2, U01OPS3]
  db-oncall:
    channel: "#db-oncall"
    timezone: UTC
    handoff: {every: week, day: wednesday, at: "10:00"}
    primaries: [U01OPS1, U01OPS3]
    reminder_before: 2h
"""
ROTATIONS = ("api-oncall", "web-oncall", "night-oncall", "db-oncall")


def planned(s: Scenario) -> list[ScheduledJob]:
    return [j for j in s.stack.ctx.scheduler.jobs() if j.id.startswith("handoff")]


def forget_handoff_jobs(s: Scenario) -> None:
    for job in planned(s):
        s.stack.ctx.scheduler.cancel(job.id)


async def one_at_a_time(s: Scenario) -> list[ScheduledJob]:
    forget_handoff_jobs(s)
    for name in ROTATIONS:
        await handoffs.plan_rotation(s.stack.ctx, name)
    return planned(s)


async def all_at_once(s: Scenario) -> list[ScheduledJob]:
    forget_handoff_jobs(s)
    await handoffs.plan_jobs(s.stack.ctx)
    return planned(s)


async def test_start_up_plans_what_each_rotation_would_plan_alone(tmp_path: Path,
                                                                   slack_contract: SlackContract) -> None:
    async with schedule_scenario(tmp_path, slack_contract, config=CONFIG) as s:
        now = s.clock.now()
        async with s.stack.ctx.db.session() as session:
            # api-oncall: its primary is away now, so who holds the pager is not who was announced.
            session.add(AbsenceRecord(person=OPS1, start=now - timedelta(hours=1), end=now + timedelta(days=1),
                                      created_at=now))
            # web-oncall: a cover for the rest of today; its last handoff was announced.
            session.add(ScheduleOverride(rotation="web-oncall", role="primary", person=OPS2, start=now,
                                         end=now + timedelta(hours=6), created_by=OPS3, created_at=now))
            # night-oncall: the next shift's reminder went out already, and an older announcement is kept.
            session.add(HandoffRun(rotation="night-oncall", shift_start=now - timedelta(days=3), primary=OPS3,
                                   completed_at=now - timedelta(days=3)))
            # db-oncall hands off today at 10:00 UTC: its handoff was announced, with another one earlier.
            session.add(HandoffRun(rotation="db-oncall", shift_start=WEDNESDAY - timedelta(weeks=1), primary=OPS1,
                                   completed_at=WEDNESDAY - timedelta(weeks=1)))
            session.add(HandoffRun(rotation="db-oncall", shift_start=WEDNESDAY, primary=OPS3,
                                   completed_at=WEDNESDAY))
            await session.commit()
        night_next = next(j for j in planned(s) if j.id == "handoff-reminder-night-oncall")
        async with s.stack.ctx.db.session() as session:
            session.add(HandoffRun(rotation="night-oncall", shift_start=datetime.fromisoformat(
                night_next.kwargs["shift_start"]), reminded_at=now))
            await session.commit()

        alone = await one_at_a_time(s)
        together = await all_at_once(s)

        assert together == alone
        by_id = {j.id: j for j in together}
        assert by_id["handoff-api-oncall"].at == now  # a catch-up: somebody else holds the pager now
        assert by_id["handoff-api-oncall"].kwargs["outgoing"] == [OPS1, "U01DEV1"]
        assert by_id["handoff-web-oncall"].at == now  # the cover changed who holds it
        assert "handoff-reminder-night-oncall" not in by_id  # reminded already
        assert by_id["handoff-db-oncall"].kwargs["outgoing"] == [OPS3, None]  # announced at 10:00 UTC today


async def test_a_rotation_whose_plan_fails_does_not_stop_the_others(tmp_path: Path,
                                                                    slack_contract: SlackContract) -> None:
    async with schedule_scenario(tmp_path, slack_contract, config=CONFIG) as s:
        broken = s.stack.ctx.config.rotations["web-oncall"]
        object.__setattr__(broken, "timezone", "Nowhere/Atlantis")  # its rule cannot be computed: planning raises

        together = await all_at_once(s)

        assert {j.id for j in together} == {f"handoff{kind}-{name}" for kind in ("", "-reminder")
                                           for name in ROTATIONS if name != "web-oncall"}


async def test_rotation_rows_are_created_once_and_kept_across_restarts(tmp_path: Path,
                                                                      slack_contract: SlackContract) -> None:
    async with schedule_scenario(tmp_path, slack_contract, config=CONFIG) as s:
        async with s.stack.ctx.db.session() as session:
            first = {r.name: r.calendar_secret for r in (await session.exec(select(RotationRecord))).all()}
            db_row = await session.get(RotationRecord, "db-oncall")
            assert db_row is not None
            await session.delete(db_row)  # as if db-oncall were new in the config
            api_row = await session.get(RotationRecord, "api-oncall")
            assert api_row is not None
            api_row.config_digest = "an older configuration"
            session.add(api_row)
            await session.commit()

        await rotation_records.sync_rotations(s.stack.ctx)

        async with s.stack.ctx.db.session() as session:
            rows = {r.name: r for r in (await session.exec(select(RotationRecord))).all()}
        assert set(rows) == set(ROTATIONS)
        assert {name: rows[name].calendar_secret for name in ROTATIONS if name != "db-oncall"} == {
            name: first[name] for name in ROTATIONS if name != "db-oncall"}
        assert rows["db-oncall"].calendar_secret != first["db-oncall"]
        assert rows["api-oncall"].config_digest == rotation_records.config_digest(
            s.stack.ctx.config.rotations["api-oncall"])
