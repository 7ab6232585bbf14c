"""Twilio's Programmable Messaging and Voice: an SMS (`Messages.json`) and a call that reads a text
(`Calls.json` with inline TwiML), through the shared `ProviderHttp` (timeouts, bounded retries).

Both are POSTs Twilio acts on; they are retried on 5xx and timeouts as well as on 429, because a
page texted twice is a nuisance and a page never texted is an outage nobody hears of. Requests
authenticate with HTTP Basic (account SID, auth token); the token is registered with the log
scrubber and never appears in a message. Phone numbers appear in messages by their last four digits.
"""

from __future__ import annotations

import base64
from xml.sax.saxutils import escape

import httpx

from bot.clock import Clock
from bot.config.contacts import Twilio
from bot.errors import ProviderError
from bot.notify.phones import last_four, mask_numbers
from bot.providers.http import ProviderHttp, Sleep
from bot.structured_log import scrubber

SYSTEM = "Twilio"
MAX_SMS = 1600  # Twilio's limit on a message body


def twiml_say(text: str) -> str:
    """TwiML that reads `text` aloud (escaped: a page title is anyone's text)."""
    return f"<Response><Say>{escape(text)}</Say></Response>"


class TwilioChannels:
    def __init__(self, config: Twilio, token: str | None, client: httpx.AsyncClient, *, sleep: Sleep,
                 clock: Clock, backoff: float = 0.5) -> None:
        self.config = config
        self.token = token
        scrubber.register([token])
        basic = base64.b64encode(f"{config.account_sid}:{token or ''}".encode()).decode()
        self.http = ProviderHttp(client, system=SYSTEM, base_url=config.api_url,
                                 headers={"Authorization": f"Basic {basic}", "Accept": "application/json"},
                                 timeout=config.timeout.total_seconds(), retries=config.retries, sleep=sleep,
                                 clock=clock, backoff=backoff)

    async def sms(self, to: str, body: str) -> str:
        return await self._create("Messages.json", f"send an SMS to {last_four(to)}",
                                  {"To": to, "From": self.config.sender, "Body": body[:MAX_SMS]})

    async def call(self, to: str, say: str) -> str:
        return await self._create("Calls.json", f"call {last_four(to)}",
                                  {"To": to, "From": self.config.sender, "Twiml": twiml_say(say)})

    async def email(self, to: str, subject: str, body: str) -> str:
        raise ProviderError("email goes through SMTP, not Twilio")

    async def _create(self, resource: str, operation: str, form: dict[str, str]) -> str:
        if not self.token:
            raise ProviderError(f"Twilio has no auth token: set the environment variable {self.config.token_env} "
                                "(named by twilio.token_env)")
        path = f"/2010-04-01/Accounts/{self.config.account_sid}/{resource}"
        try:
            response = await self.http.request("POST", path, operation=operation, data=form, idempotent=True)
            body = self.http.json_of(response, operation)
        except ProviderError as exc:
            raise ProviderError(mask_numbers(str(exc))) from None
        sid = body.get("sid") if isinstance(body, dict) else None
        if not isinstance(sid, str) or not sid:
            raise ProviderError(f"Twilio answered {response.status_code} to {operation} without a sid")
        return sid
