"""The paging test bed with people reached by SMS, voice and email: a fake Twilio and a real SMTP server."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator

import pytest
from sqlmodel import col, select

from bot.oncall.models import PageContact
from tests.fakes.smtp_server import SmtpServer
from tests.fakes.twilio_server import FakeTwilio
from tests.oncall.paging_scenario import ENVIRON, PAGING_CONFIG
from tests.oncall.schedule_scenario import oncall
from tests.release.scenario import Scenario

ACCOUNT_SID = "AC" + "0123456789abcdef" * 2
TWILIO_TOKEN = "twilio-token-" + "9f8e7d6c" * 3
SMTP_PASSWORD = "smtp-pass-" + "5a4b3c2d" * 3
FROM_NUMBER = "+15005550006"
PHONES = {"U01OPS1": "+4915110000001", "U01OPS2": "+4915110000002", "U01LEAD": "+4915110000003",
          "U01HEAD": "+4915110000004"}
EMAILS = {user: f"{user.lower()}@example.com" for user in PHONES}
CONTACT_ENVIRON = {**ENVIRON, "TWILIO_AUTH_TOKEN": TWILIO_TOKEN, "SMTP_PASSWORD": SMTP_PASSWORD}


def contacts_config(twilio_url: str, smtp: SmtpServer, *, timeout: str = "10s", login: bool = False) -> str:
    """PAGING_CONFIG plus people: each primary by SMS after 1m and a call after 3m; the first escalation
    target by email at once and SMS after 2m; the second by Slack alone (no entry)."""
    primary_rules = "[{method: slack, after: 0s}, {method: sms, after: 1m}, {method: voice, after: 3m}]"
    people = "\n".join(
        f'  {user}: {{phone: "{PHONES[user]}", email: {EMAILS[user]}, timezone: Europe/Berlin, notify: {rules}}}'
        for user, rules in (("U01OPS1", primary_rules), ("U01OPS2", primary_rules),
                            ("U01LEAD", "[{method: email, after: 0s}, {method: sms, after: 2m}]")))
    auth = ", user: switchman, password_env: SMTP_PASSWORD" if login else ""
    return PAGING_CONFIG + f"""
people:
{people}
twilio: {{account_sid: {ACCOUNT_SID}, token_env: TWILIO_AUTH_TOKEN, from: "{FROM_NUMBER}", api_url: "{twilio_url}",
          timeout: {timeout}}}
smtp: {{host: 127.0.0.1, port: {smtp.port}, starttls: false, from: switchman@example.com{auth}}}
"""


@pytest.fixture
async def twilio() -> AsyncIterator[FakeTwilio]:
    fake = await FakeTwilio(account_sid=ACCOUNT_SID, token=TWILIO_TOKEN).start()
    yield fake
    await fake.stop()
    assert fake.violations == [], f"requests Twilio would have rejected: {fake.violations}"


@pytest.fixture
def smtp() -> Iterator[SmtpServer]:
    server = SmtpServer().start()
    yield server
    server.stop()


async def contacts(s: Scenario) -> list[PageContact]:
    async with s.stack.ctx.db.session() as session:
        return list((await session.exec(select(PageContact).order_by(col(PageContact.id)))).all())


async def show_page(s: Scenario, user: str, page_id: int) -> str:
    return await oncall(s, user, f"page {page_id}")
