"""The `web_log:` section of switchman.yml: who may read the read-only release log under `/log/` (§10).

The signing secret itself is never in the file: `secret_env` names the environment variable that holds
it, or `secret_file` a file (a mounted Kubernetes Secret). Links from `/deploy log` expire after
`link_expires`; the session they open lasts `session_expires`. A reverse proxy doing single sign-on
(oauth2-proxy) is trusted only from the `trusted_proxies` networks, and only through `proxy_headers`.
"""

from __future__ import annotations

from datetime import timedelta
from ipaddress import IPv4Network, IPv6Network
from typing import Annotated

from pydantic import Field, field_validator

from bot.config.durations import Duration, format_duration
from bot.config.gates import Strict

ENV_VAR = r"^[A-Z_][A-Z0-9_]*$"
HEADER = r"^[A-Za-z][A-Za-z0-9-]{0,63}$"
DEFAULT_SECRET_ENV = "SWITCHMAN_WEB_LOG_SECRET"
MIN_SECRET_BYTES = 32


class WebLog(Strict):
    secret_env: str = Field(default=DEFAULT_SECRET_ENV, pattern=ENV_VAR)
    secret_file: str | None = Field(default=None, min_length=1, max_length=4096)
    link_expires: Duration = timedelta(minutes=15)
    session_expires: Duration = timedelta(hours=8)
    trusted_proxies: list[IPv4Network | IPv6Network] = Field(default_factory=list)
    proxy_headers: list[Annotated[str, Field(pattern=HEADER)]] = Field(
        default_factory=lambda: ["X-Forwarded-Email", "X-Forwarded-User"], min_length=1)
    page_size: int = Field(default=50, ge=10, le=500)

    @field_validator("link_expires", "session_expires")
    @classmethod
    def _bounded(cls, value: timedelta) -> timedelta:
        if not timedelta(minutes=1) <= value <= timedelta(days=30):
            raise ValueError("must be between 1m and 30d")
        return value


def describe(config: WebLog) -> str:
    """One line for `switchman check-config`: how the web log is reached (the secret's source, never its value)."""
    secret = f"the file {config.secret_file}" if config.secret_file else f"${config.secret_env}"
    proxies = (f"trusts {', '.join(str(n) for n in config.trusted_proxies)} as SSO proxies "
               f"({', '.join(config.proxy_headers)})" if config.trusted_proxies else "no trusted SSO proxy")
    link, session = format_duration(config.link_expires), format_duration(config.session_expires)
    return f"web log /log/: /deploy log links signed with {secret}, valid {link}, sessions {session}; {proxies}"
