"""Build one provider per entry under `providers:` in switchman.yml.

Every kind the configuration accepts is implemented: GitHub Actions (a token, or a GitHub App),
GitLab, Jenkins, Argo CD and the sandbox. A provider whose secret (token, Jenkins user, App key) is
not in the environment becomes an `UnavailableProvider` whose every call raises a ProviderError
naming the variable — never its value. Every provider waits between retries with the process's
`sleep`, so simulated time (tests, `console --at`) governs its backoff too.
"""

from __future__ import annotations

import asyncio
from datetime import datetime
from typing import NoReturn

import httpx

from bot.clock import Clock
from bot.config.models import Provider as ProviderConfig
from bot.config.models import SwitchmanConfig
from bot.errors import ProviderError
from bot.providers.argocd import ArgoCD
from bot.providers.base import ChangePreview, CiStatus, DeployTarget, PipelineRun, Provider
from bot.providers.github_actions import GitHubActions
from bot.providers.github_app import GitHubAppCredentials
from bot.providers.gitlab import GitLab
from bot.providers.http import Sleep
from bot.providers.jenkins import Jenkins
from bot.providers.sandbox import SandboxProvider
from bot.settings import Settings


class UnavailableProvider:
    """A configured provider that cannot work; every call raises the same ProviderError."""

    def __init__(self, name: str, kind: str, reason: str) -> None:
        self.name = name
        self.kind = kind
        self.reason = reason

    def _fail(self) -> NoReturn:
        raise ProviderError(self.reason)

    async def resolve_ref(self, repo: str | None, ref: str) -> str:
        self._fail()

    async def ci_status(self, repo: str | None, sha: str) -> CiStatus:
        self._fail()

    async def compare(self, repo: str | None, base: str | None, head: str) -> ChangePreview:
        self._fail()

    async def dispatch(self, target: DeployTarget) -> PipelineRun:
        self._fail()

    async def find_run(self, target: DeployTarget, *, since: datetime) -> PipelineRun | None:
        self._fail()

    async def poll(self, target: DeployTarget, run: PipelineRun) -> PipelineRun:
        self._fail()

    async def cancel(self, target: DeployTarget, run: PipelineRun) -> None:
        self._fail()

    async def report(self, target: DeployTarget, run: PipelineRun | None, state: str, description: str) -> None:
        self._fail()


def build_providers(config: SwitchmanConfig, settings: Settings, client: httpx.AsyncClient,
                    clock: Clock, sleep: Sleep = asyncio.sleep) -> dict[str, Provider]:
    """Config provider name → provider instance; all share `client`, `clock` and `sleep`."""
    return {name: build_provider(name, entry, settings=settings, client=client, clock=clock, sleep=sleep)
            for name, entry in config.providers.items()}


def build_provider(name: str, entry: ProviderConfig, *, settings: Settings, client: httpx.AsyncClient,
                   clock: Clock, sleep: Sleep = asyncio.sleep) -> Provider:
    if entry.kind == "sandbox":
        return SandboxProvider(entry, clock=clock)
    if entry.github_app:
        return _github_app(name, entry, settings=settings, client=client, clock=clock, sleep=sleep)
    token = settings.secret(entry.token_env) if entry.token_env else None
    if token is None:
        return UnavailableProvider(name, entry.kind, f"provider {name!r} has no token: set the environment "
                                                     f"variable {entry.token_env} (named by token_env)")
    if entry.kind == "gitlab":
        trigger = settings.secret(entry.trigger_token_env) if entry.trigger_token_env else None
        return GitLab(entry, token, client, trigger_token=trigger, sleep=sleep, clock=clock)
    if entry.kind == "jenkins":
        user = entry.user or (settings.secret(entry.user_env) if entry.user_env else None)
        if user is None:
            return UnavailableProvider(name, entry.kind, f"provider {name!r} has no user: set the environment "
                                                         f"variable {entry.user_env} (named by user_env)")
        return Jenkins(entry, user, token, client, sleep=sleep, clock=clock)
    if entry.kind == "argocd":
        return ArgoCD(entry, token, client, sleep=sleep, clock=clock, token_env=entry.token_env)
    return GitHubActions(entry, token, client, sleep=sleep, clock=clock)


def _github_app(name: str, entry: ProviderConfig, *, settings: Settings, client: httpx.AsyncClient,
                clock: Clock, sleep: Sleep) -> Provider:
    assert entry.private_key_env is not None, "checked by the config model"
    key = settings.secret(entry.private_key_env)
    if key is None:
        return UnavailableProvider(name, entry.kind, f"provider {name!r} has no GitHub App private key: set the "
                                                     f"environment variable {entry.private_key_env} (named by "
                                                     "private_key_env) to the app's PEM private key")
    try:
        credentials = GitHubAppCredentials.from_config(entry, key, client, clock=clock)
    except ProviderError as exc:
        return UnavailableProvider(name, entry.kind, f"provider {name!r}: {exc}")
    return GitHubActions(entry, None, client, sleep=sleep, clock=clock, credentials=credentials)
