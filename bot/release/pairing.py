"""Join as pair (§4 `trust:`): a member of the pairing group joins a developer's release, which then goes on.

Checked first (ephemeral refusals): the release needs a pair, the clicker is not its requester and is a
member of the group, the release still waits. Then one transaction: the request's claim, the pair row
(its primary key is the release, so a second joiner or a double click is refused), the pair gate's pass,
the pair on the release (stage posts mention it), and the ledger row with its thread reply.
"""

from __future__ import annotations

from sqlalchemy.exc import IntegrityError

from bot.context import AppContext
from bot.errors import Blocked, NotAllowed
from bot.ledger.models import DecisionKind as LedgerKind
from bot.release import engine, gating, store
from bot.release.models import GateResult, Release, ReleaseState, Verdict
from bot.release.trust_models import TrustPair
from bot.storage import handled_requests as handled


async def join(ctx: AppContext, release_id: int, *, user: str, request_key: str | None = None) -> str:
    async with ctx.db.session() as session:
        release = await session.get(Release, release_id)
    if release is None:
        raise Blocked(f"release #{release_id} does not exist")
    pairing = (release.detail or {}).get("pairing")
    if not isinstance(pairing, dict) or not pairing.get("with"):
        raise Blocked(f"release #{release_id} needs no pair: <@{release.requested_by}> deploys there on their own")
    group = str(pairing["with"])
    if user == release.requested_by:
        raise NotAllowed(f"you requested release #{release_id}, so you cannot pair with yourself; a member of "
                         f"{group} joins as your pair")
    if user not in await ctx.directory.members(group):
        raise NotAllowed(f"only members of {group} can join release #{release_id} as pair")
    if release.state != ReleaseState.AWAITING_APPROVAL:
        raise Blocked(f"release #{release_id} is not waiting for a pair; it is "
                      f"{ctx.release_view.state_text(release.state)}")
    thread = gating.thread_of(ctx)
    try:
        async with ctx.db.session() as session:
            now = ctx.clock.now()
            claim = await handled.claim(session, key=request_key, kind="release-pair", now=now)
            if claim.repeat:
                return claim.earlier
            row = await store.hold(session, release_id)
            if row.state != ReleaseState.AWAITING_APPROVAL:
                raise Blocked(f"release #{release_id} is no longer waiting; it is "
                              f"{ctx.release_view.state_text(row.state)}")
            session.add(TrustPair(release_id=release_id, service=row.service, environment=row.environment,
                                  developer=row.requested_by, pair=user, joined_at=now))
            await session.flush()
            session.add(GateResult(release_id=release_id, gate="pair",
                                   attempt=await gating.next_attempt(session, release_id, "pair"),
                                   verdict=Verdict.PASS, evidence=f"<@{user}> ({group}) pairs on this release",
                                   started_at=now, finished_at=now))
            await store.save(session, row, now=now, detail={**(row.detail or {}), "pair": user})
            await thread.record(session, row, kind=LedgerKind.PAIR, actor=user, outcome="joined", now=now,
                                evidence={"developer": row.requested_by, "pair": user, "with": group},
                                message=ctx.release_view.note(
                                    f":handshake: <@{user}> joined as pair of <@{row.requested_by}>: both are "
                                    "mentioned at every stage and paged if it rolls back."))
            answer = claim.answer(f"you are the pair on release #{release_id}")
    except IntegrityError:
        async with ctx.db.session() as session:
            joined = await session.get(TrustPair, release_id)
        who = f"<@{joined.pair}>" if joined else "someone else"
        return f"{who} already pairs on release #{release_id}; a release has one pair"
    await gating.decide_now(ctx, release_id, actor=user)
    engine.kick(ctx, release_id)
    return answer
