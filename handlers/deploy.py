"""`/deploy` listener: parse, validate what the config alone can tell, ack, then work in the background."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from slack_bolt.async_app import AsyncApp
from slack_bolt.context.ack.async_ack import AsyncAck

from bot.authors import where_answers
from bot.commands import deploy as grammar
from bot.context import AppContext
from bot.evidence import metrics
from bot.release import actions, reports, trust, trust_progress
from bot.release.requests import check_target
from bot.slack import replies
from bot.slack.chart_upload import ChartUnavailable, ChartUploads
from bot.slack.deploy_requests import submit_request
from bot.slack.ids import Command
from bot.slack.metrics_blocks import metrics_message, with_chart
from bot.slack.people_lookup import SlackPeopleLookup
from bot.slack.release_modals import deploy_modal
from bot.slack.request_keys import ack_once, request_key
from bot.slack.responder import ResponseUrlResponder, ack_in_lane, answer_later, tell
from bot.slack.trend_chart import trend_chart
from bot.web.log_access import link_message


def register(app: AsyncApp, ctx: AppContext) -> None:
    charts = ChartUploads(ctx.slack, ctx.http, ctx.clock)  # `/deploy metrics` charts, per scope, per process

    @app.command(Command.DEPLOY)
    async def on_deploy(ack: AsyncAck, command: dict[str, Any]) -> None:
        parsed = grammar.parse(command.get("text", ""))
        user = command["user_id"]
        responder = ResponseUrlResponder(command["response_url"], ctx.webhooks)
        key = request_key(command)

        def later(work: Any, name: str) -> None:
            answer_later(ctx.background, work, responder, name=name)

        async def once(act: Callable[[], Awaitable[str]], name: str) -> None:
            await ack_once(ack, ctx, key, act, responder, name=name)  # acks empty, or "busy" when the lane is full

        match parsed:
            case grammar.DeployHelp():
                await ack(**replies.usage(grammar.USAGE))
            case grammar.DeployModal():
                await ack()
                ctx.background.spawn(ctx.slack.views_open(trigger_id=command["trigger_id"],
                                                          view=deploy_modal(ctx.config)), name="deploy-modal")
            case grammar.DeployRequest():
                check_target(ctx.config, parsed.service, parsed.environment, grammar.USAGE)
                # Acked empty ("Requesting…" follows once the requester is known to be allowed), or with the busy
                # answer when the bounded interaction lane (decision 0009) is full; merged with a re-delivery of
                # the same request: a burst of requests never becomes an unbounded backlog on the loop that acks.
                await ack_in_lane(ack, ctx.lane, lambda: submit_request(ctx, parsed, user=user, request_key=key,
                                                                        responder=responder, announce=True),
                                  responder, name="deploy-request", merge_key=key)
            case grammar.DeployStatus():
                if parsed.service:
                    _known_service(ctx, parsed.service)
                await ack()
                later(_say(responder, reports.status(ctx, parsed.service)), "deploy-status")
            case grammar.DeployWhy():
                check_target(ctx.config, parsed.service, parsed.environment, grammar.USAGE)
                await ack()
                later(_say(responder, reports.why(ctx, parsed.service, parsed.environment)), "deploy-why")
            case grammar.DeployHistory():
                _known_service(ctx, parsed.service)
                if parsed.environment:
                    check_target(ctx.config, parsed.service, parsed.environment, grammar.USAGE)
                await ack()
                later(_say(responder, reports.history(ctx, parsed.service, parsed.environment)), "deploy-history")
            case grammar.DeployLock():
                check_target(ctx.config, parsed.service, parsed.environment, grammar.USAGE)
                await once(lambda: actions.lock(ctx, service=parsed.service, environment=parsed.environment, user=user,
                                                reason=parsed.reason, duration=parsed.duration, request_key=key),
                           "deploy-lock")
            case grammar.DeployUnlock():
                check_target(ctx.config, parsed.service, parsed.environment, grammar.USAGE)
                await once(lambda: actions.unlock(ctx, service=parsed.service, environment=parsed.environment,
                                                  user=user, request_key=key), "deploy-unlock")
            case grammar.DeployCancel():
                await once(lambda: actions.cancel(ctx, parsed.release_id, user=user, request_key=key), "deploy-cancel")
            case grammar.DeployTrust():
                await ack()
                later(_say(responder, trust_progress.progress(ctx, user=parsed.user)), "deploy-trust")
            case grammar.DeployTrustRevoke():
                check_target(ctx.config, parsed.service, parsed.environment, grammar.USAGE)
                await once(lambda: trust.revoke(ctx, service=parsed.service, environment=parsed.environment,
                                                target=parsed.user, user=user, request_key=key), "deploy-trust-revoke")
            case grammar.DeployWhere():
                await ack()
                asked = parsed.commit
                work = (where_answers.mine(ctx, user, SlackPeopleLookup(ctx.slack)) if asked is None
                        else where_answers.commit(ctx, asked))
                later(_say(responder, work), "deploy-where")
            case grammar.DeployLog():
                await ack(**replies.ephemeral(link_message(ctx.config.web_log, ctx.settings.environ,
                                                           public_url=ctx.settings.public_url, user=user,
                                                           now=ctx.clock.now())))
            case grammar.DeployMetrics():
                if parsed.service:
                    _known_service(ctx, parsed.service)
                await ack()
                later(_show_metrics(ctx, charts, responder, parsed), "deploy-metrics")


def _known_service(ctx: AppContext, service: str) -> None:
    if service not in ctx.config.services:
        check_target(ctx.config, service, "", grammar.USAGE)


async def _show_metrics(ctx: AppContext, charts: ChartUploads, responder: ResponseUrlResponder,
                        asked: grammar.DeployMetrics) -> None:
    figures = await metrics.for_service(ctx.db, ctx.config, service=asked.service, now=ctx.clock.now(),
                                        days=asked.days)
    message = metrics_message(figures)
    services = [t.service for t in figures.targets]
    if services:
        try:
            chart = await trend_chart(ctx, charts, key=f"metrics:{asked.service or '*'}", services=services,
                                      every=asked.service is None)
            message = with_chart(message, chart)
        except ChartUnavailable as exc:
            message = with_chart(message, None, missing=exc.reason)
    await responder.send(message)


async def _say(responder: ResponseUrlResponder, text: Any) -> None:
    await tell(responder, await text)
