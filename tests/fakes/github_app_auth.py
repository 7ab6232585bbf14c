"""The fake GitHub's GitHub App side: it checks app JWTs and issues and honours installation tokens.

`POST /app/installations/{installation_id}/access_tokens` is not in the shared contract subset, so
its shape is written down here from GitHub's REST reference "Create an installation access token
for an app" (operationId `apps/create-installation-access-token`): an optional JSON body
(`repositories`, `repository_ids`, `permissions`), a 201 answer `{token, expires_at, permissions,
repository_selection}` and the usual error object for 401/403/404/422. The JWT is judged as
"Generating a JSON Web Token (JWT) for a GitHub App" describes: RS256 signed by the app's key,
`iss` the app id, `iat` not in the future (beyond 60 s of drift), `exp` not passed and no more
than 10 minutes after `iat` — all on the fake's clock, never the wall clock.
"""

from __future__ import annotations

import re
import secrets
import string
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

import jsonschema
import jwt
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.hazmat.primitives.asymmetric.rsa import RSAPublicKey
from cryptography.hazmat.primitives.serialization import Encoding, NoEncryption, PrivateFormat

from tests.contracts.github_contract import REQUIRED_HEADERS

OPERATION_ID = "apps/create-installation-access-token"
ACCESS_TOKENS_PATH = re.compile(r"^/app/installations/(?P<installation_id>[^/]+)/access_tokens$")
DRIFT = 60  # seconds of clock drift GitHub tolerates on iat
MAX_JWT_LIFETIME = 600  # exp - iat, seconds

_PERMISSION = {"type": "string", "enum": ["read", "write", "admin"]}
REQUEST_SCHEMA: dict[str, Any] = {"type": "object", "additionalProperties": False, "properties": {
    "repositories": {"type": "array", "items": {"type": "string"}},
    "repository_ids": {"type": "array", "items": {"type": "integer"}},
    "permissions": {"type": "object", "additionalProperties": _PERMISSION}}}
TOKEN_SCHEMA: dict[str, Any] = {
    "type": "object", "required": ["token", "expires_at"],
    "properties": {"token": {"type": "string"}, "expires_at": {"type": "string", "format": "date-time"},
                   "permissions": {"type": "object", "additionalProperties": _PERMISSION},
                   "repository_selection": {"type": "string", "enum": ["all", "selected"]},
                   "repositories": {"type": "array"}, "single_file": {"type": "string"},
                   "has_multiple_single_files": {"type": "boolean"},
                   "single_file_paths": {"type": "array", "items": {"type": "string"}}}}
ERROR_SCHEMA: dict[str, Any] = {"type": "object", "required": ["message"],
                                "properties": {"message": {"type": "string"}, "documentation_url": {"type": "string"}}}
# What a deploying app is granted (the README lists the same).
PERMISSIONS = {"actions": "write", "checks": "read", "statuses": "read", "contents": "read",
               "deployments": "write", "metadata": "read"}

Answer = tuple[int, Any, dict[str, str]]


def new_app_key() -> tuple[str, RSAPublicKey]:
    """A fresh RSA key pair for a test's GitHub App: the private key as PEM text (what GitHub hands out), and
    the public key the fake verifies with. Made per test run, so no key file is ever committed."""
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    pem = key.private_bytes(Encoding.PEM, PrivateFormat.TraditionalOpenSSL, NoEncryption()).decode()
    return pem, key.public_key()


def error(message: str) -> dict[str, str]:
    return {"message": message, "documentation_url": "https://docs.github.com/rest"}


@dataclass
class FakeApp:
    """One GitHub App with one installation, as the fake GitHub knows it."""

    app_id: int
    installation_id: int
    public_key: RSAPublicKey
    clock: Callable[[], datetime]
    token_lifetime: timedelta = timedelta(hours=1)
    tokens: dict[str, datetime] = field(default_factory=dict)  # issued token → when it expires
    refusals: list[str] = field(default_factory=list)  # why each refused JWT was refused

    def accepts(self, authorization: str | None) -> bool:
        """Whether `Authorization` carries an installation token that is still alive."""
        value = (authorization or "").removeprefix("Bearer ")
        expires = self.tokens.get(value)
        return expires is not None and self.clock() < expires

    def revoke(self) -> None:
        """Every token issued so far stops working (as when GitHub revokes them early)."""
        for value in self.tokens:
            self.tokens[value] = self.clock()

    def exchange(self, installation_id: str, headers: Mapping[str, str], body: Any) -> tuple[Answer, list[str]]:
        """The answer to one access_tokens request, and the contract problems with the request."""
        problems = [f"POST access_tokens: header {name} missing or malformed"
                    for name, pattern in REQUIRED_HEADERS.items() if not pattern.match(headers.get(name, ""))]
        if body is not None:
            problems += [f"POST access_tokens: body: {e.message}"
                         for e in jsonschema.Draft7Validator(REQUEST_SCHEMA).iter_errors(body)]
        if problems:
            return (422, error("Invalid request."), {}), problems
        refusal = self._judge(headers.get("authorization", "").removeprefix("Bearer "))
        if refusal is not None:
            self.refusals.append(refusal)
            return (401, error(refusal), {}), []
        if installation_id != str(self.installation_id):
            return (404, error("Not Found"), {}), []
        token = "ghs_" + "".join(secrets.choice(string.ascii_letters + string.digits) for _ in range(36))
        expires = self.clock() + self.token_lifetime
        self.tokens[token] = expires
        return (201, {"token": token, "expires_at": expires.strftime("%Y-%m-%dT%H:%M:%SZ"),
                      "permissions": dict(PERMISSIONS), "repository_selection": "selected"}, {}), []

    def _judge(self, token: str) -> str | None:
        """Why GitHub would refuse this app JWT, or None when it is good."""
        try:
            if jwt.get_unverified_header(token).get("alg") != "RS256":
                return "A JSON web token could not be decoded (not RS256)"
            claims = jwt.decode(token, self.public_key, algorithms=["RS256"],
                                options={"verify_exp": False, "verify_iat": False, "verify_nbf": False,
                                         "require": ["iat", "exp", "iss"]})
        except jwt.InvalidTokenError as exc:
            return f"A JSON web token could not be decoded ({type(exc).__name__})"
        now = self.clock().timestamp()
        iat, exp = claims["iat"], claims["exp"]
        if not isinstance(iat, int) or not isinstance(exp, int):
            return "'iat' and 'exp' must be integers"
        if str(claims["iss"]) != str(self.app_id):
            return f"Integration not found (iss {claims['iss']!r})"
        if iat > now + DRIFT:
            return "'Issued at' claim ('iat') must be an Integer representing a time in the past"
        if exp <= now:
            return "'Expiration time' claim ('exp') is in the past"
        if exp - iat > MAX_JWT_LIFETIME:
            return "'Expiration time' claim ('exp') is too far in the future"
        return None

    @staticmethod
    def answer_problems(status: int, body: Any) -> list[str]:
        schema = TOKEN_SCHEMA if status == 201 else ERROR_SCHEMA
        return [f"POST access_tokens answer {status}: {e.message}"
                for e in jsonschema.Draft7Validator(schema).iter_errors(body)]
