"""Talking to Jenkins' remote access API: job URLs, Basic auth, the CSRF crumb, and errors that say what failed.

Jenkins has no machine-readable spec; what it does is written down in
`../shared/contracts/ci_endpoints.md` (Jenkins section). Authentication is HTTP Basic with a user
and that user's API token. Jenkins since 2.96 needs no CSRF crumb for requests made with an API
token, but older servers, and requests authenticated with a password, do: a POST then answers 403
"No valid crumb was included in the request". `JenkinsApi.post` answers that by fetching a crumb
from `/crumbIssuer/api/json`, sending it as the header the issuer names (`crumbRequestField`,
normally `Jenkins-Crumb`) together with the session cookie the crumb is bound to, and trying once
more. The crumb is kept for later POSTs and fetched again when Jenkins stops accepting it.
A 404 from the crumb issuer means CSRF protection is off, so the 403 was about permissions.
"""

from __future__ import annotations

import base64
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote

import httpx

from bot.errors import ProviderError
from bot.providers.http import ProviderHttp
from bot.structured_log import scrubber

SYSTEM = "Jenkins"
PERMISSIONS = "Overall/Read, Job/Read, Job/Build and Job/Cancel"


def basic_auth(user: str, token: str) -> dict[str, str]:
    pair = base64.b64encode(f"{user}:{token}".encode()).decode("ascii")
    return {"Authorization": f"Basic {pair}", "Accept": "application/json", "User-Agent": "switchman"}


def job_path(job: str | None, service: str) -> str:
    """`team/deploy-api` → `/job/team/job/deploy-api` (each folder level is a `/job/` segment)."""
    if not job:
        raise ProviderError(f"service {service} has no job configured; Jenkins needs job: <folder path>, "
                            "e.g. team/deploy-api")
    return "".join(f"/job/{quote(part, safe='')}" for part in job.strip("/").split("/"))


def as_dict(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


@dataclass
class JenkinsApi:
    """`ProviderHttp` plus what Jenkins adds: the crumb dance and Jenkins' own refusals."""

    http: ProviderHttp
    user: str
    token_env: str | None = None
    crumb: dict[str, str] = field(default_factory=dict)  # header(s) to send with each POST, once learnt

    async def get_json(self, path: str, *, operation: str, params: Mapping[str, Any] | None = None,
                       missing: str | None = None) -> dict[str, Any] | None:
        """The JSON object at `path`; None on 404 when `missing` is None, else a ProviderError saying `missing`."""
        response = await self.http.request("GET", path, operation=operation, params=params, allow=(401, 403, 404))
        if response.status_code == 404 and missing is None:
            return None
        self.check(response, operation, missing=missing)
        return as_dict(self.http.json_of(response, operation))

    async def post(self, path: str, *, operation: str, params: Mapping[str, Any] | None = None,
                   data: Mapping[str, str] | None = None, idempotent: bool = False,
                   allow: tuple[int, ...] = ()) -> httpx.Response:
        """POST with the crumb when Jenkins wants one; 401/403 and anything not in `allow` stay for `check`."""
        statuses = (*allow, 401, 403, 404)
        response = await self.http.request("POST", path, operation=operation, params=params, data=data,
                                           headers=self.crumb, allow=statuses, idempotent=idempotent)
        if response.status_code == 403 and wants_crumb(response):
            if not await self._learn_crumb(operation):
                return response
            response = await self.http.request("POST", path, operation=operation, params=params, data=data,
                                               headers=self.crumb, allow=statuses, idempotent=idempotent)
        return response

    async def _learn_crumb(self, operation: str) -> bool:
        """Fetch a crumb and its session cookie; False when Jenkins has no crumb issuer (CSRF is off)."""
        what = f"get a CSRF crumb (to {operation})"
        response = await self.http.request("GET", "/crumbIssuer/api/json", operation=what, allow=(401, 403, 404))
        if response.status_code == 404:
            return False
        self.check(response, what)
        data = as_dict(self.http.json_of(response, what))
        name, value = data.get("crumbRequestField"), data.get("crumb")
        if not isinstance(name, str) or not isinstance(value, str) or not name or not value:
            raise ProviderError(f"Jenkins' crumb issuer gave no crumb (needed to {operation})")
        headers = {name: value}
        scrubber.register([value, *response.cookies.values()])  # the crumb and its session act as the user
        cookie = "; ".join(f"{k}={v}" for k, v in response.cookies.items())
        if cookie:  # the crumb is only valid in the web session it was issued for (Jenkins 2.176.2+)
            headers["Cookie"] = cookie
        self.crumb = headers
        return True

    def check(self, response: httpx.Response, operation: str, *, missing: str | None = None) -> None:
        """Raise the thread-ready error for Jenkins' refusals; a 2xx (or an allowed status) passes."""
        status = response.status_code
        if status == 401:
            where = f"the API token in {self.token_env}" if self.token_env else "its API token"
            raise ProviderError(f"Jenkins refused the credentials of user {self.user} (401) to {operation}: "
                                f"check the user and {where}")
        if status == 403:
            reason = "it wants a CSRF crumb Switchman could not obtain" if wants_crumb(response) else \
                f"the user lacks a permission (Switchman needs {PERMISSIONS})"
            raise ProviderError(f"Jenkins refused user {self.user} (403) to {operation}: {reason}")
        if status == 404:
            raise ProviderError(missing or f"Jenkins answered 404 Not Found to {operation}")
        if not response.is_success and status not in (201, 302, 303):
            raise self.http.refused(operation, response)


def wants_crumb(response: httpx.Response) -> bool:
    return response.status_code == 403 and "crumb" in response.text.lower()
