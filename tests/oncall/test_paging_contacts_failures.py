"""Twilio and SMTP failing while a page waits: what is retried, what is recorded and shown, that escalation
goes on regardless, and that no secret or whole phone number reaches a log line."""

from __future__ import annotations

import json
import logging
from datetime import timedelta
from pathlib import Path

import pytest

from bot.oncall.models import ContactStatus
from tests.contracts.slack_contract import SlackContract
from tests.fakes.smtp_server import SmtpServer
from tests.fakes.twilio_server import FakeTwilio
from tests.oncall.contacts_scenario import (
    CONTACT_ENVIRON,
    EMAILS,
    PHONES,
    SMTP_PASSWORD,
    TWILIO_TOKEN,
    contacts,
    contacts_config,
    show_page,
    smtp,
    twilio,
)
from tests.oncall.paging_scenario import WEDNESDAY, dms, pagerduty_event, post
from tests.oncall.schedule_scenario import advance
from tests.oncall.test_paging import pair
from tests.release.scenario import scenario

__all__ = ["smtp", "twilio"]  # fixtures
LEAD = "U01LEAD"


async def test_twilio_5xx_and_429_are_retried_and_the_page_shows_what_was_sent(
        tmp_path: Path, slack_contract: SlackContract, twilio: FakeTwilio, smtp: SmtpServer) -> None:
    async with scenario(tmp_path, slack_contract, config=contacts_config(twilio.url, smtp), start=WEDNESDAY,
                        environ=CONTACT_ENVIRON) as s:
        primary, _ = await pair(s)
        await post(s, "/webhooks/events", pagerduty_event())
        twilio.inject(500, times=2)
        await advance(s, timedelta(minutes=1))
        assert [r.answered for r in twilio.tries("Messages")] == [500, 500, 201]
        twilio.inject(429, headers={"Retry-After": "1"})
        await advance(s, timedelta(minutes=2))
        assert [r.answered for r in twilio.tries("Calls")] == [429, 201]
        assert [r.status for r in await contacts(s)] == [ContactStatus.SENT, ContactStatus.SENT]
        answer = await show_page(s, primary, 1)
        assert "SMS to" in answer and ": sent" in answer and "failed" not in answer


async def test_a_permanent_refusal_is_recorded_as_failed_and_escalation_still_happens(
        tmp_path: Path, slack_contract: SlackContract, twilio: FakeTwilio, smtp: SmtpServer) -> None:
    async with scenario(tmp_path, slack_contract, config=contacts_config(twilio.url, smtp), start=WEDNESDAY,
                        environ=CONTACT_ENVIRON) as s:
        primary, _ = await pair(s)
        number = PHONES[primary]
        await post(s, "/webhooks/events", pagerduty_event())
        twilio.inject(400, code=21211, message=f"The 'To' number {number} is not a valid phone number.")
        await advance(s, timedelta(minutes=1))
        assert len(twilio.tries("Messages")) == 1  # a 4xx is not tried again
        [sms, _call] = await contacts(s)
        assert sms.status == ContactStatus.FAILED and sms.provider_id is None
        assert sms.error == (f"Twilio refused to send an SMS to …{number[-4:]}: 400 Bad Request — The 'To' number "
                             f"…{number[-4:]} is not a valid phone number.")
        assert number not in (sms.error or "")
        answer = await show_page(s, primary, 1)
        assert "*failed*" in answer and "is not a valid phone number" in answer and number not in answer

        twilio.inject(500, times=4)  # every try of the call fails: recorded after the bounded retries
        await advance(s, timedelta(minutes=2))
        [_, call] = await contacts(s)
        assert len(twilio.tries("Calls")) == 4
        assert call.status == ContactStatus.FAILED
        assert call.error is not None and "after 4 tries: 500 Internal Server Error" in call.error

        await advance(s, timedelta(minutes=2))  # nobody acked: escalation goes on, by Slack and email
        assert len(dms(s, LEAD)) == 1
        assert [m.recipients for m in smtp.received] == [[EMAILS[LEAD]]]


async def test_a_twilio_timeout_is_retried(tmp_path: Path, slack_contract: SlackContract, twilio: FakeTwilio,
                                           smtp: SmtpServer) -> None:
    config = contacts_config(twilio.url, smtp, timeout="300ms")
    async with scenario(tmp_path, slack_contract, config=config, start=WEDNESDAY, environ=CONTACT_ENVIRON) as s:
        await post(s, "/webhooks/events", pagerduty_event())
        twilio.hang()
        await advance(s, timedelta(minutes=1))
        assert [r.answered for r in twilio.tries("Messages")] == [0, 201]  # 0: never answered
        assert (await contacts(s))[0].status == ContactStatus.SENT


@pytest.mark.filterwarnings("ignore:Requiring AUTH while not requiring TLS:UserWarning")  # STARTTLS: test_smtp.py
async def test_an_smtp_refusal_fails_the_email_and_no_secret_or_number_reaches_a_log_line(
        tmp_path: Path, slack_contract: SlackContract, twilio: FakeTwilio, caplog: pytest.LogCaptureFixture) -> None:
    server = SmtpServer(login=("switchman", SMTP_PASSWORD)).start()
    try:
        caplog.set_level(logging.DEBUG)
        config = contacts_config(twilio.url, server, login=True)
        async with scenario(tmp_path, slack_contract, config=config, start=WEDNESDAY, environ=CONTACT_ENVIRON) as s:
            primary, _ = await pair(s)
            await post(s, "/webhooks/events", pagerduty_event())
            twilio.inject(500)
            twilio.inject(400, code=21211, message=f"The 'To' number {PHONES[primary]} is not a valid phone number.")
            server.refuse("550 5.1.1 mailbox unavailable")
            await advance(s, timedelta(minutes=6))
            rows = await contacts(s)
            assert [(r.method, r.status) for r in rows] == [
                ("sms", ContactStatus.FAILED), ("voice", ContactStatus.SENT), ("email", ContactStatus.FAILED),
                ("sms", ContactStatus.SCHEDULED)]  # the lead's, due at 7 min
            assert rows[2].error == (f"the SMTP server 127.0.0.1:{server.port} refused the recipient: "
                                     "550 5.1.1 mailbox unavailable")
            assert server.handler.logins == ["switchman"]  # it did log in, with the password from the environment
            answer = await show_page(s, primary, 1)
            shown = answer + json.dumps([r.model_dump(mode="json") for r in rows])
    finally:
        server.stop()
    logged = "\n".join(json.dumps(r.__dict__, default=str, ensure_ascii=False) for r in caplog.records)
    assert "page contact failed" in logged and "provider request retried" in logged
    for secret in (TWILIO_TOKEN, SMTP_PASSWORD):
        assert secret not in logged and secret not in shown
    for number in PHONES.values():
        assert number not in logged and number[1:] not in logged and number not in shown
    assert f"…{PHONES[primary][-4:]}" in logged


async def test_an_unexpected_error_while_sending_is_recorded_not_left_sending(
        tmp_path: Path, slack_contract: SlackContract, twilio: FakeTwilio, smtp: SmtpServer,
        monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture) -> None:
    async def broken(to: str, body: str) -> str:
        raise RuntimeError(f"boom for {to}")

    async with scenario(tmp_path, slack_contract, config=contacts_config(twilio.url, smtp), start=WEDNESDAY,
                        environ=CONTACT_ENVIRON) as s:
        assert s.stack.ctx.contacts is not None
        monkeypatch.setattr(s.stack.ctx.contacts, "sms", broken)
        await post(s, "/webhooks/events", pagerduty_event())
        await advance(s, timedelta(minutes=3))
        [sms, call] = (await contacts(s))[:2]
        assert sms.status == ContactStatus.FAILED and sms.error is not None
        assert sms.error.startswith("unexpected error (RuntimeError); correlation id ")
        assert call.status == ContactStatus.SENT  # the next rule still goes out
    logged = "\n".join(json.dumps(r.__dict__, default=str, ensure_ascii=False) for r in caplog.records)
    assert "page contact crashed" in logged and "RuntimeError" in logged
    assert all(number not in logged for number in PHONES.values())


async def test_a_missing_twilio_token_is_named_on_the_page(tmp_path: Path, slack_contract: SlackContract,
                                                           twilio: FakeTwilio, smtp: SmtpServer) -> None:
    environ = {k: v for k, v in CONTACT_ENVIRON.items() if k != "TWILIO_AUTH_TOKEN"}
    async with scenario(tmp_path, slack_contract, config=contacts_config(twilio.url, smtp), start=WEDNESDAY,
                        environ=environ) as s:
        primary, _ = await pair(s)
        await post(s, "/webhooks/events", pagerduty_event())
        await advance(s, timedelta(minutes=1))
        assert twilio.requests == []
        [sms, _] = await contacts(s)
        assert sms.status == ContactStatus.FAILED
        assert sms.error == "Twilio has no auth token: set the environment variable TWILIO_AUTH_TOKEN (named by " \
                            "twilio.token_env)"
        assert "TWILIO_AUTH_TOKEN" in await show_page(s, primary, 1)
