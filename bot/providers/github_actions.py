"""The GitHub Actions provider (§7): refs, CI verdicts, change previews, workflow runs and deployments.

Talks to the REST API at the provider's `api_url` (github.com or GitHub Enterprise Server's
`https://<host>/api/v3`) with the token from `token_env`, or as a GitHub App installation whose
short-lived tokens `github_app.py` mints and renews, through `ProviderHttp` (timeouts, retries,
thread-ready errors). Request and response shapes follow
`../shared/contracts/github/github_actions_subset.json`. Runs live in `github_runs.py` (including
how a dispatched run is found), the CI verdict in `github_checks.py` and the deployment mirror in
`github_deployments.py`.
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from datetime import datetime
from typing import Any

import httpx

from bot.clock import Clock, SystemClock
from bot.config.models import Provider as ProviderConfig
from bot.errors import ProviderError, RefNotFound
from bot.providers.base import ChangePreview, CiStatus, Commit, DeployTarget, PipelineRun, instant
from bot.providers.github_api import DEFAULT_API_URL, as_dict, github_headers, repo_path, segment, short, web_base
from bot.providers.github_checks import ci_verdict
from bot.providers.github_deployments import DeploymentMirror
from bot.providers.github_runs import CLOCK_SKEW, SEARCH_DELAYS, WorkflowRuns
from bot.providers.http import Credentials, ProviderHttp, Sleep

MAX_CHECK_PAGES = 10  # 1,000 check runs on one commit is plenty


class GitHubActions:
    """`Provider` for GitHub Actions; one instance per configured provider, shared by its services."""

    kind = "github_actions"

    def __init__(self, config: ProviderConfig, token: str | None, client: httpx.AsyncClient, *,
                 sleep: Sleep = asyncio.sleep, clock: Clock | None = None,
                 search_delays: tuple[float, ...] = SEARCH_DELAYS, credentials: Credentials | None = None) -> None:
        """Authenticates with `token` (a personal or fine-grained token), or with `credentials` (a GitHub App)."""
        if (token is None) == (credentials is None):
            raise ValueError("GitHubActions needs exactly one of a token or credentials")
        self.api_url = (config.api_url or DEFAULT_API_URL).rstrip("/")
        self.web_url = web_base(self.api_url)
        self._clock = clock or SystemClock()
        self.http = ProviderHttp(client, system="GitHub", base_url=self.api_url, headers=github_headers(token),
                                 timeout=config.timeout.total_seconds(), retries=config.retries, sleep=sleep,
                                 clock=self._clock, credentials=credentials)
        self.runs = WorkflowRuns(self.http, sleep, search_delays)
        self.deployments = DeploymentMirror(self.http)

    async def _get(self, path: str, *, operation: str, params: Mapping[str, Any] | None = None) -> Any:
        return self.http.json_of(await self.http.request("GET", path, operation=operation, params=params), operation)

    async def resolve_ref(self, repo: str | None, ref: str) -> str:
        # The combined-status answer carries the commit's full sha; a 1-status page keeps it small.
        operation = f"look up ref {ref} in {repo}"
        response = await self.http.request("GET", f"{repo_path(repo)}/commits/{segment(ref, slashes=True)}/status",
                                           operation=operation, params={"per_page": 1}, allow=(404, 422))
        if response.status_code == 422:
            raise RefNotFound(f"ref {ref} not found in {repo}")
        if response.status_code == 404:  # GitHub also says 404 for a repository the token cannot see
            raise RefNotFound(f"ref {ref} not found in {repo} (or the GitHub token cannot read {repo})")
        sha = as_dict(self.http.json_of(response, operation)).get("sha")
        if not isinstance(sha, str) or not sha:
            raise ProviderError(f"GitHub did not say which commit ref {ref} names in {repo}")
        return sha

    async def ci_status(self, repo: str | None, sha: str) -> CiStatus:
        base = f"{repo_path(repo)}/commits/{segment(sha, slashes=True)}"
        check_runs: list[dict[str, Any]] = []
        for page in range(1, MAX_CHECK_PAGES + 1):
            data = as_dict(await self._get(f"{base}/check-runs", params={"per_page": 100, "page": page},
                                           operation=f"list check runs of {short(sha)} in {repo}"))
            batch = [r for r in data.get("check_runs") or [] if isinstance(r, dict)]
            check_runs += batch
            if len(batch) < 100 or len(check_runs) >= int(data.get("total_count") or 0):
                break
        combined = as_dict(await self._get(f"{base}/status", params={"per_page": 100},
                                           operation=f"get the commit status of {short(sha)} in {repo}"))
        return ci_verdict(check_runs, combined, checks_url=f"{self.web_url}/{repo}/commit/{sha}/checks")

    async def compare(self, repo: str | None, base: str | None, head: str) -> ChangePreview:
        """Commits from `base` to `head`, oldest first; with no base (a first deploy) an empty preview."""
        if base is None:
            return ChangePreview(base_sha=None, head_sha=head, commits=[], total_commits=0, url=None)
        operation = f"compare {short(base)}...{short(head)} in {repo}"
        basehead = f"{segment(base, slashes=True)}...{segment(head, slashes=True)}"
        response = await self.http.request("GET", f"{repo_path(repo)}/compare/{basehead}", operation=operation,
                                           params={"per_page": 100}, allow=(404,))
        if response.status_code == 404:
            raise ProviderError(f"cannot compare {short(base)}...{short(head)}: {repo} does not have both commits")
        data = as_dict(self.http.json_of(response, operation))
        commits = [_commit(c) for c in data.get("commits") or [] if isinstance(c, dict)]
        files = [str(f["filename"]) for f in data.get("files") or [] if isinstance(f, dict) and "filename" in f]
        return ChangePreview(base_sha=as_dict(data.get("base_commit")).get("sha") or base, head_sha=head,
                             commits=commits, total_commits=int(data.get("total_commits") or len(commits)),
                             files=files, url=data.get("html_url"), ahead_by=_count(data.get("ahead_by")))

    async def dispatch(self, target: DeployTarget) -> PipelineRun:
        return await self.runs.dispatch(target, now=self._clock.now())

    async def find_run(self, target: DeployTarget, *, since: datetime) -> PipelineRun | None:
        return await self.runs.find_once(target, since=since - CLOCK_SKEW)

    async def poll(self, target: DeployTarget, run: PipelineRun) -> PipelineRun:
        return await self.runs.poll(target, run)

    async def cancel(self, target: DeployTarget, run: PipelineRun) -> None:
        await self.runs.cancel(target, run)

    async def report(self, target: DeployTarget, run: PipelineRun | None, state: str, description: str) -> None:
        await self.deployments.report(target, run, state, description)


def _count(value: object) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) and value >= 0 else None


def _commit(data: Mapping[str, Any]) -> Commit:
    inner = as_dict(data.get("commit"))
    message = str(inner.get("message") or "")
    author = as_dict(data.get("author")).get("login") or as_dict(inner.get("author")).get("name") or "unknown"
    return Commit(sha=str(data.get("sha")), title=message.splitlines()[0] if message else "",
                  author=str(author), url=data.get("html_url"),
                  committed_at=instant(as_dict(inner.get("committer")).get("date"))
                  or instant(as_dict(inner.get("author")).get("date")),
                  author_email=_email(as_dict(inner.get("author")).get("email")))


def _email(value: object) -> str | None:
    return value.strip() if isinstance(value, str) and "@" in value else None
