"""`people:`, `twilio:` and `smtp:` (§6, §9): rules load with their defaults, and each rule the config
cannot deliver is refused with the person, the key and what is missing."""

from __future__ import annotations

from datetime import timedelta

import pytest

from bot.config.loader import parse_config
from bot.errors import ConfigError

TWILIO = ('twilio: {account_sid: AC0123456789abcdef0123456789abcdef, token_env: TWILIO_AUTH_TOKEN, '
          'from: "+15005550006"}\n')
SMTP = "smtp: {host: smtp.example.com, port: 587, starttls: true, user: switchman, password_env: SMTP_PASSWORD, " \
       "from: switchman@example.com}\n"


def problems_of(text: str) -> list[tuple[str, str]]:
    with pytest.raises(ConfigError) as caught:
        parse_config(text, "switchman.yml")
    return [(p.key, p.message) for p in caught.value.problems]


def test_people_with_rules_twilio_and_smtp_load() -> None:
    config = parse_config("""\
people:
  U01OPS1:
    phone: "+4915112345678"
    email: ops1@example.com
    timezone: Europe/Berlin
    notify: [{method: slack, after: 0s}, {method: sms, after: 1m}, {method: voice, after: 3m},
             {method: email, after: 10m}]
  U01OPS2: {timezone: America/Chicago}
""" + TWILIO + SMTP, "switchman.yml")
    ops1 = config.person("U01OPS1")
    assert [(r.method, r.after) for r in ops1.notify] == [
        ("slack", timedelta(0)), ("sms", timedelta(minutes=1)), ("voice", timedelta(minutes=3)),
        ("email", timedelta(minutes=10))]
    assert [(r.method, r.after) for r in config.person("U01OPS2").notify] == [("slack", timedelta(0))]
    assert [r.method for r in config.person("U0NOBODY").notify] == ["slack"]  # not listed: Slack alone
    assert config.twilio is not None and config.twilio.api_url == "https://api.twilio.com"
    assert config.twilio.sender == "+15005550006"
    assert config.smtp is not None and (config.smtp.starttls, config.smtp.sender) == (True, "switchman@example.com")


@pytest.mark.parametrize(("text", "key", "message"), [
    ("people:\n  U01OPS1: {notify: [{method: sms, after: 1m}]}\n" + TWILIO,
     "people.U01OPS1.notify", "an sms rule needs phone: (E.164, e.g. +4915112345678)"),
    ('people:\n  U01OPS1: {phone: "+4915112345678", notify: [{method: voice, after: 1m}]}\n',
     "people.U01OPS1.notify", "a voice rule needs a top-level twilio: block (account_sid, token_env, from)"),
    ("people:\n  U01OPS1: {email: a@example.com, notify: [{method: email}]}\n",
     "people.U01OPS1.notify", "an email rule needs a top-level smtp: block (host, port, from)"),
    ("people:\n  U01OPS1: {notify: [{method: email}]}\n" + SMTP,
     "people.U01OPS1.notify", "an email rule needs email:"),
    ("people:\n  U01OPS1: {notify: [{method: pager}]}\n", "people.U01OPS1.notify.0.method", "slack"),
    ("people:\n  U01OPS1: {notify: [{method: slack, after: 5}]}\n", "people.U01OPS1.notify.0.after", "unit"),
    ('people:\n  U01OPS1: {phone: "015112345678"}\n', "people.U01OPS1.phone", "wrong form"),
    ("people:\n  U01OPS1: {timezone: Mars/Olympus}\n", "people.U01OPS1.timezone", "not an IANA time zone"),
    ("people:\n  alice: {}\n", "people.alice", ""),
    ("smtp: {host: smtp.example.com, user: switchman, from: a@example.com}\n", "smtp",
     "give both user and password_env"),
    ("twilio: {account_sid: AC123, token_env: TWILIO_AUTH_TOKEN, from: \"+15005550006\"}\n", "twilio.account_sid",
     "wrong form"),
    ("twilio: {account_sid: AC0123456789abcdef0123456789abcdef, token: abc, from: \"+15005550006\"}\n", "twilio",
     ""),
])
def test_a_rule_the_config_cannot_deliver_is_refused_with_its_key(text: str, key: str, message: str) -> None:
    found = problems_of(text)
    assert any(k.startswith(key) and message in m for k, m in found), found


def test_a_rule_listed_twice_is_refused() -> None:
    text = ('people:\n  U01OPS1: {phone: "+4915112345678", '
            'notify: [{method: sms, after: 1m}, {method: sms, after: 60s}]}\n')
    assert ("people.U01OPS1.notify", "sms after 1m is listed twice") in problems_of(text + TWILIO)
