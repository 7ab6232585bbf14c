"""The paging tables on SQLite and PostgreSQL: alert upserts, `firing_alerts`, one open page per key."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy.exc import IntegrityError
from sqlmodel import select

from bot.oncall.alert_models import Alert
from bot.oncall.alerts import firing_alerts, store_alert
from bot.oncall.inbound_payloads import AlertmanagerAlert, parse_alertmanager
from bot.oncall.models import Page, PageStatus
from bot.storage.database import Database
from tests.oncall.paging_scenario import alertmanager_payload

NOW = datetime(2026, 11, 18, 10, 0, tzinfo=UTC)


def _alert(status: str = "firing", **labels: str) -> AlertmanagerAlert:
    payload = alertmanager_payload(status=status, labels=labels or None)
    return parse_alertmanager(json.dumps(payload).encode()).alerts[0]


async def test_alerts_are_upserted_by_fingerprint_and_firing_alerts_reads_the_last_report(db: Database) -> None:
    async with db.session() as session:
        await store_alert(session, _alert(), group_key="g", received_at=NOW)
    async with db.session() as session:
        [firing] = await firing_alerts(session, service="api")
        assert (firing.fingerprint, firing.status, firing.ends_at) == ("c0ffee0123456789", "firing", None)
        assert firing.starts_at == datetime(2026, 11, 18, 9, 55, 0, 123456, tzinfo=UTC)
        assert await firing_alerts(session, service="web") == []
    async with db.session() as session:
        await store_alert(session, _alert("resolved"), group_key="g", received_at=NOW + timedelta(minutes=20))
    async with db.session() as session:
        assert await firing_alerts(session, service="api") == []
        [row] = (await session.exec(select(Alert))).all()
        assert (row.status, row.ends_at, row.received_at) == (
            "resolved", datetime(2026, 11, 18, 10, 20, tzinfo=UTC), NOW + timedelta(minutes=20))


async def test_only_one_page_per_rotation_and_dedup_key_is_open_at_a_time(db: Database) -> None:
    def page(status: str = PageStatus.TRIGGERED) -> Page:
        return Page(rotation="api-oncall", source="events", dedup_key="k", title="t", created_at=NOW, status=status)

    async with db.session() as session:
        session.add(page(PageStatus.RESOLVED))
        session.add(page(PageStatus.RESOLVED))
        session.add(page())
    with pytest.raises(IntegrityError):
        async with db.session() as session:
            session.add(page(PageStatus.ACKNOWLEDGED))
    async with db.session() as session:
        rows = (await session.exec(select(Page))).all()
        assert sorted(p.status for p in rows) == ["resolved", "resolved", "triggered"]
        assert all(p.escalated_to == [] for p in rows)
