"""The `ContactChannels` a running Switchman has: Twilio for SMS and voice, SMTP for email, as configured.

A method whose block is missing from the config fails with a message saying so (validation already
refuses rules that need it, so this is only reached if the config changed under a running page).
"""

from __future__ import annotations

import httpx

from bot.clock import Clock
from bot.config.models import SwitchmanConfig
from bot.errors import ProviderError
from bot.notify.smtp import SmtpChannel
from bot.notify.twilio import TwilioChannels
from bot.providers.http import Sleep
from bot.settings import Settings


class Channels:
    def __init__(self, twilio: TwilioChannels | None, smtp: SmtpChannel | None) -> None:
        self.twilio = twilio
        self.smtp = smtp

    async def sms(self, to: str, body: str) -> str:
        return await self._twilio("SMS").sms(to, body)

    async def call(self, to: str, say: str) -> str:
        return await self._twilio("voice").call(to, say)

    async def email(self, to: str, subject: str, body: str) -> str:
        if self.smtp is None:
            raise ProviderError("email is not set up: the config has no smtp: block")
        return await self.smtp.email(to, subject, body)

    def _twilio(self, what: str) -> TwilioChannels:
        if self.twilio is None:
            raise ProviderError(f"{what} is not set up: the config has no twilio: block")
        return self.twilio


def build_channels(config: SwitchmanConfig, settings: Settings, http: httpx.AsyncClient, *, clock: Clock,
                   sleep: Sleep) -> Channels:
    twilio = smtp = None
    if config.twilio is not None:
        twilio = TwilioChannels(config.twilio, settings.secret(config.twilio.token_env), http, sleep=sleep,
                                clock=clock)
    if config.smtp is not None:
        password = settings.secret(config.smtp.password_env) if config.smtp.password_env else None
        smtp = SmtpChannel(config.smtp, password, sleep=sleep, clock=clock)
    return Channels(twilio, smtp)
