"""People reached per their notification rules: Slack DM at once, then SMS, a call and email at the configured
delays, through a contract-checked fake Twilio and a real SMTP server, on simulated time, until an ack stops it."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

from bot.oncall import contact_methods, escalation
from bot.oncall.models import ContactStatus, PageStatus
from bot.simulated_time import SimulatedTime
from tests.contracts.slack_contract import SlackContract
from tests.fakes.smtp_server import SmtpServer
from tests.fakes.twilio_server import FakeTwilio
from tests.oncall.contacts_scenario import (
    CONTACT_ENVIRON,
    EMAILS,
    FROM_NUMBER,
    PHONES,
    contacts,
    contacts_config,
    show_page,
    smtp,
    twilio,
)
from tests.oncall.paging_scenario import WEDNESDAY, dms, pagerduty_event, pages, post
from tests.oncall.schedule_scenario import advance
from tests.oncall.test_paging import pair
from tests.release.scenario import scenario

__all__ = ["smtp", "twilio"]  # fixtures
LEAD, HEAD = "U01LEAD", "U01HEAD"
TITLE = 'Disk <db-1> & "WAL" 95% full'


def event(dedup_key: str = "db-disk-full") -> dict[str, object]:
    return pagerduty_event(dedup_key=dedup_key, payload={"summary": TITLE, "source": "db-1.example.com",
                                                         "severity": "critical", "custom_details": {"free": "1 GB"}})


async def test_an_unacknowledged_page_goes_dm_then_sms_then_call_then_escalates_until_an_ack_stops_it(
        tmp_path: Path, slack_contract: SlackContract, twilio: FakeTwilio, smtp: SmtpServer) -> None:
    config = contacts_config(twilio.url, smtp)
    async with scenario(tmp_path, slack_contract, config=config, start=WEDNESDAY, environ=CONTACT_ENVIRON) as s:
        primary, shadow = await pair(s)
        status, _ = await post(s, "/webhooks/events", event())
        assert status == 202
        assert len(dms(s, primary)) == 1 and len(dms(s, shadow)) == 1  # the Slack DM at once
        assert twilio.requests == [] and smtp.received == []

        await advance(s, timedelta(seconds=59))
        assert twilio.requests == []
        await advance(s, timedelta(seconds=1))
        [sms] = twilio.sent("Messages")
        assert (sms["To"], sms["From"]) == (PHONES[primary], FROM_NUMBER)
        assert sms["Body"].startswith(f"Switchman page #1 (api-oncall): {TITLE}. Ack in Slack: /oncall ack 1")
        assert "slack.com/archives" in sms["Body"]  # the channel post's permalink
        assert twilio.sent("Calls") == []

        await advance(s, timedelta(minutes=2))
        [call] = twilio.sent("Calls")
        assert (call["To"], call["From"]) == (PHONES[primary], FROM_NUMBER)
        assert call["Twiml"] == ("<Response><Say>Switchman page 1 for api oncall. Disk &lt;db-1&gt; &amp; \"WAL\" "
                                 "95% full. Acknowledge it in Slack.</Say></Response>")
        assert dms(s, LEAD) == [] and smtp.received == []

        await advance(s, timedelta(minutes=2))  # five minutes without an ack: level 1, the lead
        assert len(dms(s, LEAD)) == 1
        [mail] = smtp.received
        assert mail.recipients == [EMAILS[LEAD]] and mail.sender == "switchman@example.com"
        assert mail.message["Subject"] == f"[Switchman] Page #1 (api-oncall): {TITLE}"
        body = mail.message.get_content()
        for expected in (f"Page #1: {TITLE}", "Opened: Wed 18 Nov 11:00 CET (events)", "Service: api", "Runbook: https://wiki.example.com/runbooks/api",
                         "custom_details.free: 1 GB",
                         "links: Disk dashboard https://grafana.example.com/d/disk", "/oncall ack 1",
                         "The page in Slack: "):
            assert expected in body

        await advance(s, timedelta(minutes=1))
        answer = await show_page(s, "U0ALICE", 1)
        assert f"SMS to <@{primary}> (…0001): sent" in answer or f"SMS to <@{primary}> (…0002): sent" in answer
        assert f"call to <@{primary}>" in answer and "id `CA" in answer
        assert f"email to <@{LEAD}> ({EMAILS[LEAD]}): sent" in answer
        assert f"SMS to <@{LEAD}> (…0003): due" in answer
        assert f"Slack DM to <@{LEAD}> (escalation, level 1)" in answer

        await s.command(LEAD, "ack 1", command="/oncall")
        assert any("you acknowledged page #1" in t for t in s.ephemerals(LEAD))
        await advance(s, timedelta(hours=1))
        # Exactly what was expected reached the providers: the lead's SMS (due at 7 min) was cancelled.
        assert [m["To"] for m in twilio.sent("Messages")] == [PHONES[primary]]
        assert [c["To"] for c in twilio.sent("Calls")] == [PHONES[primary]]
        assert [m.recipients for m in smtp.received] == [[EMAILS[LEAD]]]
        assert dms(s, HEAD) == []
        rows = await contacts(s)
        assert [(r.user, r.method, r.status) for r in rows] == [
            (primary, "sms", ContactStatus.SENT), (primary, "voice", ContactStatus.SENT),
            (LEAD, "email", ContactStatus.SENT), (LEAD, "sms", ContactStatus.CANCELLED)]
        assert [r.due_at - WEDNESDAY for r in rows] == [timedelta(minutes=m) for m in (1, 3, 5, 7)]
        assert "cancelled" in await show_page(s, "U0ALICE", 1)
        assert (await pages(s))[0].status == PageStatus.ACKNOWLEDGED


async def test_the_shadow_is_reached_by_their_rules_and_their_ack_stops_nothing(
        tmp_path: Path, slack_contract: SlackContract, twilio: FakeTwilio, smtp: SmtpServer) -> None:
    shadow_phones = {"U01DEV1": "+4915119999991", "U01DEV2": "+4915119999992"}
    config = contacts_config(twilio.url, smtp).replace("people:\n", "people:\n" + "".join(
        f'  {user}: {{phone: "{phone}", notify: [{{method: sms, after: 30s}}]}}\n'
        for user, phone in shadow_phones.items()))
    async with scenario(tmp_path, slack_contract, config=config, start=WEDNESDAY, environ=CONTACT_ENVIRON) as s:
        primary, shadow = await pair(s)
        await post(s, "/webhooks/events", event())
        await s.command(shadow, "ack 1", command="/oncall")  # "seen": nobody's rules stop
        await advance(s, timedelta(minutes=1))
        assert [m["To"] for m in twilio.sent("Messages")] == [shadow_phones[shadow], PHONES[primary]]
        await s.command(primary, "resolve 1", command="/oncall")  # a resolve cancels the rest
        await advance(s, timedelta(hours=1))
        assert twilio.sent("Calls") == [] and smtp.received == []
        assert [(r.user, r.method, r.status) for r in await contacts(s)] == [
            (primary, "sms", ContactStatus.SENT), (primary, "voice", ContactStatus.CANCELLED),
            (shadow, "sms", ContactStatus.SENT)]


async def test_a_restart_between_the_page_and_its_sms_sends_it_once(
        tmp_path: Path, slack_contract: SlackContract, twilio: FakeTwilio, smtp: SmtpServer) -> None:
    config = contacts_config(twilio.url, smtp)
    time = SimulatedTime(WEDNESDAY)
    async with scenario(tmp_path, slack_contract, config=config, time=time, environ=CONTACT_ENVIRON) as s:
        primary, _ = await pair(s)
        await post(s, "/webhooks/events", event())
        await advance(s, timedelta(seconds=30))
        assert twilio.requests == []
    later = SimulatedTime(time.now())
    async with scenario(tmp_path, slack_contract, config=config, time=later, environ=CONTACT_ENVIRON) as s:
        jobs = {j.id: j.at for j in s.stack.ctx.scheduler.jobs() if j.id.startswith("page-contact-")}
        assert jobs == {"page-contact-1": WEDNESDAY + timedelta(minutes=1),
                        "page-contact-2": WEDNESDAY + timedelta(minutes=3)}
        await advance(s, timedelta(seconds=30))
        assert [m["To"] for m in twilio.sent("Messages")] == [PHONES[primary]]
        # A second replica planning again, and the job run twice, send nothing more.
        await escalation.plan_jobs(s.stack.ctx)
        await contact_methods.send(s.stack.ctx, 1)
        await advance(s, timedelta(minutes=1))
        assert len(twilio.sent("Messages")) == 1 and len(twilio.sent("Calls")) == 0
        await advance(s, timedelta(minutes=1))
        assert len(twilio.sent("Messages")) == 1 and len(twilio.sent("Calls")) == 1


async def test_a_shadow_zone_given_in_people_decides_their_business_hours(
        tmp_path: Path, slack_contract: SlackContract, twilio: FakeTwilio, smtp: SmtpServer) -> None:
    # 14:30 UTC on a Wednesday: 15:30 in Berlin (their Slack profile) but 20:00 in Kolkata (their people: entry).
    config = contacts_config(twilio.url, smtp).replace("people:\n", "people:\n" + "".join(
        f"  {user}: {{timezone: Asia/Kolkata}}\n" for user in ("U01DEV1", "U01DEV2")))
    async with scenario(tmp_path, slack_contract, config=config, start=WEDNESDAY.replace(hour=14, minute=30),
                        environ=CONTACT_ENVIRON) as s:
        _, shadow = await pair(s)
        assert s.stack.workspace.users[shadow].tz != "Asia/Kolkata"
        await post(s, "/webhooks/events", event())
        [page] = await pages(s)
        assert page.shadow_note is not None and "Wed 20:00 in Asia/Kolkata" in page.shadow_note
        assert dms(s, shadow) == []
