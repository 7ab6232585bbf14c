"""The provider kinds the no-secret story (`test_no_secrets.py`) drives: each one's fake, config and secrets.

A `ProviderDriver` is everything the story needs of one provider kind: start and stop its
contract-checking fake, its YAML block (at the fake, or at a closed port), the keys a service and
its environment name, the environment holding its credentials, green refs, a burst of 5xx, a 401
on the next pipeline start, and every credential Switchman held or sent.

Jenkins and Argo CD deploy but do not run CI: a `DeployDriver` covers the deploy half, and
`WithCi` joins it to a GitHub or GitLab driver that serves as the service's `ci:` provider.

Every refusal the fakes send here echoes the credential the request carried (as a careless proxy
or a verbose server would), so a provider that relays a server's words into a thread without
scrubbing them is caught as well.
"""

from __future__ import annotations

import base64
import itertools
from dataclasses import dataclass, field
from typing import Protocol

from aiohttp import web

from bot.simulated_time import SimulatedTime
from tests.contracts.argocd_contract import ArgoCDContract
from tests.contracts.github_contract import GitHubContract
from tests.contracts.gitlab_contract import TRIGGER_OPERATION, GitLabContract
from tests.fakes.argocd_server import FakeArgoCD
from tests.fakes.github_app_auth import OPERATION_ID, new_app_key
from tests.fakes.github_server import FakeGitHub
from tests.fakes.gitlab_server import FakeGitLab
from tests.fakes.jenkins_server import FakeJenkins

GITLAB_PIPELINES = "getApiV4ProjectsIdPipelines"  # what ci_green reads
GITLAB_PIPELINE = "getApiV4ProjectsIdPipelinesPipelineId"  # what a deploy polls
GITLAB_CREATE = "postApiV4ProjectsIdPipeline"


class DeployDriver(Protocol):
    """One provider kind as it deploys in the story: its fake, its config and its secrets."""

    system: str  # how thread messages name the system ("GitHub")

    async def start(self, time: SimulatedTime) -> None: ...

    async def stop(self) -> list[str]:
        """Stop the fake; return the contract violations it saw."""
        ...

    def provider_block(self, url: str | None) -> str:
        """The provider's YAML mapping (`{kind: ..., ...}`) at `url`, or at the fake when None."""
        ...

    def service_keys(self) -> dict[str, str]:
        """What a service deploying through this provider names (repo and workflow, job)."""
        ...

    def environment_keys(self) -> dict[str, str]:
        """What the staging environment names for this provider (Argo CD's application)."""
        ...

    def environ(self) -> dict[str, str]: ...

    def server_errors(self) -> None:
        """A burst of 5xx on the deploy's calls that the retries (one per request here) absorb."""
        ...

    def refuse_next_start(self) -> None:
        """The provider answers the next start of a pipeline with 401 (even after a credential renewal)."""
        ...

    def refusal(self) -> str:
        """The words the thread of the refused start carries."""
        ...

    def secrets(self) -> list[str]:
        """Every credential Switchman held or sent, known after the run (tokens issued on the way included)."""
        ...


class ProviderDriver(DeployDriver, Protocol):
    """A provider kind that also answers for the code: refs, CI and the change preview."""

    def ci_block(self) -> str | None:
        """The YAML mapping of the separate `ci:` provider, or None when this one runs CI itself."""
        ...

    def green_ref(self) -> str:
        """A new ref whose CI is green, for the next release."""
        ...

    def ci_server_errors(self) -> None:
        """The part of the 5xx burst that hits CI calls (ci_green) only."""
        ...


@dataclass
class GitHubDriver:
    """GitHub Actions with a personal token, or as a GitHub App installation (`app=True`)."""

    app: bool
    system: str = "GitHub"
    token: str = "ghp_" + "N0Secret" * 4 + "abcd"
    app_id: int = 424242
    installation_id: int = 5150
    key_env: str = "SWITCHMAN_GH_APP_KEY"
    fake: FakeGitHub | None = None
    pem: str = ""
    _refs: itertools.count[int] = field(default_factory=lambda: itertools.count(1))

    @property
    def github(self) -> FakeGitHub:
        assert self.fake is not None, "start() first"
        return self.fake

    async def start(self, time: SimulatedTime) -> None:
        self.fake = await FakeGitHub(GitHubContract.load(), clock=time.now,
                                     token=None if self.app else self.token).start()
        self.fake.runs_advance_when_polled = True
        if self.app:
            self.pem, public_key = new_app_key()
            self.fake.enable_app(self.app_id, self.installation_id, public_key)

    async def stop(self) -> list[str]:
        await self.github.stop()
        return self.github.violations

    def provider_block(self, url: str | None) -> str:
        auth = (f"app_id: {self.app_id}, installation_id: {self.installation_id}, private_key_env: {self.key_env}"
                if self.app else "token_env: SWITCHMAN_GH_TOKEN")
        return f'{{kind: github_actions, api_url: "{url or self.github.url}", {auth}, retries: 1, timeout: 5s}}'

    def ci_block(self) -> str | None:
        return None

    def service_keys(self) -> dict[str, str]:
        return {"repo": "acme/api", "workflow": "deploy.yml"}

    def environment_keys(self) -> dict[str, str]:
        return {}

    def environ(self) -> dict[str, str]:
        return {self.key_env: self.pem} if self.app else {"SWITCHMAN_GH_TOKEN": self.token}

    def green_ref(self) -> str:
        n = next(self._refs)
        sha = self.github.add_ref(f"v1.{n}.0", f"{n:02x}" * 20)
        self.github.add_check_run(sha, "build")
        return f"v1.{n}.0"

    def ci_server_errors(self) -> None:
        self.github.inject(500, operation_id="checks/list-for-ref", times=1)
        if self.app:
            self.github.inject(503, operation_id=OPERATION_ID, times=1)  # the first token exchange, too

    def server_errors(self) -> None:
        self.ci_server_errors()
        self.github.inject(502, operation_id="actions/get-workflow-run", times=1)

    def refuse_next_start(self) -> None:
        if self.github.app is not None:
            self.github.app.revoke()  # the next call is refused, renews the token, and goes through
            echoed = " ".join(self.github.app.tokens)
        else:
            echoed = self.token
        self.github.inject(401, operation_id="actions/create-workflow-dispatch", times=2 if self.app else 1,
                           message=f"Bad credentials: {echoed}")

    def refusal(self) -> str:
        return "GitHub refused to start"

    def secrets(self) -> list[str]:
        found = [self.token] if not self.app else []
        if self.app:
            assert self.github.app is not None
            found += self.pem.strip().splitlines()[1:-1]  # every line of the key body
            found += list(self.github.app.tokens)
            found += [r.headers["Authorization"].removeprefix("Bearer ") for r in self.github.calls(OPERATION_ID)]
            assert self.github.app.tokens and self.github.calls(OPERATION_ID), "the app never authenticated"
        return found


@dataclass
class GitLabDriver:
    """GitLab CI/CD with a personal (PRIVATE-TOKEN) token; pipelines start by trigger token when `trigger`."""

    trigger: bool
    system: str = "GitLab"
    fake: FakeGitLab | None = None
    _refs: itertools.count[int] = field(default_factory=lambda: itertools.count(1))

    @property
    def token(self) -> str:
        # With a trigger token, a self-managed instance's custom token prefix: no built-in pattern knows it.
        return "ops-" + "Tr1gPat5" * 3 if self.trigger else "glpat-" + "N0LeakGL" * 3

    @property
    def trigger_token(self) -> str:
        return "glptt-" + "0f1e2d3c4b5a6978" * 2 + "ab"

    @property
    def gitlab(self) -> FakeGitLab:
        assert self.fake is not None, "start() first"
        return self.fake

    async def start(self, time: SimulatedTime) -> None:
        self.fake = await FakeGitLab(GitLabContract.load(), clock=time.now, token=self.token,
                                     trigger_token=self.trigger_token if self.trigger else None).start()

    async def stop(self) -> list[str]:
        await self.gitlab.stop()
        return self.gitlab.violations

    def provider_block(self, url: str | None) -> str:
        trigger = ", trigger_token_env: SWITCHMAN_GL_TRIGGER" if self.trigger else ""
        return (f'{{kind: gitlab, api_url: "{url or self.gitlab.url}", token_env: SWITCHMAN_GL_TOKEN{trigger}, '
                "retries: 1, timeout: 5s}")

    def ci_block(self) -> str | None:
        return None

    def service_keys(self) -> dict[str, str]:
        return {"repo": self.gitlab.project}

    def environment_keys(self) -> dict[str, str]:
        return {}

    def environ(self) -> dict[str, str]:
        return {"SWITCHMAN_GL_TOKEN": self.token,
                **({"SWITCHMAN_GL_TRIGGER": self.trigger_token} if self.trigger else {})}

    def green_ref(self) -> str:
        n = next(self._refs)
        sha = self.gitlab.add_ref(f"v1.{n}.0", f"{n:02x}" * 20, tag=True)
        self.gitlab.add_pipeline(sha, f"v1.{n}.0", "success", jobs=[("build", "success", None)])
        return f"v1.{n}.0"

    def ci_server_errors(self) -> None:
        self.gitlab.inject(502, operation_id=GITLAB_PIPELINES, message="502 Bad Gateway")

    def server_errors(self) -> None:
        self.ci_server_errors()
        self.gitlab.inject(500, operation_id=GITLAB_PIPELINE)

    def refuse_next_start(self) -> None:
        if self.trigger:
            self.gitlab.inject(401, operation_id=TRIGGER_OPERATION,
                               message=f"401 Unauthorized: trigger token {self.trigger_token} is not valid")
        else:
            self.gitlab.inject(401, operation_id=GITLAB_CREATE,
                               message=f"401 Unauthorized: PRIVATE-TOKEN {self.token} has been revoked")

    def refusal(self) -> str:
        return "GitLab refused to start"

    def secrets(self) -> list[str]:
        if self.trigger:
            assert self.gitlab.calls(TRIGGER_OPERATION), "no pipeline was started by the trigger token"
        return [self.token, *([self.trigger_token] if self.trigger else [])]


class EchoingJenkins(FakeJenkins):
    """The fake Jenkins, whose 401s (`refuse_builds`) echo the Authorization header the request carried."""

    refuse_builds = 0

    async def _handle(self, request: web.Request) -> web.StreamResponse:
        if self.refuse_builds and request.path.endswith("/buildWithParameters"):
            self.refuse_builds -= 1
            self.requests.append((request.method, request.path, dict(request.query), {}))
            return web.json_response({"message": "Invalid password/token for user: "
                                                 f"{request.headers.get('Authorization')}"}, status=401)
        return await super()._handle(request)


@dataclass
class JenkinsDeploy:
    """Jenkins with a user and an API token, behind CSRF protection (the crumb and its session cookie)."""

    system: str = "Jenkins"
    user: str = "switchman-bot"
    token: str = "11" + "a7c3f09b" * 4
    fake: EchoingJenkins | None = None

    @property
    def jenkins(self) -> EchoingJenkins:
        assert self.fake is not None, "start() first"
        return self.fake

    async def start(self, time: SimulatedTime) -> None:
        self.fake = await EchoingJenkins(clock=time.now, user=self.user, token=self.token).start()
        self.fake.crumb_required = True

    async def stop(self) -> list[str]:
        await self.jenkins.stop()
        return self.jenkins.violations

    def provider_block(self, url: str | None) -> str:
        return (f'{{kind: jenkins, url: "{url or self.jenkins.url}", user: {self.user}, '
                "token_env: SWITCHMAN_JENKINS_TOKEN, retries: 1, timeout: 5s}")

    def service_keys(self) -> dict[str, str]:
        return {"job": "team/deploy-api"}

    def environment_keys(self) -> dict[str, str]:
        return {}

    def environ(self) -> dict[str, str]:
        return {"SWITCHMAN_JENKINS_TOKEN": self.token}

    def server_errors(self) -> None:
        self.jenkins.inject(503, kind="queue_item")
        self.jenkins.inject(500, kind="build_info")

    def refuse_next_start(self) -> None:
        self.jenkins.refuse_builds = 1

    def refusal(self) -> str:
        return f"Jenkins refused the credentials of user {self.user} (401) to start job team/deploy-api"

    def secrets(self) -> list[str]:
        assert self.jenkins.crumbs, "Jenkins never handed out a crumb"
        basic = base64.b64encode(f"{self.user}:{self.token}".encode()).decode()
        return [self.token, basic, *self.jenkins.crumbs, *self.jenkins.crumbs.values()]


@dataclass
class ArgoCDDeploy:
    """Argo CD with a bearer token; the staging environment is the application `api-staging`."""

    system: str = "Argo CD"
    token: str = "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJzd2l0Y2htYW4ifQ." + "Q2FudFNlZU1l" * 3
    application: str = "api-staging"
    fake: FakeArgoCD | None = None

    @property
    def argocd(self) -> FakeArgoCD:
        assert self.fake is not None, "start() first"
        return self.fake

    async def start(self, time: SimulatedTime) -> None:
        self.fake = await FakeArgoCD(ArgoCDContract.load(), clock=time.now, token=self.token).start()
        self.fake.add_app(self.application, project="payments", revision="11" * 20)

    async def stop(self) -> list[str]:
        await self.argocd.stop()
        return self.argocd.violations

    def provider_block(self, url: str | None) -> str:
        return (f'{{kind: argocd, api_url: "{url or self.argocd.url}", token_env: SWITCHMAN_ARGOCD_TOKEN, '
                "project: payments, retries: 1, timeout: 5s}")

    def service_keys(self) -> dict[str, str]:
        return {}

    def environment_keys(self) -> dict[str, str]:
        return {"application": self.application}

    def environ(self) -> dict[str, str]:
        return {"SWITCHMAN_ARGOCD_TOKEN": self.token}

    def server_errors(self) -> None:
        self.argocd.inject(500, operation_id="ApplicationService_Get")

    def refuse_next_start(self) -> None:
        self.argocd.inject(401, operation_id="ApplicationService_Sync",
                           message=f"invalid session: token {self.token} has expired")

    def refusal(self) -> str:
        return f"Argo CD refused Switchman's credentials to sync application {self.application}"

    def secrets(self) -> list[str]:
        return [self.token]


@dataclass
class WithCi:
    """A deploy-only provider (Jenkins, Argo CD) whose services name `ci` as their `ci:` provider."""

    deploy: DeployDriver
    ci: ProviderDriver

    @property
    def system(self) -> str:
        return self.deploy.system

    async def start(self, time: SimulatedTime) -> None:
        await self.ci.start(time)
        await self.deploy.start(time)

    async def stop(self) -> list[str]:
        return [*await self.deploy.stop(), *await self.ci.stop()]

    def provider_block(self, url: str | None) -> str:
        return self.deploy.provider_block(url)

    def ci_block(self) -> str | None:
        return self.ci.provider_block(None)

    def service_keys(self) -> dict[str, str]:
        return {"repo": self.ci.service_keys()["repo"], **self.deploy.service_keys()}

    def environment_keys(self) -> dict[str, str]:
        return self.deploy.environment_keys()

    def environ(self) -> dict[str, str]:
        return {**self.ci.environ(), **self.deploy.environ()}

    def green_ref(self) -> str:
        return self.ci.green_ref()

    def ci_server_errors(self) -> None:
        self.ci.ci_server_errors()

    def server_errors(self) -> None:
        self.ci.ci_server_errors()
        self.deploy.server_errors()

    def refuse_next_start(self) -> None:
        self.deploy.refuse_next_start()

    def refusal(self) -> str:
        return self.deploy.refusal()

    def secrets(self) -> list[str]:
        return [*self.deploy.secrets(), *self.ci.secrets()]
