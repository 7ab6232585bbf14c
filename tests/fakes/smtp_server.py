"""A real SMTP server (aiosmtpd) on a free 127.0.0.1 port, in its own thread, keeping what it receives.

Optionally with STARTTLS (a self-signed certificate made with `openssl` for 127.0.0.1; `client_tls`
trusts it) and AUTH with one user and password. Tests script refusals: `refuse(code)` answers the
next recipients with that reply (a 4xx is temporary, a 5xx permanent).
"""

from __future__ import annotations

import shutil
import socket
import ssl
import subprocess
from dataclasses import dataclass, field
from email import message_from_bytes, policy
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP as SmtpProtocol
from aiosmtpd.smtp import AuthResult, Envelope, LoginPassword, Session

from tests.support.postgres_server import skip_or_fail


@dataclass
class Received:
    sender: str
    recipients: list[str]
    message: EmailMessage


@dataclass
class _Handler:
    received: list[Received] = field(default_factory=list)
    refusals: list[str] = field(default_factory=list)
    logins: list[str] = field(default_factory=list)

    async def handle_RCPT(self, server: SmtpProtocol, session: Session, envelope: Envelope, address: str,
                          options: list[str]) -> str:
        if self.refusals:
            return self.refusals.pop(0)
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: SmtpProtocol, session: Session, envelope: Envelope) -> str:
        content = envelope.content if isinstance(envelope.content, bytes) else str(envelope.content).encode()
        parsed = message_from_bytes(content, policy=policy.default)
        assert isinstance(parsed, EmailMessage)
        self.received.append(Received(str(envelope.mail_from), list(envelope.rcpt_tos), parsed))
        return "250 Message accepted for delivery"


class SmtpServer:
    def __init__(self, *, tls_dir: Path | None = None, login: tuple[str, str] | None = None) -> None:
        self.handler = _Handler()
        self.host = "127.0.0.1"
        self.port = free_port()
        self.login = login
        self.tls: ssl.SSLContext | None = None
        self.client_tls: ssl.SSLContext | None = None
        if tls_dir is not None:
            cert, key = _self_signed(tls_dir)
            self.tls = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
            self.tls.load_cert_chain(cert, key)
            self.client_tls = ssl.create_default_context(cafile=str(cert))
        kwargs: dict[str, Any] = {}
        if self.tls is not None:
            kwargs.update(tls_context=self.tls, require_starttls=True)
        if login is not None:
            kwargs.update(authenticator=self._authenticate, auth_required=True,
                          auth_require_tls=self.tls is not None)
        self.controller = Controller(self.handler, hostname=self.host, port=self.port, **kwargs)

    @property
    def received(self) -> list[Received]:
        return self.handler.received

    def refuse(self, reply: str, *, times: int = 1) -> None:
        """Answer the next `times` recipients with `reply`, e.g. "451 4.3.0 try later"."""
        self.handler.refusals += [reply] * times

    def start(self) -> SmtpServer:
        self.controller.start()
        return self

    def stop(self) -> None:
        self.controller.stop()

    def _authenticate(self, server: SmtpProtocol, session: Session, envelope: Envelope, mechanism: str,
                      data: Any) -> AuthResult:
        if isinstance(data, LoginPassword) and self.login is not None:
            user, password = data.login.decode(), data.password.decode()
            self.handler.logins.append(user)
            if (user, password) == self.login:
                return AuthResult(success=True)
        return AuthResult(success=False, handled=False)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _self_signed(directory: Path) -> tuple[Path, Path]:
    openssl = shutil.which("openssl")
    if openssl is None:
        skip_or_fail("openssl is not installed (Debian package `openssl`); it makes the STARTTLS test's certificate")
        pytest.skip("unreachable")  # skip_or_fail never returns
    cert, key = directory / "smtp-cert.pem", directory / "smtp-key.pem"
    subprocess.run([openssl, "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", str(key), "-out", str(cert),
                    "-days", "1", "-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1"],
                   check=True, capture_output=True)
    return cert, key
