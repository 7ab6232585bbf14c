"""`/log/`: the read-only web release log (§10) — releases, one release's decisions, the chain, metrics,
on-call — for auditors and reviewers who have no Slack seat.

Only GET (and HEAD) routes exist, and no handler writes anything but the record of the view itself.
Every request is identified first (`log_access`): a session cookie opened by a `/deploy log` link, or
a trusted proxy's user header; anything else gets a 401/403 page saying how to get in. Every view,
refused ones included, is logged with its viewer and stored in `web_log_views`.
"""

from __future__ import annotations

import asyncio
import base64
import csv
import io
import json
import logging
from collections.abc import Awaitable, Callable
from typing import Any

from aiohttp import web
from sqlalchemy import Select, select

from bot.context import AppContext
from bot.evidence.chart import render_trend
from bot.evidence.metrics import for_service
from bot.evidence.trend import TREND_WEEKS, trend_for
from bot.evidence.windows import production_targets
from bot.ledger.export import COLUMNS, cell, plain
from bot.slack.metrics_blocks import percent, span, spread_text
from bot.slack.trend_chart import alt_text
from bot.web import log_oncall
from bot.web.log_access import COOKIE, LogSecretMissing, Refusal, Via, Viewer, from_proxy, load_secret, read
from bot.web.log_access import session_token as new_session
from bot.web.log_queries import (
    AUDIT_RUNS,
    DECISION_LABELS,
    DECISIONS,
    OUTCOMES,
    RELEASES,
    BadFilter,
    ReleaseFilter,
    audit_runs,
    release_page,
    release_view,
    releases_query,
    view_row,
)
from bot.web.log_render import environment, page

log = logging.getLogger(__name__)
Handler = Callable[[web.Request, Viewer], Awaitable[web.StreamResponse]]
STREAM_BATCH = 1000
MAX_DAYS = 730


def add_routes(app: web.Application, ctx: AppContext) -> None:
    settings = ctx.config.web_log
    env = environment()
    try:
        secret: bytes | None = load_secret(settings, ctx.settings.environ)
        missing = None
    except LogSecretMissing as exc:
        secret, missing = None, str(exc)

    async def remember(request: web.Request, viewer: Viewer | None, status: int) -> None:
        who, via = (viewer.who, viewer.via.value) if viewer else ("", "none")
        path = request.path_qs if not request.path.startswith("/log/enter") else "/log/enter"  # never the token
        log.info("web log view", extra={"viewer": who, "via": via, "path": path, "status": status,
                                        "remote": request.remote})
        try:
            async with ctx.db.session() as session:
                session.add(view_row(viewer=who, via=via, path=path, status=status, remote=request.remote,
                                     at=ctx.clock.now()))
                await session.commit()
        except Exception as exc:  # the reader still gets the page; the log line above holds the view
            log.warning("could not store a web log view", extra={"error": type(exc).__name__})

    def refused(refusal: Refusal) -> web.Response:
        return page(env, "refused.html", status=refusal.status, title="Not signed in" if refusal.status == 401
                    else "Access refused", reason=refusal.reason, viewer=None)

    def identify(request: web.Request) -> Viewer | Refusal:
        if secret is None and not settings.trusted_proxies:
            return Refusal(503, f"{missing}; until then nobody can read the web log")
        proxied = from_proxy(settings, request.headers, request.remote)
        if proxied is not None:
            return proxied
        token = request.cookies.get(COOKIE)
        if token and secret is not None:
            found = read(secret, token, kind=Via.SESSION, now=ctx.clock.now())
            return found if isinstance(found, Viewer) else Refusal(401, f"{found.reason}")
        return Refusal(401, "sign in first: type `/deploy log` in Slack for a personal link"
                            + (", or come through your single sign-on" if settings.trusted_proxies else ""))

    def guarded(handler: Handler) -> Callable[[web.Request], Awaitable[web.StreamResponse]]:
        async def run(request: web.Request) -> web.StreamResponse:
            who = identify(request)
            if isinstance(who, Refusal):
                log.warning("web log request refused", extra={"status": who.status, "reason": who.reason,
                                                              "path": request.path, "remote": request.remote})
                await remember(request, None, who.status)
                return refused(who)
            try:
                response = await handler(request, who)
            except BadFilter as exc:
                response = page(env, "refused.html", status=400, title="Bad request", reason=str(exc), viewer=who)
            except web.HTTPNotFound:
                response = page(env, "refused.html", status=404, title="Not found",
                                reason="there is nothing at this address", viewer=who)
            await remember(request, who, response.status)
            return response

        return run

    async def enter(request: web.Request) -> web.StreamResponse:
        if secret is None:
            return refused(Refusal(503, f"{missing}; until then links cannot be checked"))
        found = read(secret, request.query.get("t", ""), kind=Via.LINK, now=ctx.clock.now())
        if isinstance(found, Refusal):
            log.warning("web log link refused", extra={"reason": found.reason, "remote": request.remote})
            await remember(request, None, found.status)
            return refused(found)
        token, _ = new_session(secret, settings, who=found.who, now=ctx.clock.now())
        response = web.Response(status=303, headers={"Location": "/log/releases", "Cache-Control": "no-store",
                                                      "Referrer-Policy": "no-referrer"})
        response.set_cookie(COOKIE, token, path="/log/", httponly=True, samesite="Lax",
                            secure=ctx.settings.public_url.startswith("https://"),
                            max_age=int(settings.session_expires.total_seconds()))
        await remember(request, found, 303)
        return response

    async def home(request: web.Request, viewer: Viewer) -> web.StreamResponse:
        return web.Response(status=303, headers={"Location": "/log/releases"})

    async def releases(request: web.Request, viewer: Viewer) -> web.StreamResponse:
        found = ReleaseFilter.parse(request.query)
        before = _number(request.query.get("before"), "before")
        async with ctx.db.session() as session:
            listed = await release_page(session, found, before=before, size=settings.page_size)
        return page(env, "releases.html", title="Releases", viewer=viewer, filter=found, params=found.params(),
                    rows=listed.rows, next_before=listed.next_before, first_page=before is None,
                    outcomes=OUTCOMES, services=sorted(ctx.config.services))

    async def releases_file(request: web.Request, viewer: Viewer) -> web.StreamResponse:
        found = ReleaseFilter.parse(request.query)
        return await _stream(request, releases_query(found), tuple(RELEASES.c.keys()), "releases",
                             request.match_info["fmt"])

    async def one_release(request: web.Request, viewer: Viewer) -> web.StreamResponse:
        release_id = _number(request.match_info["id"], "release id")
        async with ctx.db.session() as session:
            shown = await release_view(session, release_id or 0)
        if shown is None:
            raise web.HTTPNotFound()
        return page(env, "release.html", title=f"Release #{release_id}", viewer=viewer, view=shown,
                    labels=DECISION_LABELS, thread=(shown.release["detail"] or {}).get("permalink"))

    async def decisions_file(request: web.Request, viewer: Viewer) -> web.StreamResponse:
        release_id = _number(request.match_info["id"], "release id")
        query = select(DECISIONS).where(DECISIONS.c.release_id == release_id).order_by(DECISIONS.c.seq)
        return await _stream(request, query, COLUMNS, f"release-{release_id}-decisions", request.match_info["fmt"])

    async def chain(request: web.Request, viewer: Viewer) -> web.StreamResponse:
        async with ctx.db.session() as session:
            runs = await audit_runs(session, limit=50)
        return page(env, "chain.html", title="Ledger chain", viewer=viewer, runs=runs)

    async def metrics(request: web.Request, viewer: Viewer) -> web.StreamResponse:
        service = request.query.get("service") or None
        if service is not None and service not in ctx.config.services:
            raise BadFilter(f"service {service!r} is not configured (choose from "
                            f"{', '.join(sorted(ctx.config.services)) or 'none'})")
        days = _number(request.query.get("days"), "days") or 90
        if not 1 <= days <= MAX_DAYS:
            raise BadFilter(f"days must be between 1 and {MAX_DAYS}")
        now = ctx.clock.now()
        figures = await for_service(ctx.db, ctx.config, service=service, now=now, days=days)
        chart = alt = None
        targets = production_targets(ctx.config, service)
        if targets:
            trend = await trend_for(ctx.db, targets, end=now)
            scope = service or "every service"
            png = await asyncio.to_thread(render_trend, trend, title=f"Delivery of {scope} in production, "
                                                                     f"{TREND_WEEKS} weeks to {now:%Y-%m-%d}")
            chart, alt = base64.b64encode(png).decode(), alt_text(trend, scope)
        return page(env, "metrics.html", title="Delivery metrics", viewer=viewer, m=figures, chart=chart, alt=alt,
                    service=service, days=days, services=sorted(ctx.config.services), span=span,
                    spread_text=spread_text, percent=percent)

    async def oncall(request: web.Request, viewer: Viewer) -> web.StreamResponse:
        before = _number(request.query.get("before"), "before")
        now = ctx.clock.now()
        rotations = await log_oncall.rotations_now(ctx, now=now)
        async with ctx.db.session() as session:
            rows, next_before = await log_oncall.pages(session, before=before, size=settings.page_size)
        return page(env, "oncall.html", title="On-call", viewer=viewer, rotations=rotations, pages=rows,
                    next_before=next_before, now=now)

    async def pages_file(request: web.Request, viewer: Viewer) -> web.StreamResponse:
        table = log_oncall.PAGES
        return await _stream(request, select(table).order_by(table.c.id), tuple(table.c.keys()), "pages",
                             request.match_info["fmt"])

    async def runs_file(request: web.Request, viewer: Viewer) -> web.StreamResponse:
        table = AUDIT_RUNS
        return await _stream(request, select(table).order_by(table.c.id), tuple(table.c.keys()), "audit-runs",
                             request.match_info["fmt"])

    async def one_page(request: web.Request, viewer: Viewer) -> web.StreamResponse:
        page_id = _number(request.match_info["id"], "page id")
        async with ctx.db.session() as session:
            found = await log_oncall.page_timeline(session, page_id or 0)
        if found is None:
            raise web.HTTPNotFound()
        return page(env, "page.html", title=f"Page #{page_id}", viewer=viewer, p=found[0], events=found[1])

    async def _stream(request: web.Request, query: Select[Any], names: tuple[str, ...], stem: str,
                      fmt: str) -> web.StreamResponse:
        """The rows `switchman export` would write for them (same columns, same cells), streamed."""
        response = web.StreamResponse(headers={
            "Content-Type": "text/csv; charset=utf-8" if fmt == "csv" else "application/x-ndjson; charset=utf-8",
            "Content-Disposition": f'attachment; filename="{stem}.{fmt}"', "Cache-Control": "private, no-store",
            "X-Content-Type-Options": "nosniff"})
        await response.prepare(request)
        if request.method == "HEAD":
            return response
        async with ctx.db.session() as session:
            result = await (await session.connection()).stream(query.execution_options(yield_per=STREAM_BATCH))
            buffer = io.StringIO()
            writer = csv.writer(buffer)
            if fmt == "csv":
                writer.writerow(names)
            async for partition in result.mappings().partitions(STREAM_BATCH):
                for row in partition:
                    if fmt == "csv":
                        writer.writerow([cell(row[name]) for name in names])
                    else:
                        buffer.write(json.dumps({name: plain(row[name]) for name in names}, ensure_ascii=False) + "\n")
                await response.write(buffer.getvalue().encode())
                buffer.seek(0)
                buffer.truncate()
            await response.write(buffer.getvalue().encode())
        await response.write_eof()
        return response

    app.router.add_get("/log/enter", enter)
    app.router.add_get("/log", _inside)  # the cookie's path is /log/: go inside first
    app.router.add_get("/log/", guarded(home))
    app.router.add_get("/log/releases", guarded(releases))
    app.router.add_get("/log/releases.{fmt:csv|jsonl}", guarded(releases_file))
    app.router.add_get("/log/releases/{id}", guarded(one_release))
    app.router.add_get("/log/releases/{id}/decisions.{fmt:csv|jsonl}", guarded(decisions_file))
    app.router.add_get("/log/chain", guarded(chain))
    app.router.add_get("/log/chain/runs.{fmt:csv|jsonl}", guarded(runs_file))
    app.router.add_get("/log/metrics", guarded(metrics))
    app.router.add_get("/log/oncall", guarded(oncall))
    app.router.add_get("/log/oncall/pages.{fmt:csv|jsonl}", guarded(pages_file))
    app.router.add_get("/log/oncall/pages/{id}", guarded(one_page))


async def _inside(_: web.Request) -> web.StreamResponse:
    return web.Response(status=303, headers={"Location": "/log/releases"})


def _number(text: str | None, name: str) -> int | None:
    if text is None or text == "":
        return None
    if not text.isdigit() or len(text) > 12:
        raise BadFilter(f"{name} must be a whole number, not {text[:40]!r}")
    return int(text)
