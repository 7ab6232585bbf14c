"""Email through an SMTP server (stdlib `smtplib` in a worker thread), with STARTTLS when configured.

A temporary failure — the server unreachable or slow, a 4xx reply, a dropped connection — is
tried again with exponential backoff, `smtp.retries` times; a permanent one (a 5xx reply, a login
refused, a server without STARTTLS when it is required) fails at once. Error messages name the
server and the reply, never the password. Each email gets its own Message-ID, returned as the
provider's id.
"""

from __future__ import annotations

import asyncio
import logging
import smtplib
import ssl
from email.message import EmailMessage
from email.utils import format_datetime, make_msgid

from bot.clock import Clock
from bot.config.contacts import Smtp
from bot.errors import ProviderError
from bot.providers.http import Sleep
from bot.structured_log import scrubber

log = logging.getLogger(__name__)
MAX_BACKOFF = 30.0


class _Temporary(Exception):
    pass


class SmtpChannel:
    def __init__(self, config: Smtp, password: str | None, *, sleep: Sleep, clock: Clock,
                 tls: ssl.SSLContext | None = None, backoff: float = 1.0) -> None:
        self.config = config
        self.password = password
        scrubber.register([password])
        self.sleep = sleep
        self.clock = clock
        self.tls = tls or ssl.create_default_context()
        self.backoff = backoff

    @property
    def server(self) -> str:
        return f"{self.config.host}:{self.config.port}"

    async def email(self, to: str, subject: str, body: str) -> str:
        if self.config.password_env and not self.password:
            raise ProviderError(f"the SMTP server needs a password: set the environment variable "
                                f"{self.config.password_env} (named by smtp.password_env)")
        message = EmailMessage()
        message["From"] = self.config.sender
        message["To"] = to
        message["Subject"] = subject
        message["Date"] = format_datetime(self.clock.now())
        message["Message-ID"] = make_msgid(domain=self.config.sender.rsplit("@", 1)[-1])
        message.set_content(body)
        attempts = self.config.retries + 1
        for attempt in range(1, attempts + 1):
            try:
                await asyncio.to_thread(self._deliver, message)
                return str(message["Message-ID"])
            except _Temporary as exc:
                if attempt == attempts:
                    tries = "1 try" if attempts == 1 else f"{attempts} tries"
                    raise ProviderError(f"the SMTP server {self.server} failed to take an email to {to} after "
                                        f"{tries}: {exc}") from None
                delay = min(MAX_BACKOFF, self.backoff * 2 ** (attempt - 1))
                log.warning("email retried", extra={"server": self.server, "attempt": attempt, "outcome": str(exc),
                                                    "delay_s": delay})
                await self.sleep(delay)
        raise AssertionError("unreachable")  # pragma: no cover

    def _deliver(self, message: EmailMessage) -> None:
        """One attempt, in a worker thread: connect, STARTTLS, log in, send."""
        timeout = self.config.timeout.total_seconds()
        try:
            with smtplib.SMTP(self.config.host, self.config.port, timeout=timeout) as smtp:
                if self.config.starttls:
                    smtp.starttls(context=self.tls)
                if self.config.user:
                    smtp.login(self.config.user, self.password or "")
                smtp.send_message(message)
        except smtplib.SMTPNotSupportedError:
            raise ProviderError(f"the SMTP server {self.server} does not offer STARTTLS, which smtp.starttls "
                                "requires") from None
        except smtplib.SMTPAuthenticationError as exc:
            raise ProviderError(f"the SMTP server {self.server} refused the login of {self.config.user}: "
                                f"{_reply(exc.smtp_code, exc.smtp_error)}") from None
        except smtplib.SMTPRecipientsRefused as exc:
            codes = [code for code, _ in exc.recipients.values()]
            text = "; ".join(_reply(code, error) for code, error in exc.recipients.values())
            if all(400 <= code < 500 for code in codes):
                raise _Temporary(text) from None
            raise ProviderError(f"the SMTP server {self.server} refused the recipient: {text}") from None
        except smtplib.SMTPResponseException as exc:
            if 400 <= exc.smtp_code < 500:
                raise _Temporary(_reply(exc.smtp_code, exc.smtp_error)) from None
            raise ProviderError(f"the SMTP server {self.server} refused the email: "
                                f"{_reply(exc.smtp_code, exc.smtp_error)}") from None
        except ssl.SSLError as exc:
            raise ProviderError(f"the TLS handshake with the SMTP server {self.server} failed: "
                                f"{exc.reason or type(exc).__name__}") from None
        except (smtplib.SMTPServerDisconnected, smtplib.SMTPException) as exc:
            raise _Temporary(str(exc) or type(exc).__name__) from None
        except TimeoutError:
            raise _Temporary(f"no answer within {timeout:g}s") from None
        except OSError as exc:
            raise _Temporary(exc.strerror or type(exc).__name__) from None


def _reply(code: int, error: bytes | str) -> str:
    text = error.decode(errors="replace") if isinstance(error, bytes) else str(error)
    return f"{code} {text}".strip()
