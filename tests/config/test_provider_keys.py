"""Provider blocks and what a service must say for the provider that deploys it (§7, §9): each
problem names its key and what to write instead."""

from __future__ import annotations

import pytest

from bot.config.loader import load_config, parse_config
from bot.errors import ConfigError
from bot.settings import EXAMPLE_CONFIG

PROVIDERS = """\
providers:
  gh: {kind: github_actions, api_url: "https://api.github.com", token_env: GITHUB_TOKEN}
  gl: {kind: gitlab, api_url: "https://gitlab.example.com", token_env: GITLAB_TOKEN}
  jk: {kind: jenkins, url: "https://jenkins.example.com", user: deploy-bot, token_env: JENKINS_TOKEN}
  cd: {kind: argocd, api_url: "https://argocd.example.com", token_env: ARGOCD_TOKEN, project: payments}
"""


def service(body: str) -> str:
    return PROVIDERS + "services:\n  api:\n    channel: \"#api\"\n" + body


def problems_of(text: str) -> list[tuple[str, str]]:
    with pytest.raises(ConfigError) as caught:
        parse_config(text, "switchman.yml")
    return [(p.key, p.message) for p in caught.value.problems]


def test_each_provider_kind_with_what_it_needs_loads() -> None:
    config = parse_config(PROVIDERS + """\
services:
  web:
    channel: "#web"
    provider: cd
    ci: gh
    repo: acme/web
    environments:
      staging: {application: web-staging}
      production: {application: web-production}
  batch:
    channel: "#batch"
    provider: jk
    ci: gl
    repo: acme/batch
    job: team/deploy-batch
    environments: {staging: {}}
  api:
    channel: "#api"
    provider: gl
    repo: acme/api
    environments: {staging: {}}
""")
    assert config.providers["jk"].api_url == "https://jenkins.example.com"  # `url:` is Jenkins' word for it
    assert config.services["web"].code_host == "gh"
    assert config.services["api"].code_host == "gl"
    assert config.services["web"].environments["production"].application == "web-production"


def test_a_deploy_only_provider_needs_a_ci_provider() -> None:
    found = problems_of(service("    provider: cd\n    repo: acme/api\n"
                                "    environments: {staging: {application: api-staging}}\n"))
    assert found == [("services.api.ci", "argocd deploys but does not know the code: name the provider that runs "
                                         "its CI (a github_actions or gitlab provider) as ci:")]


def test_ci_must_name_a_provider_that_runs_ci() -> None:
    found = problems_of(service("    provider: jk\n    ci: cd\n    repo: acme/api\n    job: deploy-api\n"
                                "    environments: {staging: {}}\n"))
    assert found[0][0] == "services.api.ci"
    assert "'cd' is a argocd provider, which does not run CI" in found[0][1]


def test_jenkins_needs_a_job_and_argocd_an_application_per_environment() -> None:
    assert problems_of(service("    provider: jk\n    ci: gh\n    repo: acme/api\n"
                               "    environments: {staging: {}}\n")) == [
        ("services.api.job", "a jenkins provider needs the job, as a folder path (team/deploy-api)")]
    found = problems_of(service("    provider: cd\n    ci: gh\n    repo: acme/api\n"
                                "    environments: {staging: {application: api-staging}, production: {}}\n"))
    assert [key for key, _ in found] == ["services.api.environments.production.application"]


@pytest.mark.parametrize(("block", "says"), [
    ('{kind: github_actions, api_url: "https://api.github.com", app_id: 12}',
     "missing installation_id, private_key_env"),
    ('{kind: github_actions, api_url: "https://api.github.com", token_env: T, app_id: 1, installation_id: 2, '
     'private_key_env: K}', "not both"),
    ('{kind: gitlab, api_url: "https://gitlab.example.com", app_id: 1, installation_id: 2, private_key_env: K}',
     "GitHub App keys are for a github_actions provider"),
    ('{kind: jenkins, api_url: "https://jenkins.example.com", token_env: T}', "needs user"),
    ('{kind: jenkins, api_url: "https://jenkins.example.com", user: u, token_env: T, trigger_token_env: X}',
     "trigger_token_env is for a gitlab provider"),
    ('{kind: argocd, token_env: T}', "needs api_url"),
])
def test_a_provider_block_missing_or_mixing_keys_says_which(block: str, says: str) -> None:
    found = problems_of(f"providers:\n  p: {block}\n")
    assert len(found) == 1 and found[0][0].startswith("providers.p")
    assert says in found[0][1]


def test_a_github_app_provider_needs_no_token_env() -> None:
    config = parse_config('providers:\n  gh: {kind: github_actions, api_url: "https://api.github.com", '
                          'app_id: 12, installation_id: 34, private_key_env: GITHUB_APP_KEY}\n')
    assert config.providers["gh"].github_app


def test_the_example_with_every_provider_and_contact_method_is_valid() -> None:
    config = load_config(EXAMPLE_CONFIG.parent / "all-providers.yml")
    assert {p.kind for p in config.providers.values()} == {"github_actions", "gitlab", "jenkins", "argocd"}
    assert config.providers["gh-app"].github_app
    assert {name: s.code_host for name, s in config.services.items()} == {
        "api": "gh-app", "billing": "gl", "batch": "gh", "web": "gl"}
    assert config.fallback_rotation == "api-oncall"
