"""Build one provider per entry under `providers:` in switchman.yml.

GitHub Actions and the sandbox are implemented. GitLab, Jenkins and Argo CD entries still load
(so a config naming them is valid) as `UnsupportedProvider`, which raises "… is not supported yet"
only when used. A provider whose `token_env` variable is unset becomes an `UnavailableProvider`
whose every call raises a ProviderError naming the variable — never its value. A GitHub App
(`app_id`, `installation_id`, `private_key_env`) gets installation tokens from `github_app.py`;
a missing or unreadable private key makes it an `UnavailableProvider` the same way.
"""

from __future__ import annotations

from datetime import datetime
from typing import NoReturn

import httpx

from bot.clock import Clock
from bot.config.models import Provider as ProviderConfig
from bot.config.models import SwitchmanConfig
from bot.errors import ProviderError
from bot.providers.base import ChangePreview, CiStatus, DeployTarget, PipelineRun, Provider
from bot.providers.github_actions import GitHubActions
from bot.providers.github_app import GitHubAppCredentials
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


class UnsupportedProvider(UnavailableProvider):
    """A provider kind the configuration accepts but Switchman does not implement yet."""

    def __init__(self, name: str, kind: str) -> None:
        super().__init__(name, kind, f"provider {name!r}: {kind} is not supported yet "
                                     "(supported: github_actions, sandbox)")


def build_providers(config: SwitchmanConfig, settings: Settings, client: httpx.AsyncClient,
                    clock: Clock) -> dict[str, Provider]:
    """Config provider name → provider instance; all share `client` and `clock`."""
    return {name: build_provider(name, entry, settings=settings, client=client, clock=clock)
            for name, entry in config.providers.items()}


def build_provider(name: str, entry: ProviderConfig, *, settings: Settings, client: httpx.AsyncClient,
                   clock: Clock) -> Provider:
    if entry.kind == "sandbox":
        return SandboxProvider(entry, clock=clock)
    if entry.kind != "github_actions":
        return UnsupportedProvider(name, entry.kind)
    if entry.github_app:
        return _github_app(name, entry, settings=settings, client=client, clock=clock)
    token = settings.secret(entry.token_env) if entry.token_env else None
    if token is None:
        return UnavailableProvider(name, entry.kind, f"provider {name!r} has no token: set the environment "
                                                     f"variable {entry.token_env} (named by token_env)")
    return GitHubActions(entry, token, client, clock=clock)


def _github_app(name: str, entry: ProviderConfig, *, settings: Settings, client: httpx.AsyncClient,
                clock: Clock) -> Provider:
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
    return GitHubActions(entry, None, client, clock=clock, credentials=credentials)
