"""`/deploy trust [@user]` (§2, §4): each person's progress towards earned deploy rights, per environment."""

from __future__ import annotations

from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from bot.context import AppContext
from bot.release.trust import open_proposal, paired_successes
from bot.release.trust_models import DeployRight, ProposalState, TrustPair, TrustProposal


async def progress(ctx: AppContext, *, user: str | None) -> str:
    """One line per person and environment that declares `trust:`: paired releases so far / needed, the
    right (granted or revoked, by whom, when) and any proposal; only `user`'s lines when given."""
    places = [(name, env_name, env.trust) for name, svc in ctx.config.services.items()
              for env_name, env in svc.environments.items() if env.trust is not None]
    if not places:
        return ("No environment declares `trust:`, so there are no deploy rights to earn by pairing. An environment "
                "enables it with `trust: {paired_releases: 3, with: \"@sre\"}`.")
    lines: list[str] = []
    async with ctx.db.session() as session:
        for service, environment, trust in places:
            people = [user] if user else await _people(session, service, environment)
            for person in people:
                lines.append(f"• <@{person}> — *{service} {environment}*: "
                             + await _line(ctx, session, service, environment, person, trust.paired_releases,
                                           trust.with_))
    if not lines:
        return ("Nobody has paired on a release yet in "
                + ", ".join(f"{s} {e} (with {t.with_})" for s, e, t in places) + ".")
    head = f"*Deploy rights earned by pairing{f' — <@{user}>' if user else ''}*"
    return "\n".join([head, *lines])


async def _people(session: AsyncSession, service: str, environment: str) -> list[str]:
    found: set[str] = set()
    for column, table in ((TrustPair.developer, TrustPair), (TrustProposal.developer, TrustProposal),
                          (DeployRight.user, DeployRight)):
        found |= set((await session.exec(select(column).where(
            col(table.service) == service, col(table.environment) == environment))).all())
    return sorted(found)


async def _line(ctx: AppContext, session: AsyncSession, service: str, environment: str, person: str, needed: int,
                group: str) -> str:
    date = ctx.release_view.date
    right = await session.get(DeployRight, (service, environment, person))
    if right is not None and right.granted:
        return f":white_check_mark: deploys without a pair — granted by <@{right.granted_by}> {date(right.granted_at)}"
    so_far = await paired_successes(session, service, environment, person)
    text = f"{min(so_far, needed)}/{needed} paired releases (pairing with {group})"
    if right is not None and right.revoked_at is not None:
        text += f"; right revoked by <@{right.revoked_by}> {date(right.revoked_at)}, counting again since"
    proposal = await open_proposal(session, service, environment, person)
    if proposal is not None:
        text += f"; proposed {date(proposal.proposed_at)}, waiting for {group} to decide"
    else:
        declined = (await session.exec(select(TrustProposal).where(
            TrustProposal.service == service, TrustProposal.environment == environment,
            TrustProposal.developer == person, TrustProposal.state == ProposalState.DECLINED)
            .order_by(col(TrustProposal.decided_at).desc()))).first()
        if declined is not None and declined.decided_at is not None and (
                right is None or right.revoked_at is None or declined.decided_at > right.revoked_at):
            text += f"; <@{declined.decided_by}> said not yet {date(declined.decided_at)}, counting again since"
    return text
