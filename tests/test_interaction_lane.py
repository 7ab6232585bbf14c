"""The interaction lane: bounded concurrency, order, merging of identical units, refusal when full.

Units are gated by events the test sets, never by time: a unit "is slow" until the test lets it finish.
"""

from __future__ import annotations

import asyncio

import pytest

from bot.background import BackgroundTasks
from bot.interaction_lane import FOLLOW_LIMIT, Admission, InteractionLane


class Gate:
    """Units that record when they start and wait until the test releases them."""

    def __init__(self) -> None:
        self.started: list[str] = []
        self.finished: list[str] = []
        self.release: dict[str, asyncio.Event] = {}
        self.concurrent = 0
        self.most_concurrent = 0

    def unit(self, name: str, *, fail: bool = False):  # type: ignore[no-untyped-def]
        self.release[name] = asyncio.Event()

        async def work() -> None:
            self.started.append(name)
            self.concurrent += 1
            self.most_concurrent = max(self.most_concurrent, self.concurrent)
            try:
                await self.release[name].wait()
                if fail:
                    raise RuntimeError(f"{name} broke")
                self.finished.append(name)
            finally:
                self.concurrent -= 1

        return work


async def settle() -> None:
    for _ in range(5):
        await asyncio.sleep(0)


async def test_at_most_n_units_run_and_the_rest_wait_in_order() -> None:
    background = BackgroundTasks()
    lane = InteractionLane(background, workers=2, queue_limit=10)
    gate = Gate()
    admissions = [lane.submit(gate.unit(f"u{i}"), name=f"u{i}") for i in range(6)]
    await settle()

    assert admissions == [Admission.STARTED] * 2 + [Admission.QUEUED] * 4
    assert gate.started == ["u0", "u1"]
    assert (lane.running, lane.queued, background.pending) == (2, 4, 6)
    assert len(background.tasks) == 2  # the queue holds no task

    gate.release["u1"].set()
    await settle()
    assert gate.started == ["u0", "u1", "u2"]
    for name in ("u0", "u2", "u3", "u4", "u5"):
        gate.release[name].set()
    await background.drain(within=5)

    assert gate.started == ["u0", "u1", "u2", "u3", "u4", "u5"]
    assert gate.most_concurrent == 2
    assert (lane.running, lane.queued, background.pending) == (0, 0, 0)


async def test_identical_units_merge_while_one_is_queued_or_running() -> None:
    background = BackgroundTasks()
    lane = InteractionLane(background, workers=1, queue_limit=10)
    gate = Gate()
    first = lane.submit(gate.unit("approve-1"), name="vote", merge_key="T:U1:approve:7")
    double_click = lane.submit(gate.unit("approve-2"), name="vote", merge_key="T:U1:approve:7")
    other_user = lane.submit(gate.unit("approve-3"), name="vote", merge_key="T:U2:approve:7")
    queued_twice = lane.submit(gate.unit("approve-4"), name="vote", merge_key="T:U2:approve:7")
    await settle()

    assert (first, double_click, other_user, queued_twice) == (
        Admission.STARTED, Admission.MERGED, Admission.QUEUED, Admission.MERGED)
    assert lane.counts.merged == 2
    for event in gate.release.values():
        event.set()
    await background.drain(within=5)
    assert gate.finished == ["approve-1", "approve-3"]

    # Once the unit is done, the same click is new work again (the database says whether it acts).
    again = lane.submit(gate.unit("approve-5"), name="vote", merge_key="T:U1:approve:7")
    gate.release["approve-5"].set()
    await background.drain(within=5)
    assert again == Admission.STARTED
    assert gate.finished[-1] == "approve-5"


async def test_a_failing_unit_is_reported_and_the_lane_carries_on() -> None:
    background = BackgroundTasks()
    lane = InteractionLane(background, workers=1, queue_limit=10)
    gate = Gate()
    hooked: list[str] = []

    async def on_failure(exc: BaseException, correlation_id: str) -> None:
        hooked.append(str(exc))

    lane.submit(gate.unit("broken", fail=True), name="broken", on_failure=on_failure)
    lane.submit(gate.unit("next"), name="next")
    for event in gate.release.values():
        event.set()
    await background.drain(within=5)

    assert hooked == ["broken broke"]
    assert background.failures == 1
    assert gate.finished == ["next"]
    assert lane.running == 0


async def test_a_full_queue_refuses_new_work_and_answers_busy_within_a_bound() -> None:
    background = BackgroundTasks()
    lane = InteractionLane(background, workers=1, queue_limit=1, busy_limit=1)
    gate = Gate()
    told: list[str] = []
    busy_sent = asyncio.Event()

    async def busy(who: str) -> None:
        told.append(who)
        await busy_sent.wait()

    lane.submit(gate.unit("running"), name="a")
    lane.submit(gate.unit("queued"), name="b")
    refused = lane.submit(gate.unit("refused"), name="c", on_refused=lambda: busy("c"))
    unanswered = lane.submit(gate.unit("unanswered"), name="d", on_refused=lambda: busy("d"))
    await settle()

    assert (refused, unanswered) == (Admission.REFUSED, Admission.REFUSED)
    assert told == ["c"]  # one busy answer in flight at most; the second refusal is only counted
    assert (lane.counts.refused, lane.counts.unanswered) == (2, 1)
    busy_sent.set()
    for event in gate.release.values():
        event.set()
    await background.drain(within=5)
    assert gate.finished == ["running", "queued"]
    assert "refused" not in gate.started and "unanswered" not in gate.started


async def test_closing_drops_queued_units_without_starting_them() -> None:
    background = BackgroundTasks()
    lane = InteractionLane(background, workers=1, queue_limit=5)
    gate = Gate()
    lane.submit(gate.unit("running"), name="a")
    lane.submit(gate.unit("queued"), name="b")
    await settle()
    await background.close()

    assert gate.started == ["running"]
    assert (lane.running, lane.queued, background.pending) == (0, 0, 0)
    assert lane.submit(gate.unit("late"), name="c") == Admission.REFUSED


def test_a_lane_needs_a_worker() -> None:
    with pytest.raises(ValueError):
        InteractionLane(BackgroundTasks(), workers=0)


async def test_a_merged_copy_is_told_the_units_result_within_a_bound() -> None:
    background = BackgroundTasks()
    lane = InteractionLane(background, workers=1, queue_limit=5)
    told: list[str] = []
    release = asyncio.Event()

    async def vote() -> str:
        await release.wait()
        return "you approved release #7"

    async def follow(answer: object) -> None:
        told.append(str(answer))

    lane.submit(vote, name="vote", merge_key="k")
    copies = [lane.submit(vote, name="vote", merge_key="k", follow=follow) for _ in range(FOLLOW_LIMIT + 2)]
    release.set()
    await background.drain(within=5)

    assert set(copies) == {Admission.MERGED}
    assert told == ["you approved release #7"] * FOLLOW_LIMIT
    assert (lane.counts.merged, lane.counts.merged_unanswered) == (FOLLOW_LIMIT + 2, 2)


async def test_busy_answers_past_a_burst_are_capped_per_second_on_an_injected_clock() -> None:
    background = BackgroundTasks()
    now = [100.0]
    lane = InteractionLane(background, workers=1, queue_limit=0, busy_limit=2, busy_per_second=1.0,
                           monotonic=lambda: now[0])
    gate = Gate()
    told: list[int] = []

    async def busy(n: int) -> None:
        told.append(n)

    lane.submit(gate.unit("running"), name="held")

    def refuse(n: int) -> Admission:
        return lane.submit(gate.unit(f"r{n}"), name=f"r{n}", on_refused=lambda: busy(n))

    for n in range(4):  # a burst: the bucket holds two answers
        assert refuse(n) == Admission.REFUSED
        await settle()
    assert told == [0, 1]
    now[0] += 0.5  # half a token: still nobody told
    refuse(4)
    await settle()
    now[0] += 0.5  # a whole token: one more is told
    refuse(5)
    refuse(6)
    await settle()
    now[0] += 60  # a quiet minute refills the bucket only up to its size
    for n in range(7, 10):
        refuse(n)
        await settle()

    assert told == [0, 1, 5, 7, 8]
    assert (lane.counts.refused, lane.counts.unanswered) == (10, 5)
    gate.release["running"].set()
    await background.drain(within=5)


async def test_would_refuse_tells_ahead_what_submit_would_do() -> None:
    background = BackgroundTasks()
    lane = InteractionLane(background, workers=1, queue_limit=1)
    gate = Gate()

    assert not lane.would_refuse()  # a free worker
    lane.submit(gate.unit("a"), name="a", merge_key="k")
    assert not lane.would_refuse()  # room in the queue
    lane.submit(gate.unit("b"), name="b")
    assert lane.would_refuse()
    assert lane.would_refuse("other key")
    assert not lane.would_refuse("k")  # merged into the running unit, not refused
    lane.refuse("c")
    assert (lane.counts.refused, lane.counts.unanswered) == (1, 0)  # the caller answers it (in its ack)
    for event in gate.release.values():
        event.set()
    await background.drain(within=5)
    assert not lane.would_refuse()
