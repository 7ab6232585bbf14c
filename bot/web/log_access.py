"""Who is reading `/log/`: signed personal links, the session cookie they open, and a trusted SSO proxy.

A token is `v1.<payload>.<signature>`: the payload is compact JSON `{"k": kind, "u": viewer,
"exp": unix seconds}` in base64url, the signature HMAC-SHA256 over `v1.<payload>` with the server's
secret. A link (`k` = link) is what `/deploy log` hands one Slack user; opening it sets a session
cookie (`k` = session) for the same viewer. Changing any byte of either (another user's id, a later
expiry) breaks the signature. The secret comes from the environment or a file, is registered with the
log scrubber, and is never logged or rendered.

A reverse proxy's user header (oauth2-proxy's `X-Forwarded-Email`/`X-Forwarded-User`) is believed only
when the connection comes from one of the configured proxy networks; the same header from anywhere
else is refused outright, so a forged header is noticed rather than ignored.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from ipaddress import ip_address
from pathlib import Path

from bot.config.web_log import MIN_SECRET_BYTES, WebLog
from bot.structured_log import scrubber

VERSION = "v1"
COOKIE = "switchman_log"
MAX_TOKEN = 512  # longer than any token we sign: refused before decoding


class LogSecretMissing(RuntimeError):
    """No usable signing secret: `/log/` refuses everyone and `/deploy log` says why."""


class Via(StrEnum):
    LINK = "link"
    SESSION = "session"
    PROXY = "proxy"


@dataclass(frozen=True)
class Viewer:
    who: str  # a Slack user id (links) or what the proxy vouched for (an email, a user name)
    via: Via
    expires_at: datetime | None = None


@dataclass(frozen=True)
class Refusal:
    status: int  # 401: nobody identified; 403: someone tried and was not believed
    reason: str  # shown on the page and logged: says what to do, never what the secret is


def load_secret(config: WebLog, environ: Mapping[str, str]) -> bytes:
    """The signing secret from `secret_file` if set, else from the variable `secret_env` names."""
    if config.secret_file is not None:
        try:
            text = Path(config.secret_file).read_text(encoding="utf-8").strip()
        except OSError as exc:
            raise LogSecretMissing(f"web_log.secret_file {config.secret_file} cannot be read "
                                   f"({exc.strerror or type(exc).__name__})") from None
        where = f"the file {config.secret_file}"
    else:
        text = (environ.get(config.secret_env) or "").strip()
        where = config.secret_env
    if not text:
        raise LogSecretMissing(f"the web release log is not set up: set {where} to a random secret of at least "
                               f"{MIN_SECRET_BYTES} characters (e.g. `openssl rand -hex 32`)")
    scrubber.register([text])
    if len(text.encode()) < MIN_SECRET_BYTES:
        raise LogSecretMissing(f"the web log secret in {where} is too short: use at least {MIN_SECRET_BYTES} "
                               "random characters (e.g. `openssl rand -hex 32`)")
    return text.encode()


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def _signature(secret: bytes, signed: str) -> str:
    return _b64(hmac.new(secret, signed.encode(), hashlib.sha256).digest())


def sign(secret: bytes, *, kind: Via, who: str, expires_at: datetime) -> str:
    payload = _b64(json.dumps({"k": kind.value, "u": who, "exp": int(expires_at.timestamp())},
                              separators=(",", ":"), sort_keys=True).encode())
    signed = f"{VERSION}.{payload}"
    return f"{signed}.{_signature(secret, signed)}"


def personal_link(secret: bytes, config: WebLog, *, public_url: str, user: str, now: datetime) -> tuple[str, datetime]:
    """The `/deploy log` link for `user`, and when it stops working."""
    expires = now + config.link_expires
    return f"{public_url}/log/enter?t={sign(secret, kind=Via.LINK, who=user, expires_at=expires)}", expires


def session_token(secret: bytes, config: WebLog, *, who: str, now: datetime) -> tuple[str, datetime]:
    expires = now + config.session_expires
    return sign(secret, kind=Via.SESSION, who=who, expires_at=expires), expires


def read(secret: bytes, token: str, *, kind: Via, now: datetime) -> Viewer | Refusal:
    """The viewer a token names, or why it is refused (tampered, expired, the wrong kind)."""
    what = "link" if kind == Via.LINK else "session"
    again = "ask for a new one with `/deploy log` in Slack"
    parts = token.split(".") if len(token) <= MAX_TOKEN else []
    if len(parts) != 3 or parts[0] != VERSION:
        return Refusal(403, f"this {what} is not a Switchman web log {what}; {again}")
    if not hmac.compare_digest(parts[2], _signature(secret, f"{parts[0]}.{parts[1]}")):
        return Refusal(403, f"this {what} was altered or was signed with another secret; {again}")
    try:
        body = json.loads(_unb64(parts[1]))
        who, expires, stated = str(body["u"]), datetime.fromtimestamp(int(body["exp"]), tz=now.tzinfo), body["k"]
    except (ValueError, KeyError, TypeError, binascii.Error, OverflowError):
        return Refusal(403, f"this {what} cannot be read; {again}")
    if stated != kind.value:
        return Refusal(403, f"this is not a {what}; {again}")
    if now >= expires:
        return Refusal(403, f"this {what} expired at {expires:%Y-%m-%d %H:%M} UTC; {again}")
    return Viewer(who, kind, expires)


def from_proxy(config: WebLog, headers: Mapping[str, str], remote: str | None) -> Viewer | Refusal | None:
    """The user a trusted proxy vouches for; a refusal if the header came from elsewhere; None if no header."""
    named = next(((h, headers[h].strip()) for h in config.proxy_headers if headers.get(h, "").strip()), None)
    if named is None:
        return None
    header, value = named
    try:
        address = ip_address(remote or "")
    except ValueError:
        address = None
    if address is None or not any(address in network for network in config.trusted_proxies):
        return Refusal(403, f"a {header} header was sent from an address that is not a trusted proxy "
                            "(web_log.trusted_proxies); sign in through your single sign-on, or ask for a link "
                            "with `/deploy log` in Slack")
    if len(value) > 254 or any(ord(c) < 32 for c in value):
        return Refusal(403, f"the {header} header does not name a user")
    return Viewer(value, Via.PROXY)


def link_message(config: WebLog, environ: Mapping[str, str], *, public_url: str, user: str, now: datetime) -> str:
    """The ephemeral answer to `/deploy log`: the viewer's own link, or why there is none."""
    try:
        secret = load_secret(config, environ)
    except LogSecretMissing as exc:
        return f":warning: No link: {exc}."
    link, expires = personal_link(secret, config, public_url=public_url, user=user, now=now)
    return (f"Your personal link to the read-only release log (do not share it; it signs you in as you, "
            f"and it is recorded when it is used): {link}\nIt works until {expires:%Y-%m-%d %H:%M} UTC; after that "
            "ask again with `/deploy log`.")
