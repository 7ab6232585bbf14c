"""Delivery metrics over a generated history with hand-computed answers, on SQLite and PostgreSQL.

Every figure asserted below is worked out in the comments from the history the test writes; the
definitions are those of docs/metrics.md.
"""

from __future__ import annotations

from datetime import timedelta

import pytest

from bot.config.models import SwitchmanConfig
from bot.evidence.metrics import Metrics, compute
from bot.evidence.spread import Spread, percentile
from bot.evidence.waits import Part
from bot.evidence.windows import Target, operators, production_targets, window_ending
from bot.ledger import service as ledger
from bot.storage.database import Database
from tests.evidence.history_builder import History, at

ALICE, BOB, CAROL, DAVE, OPS = "U0ALICE", "U0BOB", "U0CAROL", "U0DAVE", "U01OPS1"
API = (Target("api", "production"),)
NOW = at(7, "12:00")  # the window is the 28 days (four weeks) before: (Nov 9 12:00, Dec 7 12:00]
DAYS = 28


def minutes(spread: Spread) -> tuple[int, float | None, float | None]:
    def m(value: timedelta | None) -> float | None:
        return None if value is None else round(value.total_seconds() / 60, 6)

    return spread.count, m(spread.median), m(spread.p90)


async def measure(db: Database, *, targets: tuple[Target, ...] = API, batch: int = 3, days: int = DAYS) -> Metrics:
    async with db.session() as session:
        return await compute(session, targets=targets, window=window_ending(NOW, days), operators=frozenset({OPS}),
                             batch=batch)


async def write_history(db: Database) -> None:
    h = History(db)
    # R1 ALICE: no queue; WAITING after 2m of gates; CAROL approves 10m later (GO); verified 30m after GO.
    #   queue 0, gates 2, approval 10, rollout 30 → lead 42m.
    #   Its earliest commit was made at 08:00: lead time 2h42m = 162m.
    r1 = await h.release(by=ALICE, created=at(1, "10:00"), started=at(1, "10:00"), finished=at(1, "10:42"),
                         verified=at(1, "10:42"), state="succeeded", first_commit="2026-12-01T08:00:00+00:00")
    await h.decisions(r1, ("WAITING", at(1, "10:02")))
    await h.approve(r1, CAROL, at(1, "10:12"))
    await h.decisions(r1, ("GO", at(1, "10:12")))
    # R2 BOB: queued behind R1 from 10:05 to 10:42 (37m); gates 2m; waits 1m for CAROL; verified 20m after GO.
    #   queue 37, gates 2, approval 1, rollout 20 → lead 60m.
    #   Its earliest commit is a day older (Nov 30 10:05): lead time 1 day 1h = 1500m.
    r2 = await h.release(by=BOB, created=at(1, "10:05"), started=at(1, "10:42"), finished=at(1, "11:05"),
                         verified=at(1, "11:05"), state="succeeded", first_commit="2026-11-30T10:05:00+00:00")
    await h.decisions(r2, ("WAITING", at(1, "10:44")))
    await h.approve(r2, CAROL, at(1, "10:45"))
    await h.decisions(r2, ("GO", at(1, "10:45")))
    # R3 ALICE, special handling: NO-GO after 1m (freeze), OPS overrides 20m later, re-gating 2m, GO, 30m rollout.
    #   queue 0, gates 1 + 2 = 3, approval (waiting for the override) 20, rollout 30 → lead 53m.
    #   Its earliest commit, 12:00 in Berlin (+01:00), is 11:00 UTC: lead time 113m.
    r3 = await h.release(by=ALICE, created=at(1, "12:00"), started=at(1, "12:00"), finished=at(1, "12:53"),
                         verified=at(1, "12:53"), state="succeeded", first_commit="2026-12-01T12:00:00+01:00")
    await h.decisions(r3, ("NO-GO", at(1, "12:01")))
    await h.override(r3, OPS, "freeze_window", at(1, "12:21"))
    await h.decisions(r3, ("GO", at(1, "12:23")))
    # R4 ALICE: GO at 14:05 after DAVE's approval; verification fails at 14:25 (detect 20m); automatic
    #   rollback R5 triggered at 14:25, verified 14:31 (time to rollback 6m, time to restore 6m).
    r4 = await h.release(by=ALICE, created=at(1, "14:00"), started=at(1, "14:00"), finished=at(1, "14:25"),
                         detected=at(1, "14:25"), rolled_back=at(1, "14:31"), state="rolled_back")
    await h.decisions(r4, ("WAITING", at(1, "14:01")))
    await h.approve(r4, DAVE, at(1, "14:05"))
    await h.decisions(r4, ("GO", at(1, "14:05")))
    await h.rollback(r4, by="switchman", when=at(1, "14:25"), done=at(1, "14:31"))
    # R6 OPS (not a developer): gates 4m, no approval wait, verified 30m after GO → lead 34m (no commit time
    #   stored: its preview failed, so it has no commit lead time); BOB rolls it back
    #   by hand the next hour: trigger 10:00, rollback R7 verified 10:10 (time to rollback and to restore 10m).
    r6 = await h.release(by=OPS, created=at(2, "09:00"), started=at(2, "09:00"), finished=at(2, "09:34"),
                         verified=at(2, "09:34"), rolled_back=at(2, "10:10"), state="rolled_back")
    await h.decisions(r6, ("GO", at(2, "09:04")))
    await h.rollback(r6, by=BOB, when=at(2, "10:00"), done=at(2, "10:10"))
    # R8 BOB: went out (GO) but its pipeline run failed: reached rollout, not a failed change.
    #   Its commit time is stored, but it never reached production: no lead time.
    r8 = await h.release(by=BOB, created=at(3, "09:00"), started=at(3, "09:00"), finished=at(3, "09:10"),
                         state="failed", first_commit="2026-12-03T07:00:00+00:00")
    await h.decisions(r8, ("GO", at(3, "09:02")))
    # R9 BOB: NO-GO and never overridden; DAVE's rejection is not an approval.
    r9 = await h.release(by=BOB, created=at(3, "11:00"), started=at(3, "11:00"), finished=at(3, "11:01"),
                         state="blocked")
    await h.decisions(r9, ("NO-GO", at(3, "11:01")))
    await h.approve(r9, DAVE, at(3, "11:01"), approved=False)
    # R11 ALICE: GO 09:03, verification fails 09:13 (detect 10m), aborted without a rollback; nothing has
    #   succeeded in api production since, so it is unrestored.
    r11 = await h.release(by=ALICE, created=at(4, "09:00"), started=at(4, "09:00"), finished=at(4, "09:40"),
                          detected=at(4, "09:13"), state="failed")
    await h.decisions(r11, ("GO", at(4, "09:03")))
    # Not counted for api production: staging, another service, and a deploy (with an approval) that
    # finished before the window opened. The first two succeed after R11 failed, yet restore nothing.
    await h.release(by=ALICE, environment="staging", created=at(5, "09:00"), started=at(5, "09:00"),
                    finished=at(5, "09:10"), verified=at(5, "09:10"), state="succeeded")
    web = await h.release(by=CAROL, service="web", created=at(5, "10:00"), started=at(5, "10:00"),
                          finished=at(5, "10:10"), verified=at(5, "10:10"), state="succeeded")
    await h.decisions(web, ("GO", at(5, "10:01")))
    old = await h.release(by=DAVE, created=at(9, "11:00", month=11), started=at(9, "11:00", month=11),
                          finished=at(9, "11:30", month=11), verified=at(9, "11:30", month=11), state="succeeded")
    await h.approve(old, CAROL, at(9, "11:05", month=11))
    await h.decisions(old, ("GO", at(9, "11:05", month=11)))


async def test_a_history_with_queue_waits_an_override_and_rollbacks_gives_the_hand_computed_figures(
        db: Database) -> None:
    await write_history(db)
    m = await measure(db)
    d = m.delivery

    # Deploys finished in the window: R1 R2 R3 R4 R6 R8 R9 R11; passed verification: R1 R2 R3 R6 (R6 was
    # rolled back later, but it did reach production) → 4 in 4 weeks.
    assert (d.deploys, d.succeeded, d.per_week) == (8, 4, 1.0)
    # Request → production: 34, 42, 53, 60 → median (42 + 53) / 2 = 47.5; p90 at rank 3·0.9 = 2.7:
    # 53 + 0.7·(60 − 53) = 57.9.
    assert minutes(d.request_to_production) == (4, 47.5, 57.9)
    # Lead time, earliest commit → production, for R1 R2 R3 (R6 has no commit time): 113, 162, 1500 →
    # median 162, p90 at rank 2·0.9 = 1.8: 162 + 0.8·(1500 − 162) = 1232.4.
    assert minutes(d.lead_time) == (3, 162.0, 1232.4)
    # Reached rollout (a GO): all but R9 → 7. Failed: R4 (verification, rolled back), R6 (rolled back),
    # R11 (verification) → 3/7.
    assert (d.reached_rollout, d.failed_changes, d.change_failure_rate) == (7, 3, 3 / 7)
    # Detect: R4 20, R11 10 → median 15, p90 10 + 0.9·10 = 19.
    assert minutes(d.time_to_detect) == (2, 15.0, 19.0)
    # Restore: R4 6 (R5), R6 10 (R7); R11 unrestored → median 8, p90 6 + 0.9·4 = 9.6.
    assert (minutes(d.time_to_restore), d.unrestored) == ((2, 8.0, 9.6), 1)
    # Rollbacks R5 (6m) and R7 (10m), both verified.
    assert (d.rollbacks, d.rollbacks_succeeded, minutes(d.time_to_rollback)) == (2, 2, (2, 8.0, 9.6))
    # Special handling: R3's override, 1 of 8 deploys.
    assert (d.special_handling, d.special_handling_share) == (1, 0.125)

    waits = {w.part: w for w in m.waits}
    # Over R1 R2 R3 R6 (lead 42 + 60 + 53 + 34 = 189m):
    # queue 0, 37, 0, 0 → median 0, p90 0 + 0.7·37 = 25.9, sum 37.
    assert minutes(waits[Part.QUEUE].spread) == (4, 0.0, 25.9)
    # gates 2, 2, 3, 4 → sorted 2, 2, 3, 4: median 2.5, p90 3 + 0.7·1 = 3.7, sum 11.
    assert minutes(waits[Part.GATES].spread) == (4, 2.5, 3.7)
    # approval 10, 1, 20, 0 → sorted 0, 1, 10, 20: median 5.5, p90 10 + 0.7·10 = 17, sum 31.
    assert minutes(waits[Part.APPROVAL].spread) == (4, 5.5, 17.0)
    # rollout and bake 30, 20, 30, 30 → median 30, p90 30, sum 110.
    assert minutes(waits[Part.ROLLOUT].spread) == (4, 30.0, 30.0)
    shares = {part: round(w.share or 0, 9) for part, w in waits.items()}
    assert shares == {part: round(total / 189, 9) for part, total in
                      ((Part.QUEUE, 37), (Part.GATES, 11), (Part.APPROVAL, 31), (Part.ROLLOUT, 110))}

    p = m.people
    # Deploys by ALICE 4 (R1 R3 R4 R11), BOB 3 (R2 R8 R9), OPS 1 (R6); OPS is a rotation primary, the others
    # developers → 7/8. The rollbacks R5 (Switchman) and R7 (BOB) are not deploys.
    assert (p.by_developers, p.developer_share) == (7, 0.875)
    assert (p.deploys.total, p.deploys.people, p.deploys.top, p.deploys.top_share) == (8, 3, ALICE, 0.5)
    # Approvals: CAROL on R1 and R2, DAVE on R4 (his rejection of R9 and CAROL's approval of the old
    # release do not count).
    assert (p.approvals.total, p.approvals.people, p.approvals.top, p.approvals.top_share) == (3, 2, CAROL, 2 / 3)

    async with db.session() as session:
        assert (await ledger.verify(session)).ok  # the history's ledger is a valid chain


async def test_batches_of_any_size_give_the_same_figures(db: Database) -> None:
    await write_history(db)
    assert await measure(db, batch=1) == await measure(db, batch=500)


async def test_every_service_counts_each_ones_production(db: Database) -> None:
    await write_history(db)
    both = await measure(db, targets=(*API, Target("web", "production")))
    assert (both.delivery.deploys, both.delivery.succeeded) == (9, 5)  # R1..R11 and web's one
    assert (both.people.deploys.people, both.people.by_developers) == (4, 8)  # CAROL deployed web


async def test_the_window_is_half_open_on_finished_at(db: Database) -> None:
    h = History(db)
    start = NOW - timedelta(days=DAYS)
    tick = timedelta(microseconds=1)
    for finished in (start - tick, start, start + tick, NOW, NOW + tick):
        release = await h.release(by=ALICE, created=finished - timedelta(minutes=10),
                                  started=finished - timedelta(minutes=10), finished=finished, verified=finished,
                                  state="succeeded")
        await h.decisions(release, ("GO", finished - timedelta(minutes=5)))
    d = (await measure(db)).delivery
    # (start, NOW]: only the releases finished just after the start and at NOW itself count.
    assert (d.deploys, d.succeeded, d.reached_rollout) == (2, 2, 2)
    assert minutes(d.request_to_production) == (2, 10.0, 10.0)
    # A one-day window ending at NOW counts the one that finished at NOW alone.
    assert (await measure(db, days=1)).delivery.deploys == 1


async def test_an_empty_history_has_counts_of_zero_and_no_rates(db: Database) -> None:
    m = await measure(db)
    d = m.delivery
    assert (d.deploys, d.succeeded, d.per_week, d.reached_rollout, d.failed_changes) == (0, 0, 0.0, 0, 0)
    assert (d.rollbacks, d.unrestored, d.special_handling) == (0, 0, 0)
    assert (d.change_failure_rate, d.special_handling_share) == (None, None)
    for spread in (d.request_to_production, d.lead_time, d.time_to_detect, d.time_to_restore, d.time_to_rollback,
                   *(w.spread for w in m.waits)):
        assert (spread.count, spread.median, spread.p90) == (0, None, None)
    assert all(w.share is None for w in m.waits)
    assert (m.people.developer_share, m.people.deploys.top, m.people.approvals.top_share) == (None, None, None)


def test_percentiles_interpolate_between_the_closest_ranks() -> None:
    assert percentile([], 0.5) is None
    assert percentile([7.0], 0.9) == 7.0
    assert percentile([4.0, 1.0, 3.0, 2.0], 0.5) == 2.5
    assert percentile([10.0, 20.0], 0.9) == pytest.approx(19.0)
    assert percentile(list(map(float, range(1, 11))), 0.9) == pytest.approx(9.1)
    with pytest.raises(ValueError):
        percentile([1.0], 1.5)


def test_production_is_each_services_last_environment_and_ops_are_rotation_primaries() -> None:
    config = SwitchmanConfig.model_validate({
        "providers": {"sandbox": {"kind": "sandbox"}},
        "services": {
            "web": {"channel": "#web", "provider": "sandbox", "environments": {"qa": {}, "staging": {}, "live": {}}},
            "api": {"channel": "#api", "provider": "sandbox", "environments": {"staging": {}, "production": {}}}},
        "rotations": {"ops": {"channel": "#ops", "timezone": "UTC", "handoff": {"every": "day"},
                              "primaries": [OPS], "shadows": [ALICE], "services": ["api"]}}})
    assert production_targets(config) == (Target("api", "production"), Target("web", "live"))
    assert production_targets(config, "web") == (Target("web", "live"),)
    assert operators(config) == frozenset({OPS})
