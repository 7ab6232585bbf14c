"""Deploy rights earned by pairing (§4 `trust:`): progress, the proposal, its decision, revocation.

A developer not in an environment's `deployers` releases there paired (`pairing.py`). Each paired
release that succeeds counts; when the count since the last "Not yet" or revocation reaches
`trust.paired_releases`, Switchman proposes — in the transaction that records the success — adding the
developer to the deployers. A member of `trust.with` approves (the grant: a ledger decision and a
`deploy_rights` row, which `access.authorize_deploy` reads from then on) or says Not yet; a member
can revoke a right the same way. Proposals and rights change by conditional updates, so a double click
or a Slack retry decides once, and every change is a ledger row committed with it.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import func, update
from sqlalchemy.exc import IntegrityError
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from bot.config.models import Trust
from bot.context import AppContext
from bot.errors import Blocked, NotAllowed
from bot.ledger import service as ledger
from bot.ledger.models import DecisionKind as LedgerKind
from bot.outbox import queue as outbox
from bot.release.models import Release, ReleaseState
from bot.release.thread import ReleaseThread
from bot.release.trust_models import DeployRight, ProposalState, TrustPair, TrustProposal
from bot.storage import handled_requests as handled

PREFIX = "trust:"  # a proposal's post is anchored `trust:<proposal id>`
SYSTEM = "switchman"


def subject(service: str, environment: str, user: str) -> str:
    return f"{service}/{environment}:{user}"


def trust_of(ctx: AppContext, service: str, environment: str) -> Trust | None:
    svc = ctx.config.services.get(service)
    env = svc.environments.get(environment) if svc else None
    return env.trust if env else None


async def counting_since(session: AsyncSession, service: str, environment: str, user: str) -> datetime | None:
    """Paired releases count from the last "Not yet" or revocation (all of them when neither happened)."""
    declined = (await session.exec(select(func.max(TrustProposal.decided_at)).where(
        TrustProposal.service == service, TrustProposal.environment == environment,
        TrustProposal.developer == user, TrustProposal.state == ProposalState.DECLINED))).first()
    right = await session.get(DeployRight, (service, environment, user))
    revoked = right.revoked_at if right is not None and not right.granted else None
    marks = [m for m in (declined, revoked) if m is not None]
    return max(marks) if marks else None


async def paired_successes(session: AsyncSession, service: str, environment: str, user: str) -> int:
    """Successful paired releases of `user` there that count towards the right."""
    since = await counting_since(session, service, environment, user)
    query = (select(func.count()).select_from(TrustPair).join(Release, col(Release.id) == TrustPair.release_id)
             .where(TrustPair.service == service, TrustPair.environment == environment, TrustPair.developer == user,
                    Release.state == ReleaseState.SUCCEEDED))
    if since is not None:
        query = query.where(col(Release.verified_at) > since)
    return int((await session.exec(query)).one())


async def open_proposal(session: AsyncSession, service: str, environment: str, user: str) -> TrustProposal | None:
    return (await session.exec(select(TrustProposal).where(
        TrustProposal.service == service, TrustProposal.environment == environment,
        TrustProposal.developer == user, TrustProposal.state == ProposalState.OPEN))).first()


async def after_success(session: AsyncSession, ctx: AppContext, release: Release, *, now: datetime) -> None:
    """In the transaction recording a paired release's success: count it, and propose the right when due."""
    trust = trust_of(ctx, release.service, release.environment)
    pair = await session.get(TrustPair, release.id) if release.id is not None else None
    if trust is None or pair is None:
        return
    right = await session.get(DeployRight, (release.service, release.environment, pair.developer))
    if right is not None and right.granted:
        return
    count = await paired_successes(session, release.service, release.environment, pair.developer)
    thread = ReleaseThread(ctx.config, ctx.release_view)
    thread.note(session, release, f":handshake: Paired release {min(count, trust.paired_releases)}/"
                                  f"{trust.paired_releases} of <@{pair.developer}> in {release.environment} "
                                  f"(paired with <@{pair.pair}>).", now=now)
    if count < trust.paired_releases or await open_proposal(session, release.service, release.environment,
                                                            pair.developer) is not None:
        return
    proposal = TrustProposal(service=release.service, environment=release.environment, developer=pair.developer,
                             paired_releases=count, proposed_at=now)
    try:
        async with session.begin_nested():
            session.add(proposal)
    except IntegrityError:  # proposed already by a concurrent success
        return
    row = await ledger.record(session, kind=LedgerKind.TRUST, actor=SYSTEM, decided_at=now,
                              subject=subject(release.service, release.environment, pair.developer),
                              outcome="proposed", release_id=release.id,
                              evidence={"developer": pair.developer, "paired_releases": count,
                                        "needed": trust.paired_releases, "with": trust.with_,
                                        "proposal": proposal.id})
    channel = ctx.config.services[release.service].channel
    outbox.post(session, thread=f"{PREFIX}{proposal.id}", anchor=f"{PREFIX}{proposal.id}", channel=channel, now=now,
                decision_seq=row.seq, message=ctx.release_view.trust_proposal(proposal, trust.with_))


async def decide_proposal(ctx: AppContext, proposal_id: int, *, user: str, approve: bool,
                          request_key: str | None = None) -> str:
    """Approve (grant the right) or Not yet; members of the `trust.with` group only, never the developer."""
    async with ctx.db.session() as session:
        proposal = await session.get(TrustProposal, proposal_id)
    if proposal is None:
        raise Blocked(f"there is no deploy-rights proposal #{proposal_id}")
    trust = trust_of(ctx, proposal.service, proposal.environment)
    if trust is None:
        raise Blocked(f"{proposal.service} {proposal.environment} no longer declares `trust:`; nothing to decide")
    verb = "approve" if approve else "answer Not yet to"
    if user == proposal.developer:
        raise NotAllowed(f"you cannot {verb} your own deploy rights; a member of {trust.with_} decides")
    if user not in await ctx.directory.members(trust.with_):
        raise NotAllowed(f"only members of {trust.with_} can {verb} this proposal")
    state = ProposalState.APPROVED if approve else ProposalState.DECLINED
    where = f"<@{proposal.developer}> in {proposal.service} {proposal.environment}"
    async with ctx.db.session() as session:
        now = ctx.clock.now()
        claim = await handled.claim(session, key=request_key, kind="trust-decision", now=now)
        if claim.repeat:
            return claim.earlier
        moved = await session.exec(update(TrustProposal).where(
            col(TrustProposal.id) == proposal_id, col(TrustProposal.state) == ProposalState.OPEN)
            .values(state=state.value, decided_by=user, decided_at=now))
        if moved.rowcount != 1:
            decided = await session.get(TrustProposal, proposal_id, populate_existing=True)
            by = f" by <@{decided.decided_by}>" if decided and decided.decided_by else ""
            raise Blocked(f"this proposal was already decided{by} ({decided.state if decided else 'gone'}); "
                          "it counts once")
        row = await ledger.record(session, kind=LedgerKind.TRUST, actor=user, decided_at=now,
                                  subject=subject(proposal.service, proposal.environment, proposal.developer),
                                  outcome="granted" if approve else "not_yet",
                                  evidence={"developer": proposal.developer, "proposal": proposal_id,
                                            "paired_releases": proposal.paired_releases, "with": trust.with_})
        if approve:
            await _grant(session, proposal, by=user, now=now, seq=row.seq)
            said = f":white_check_mark: <@{user}> approved: {where} deploys without a pair from now on."
            told = (f":tada: <@{user}> granted you the right to deploy {proposal.service} to {proposal.environment} "
                    "without a pair.")
        else:
            said = (f":hourglass: <@{user}> said not yet; Switchman proposes again after "
                    f"{trust.paired_releases} more paired releases.")
            told = (f":hourglass: <@{user}> answered Not yet to your deploy rights in {proposal.service} "
                    f"{proposal.environment}; keep pairing — {trust.paired_releases} more paired releases and "
                    "Switchman asks again.")
        channel = ctx.config.services[proposal.service].channel
        outbox.update(session, thread=f"{PREFIX}{proposal_id}", target=f"{PREFIX}{proposal_id}", channel=channel,
                      now=now, message=ctx.release_view.trust_proposal(proposal, trust.with_, decided=said))
        outbox.direct(session, user=proposal.developer, now=now, decision_seq=row.seq,
                      message=ctx.release_view.note(told))
        return claim.answer(f"you {'approved' if approve else 'answered Not yet to'} deploy rights for {where}")


async def _grant(session: AsyncSession, proposal: TrustProposal, *, by: str, now: datetime, seq: int) -> None:
    right = await session.get(DeployRight, (proposal.service, proposal.environment, proposal.developer))
    if right is None:
        right = DeployRight(service=proposal.service, environment=proposal.environment, user=proposal.developer,
                            granted_by=by, granted_at=now, grant_seq=seq)
    else:
        right.granted, right.granted_by, right.granted_at, right.grant_seq = True, by, now, seq
        right.revoked_by = right.revoked_at = right.revoke_seq = None
    session.add(right)


async def revoke(ctx: AppContext, *, service: str, environment: str, target: str, user: str,
                 request_key: str | None = None) -> str:
    """Take an earned right away again: a member of the `trust.with` group, recorded in the ledger."""
    trust = trust_of(ctx, service, environment)
    if trust is None:
        raise Blocked(f"{service} {environment} does not declare `trust:`, so there are no earned rights to revoke")
    if user not in await ctx.directory.members(trust.with_):
        raise NotAllowed(f"only members of {trust.with_} can revoke deploy rights in {service} {environment}")
    env = ctx.config.services[service].environments[environment]
    listed = await ctx.directory.is_in_any(target, env.deployers)  # for the refusal; asked before the transaction
    async with ctx.db.session() as session:
        now = ctx.clock.now()
        claim = await handled.claim(session, key=request_key, kind="trust-revoke", now=now)
        if claim.repeat:
            return claim.earlier
        moved = await session.exec(update(DeployRight).where(
            col(DeployRight.service) == service, col(DeployRight.environment) == environment,
            col(DeployRight.user) == target, col(DeployRight.granted).is_(True))
            .values(granted=False, revoked_by=user, revoked_at=now))
        if moved.rowcount != 1:
            raise Blocked(f"<@{target}> has no earned deploy right in {service} {environment} to revoke"
                          + ("; they are among its configured deployers: remove them from `deployers` in the "
                             "config instead" if listed else ""))
        row = await ledger.record(session, kind=LedgerKind.TRUST, actor=user, decided_at=now,
                                  subject=subject(service, environment, target), outcome="revoked",
                                  evidence={"developer": target, "with": trust.with_})
        right = await session.get(DeployRight, (service, environment, target), populate_existing=True)
        assert right is not None
        right.revoke_seq = row.seq
        session.add(right)
        channel = ctx.config.services[service].channel
        outbox.post(session, thread=f"channel:{channel}", channel=channel, now=now, decision_seq=row.seq,
                    message=ctx.release_view.note(f":no_entry: <@{user}> revoked <@{target}>'s right to deploy "
                                                  f"{service} to {environment} without a pair; they release there "
                                                  f"paired with {trust.with_} again."))
        outbox.direct(session, user=target, now=now, message=ctx.release_view.note(
            f":no_entry: <@{user}> revoked your right to deploy {service} to {environment} without a pair. You can "
            f"still deploy there paired with a member of {trust.with_}."))
        return claim.answer(f"revoked <@{target}>'s deploy right in {service} {environment}")


def stage_mention(release: Release) -> str:
    """For every stage post of a paired release: who is on it."""
    pair = (release.detail or {}).get("pair")
    return f" (<@{release.requested_by}> paired with <@{pair}>)" if pair else ""


def page_pair_on_rollback(session: AsyncSession, ctx: AppContext, bad: Release, *, rollback_id: int | None,
                          reason: str, now: datetime) -> str:
    """A paired release is rolled back: DM its developer and pair (the outbox); returns the thread mention."""
    pair = (bad.detail or {}).get("pair")
    if not pair:
        return ""
    link = (bad.detail or {}).get("permalink")
    where = f" <{link}|Thread>" if link else ""
    for user in (bad.requested_by, str(pair)):
        outbox.direct(session, user=user, now=now, message=ctx.release_view.note(
            f":rotating_light: Release #{bad.id} ({bad.service} `{bad.ref}` → {bad.environment}), shipped by "
            f"<@{bad.requested_by}> paired with <@{pair}>, is being rolled back (release #{rollback_id}): "
            f"{reason}.{where}"))
    return f"Paged the pair: <@{bad.requested_by}> and <@{pair}>"
