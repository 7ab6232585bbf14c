"""Sending the outbox: in order per thread, paced per channel, retried until Slack answers.

One worker per channel posts that channel's messages, oldest first, one thread head at a time;
a thread's next message waits for the one before it. What happens on each answer:

- sent: the row is marked sent with its ts and permalink; an anchored row records where it
  landed, and the hooks for its anchor (say, a release storing its parent message) run in the
  same transaction.
- 429: the channel is held for `Retry-After`; the row is sent again after that.
- 5xx, timeout, connection lost: retried with backoff (1 s doubling to 1 min), for as long as it
  takes. When the request may have reached Slack, the next attempt first looks for the message
  by its metadata (the outbox id) and only posts it if it is not there — so a row is never posted
  twice, even after a crash between posting and marking it sent.
- refused for good: `not_in_channel` first tries to join the channel; otherwise the row is
  failed and the refusal hooks of its owner (say, the release) are told, once.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Coroutine
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlmodel import col, func, select
from sqlmodel.ext.asyncio.session import AsyncSession

from bot.clock import Clock
from bot.outbox.models import OutboxAnchor, OutboxKind, OutboxMessage, OutboxState
from bot.outbox.pacing import Pacer
from bot.outbox.wire import Delivered, RateLimited, Refused, SlackWire, Unavailable
from bot.storage.database import Database

log = logging.getLogger(__name__)

AnchoredHook = Callable[[AsyncSession, str, Delivered, str | None], Awaitable[None]]
RefusedHook = Callable[[str, str, str], Awaitable[None]]  # owner, error code, channel
Spawn = Callable[[Coroutine[Any, Any, Any], str], Any]
Sleep = Callable[[float], Awaitable[None]]
MAX_BACKOFF_SECONDS = 60.0  # once Slack answers again, no message waits more than a minute longer
ORPHANED = "parent_not_posted"
PERMALINK_TRIES = 5  # asks per message (per process) for a permalink Slack did not give at once
PERMALINK_RETRY_SECONDS = 5.0  # a reply or update whose message could not be posted


def backoff(attempts: int) -> float:
    return min(2.0 ** max(attempts - 1, 0), MAX_BACKOFF_SECONDS)


@dataclass(frozen=True, slots=True)
class _Head:
    """What choosing a channel's next row needs of a thread's oldest pending row; `_claim` loads the row."""

    id: int
    kind: OutboxKind
    next_attempt_at: datetime | None
    thread: str


@dataclass
class _Attempt:
    """One try at sending a row. `unsettled`: an earlier try may have posted it and nobody has looked
    yet; the mark that says so stays on the row until a look succeeds, however this try fails."""

    unsettled: bool


class OutboxSender:
    def __init__(self, db: Database, wire: SlackWire, clock: Clock, sleep: Sleep, spawn: Spawn, *,
                 pacer: Pacer | None = None, settle_after: float = 0.0) -> None:
        self.db, self.wire, self.clock, self.sleep, self.spawn = db, wire, clock, sleep, spawn
        self.pacer = pacer or Pacer(clock)
        self.settle_after = settle_after  # the Slack client's timeout: how long an unanswered call may still land
        self._workers: set[str] = set()
        self._nudges: dict[str, int] = {}  # per channel with a worker: wakes that found it with rows to send
        self._anchored: list[tuple[str, AnchoredHook]] = []
        self._refused: list[tuple[str, RefusedHook]] = []
        self._permalink_tries: dict[int, int] = {}
        self._tasks: set[asyncio.Task[Any]] = set()
        # Under an election only the leader sends; a follower's wake is passed on to the leader.
        self.leading: Callable[[], bool] = lambda: True
        self.elsewhere: Callable[[], None] = lambda: None
        self.sent = 0  # rows marked sent by this process, for /metrics and tests
        self.rate_limited = 0  # 429s Slack answered this process, for /metrics

    # --- wiring ---------------------------------------------------------------------------------
    def on_anchored(self, prefix: str, hook: AnchoredHook) -> None:
        """Run `hook(session, anchor, delivered, permalink)` when a message anchored `prefix…` lands."""
        self._anchored.append((prefix, hook))

    def on_refused(self, prefix: str, hook: RefusedHook) -> None:
        """Run `hook(owner, error, channel)` when Slack refuses a message of an owner named `prefix…`."""
        self._refused.append((prefix, hook))

    def after_commit(self, info: dict[str, Any]) -> None:
        """Database commit hook: wake up when the transaction queued something."""
        if info.pop("outbox.wake", False):
            self.wake()

    def wake(self) -> None:
        if not self.leading():
            self.elsewhere()
            return
        self._spawn(self._start_workers(), "outbox-scan")

    def _spawn(self, work: Coroutine[Any, Any, Any], name: str) -> None:
        task = self.spawn(work, name)
        if isinstance(task, asyncio.Task):
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)

    async def stop(self, within: float = 5.0) -> None:
        """Leadership is lost (or handed over): cut every worker short; the rows stay pending for the next
        leader, and a row cut short mid-send is looked for in Slack before it is posted again."""
        tasks = list(self._tasks)
        for task in tasks:
            task.cancel()
        if tasks:
            await asyncio.wait(tasks, timeout=within)
        self._workers.clear()

    # --- the loop -------------------------------------------------------------------------------
    async def _start_workers(self) -> None:
        for channel in await self._head_channels():
            self._nudge(channel)

    def _nudge(self, channel: str) -> None:
        """`channel` has a row to send: start its worker, or tell the running one to look again."""
        if channel in self._workers:
            self._nudges[channel] = self._nudges.get(channel, 0) + 1
            return
        self._workers.add(channel)
        self._nudges[channel] = 0
        self._spawn(self._work(channel), f"outbox-{channel}")

    async def _work(self, channel: str) -> None:
        # A worker that finds nothing to send ends, unless a wake found rows for its channel meanwhile. The
        # count is per channel: a global one kept every idle worker of a thousand channels looking again at
        # every wake anywhere, about 150 database sessions per release (docs/benchmarks.md).
        try:
            while True:
                wakes = self._nudges.get(channel, 0)
                heads = await self._heads(channel)
                if not heads:
                    if wakes == self._nudges.get(channel, 0) and await self._fill_permalinks(channel):
                        await self.sleep(PERMALINK_RETRY_SECONDS)
                        continue
                    if wakes == self._nudges.get(channel, 0):  # nothing queued while we looked
                        return
                    continue
                now = self.clock.now()
                ready = [h for h in heads if h.next_attempt_at is None or h.next_attempt_at <= now]
                if not ready:
                    due = min(h.next_attempt_at for h in heads if h.next_attempt_at is not None)
                    await self.sleep(max((due - now).total_seconds(), 0.01))
                    continue
                head = ready[0]
                if head.kind in (OutboxKind.POST, OutboxKind.DM):
                    wait = self.pacer.wait(channel)
                    if wait > 0:
                        await self.sleep(wait)
                        continue
                await self._send(head.id)
        finally:
            self._workers.discard(channel)
            self._nudges.pop(channel, None)

    async def _next_elsewhere(self, session: AsyncSession, row: OutboxMessage) -> str | None:
        """The channel of the thread's next pending row, when `row` (no longer pending in `session`) held it
        back and it is for another channel (a DM after a channel post, say): no commit wakes anyone for it, so
        the caller nudges that channel once its transaction is committed."""
        following = (await session.exec(select(OutboxMessage.channel).where(
            col(OutboxMessage.state) == OutboxState.PENDING, col(OutboxMessage.thread) == row.thread)
            .order_by(col(OutboxMessage.id)).limit(1))).first()
        return following if following is not None and following != row.channel else None

    async def depth(self) -> int:
        """Rows waiting to be sent (for /metrics)."""
        async with self.db.session() as session:
            return int((await session.exec(select(func.count()).select_from(OutboxMessage).where(
                OutboxMessage.state == OutboxState.PENDING))).one())

    @staticmethod
    def _firsts(channel: str | None = None) -> Any:
        """The id of the oldest pending row of each thread (of each thread with a row pending for `channel`)."""
        pending = col(OutboxMessage.state) == OutboxState.PENDING
        firsts = select(func.min(OutboxMessage.id)).where(pending)
        if channel is not None:
            firsts = firsts.where(col(OutboxMessage.thread).in_(
                select(OutboxMessage.thread).where(pending, col(OutboxMessage.channel) == channel)))
        return firsts.group_by(col(OutboxMessage.thread))

    async def _heads(self, channel: str) -> list[_Head]:
        """The rows of `channel` that are the oldest pending row of their thread: the only ones that may be
        sent now. Only this channel's rows are read (a thread's head in another channel holds it back), and
        only the columns that choose the next one: with hundreds of threads waiting on the channel's pace,
        loading whole rows (blocks and all) at every turn held the event loop for 10-20 ms."""
        async with self.db.session() as session:
            rows = (await session.exec(select(OutboxMessage.id, OutboxMessage.kind, OutboxMessage.next_attempt_at,
                                              OutboxMessage.thread)
                                       .where(col(OutboxMessage.id).in_(self._firsts(channel)),
                                              col(OutboxMessage.channel) == channel)
                                       .order_by(col(OutboxMessage.id)))).all()
        return [_Head(row_id, OutboxKind(kind), due, thread) for row_id, kind, due, thread in rows
                if row_id is not None]

    async def _head_channels(self) -> list[str]:
        """The channels with a row that may be sent now (each gets one worker)."""
        async with self.db.session() as session:
            found = (await session.exec(select(OutboxMessage.channel).distinct().where(
                col(OutboxMessage.id).in_(self._firsts())))).all()
        return sorted(found)

    # --- one row --------------------------------------------------------------------------------
    async def _send(self, row_id: int) -> None:
        claimed = await self._claim(row_id)
        if claimed is None:
            return
        row, look_first = claimed
        attempt = _Attempt(unsettled=look_first)
        try:
            match row.kind:
                case OutboxKind.UPDATE:
                    await self._send_update(row)
                case OutboxKind.USERGROUP:
                    await self.wire.set_usergroup(row.channel, [u for u in row.text.split(",") if u])
                    await self._mark_sent(row, None, None)
                case _:
                    await self._send_post(row, attempt)
        except RateLimited as exc:
            self.rate_limited += 1
            self.pacer.hold(row.channel, exc.retry_after)
            await self._retry_at(row, self.clock.now() + timedelta(seconds=exc.retry_after), "ratelimited",
                                 delivered_unknown=attempt.unsettled)
        except Unavailable as exc:
            log.warning("slack unavailable; will retry", extra={"outbox": row.id, "error": exc.code,
                                                                 "attempts": row.attempts})
            wait = backoff(row.attempts)
            if exc.maybe_delivered:  # let a request still on its way finish before looking for its message
                wait = max(wait, self.settle_after)
            await self._retry_at(row, self.clock.now() + timedelta(seconds=wait), exc.code,
                                 delivered_unknown=exc.maybe_delivered or attempt.unsettled)
        except Refused as exc:
            await self._refused_for_good(row, exc.code)

    async def _claim(self, row_id: int) -> tuple[OutboxMessage, bool] | None:
        async with self.db.session() as session:
            row = await session.get(OutboxMessage, row_id)
            if row is None or row.state != OutboxState.PENDING:
                return None
            look_first = row.sending_since is not None
            row.attempts += 1
            row.sending_since = row.sending_since or self.clock.now()
            session.add(row)
        return row, look_first

    async def _send_post(self, row: OutboxMessage, attempt: _Attempt) -> None:
        assert row.id is not None
        channel, thread_ts = row.channel, None
        if row.reply_to is not None:
            anchor = await self._anchor(row.reply_to)
            if anchor is None:
                await self._orphan_or_wait(row, row.reply_to)
                return
            channel, thread_ts = anchor.channel, anchor.ts
        elif row.kind == OutboxKind.DM:
            channel = await self.wire.open_dm(row.channel)
        delivered = None
        if attempt.unsettled:
            delivered = await self.wire.find(channel, thread_ts=thread_ts, outbox_id=row.id)
            attempt.unsettled = False  # looked: an earlier attempt either posted it (found) or did not
        if delivered is None:
            self.pacer.take(row.channel)
            try:
                delivered = await self.wire.post(channel, row.text, row.blocks, thread_ts=thread_ts,
                                                 outbox_id=row.id)
            except Refused as exc:
                if exc.code != "not_in_channel" or not await self.wire.join(channel):
                    raise
                log.info("joined the channel to post", extra={"channel": channel})
                delivered = await self.wire.post(channel, row.text, row.blocks, thread_ts=thread_ts,
                                                 outbox_id=row.id)
        link = None
        if row.anchor is not None or row.decision_seq is not None:
            link = await self.wire.permalink(delivered.channel, delivered.ts)
        await self._mark_sent(row, delivered, link)

    async def _send_update(self, row: OutboxMessage) -> None:
        async with self.db.session() as session:
            newer = (await session.exec(select(OutboxMessage.id).where(
                OutboxMessage.kind == OutboxKind.UPDATE, OutboxMessage.target == row.target,
                OutboxMessage.state == OutboxState.PENDING, col(OutboxMessage.id) > row.id))).first()
            if newer is not None:  # a later update of the same message says it all
                found = await session.get(OutboxMessage, row.id)
                assert found is not None
                found.state, found.sending_since = OutboxState.SUPERSEDED, None
                session.add(found)
                return
            if await _shows_already(session, row):  # each state change once: no edit to what it already says
                found = await session.get(OutboxMessage, row.id)
                assert found is not None
                found.state, found.sending_since = OutboxState.SUPERSEDED, None
                session.add(found)
                return
        anchor = await self._anchor(row.target or "")
        if anchor is None:
            await self._orphan_or_wait(row, row.target or "")
            return
        await self.wire.update(anchor.channel, anchor.ts, row.text, row.blocks)
        await self._mark_sent(row, Delivered(anchor.channel, anchor.ts), None)

    async def _fill_permalinks(self, channel: str) -> bool:
        """Ask again for the permalinks Slack did not give when their messages went out (decisions link
        to them); True while some are still worth asking for."""
        async with self.db.session() as session:
            rows = (await session.exec(select(OutboxMessage).where(
                OutboxMessage.state == OutboxState.SENT, OutboxMessage.channel == channel,
                col(OutboxMessage.permalink).is_(None), col(OutboxMessage.sent_ts).is_not(None),
                col(OutboxMessage.decision_seq).is_not(None) | col(OutboxMessage.anchor).is_not(None)))).all()
        left = False
        for row in rows:
            tries = self._permalink_tries.get(row.id or 0, 0)
            if tries >= PERMALINK_TRIES:
                continue
            self._permalink_tries[row.id or 0] = tries + 1
            link = await self.wire.permalink(row.sent_channel or "", row.sent_ts or "")
            if link is None:
                left = left or tries + 1 < PERMALINK_TRIES
                continue
            async with self.db.session() as session:
                found = await session.get(OutboxMessage, row.id)
                anchor = await session.get(OutboxAnchor, found.anchor) if found and found.anchor else None
                if found is not None:
                    found.permalink = link
                    session.add(found)
                if anchor is not None:
                    anchor.permalink = link
                    session.add(anchor)
        return left

    async def _anchor(self, name: str) -> OutboxAnchor | None:
        async with self.db.session() as session:
            found: OutboxAnchor | None = await session.get(OutboxAnchor, name)
        return found

    # --- recording outcomes ---------------------------------------------------------------------
    async def _mark_sent(self, row: OutboxMessage, delivered: Delivered | None, link: str | None) -> None:
        now = self.clock.now()
        async with self.db.session() as session:
            found = await session.get(OutboxMessage, row.id)
            assert found is not None
            found.state, found.sending_since, found.sent_at, found.last_error = OutboxState.SENT, None, now, None
            if delivered is not None:
                found.sent_channel, found.sent_ts, found.permalink = delivered.channel, delivered.ts, link
            session.add(found)
            if found.anchor is not None and delivered is not None:
                session.add(OutboxAnchor(name=found.anchor, message_id=found.id or 0, channel=delivered.channel,
                                         ts=delivered.ts, permalink=link))
                for prefix, hook in self._anchored:
                    if found.anchor.startswith(prefix):
                        await hook(session, found.anchor, delivered, link)
            elsewhere = await self._next_elsewhere(session, found)
        self.sent += 1
        if elsewhere is not None:
            self._nudge(elsewhere)

    async def _retry_at(self, row: OutboxMessage, at: datetime, error: str, *, delivered_unknown: bool) -> None:
        async with self.db.session() as session:
            found = await session.get(OutboxMessage, row.id)
            assert found is not None
            found.next_attempt_at, found.last_error = at, error[:255]
            if not delivered_unknown:
                found.sending_since = None
            session.add(found)

    async def _refused_for_good(self, row: OutboxMessage, error: str) -> None:
        log.warning("slack refused a message for good", extra={"outbox": row.id, "error": error,
                                                                "channel": row.channel, "owner": row.owner})
        await self._fail(row, error)
        if row.owner is not None and row.kind == OutboxKind.POST:  # a refused edit or DM ends nothing
            for prefix, hook in self._refused:
                if row.owner.startswith(prefix):
                    await hook(row.owner, error, row.channel)

    async def _orphan_or_wait(self, row: OutboxMessage, anchor: str) -> None:
        """The message this one belongs to is not posted: wait for it, or fail when it never will be."""
        async with self.db.session() as session:
            parent = (await session.exec(select(OutboxMessage).where(OutboxMessage.anchor == anchor)
                                         .order_by(col(OutboxMessage.id)))).first()
        if parent is not None and parent.state == OutboxState.PENDING:
            await self._retry_at(row, self.clock.now() + timedelta(seconds=1), "waiting_for_parent",
                                 delivered_unknown=False)
        else:
            await self._fail(row, ORPHANED)

    async def _fail(self, row: OutboxMessage, error: str) -> None:
        async with self.db.session() as session:
            found = await session.get(OutboxMessage, row.id)
            assert found is not None
            found.state, found.sending_since, found.last_error = OutboxState.FAILED, None, error[:255]
            session.add(found)
            elsewhere = await self._next_elsewhere(session, found)
        if elsewhere is not None:
            self._nudge(elsewhere)


async def _shows_already(session: AsyncSession, row: OutboxMessage) -> bool:
    """Whether the message `row` edits already reads exactly so: as last edited, else as posted.

    Two steps of one state (the GO decision, then the dispatch of its first stage) both refresh a
    release's parent; when nothing it shows changed, a second identical edit is noise in Slack.
    """
    last = (await session.exec(select(OutboxMessage).where(
        OutboxMessage.kind == OutboxKind.UPDATE, OutboxMessage.target == row.target,
        OutboxMessage.state == OutboxState.SENT, col(OutboxMessage.id) < row.id)
        .order_by(col(OutboxMessage.id).desc()))).first()
    if last is None:
        anchor = await session.get(OutboxAnchor, row.target or "")
        last = await session.get(OutboxMessage, anchor.message_id) if anchor is not None else None
    return last is not None and last.text == row.text and last.blocks == row.blocks
