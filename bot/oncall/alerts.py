"""Alerts as Alertmanager last reported them: stored on every delivery, asked "what fires for X now?".

`firing_alerts` is the question release verification asks (§5: "any Alertmanager alert firing
for the service"); it takes the caller's session, like every service function here.
"""

from __future__ import annotations

from datetime import datetime

from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from bot.oncall.alert_models import Alert, AlertStatus
from bot.oncall.inbound_payloads import AlertmanagerAlert


async def store_alert(session: AsyncSession, alert: AlertmanagerAlert, *, group_key: str, received_at: datetime
                      ) -> Alert:
    """Insert or update the alert with this fingerprint to what Alertmanager says now."""
    row = await session.get(Alert, alert.fingerprint, with_for_update=True)
    if row is None:
        row = Alert(fingerprint=alert.fingerprint, status=alert.status, starts_at=alert.starts_at,
                    group_key=group_key, received_at=received_at)
    row.status = alert.status
    row.service = (alert.labels.get("service") or None)
    row.labels = dict(alert.labels)
    row.annotations = dict(alert.annotations)
    row.starts_at = alert.starts_at
    row.ends_at = alert.ended_at
    row.generator_url = alert.generator_url or None
    row.group_key = group_key
    row.received_at = received_at
    session.add(row)
    await session.flush()
    return row


async def firing_alerts(session: AsyncSession, *, service: str) -> list[Alert]:
    """Alerts for `service` (their `service` label) whose last report was "firing", oldest first.

    Alertmanager reports every firing alert again each `repeat_interval` and sends "resolved"
    when it stops (with `send_resolved`, the default for webhooks), so the last report is the
    state to trust.
    """
    query = select(Alert).where(Alert.service == service, Alert.status == AlertStatus.FIRING)
    return list((await session.exec(query.order_by(col(Alert.starts_at), col(Alert.fingerprint)))).all())
