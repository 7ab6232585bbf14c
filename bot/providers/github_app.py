"""GitHub App authentication: an app JWT exchanged for installation tokens, cached and renewed (§7).

A `github_actions` provider configured with `app_id`, `installation_id` and `private_key_env`
acts as that installation of the app. `GitHubAppCredentials` is the provider's `Credentials`
source (see `http.py`): before a request it hands out the cached installation token, fetching a
new one when none is held or less than `REFRESH_MARGIN` of its life remains on the injected clock;
an asyncio lock makes many requests that need a token at the same moment share one exchange. A
401 on an ordinary call (GitHub revoked the token early) renews it once and the call is repeated.

The exchange is `POST {api_url}/app/installations/{installation_id}/access_tokens` with
`Authorization: Bearer <app JWT>`, answered 201 with `{token, expires_at, permissions,
repository_selection}` (401 for a JWT GitHub refuses, 403/404 for an installation it does not
know or that is suspended). The endpoint is not in the shared subset
(`../shared/contracts/github/github_actions_subset.json`): its shape comes from GitHub's REST
reference "Create an installation access token for an app" (operationId
`apps/create-installation-access-token`), and the JWT's claims from "Generating a JSON Web Token
(JWT) for a GitHub App": RS256, `iat` 60 s in the past against clock drift, `exp` no more than 10
minutes ahead, `iss` the app's id. `tests/fakes/github_server.py` checks both the same way.

Secrets: the private key (and each line of it), every JWT and every installation token are
registered with the log scrubber the moment Switchman holds them; error messages name GitHub, the
app and what to fix, never a credential.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from datetime import datetime, timedelta

import httpx
import jwt
from cryptography.hazmat.primitives.asymmetric.rsa import RSAPrivateKey
from cryptography.hazmat.primitives.serialization import load_pem_private_key

from bot.clock import Clock, SystemClock
from bot.config.models import Provider as ProviderConfig
from bot.errors import ProviderError
from bot.providers.github_api import DEFAULT_API_URL, as_dict, github_headers, segment
from bot.providers.http import ProviderHttp, Sleep
from bot.structured_log import scrubber

JWT_BACKDATE = timedelta(seconds=60)  # GitHub's advice against clock drift
JWT_LIFETIME = timedelta(minutes=9)  # from now; with the backdating exp - iat is GitHub's 10-minute maximum
REFRESH_MARGIN = timedelta(minutes=5)  # installation tokens live an hour; renew well before the end


@dataclass(frozen=True)
class InstallationToken:
    value: str
    expires_at: datetime


def load_private_key(pem: str, *, env: str) -> RSAPrivateKey:
    """The app's RSA private key from the PEM text in `env`; a ProviderError that says how to fix it."""
    # A PEM pasted into a one-line variable often arrives with literal \n escapes.
    text = pem.strip().replace("\\n", "\n")
    scrubber.register([pem, text, *(line.strip() for line in text.splitlines())])
    try:
        key = load_pem_private_key(text.encode(), password=None)
    except (ValueError, TypeError):
        key = None
    if not isinstance(key, RSAPrivateKey):
        raise ProviderError(f"the GitHub App private key in {env} is not an unencrypted PEM RSA private key: "
                            f"set {env} to the contents of the .pem file GitHub generated for the app")
    return key


class AppJwt:
    """`Credentials` for the app itself: a freshly signed JWT per request; renewing cannot help a refused one."""

    def __init__(self, app_id: int, key: RSAPrivateKey, clock: Clock) -> None:
        self.app_id = app_id
        self._key = key
        self._clock = clock

    def mint(self) -> str:
        now = self._clock.now()
        claims = {"iat": int((now - JWT_BACKDATE).timestamp()), "exp": int((now + JWT_LIFETIME).timestamp()),
                  "iss": str(self.app_id)}
        token = jwt.encode(claims, self._key, algorithm="RS256")
        scrubber.register([token])
        return token

    async def authorization(self) -> str:
        return f"Bearer {self.mint()}"

    async def rejected(self, authorization: str) -> bool:
        return False


class GitHubAppCredentials:
    """Installation tokens of one GitHub App installation, for `ProviderHttp(credentials=...)`."""

    def __init__(self, *, app_id: int, installation_id: int, private_key: str, private_key_env: str,
                 client: httpx.AsyncClient, api_url: str = DEFAULT_API_URL, clock: Clock | None = None,
                 sleep: Sleep = asyncio.sleep, timeout: float = 10.0, retries: int = 3,
                 refresh_margin: timedelta = REFRESH_MARGIN) -> None:
        self.app_id = app_id
        self.installation_id = installation_id
        self.private_key_env = private_key_env
        self._clock = clock or SystemClock()
        self.app_jwt = AppJwt(app_id, load_private_key(private_key, env=private_key_env), self._clock)
        self.http = ProviderHttp(client, system="GitHub", base_url=api_url, headers=github_headers(None),
                                 timeout=timeout, retries=retries, sleep=sleep, clock=self._clock,
                                 credentials=self.app_jwt)
        self.refresh_margin = refresh_margin
        self._token: InstallationToken | None = None
        self._lock = asyncio.Lock()

    @classmethod
    def from_config(cls, config: ProviderConfig, private_key: str, client: httpx.AsyncClient, *,
                    clock: Clock | None = None, sleep: Sleep = asyncio.sleep) -> GitHubAppCredentials:
        assert config.app_id and config.installation_id and config.private_key_env, "checked by the config model"
        return cls(app_id=config.app_id, installation_id=config.installation_id, private_key=private_key,
                   private_key_env=config.private_key_env, client=client,
                   api_url=(config.api_url or DEFAULT_API_URL).rstrip("/"), clock=clock, sleep=sleep,
                   timeout=config.timeout.total_seconds(), retries=config.retries)

    # --- Credentials ------------------------------------------------------------------------------
    async def authorization(self) -> str:
        token = self._token
        if token is None or self._due(token):
            async with self._lock:
                token = self._token
                if token is None or self._due(token):  # not renewed meanwhile by whoever held the lock
                    token = self._token = await self.exchange()
        return f"Bearer {token.value}"

    async def rejected(self, authorization: str) -> bool:
        async with self._lock:
            if self._token is not None and authorization == f"Bearer {self._token.value}":
                self._token = await self.exchange()
        return True

    def _due(self, token: InstallationToken) -> bool:
        return self._clock.now() >= token.expires_at - self.refresh_margin

    # --- the exchange -----------------------------------------------------------------------------
    async def exchange(self) -> InstallationToken:
        """A new installation token from GitHub (`POST /app/installations/{id}/access_tokens`)."""
        operation = f"issue an installation token for GitHub App {self.app_id} (installation {self.installation_id})"
        response = await self.http.request(
            "POST", f"/app/installations/{segment(self.installation_id)}/access_tokens", operation=operation,
            allow=(401, 403, 404), idempotent=True)  # each call only mints another token: safe to repeat
        if response.status_code == 401:
            raise ProviderError(
                f"GitHub refused the credentials of GitHub App {self.app_id} ({self._status(response)}): check that "
                f"app_id is the app's ID and that {self.private_key_env} holds a current private key of that app "
                "(a revoked or regenerated key is refused), and that this machine's clock is right")
        if response.status_code == 404:
            raise ProviderError(
                f"GitHub has no installation {self.installation_id} of GitHub App {self.app_id}: check "
                "installation_id (the number at the end of the installation's settings URL) and that the app is "
                "still installed on the organisation or repositories Switchman deploys")
        if response.status_code == 403:
            raise ProviderError(
                f"GitHub will not issue tokens for installation {self.installation_id} of GitHub App "
                f"{self.app_id} ({self._status(response)}): the installation may be suspended; check it in the "
                "organisation's GitHub App settings")
        data = as_dict(self.http.json_of(response, operation))
        value, expires = data.get("token"), data.get("expires_at")
        if not isinstance(value, str) or not value:
            raise ProviderError(f"GitHub's answer to {operation} carried no token")
        scrubber.register([value])
        return InstallationToken(value, _instant(expires, operation))

    def _status(self, response: httpx.Response) -> str:
        text = f"{response.status_code} {response.reason_phrase}".strip()
        try:
            message = as_dict(response.json()).get("message")
        except ValueError:
            message = None
        # Scrub before cutting: a secret cut in two would no longer be recognised.
        return scrubber.scrub(f"{text} — {scrubber.scrub(str(message))[:200]}" if message else text)


def _instant(value: object, operation: str) -> datetime:
    try:
        when = datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    except ValueError:
        when = None
    if when is None or when.tzinfo is None:
        raise ProviderError(f"GitHub's answer to {operation} did not say when the token expires")
    return when
