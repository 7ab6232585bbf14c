"""The wire to Argo CD's REST API: paths, the project, bearer auth, and refusals that say what to fix.

Every application call goes through `ArgoApi.call`, which sends it with `ProviderHttp` (timeouts,
retries with backoff on 5xx and 429) and turns 401, 403 and 404 into messages naming Argo CD, the
application and what to change; Argo CD's own words come from its `runtimeError` body. The
configured `project` goes out as the `project` query parameter on reads and terminations and as
the body's `project` on sync and rollback (the contract declares no query parameters there).
"""

from __future__ import annotations

import asyncio
from typing import Any
from urllib.parse import quote

import httpx

from bot.clock import Clock
from bot.config.models import Provider as ProviderConfig
from bot.errors import ProviderError
from bot.providers.argocd_app import AppView, as_dict
from bot.providers.http import ProviderHttp, Sleep
from bot.structured_log import scrubber

SYSTEM = "Argo CD"


class ArgoApi:
    """Calls about one application at a time, with the provider's base URL, token and project."""

    def __init__(self, config: ProviderConfig, token: str, client: httpx.AsyncClient, *, clock: Clock,
                 sleep: Sleep = asyncio.sleep, token_env: str | None = None) -> None:
        assert config.api_url is not None
        self.api_url = config.api_url.rstrip("/")
        self.project = config.project
        self.token_env = token_env or config.token_env or "the token_env variable"
        self.http = ProviderHttp(client, system=SYSTEM, base_url=self.api_url,
                                 headers={"Authorization": f"Bearer {token}", "Accept": "application/json",
                                          "User-Agent": "switchman"},
                                 timeout=config.timeout.total_seconds(), retries=config.retries, sleep=sleep,
                                 clock=clock)

    def path(self, app: str, tail: str = "") -> str:
        return f"/api/v1/applications/{quote(app, safe='')}{tail}"

    def query(self) -> dict[str, str] | None:
        return {"project": self.project} if self.project else None

    def body(self, app: str, **fields: Any) -> dict[str, Any]:
        return {"name": app, **({"project": self.project} if self.project else {}), **fields}

    async def call(self, method: str, app: str, tail: str, *, operation: str, action: str,
                   json: Any = None, allow: tuple[int, ...] = ()) -> httpx.Response:
        """One call about `app`; 401, 403 and 404 become messages that say what to fix."""
        response = await self.http.request(method, self.path(app, tail), operation=operation, json=json,
                                           params=self.query() if method != "POST" else None,
                                           allow=(401, 403, 404, *allow))
        status = response.status_code
        if status == 401:
            raise ProviderError(f"Argo CD refused Switchman's credentials to {operation} (401 Unauthorized): "
                                f"the token in {self.token_env} is invalid or has expired")
        if status == 403:
            raise ProviderError(self._forbidden(app, operation, action, response))
        if status == 404:
            in_project = f" in project {self.project}" if self.project else ""
            raise ProviderError(f"Argo CD has no application {app}{in_project} (404 while trying to {operation}"
                                f"{said(response)}); check the environment's application: in switchman.yml")
        return response

    def _forbidden(self, app: str, operation: str, action: str, response: httpx.Response) -> str:
        words = said(response)
        if "sync window" in words.lower():
            return (f"Argo CD refused to {operation} (403 Forbidden{words}): a sync window of the application's "
                    f"project forbids syncs now; wait for the window to open or ask an Argo CD admin")
        where = f"{self.project}/{app}" if self.project else app
        needs = f"`applications, {action}`"
        if action == "sync":  # a sync to a commit other than targetRevision may need override as well
            needs += (" (and `applications, override` if argocd-cm sets "
                      "application.sync.requireOverridePrivilegeForRevisionSync)")
        hint = "" if self.project else ("; or the application does not exist (without project: in the "
                                         "provider's config, Argo CD answers 403 for that too)")
        return (f"Argo CD denied permission to {operation} (403 Forbidden{words}): the token's account needs "
                f"{needs} on {where} in Argo CD's RBAC{hint}")

    async def application(self, app: str, *, operation: str | None = None) -> AppView:
        operation = operation or f"read application {app}"
        response = await self.call("GET", app, "", operation=operation, action="get")
        return AppView.of(app, as_dict(self.http.json_of(response, operation)))

    def web_url(self, app: str) -> str:
        return f"{self.api_url}/applications/{quote(app, safe='')}"


def said(response: httpx.Response) -> str:
    """Argo CD's own words: the runtimeError body's `message` (or `error`), as ': …'.

    Scrubbed before it is cut short: a server or proxy that echoes the request may repeat the token.
    """
    try:
        body = response.json()
    except ValueError:
        return ""
    body = as_dict(body)
    message = body.get("message") or body.get("error")
    return f": {scrubber.scrub(str(message))[:200]}" if message else ""
