"""Alerts no rotation claims (§6: nothing is dropped): posted in `unrouted_channel`, once per firing.

Used only when no `fallback_rotation` is configured (that rotation is paged instead). The post
is claimed in `handled_requests` under a key derived from the alert's group key, fingerprint and
start, in the transaction that queues it, so Alertmanager repeating the alert every
`repeat_interval` (or two replicas receiving it at once) posts it once; its resolution edits
that post. Without either setting the alert is only stored, and logged as a warning.
"""

from __future__ import annotations

import hashlib
import logging

from sqlmodel import select
from sqlmodel.ext.asyncio.session import AsyncSession

from bot.context import AppContext
from bot.oncall.inbound_payloads import AlertmanagerAlert
from bot.outbox import queue as outbox
from bot.storage import handled_requests as handled
from bot.storage.handled_requests import HandledRequest

log = logging.getLogger(__name__)
PREFIX = "unrouted:"


def anchor(group_key: str, alert: AlertmanagerAlert) -> str:
    digest = hashlib.sha256(f"{group_key}\0{alert.fingerprint}\0{alert.starts_at.isoformat()}".encode())
    return PREFIX + digest.hexdigest()[:40]


async def tell_unrouted(ctx: AppContext, *, group_key: str, alert: AlertmanagerAlert, title: str,
                        links: list[dict[str, str]]) -> str:
    """Post (or, resolved, edit) the alert in `unrouted_channel`; returns where it went, for the webhook's answer."""
    channel = ctx.config.unrouted_channel
    extra = {"fingerprint": alert.fingerprint, "alertname": alert.labels.get("alertname"), "status": alert.status}
    if channel is None:
        log.warning("alert matches no rotation and neither fallback_rotation nor unrouted_channel is set; "
                    "it is only stored", extra=extra)
        return "nowhere"
    log.warning("alert matches no rotation; posted in unrouted_channel", extra={**extra, "channel": channel})
    name, now = anchor(group_key, alert), ctx.clock.now()
    message = ctx.oncall_view.unrouted_alert(title=title, status=alert.status, labels=dict(alert.labels), links=links)
    async with ctx.db.session() as session:
        if alert.status == "firing":
            claim = await handled.claim(session, key=name, kind="unrouted-post", now=now)
            if not claim.repeat:
                outbox.post(session, thread=name, anchor=name, channel=channel, message=message, now=now)
        elif await _posted(session, name) and not (
                await handled.claim(session, key=f"{name}:resolved", kind="unrouted-resolve", now=now)).repeat:
            outbox.update(session, thread=name, target=name, channel=channel, message=message, now=now)
    return f"unrouted_channel:{channel}"


async def _posted(session: AsyncSession, name: str) -> bool:
    return (await session.exec(select(HandledRequest.key).where(HandledRequest.key == name))).first() is not None

