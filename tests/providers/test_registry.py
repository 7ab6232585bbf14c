"""Building providers from switchman.yml: implemented kinds, not-yet-supported kinds, missing tokens."""

from __future__ import annotations

import httpx
import pytest

from bot.clock import ManualClock
from bot.config.models import SwitchmanConfig
from bot.errors import ProviderError
from bot.providers.argocd import ArgoCD
from bot.providers.github_actions import GitHubActions
from bot.providers.gitlab import GitLab
from bot.providers.jenkins import Jenkins
from bot.providers.registry import UnavailableProvider, build_providers
from bot.providers.sandbox import SandboxProvider
from bot.settings import Settings
from tests.providers.conftest import TOKEN

CONFIG = SwitchmanConfig.model_validate({"providers": {
    "sandbox": {"kind": "sandbox", "run_duration": "2s"},
    "gh": {"kind": "github_actions", "api_url": "https://ghe.example.com/api/v3", "token_env": "GITHUB_TOKEN"},
    "gh-other": {"kind": "github_actions", "api_url": "https://api.github.com", "token_env": "OTHER_GITHUB_TOKEN"},
    "gl": {"kind": "gitlab", "api_url": "https://gitlab.example.com", "token_env": "GITLAB_TOKEN"},
    "ci": {"kind": "jenkins", "api_url": "https://jenkins.example.com", "token_env": "JENKINS_TOKEN",
           "user": "switchman"},
    "ci-env-user": {"kind": "jenkins", "url": "https://jenkins.example.com/", "token_env": "JENKINS_TOKEN",
                    "user_env": "JENKINS_USER"},
    "cd": {"kind": "argocd", "api_url": "https://argocd.example.com", "token_env": "ARGOCD_TOKEN"},
}})


async def test_build_providers(clock: ManualClock, client: httpx.AsyncClient) -> None:
    settings = Settings.from_env({"GITHUB_TOKEN": TOKEN, "OTHER_GITHUB_TOKEN": "", "GITLAB_TOKEN": "glpat-" + "g" * 20,
                                  "JENKINS_TOKEN": "j" * 34, "ARGOCD_TOKEN": "argocd-token"})
    providers = build_providers(CONFIG, settings, client, clock)
    assert isinstance(providers["sandbox"], SandboxProvider)
    github = providers["gh"]
    assert isinstance(github, GitHubActions) and github.http.base_url == "https://ghe.example.com/api/v3"
    assert github.web_url == "https://ghe.example.com"
    gitlab = providers["gl"]
    assert isinstance(gitlab, GitLab) and gitlab.http.base_url == "https://gitlab.example.com/api/v4"
    jenkins = providers["ci"]
    assert isinstance(jenkins, Jenkins) and jenkins.http.base_url == "https://jenkins.example.com"
    assert jenkins.api.user == "switchman"
    no_user = providers["ci-env-user"]
    assert type(no_user) is UnavailableProvider and no_user.kind == "jenkins"
    with pytest.raises(ProviderError, match="has no user: set the environment variable JENKINS_USER"):
        await no_user.poll(None, None)  # type: ignore[arg-type]
    argocd = providers["cd"]
    assert isinstance(argocd, ArgoCD) and argocd.http.base_url == "https://argocd.example.com"
    missing = providers["gh-other"]
    assert type(missing) is UnavailableProvider and missing.kind == "github_actions"
    with pytest.raises(ProviderError, match="set the environment variable OTHER_GITHUB_TOKEN"):
        await missing.ci_status("acme/api", "a" * 40)
