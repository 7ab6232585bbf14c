"""How people are reached when paged (§6, §9): `people:` with their contact methods and notification
rules, and the `twilio:` (SMS, voice) and `smtp:` (email) blocks those methods go through.

A rule is `{method, after}`, as PagerDuty's notification rules are: `after` counts from the moment the
person is paged (the page opening, or the escalation that reached them). The Slack DM needs no rule: it
is sent at once whatever the rules say. Secrets (the Twilio token, the SMTP password) are named by
environment variable, never given here.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Annotated, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import AfterValidator, Field, model_validator

from bot.config.durations import Duration, format_duration
from bot.config.gates import Strict

E164 = r"^\+[1-9][0-9]{6,14}$"
EMAIL = r"^[^@\s<>]+@[^@\s<>]+\.[^@\s<>]+$"
ENV_VAR = r"^[A-Z_][A-Z0-9_]*$"
PHONE_METHODS = ("sms", "voice")
Method = Literal["slack", "sms", "voice", "email"]


def _zone(name: str) -> str:
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise ValueError(f"{name!r} is not an IANA time zone (e.g. Europe/Berlin, America/Chicago, UTC)") from None
    return name


class NotifyRule(Strict):
    method: Method
    after: Duration = timedelta(0)


def _default_rules() -> list[NotifyRule]:
    return [NotifyRule(method="slack")]


class Person(Strict):
    phone: str | None = Field(default=None, pattern=E164, description="E.164, e.g. +4915112345678")
    email: str | None = Field(default=None, pattern=EMAIL, max_length=254)
    timezone: Annotated[str, AfterValidator(_zone)] | None = None
    notify: list[NotifyRule] = Field(default_factory=_default_rules, max_length=20)


class Twilio(Strict):
    account_sid: str = Field(pattern=r"^AC[0-9a-fA-F]{32}$")
    token_env: str = Field(pattern=ENV_VAR)
    sender: str = Field(alias="from", pattern=E164)
    api_url: str = Field(default="https://api.twilio.com", pattern=r"^https?://")
    timeout: Duration = timedelta(seconds=10)
    retries: int = Field(default=3, ge=0, le=10)


class Smtp(Strict):
    host: str = Field(min_length=1, max_length=253, pattern=r"^[A-Za-z0-9.-]+$|^\[[0-9a-fA-F:.]+\]$")
    port: int = Field(default=587, ge=1, le=65535)
    starttls: bool = True
    user: str | None = Field(default=None, min_length=1, max_length=256)
    password_env: str | None = Field(default=None, pattern=ENV_VAR)
    sender: str = Field(alias="from", pattern=EMAIL, max_length=254)
    timeout: Duration = timedelta(seconds=10)
    retries: int = Field(default=3, ge=0, le=10)

    @model_validator(mode="after")
    def _login(self) -> Smtp:
        if (self.user is None) != (self.password_env is None):
            raise ValueError("give both user and password_env to log in to the SMTP server, or neither")
        return self


def contact_problems(people: dict[str, Person], *, twilio: bool, smtp: bool) -> list[str]:
    """What the rules ask for that the config cannot deliver, as `people.U….notify: …` messages."""
    problems: list[str] = []
    for user, person in people.items():
        where = f"people.{user}.notify"
        for rule in person.notify:
            if rule.method in PHONE_METHODS and person.phone is None:
                problems.append(f"{where}: {_a(rule.method)} rule needs phone: (E.164, e.g. +4915112345678)")
            if rule.method in PHONE_METHODS and not twilio:
                problems.append(f"{where}: {_a(rule.method)} rule needs a top-level twilio: block "
                                "(account_sid, token_env, from)")
            if rule.method == "email" and person.email is None:
                problems.append(f"{where}: an email rule needs email:")
            if rule.method == "email" and not smtp:
                problems.append(f"{where}: an email rule needs a top-level smtp: block (host, port, from)")
        seen: set[tuple[str, timedelta]] = set()
        for rule in person.notify:
            if (rule.method, rule.after) in seen:
                problems.append(f"{where}: {rule.method} after {format_duration(rule.after)} is listed twice")
            seen.add((rule.method, rule.after))
    return list(dict.fromkeys(problems))


def _a(method: str) -> str:
    return f"an {method}" if method in ("sms", "email") else f"a {method}"
