"""The SMTP adapter against a real local server: STARTTLS and login, temporary replies retried with backoff,
permanent ones failed at once, an unreachable server failed after the bounded tries."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

from bot.clock import ManualClock
from bot.config.contacts import Smtp
from bot.errors import ProviderError
from bot.notify.smtp import SmtpChannel
from tests.fakes.smtp_server import SmtpServer, free_port

PASSWORD = "pw-" + "7e6d5c4b" * 3
NOW = datetime(2026, 11, 18, 10, 0, tzinfo=UTC)


class Waits:
    def __init__(self) -> None:
        self.delays: list[float] = []

    async def __call__(self, seconds: float) -> None:
        self.delays.append(seconds)


def channel(port: int, waits: Waits, *, starttls: bool = False, login: bool = False, retries: int = 3,
            server: SmtpServer | None = None) -> SmtpChannel:
    config = Smtp.model_validate({"host": "127.0.0.1", "port": port, "starttls": starttls, "from": "sw@example.com",
                                  "retries": retries, "timeout": "2s",
                                  **({"user": "switchman", "password_env": "SMTP_PASSWORD"} if login else {})})
    return SmtpChannel(config, PASSWORD if login else None, sleep=waits, clock=ManualClock(NOW),
                       tls=server.client_tls if server else None)


async def test_starttls_and_login_then_the_email_is_delivered(tmp_path: Path) -> None:
    server = SmtpServer(tls_dir=tmp_path, login=("switchman", PASSWORD)).start()
    try:
        message_id = await channel(server.port, Waits(), starttls=True, login=True, server=server).email(
            "ops@example.com", "[Switchman] Page #1", "Page #1: disk full\n")
    finally:
        server.stop()
    [got] = server.received
    assert got.recipients == ["ops@example.com"] and got.message["Message-ID"] == message_id
    assert message_id.endswith("@example.com>") and got.message["Subject"] == "[Switchman] Page #1"
    assert got.message.get_content().splitlines() == ["Page #1: disk full"] and server.handler.logins == ["switchman"]


async def test_a_server_that_requires_starttls_refuses_a_plain_session(tmp_path: Path) -> None:
    server = SmtpServer(tls_dir=tmp_path).start()
    try:
        with pytest.raises(ProviderError, match="refused the email: 530"):
            await channel(server.port, Waits()).email("ops@example.com", "s", "b")
    finally:
        server.stop()
    assert server.received == []


async def test_a_temporary_refusal_is_retried_with_backoff_and_a_permanent_one_is_not() -> None:
    server = SmtpServer().start()
    waits = Waits()
    try:
        server.refuse("451 4.3.0 try again later", times=2)
        await channel(server.port, waits).email("ops@example.com", "s", "b")
        assert len(server.received) == 1 and waits.delays == [1.0, 2.0]
        server.refuse("550 5.1.1 no such mailbox")
        with pytest.raises(ProviderError, match=r"refused the recipient: 550 5\.1\.1 no such mailbox"):
            await channel(server.port, waits).email("nobody@example.com", "s", "b")
        assert waits.delays == [1.0, 2.0] and len(server.received) == 1
    finally:
        server.stop()


async def test_an_unreachable_server_fails_after_the_bounded_tries() -> None:
    waits = Waits()
    with pytest.raises(ProviderError, match=r"failed to take an email to ops@example.com after 3 tries"):
        await channel(free_port(), waits, retries=2).email("ops@example.com", "s", "b")
    assert waits.delays == [1.0, 2.0]


async def test_a_missing_password_is_named_not_guessed() -> None:
    config = Smtp.model_validate({"host": "127.0.0.1", "from": "sw@example.com", "user": "u",
                                  "password_env": "SMTP_PASSWORD"})
    with pytest.raises(ProviderError, match="set the environment variable SMTP_PASSWORD"):
        await SmtpChannel(config, None, sleep=Waits(), clock=ManualClock(NOW)).email("ops@example.com", "s", "b")
