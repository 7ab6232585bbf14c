"""The GitLab CI/CD provider (§7): refs, CI verdicts, change previews, pipelines and deployments.

Talks to REST v4 under the provider's `api_url` (gitlab.com or a self-hosted instance) with the
token from `token_env` in the PRIVATE-TOKEN header, through `ProviderHttp` (timeouts, retries,
thread-ready errors). Shapes follow `../shared/contracts/gitlab/gitlab_ci_subset.json`.
Pipelines (start, find, poll, cancel) live in `gitlab_pipelines.py`, the deployment mirror in
`gitlab_deployments.py`.

The CI verdict for a commit is the newest pipeline GitLab ran for it, leaving out the pipelines
started through the API or a trigger (Switchman's own deploy pipelines are such) unless there is
no other: success → PASS; failed or canceled → FAIL, naming the failed jobs; skipped → NONE
(nothing ran); anything else → PENDING.
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from datetime import datetime, timedelta
from typing import Any

import httpx

from bot.clock import Clock, SystemClock
from bot.config.models import Provider as ProviderConfig
from bot.errors import ProviderError
from bot.providers.base import ChangePreview, CiStatus, CiVerdict, Commit, DeployTarget, PipelineRun, instant
from bot.providers.gitlab_api import (
    API_PREFIX,
    as_dict,
    as_list,
    gitlab_headers,
    instance_url,
    not_found,
    project_path,
    segment,
    short,
)
from bot.providers.gitlab_deployments import Deployments
from bot.providers.gitlab_pipelines import MAX_JOB_NAMES, PIPELINE_SOURCES, Pipelines
from bot.providers.http import ProviderHttp, Sleep
from bot.structured_log import scrubber

CLOCK_SKEW = timedelta(seconds=60)


class GitLab:
    """`Provider` for GitLab CI/CD; one instance per configured provider, shared by its services."""

    kind = "gitlab"

    def __init__(self, config: ProviderConfig, token: str, client: httpx.AsyncClient, *,
                 trigger_token: str | None = None, sleep: Sleep = asyncio.sleep, clock: Clock | None = None) -> None:
        self.web_url = instance_url(config.api_url or "https://gitlab.com")
        scrubber.register([token, trigger_token])  # PRIVATE-TOKEN is not an Authorization header
        self._clock = clock or SystemClock()
        common: dict[str, Any] = {"system": "GitLab", "base_url": self.web_url + API_PREFIX, "sleep": sleep,
                                  "timeout": config.timeout.total_seconds(), "retries": config.retries,
                                  "clock": self._clock}
        self.http = ProviderHttp(client, headers=gitlab_headers(token), **common)
        # The trigger API is authenticated by the trigger token in the body; the personal token stays home.
        trigger = ProviderHttp(client, headers={"Accept": "application/json", "User-Agent": "switchman"},
                               **common) if trigger_token else None
        missing = config.trigger_token_env if config.trigger_token_env and not trigger_token else None
        self.pipelines = Pipelines(self.http, trigger, trigger_token, missing_trigger_env=missing)
        self.deployments = Deployments(self.http)

    async def _get(self, path: str, *, operation: str, params: Mapping[str, Any] | None = None) -> Any:
        return self.http.json_of(await self.http.request("GET", path, operation=operation, params=params), operation)

    async def resolve_ref(self, repo: str | None, ref: str) -> str:
        operation = f"look up ref {ref} in {repo}"
        response = await self.http.request("GET", f"{project_path(repo)}/repository/commits/{segment(ref)}",
                                           operation=operation, params={"stats": "false"}, allow=(404,))
        if response.status_code == 404:
            raise not_found(repo, f"ref {ref}", response)
        sha = as_dict(self.http.json_of(response, operation)).get("id")
        if not isinstance(sha, str) or not sha:
            raise ProviderError(f"GitLab did not say which commit ref {ref} names in {repo}")
        return sha

    async def ci_status(self, repo: str | None, sha: str) -> CiStatus:
        base = project_path(repo)
        pipelines = as_list(await self._get(f"{base}/pipelines", operation=f"list pipelines of {short(sha)} in {repo}",
                                            params={"sha": sha, "order_by": "id", "sort": "desc", "per_page": 20}))
        commit_url = f"{self.web_url}/{repo}/-/commit/{sha}/pipelines"
        ci = [p for p in pipelines if p.get("source") not in PIPELINE_SOURCES] or pipelines
        if not ci:
            return CiStatus(CiVerdict.NONE, "no pipelines for this commit in GitLab", url=commit_url)
        latest = ci[0]
        pid, status, url = latest.get("id"), str(latest.get("status")), latest.get("web_url") or commit_url
        if status == "success":
            return CiStatus(CiVerdict.PASS, f"pipeline {pid} passed", url=url)
        if status == "skipped":
            return CiStatus(CiVerdict.NONE, f"pipeline {pid} was skipped: nothing ran for this commit", url=url)
        if status not in ("failed", "canceled"):
            return CiStatus(CiVerdict.PENDING, f"pipeline {pid} is {status.replace('_', ' ')}", url=url)
        jobs = as_list(await self._get(f"{base}/pipelines/{segment(str(pid))}/jobs",
                                       operation=f"list the jobs of pipeline {pid} in {repo}",
                                       params={"per_page": 100}))
        bad = [str(j.get("name")) for j in jobs
               if j.get("status") in ("failed", "canceled") and not j.get("allow_failure")]
        verb = "failed" if status == "failed" else "was canceled"
        if not bad:
            return CiStatus(CiVerdict.FAIL, f"pipeline {pid} {verb}", url=url, failing=[f"pipeline {pid}"])
        more = f" and {len(bad) - MAX_JOB_NAMES} more" if len(bad) > MAX_JOB_NAMES else ""
        summary = f"pipeline {pid} {verb}: {', '.join(bad[:MAX_JOB_NAMES])}{more}"
        return CiStatus(CiVerdict.FAIL, summary, url=url, failing=bad)

    async def compare(self, repo: str | None, base: str | None, head: str) -> ChangePreview:
        """Commits from `base` to `head` (merge-base comparison), oldest first; no base → an empty preview."""
        if base is None:
            return ChangePreview(base_sha=None, head_sha=head, commits=[], total_commits=0, url=None)
        operation = f"compare {short(base)}...{short(head)} in {repo}"
        response = await self.http.request("GET", f"{project_path(repo)}/repository/compare", operation=operation,
                                           params={"from": base, "to": head}, allow=(404,))
        if response.status_code == 404:
            raise not_found(repo, f"one of {short(base)} and {short(head)}", response)
        data = as_dict(self.http.json_of(response, operation))
        commits = [_commit(c) for c in as_list(data.get("commits"))]
        files = [str(d.get("new_path") or d.get("old_path")) for d in as_list(data.get("diffs"))]
        # `commits` are those head has and base lacks: that is ahead_by, unless GitLab gave up (timeout).
        ahead_by = None if data.get("compare_timeout") else len(commits)
        return ChangePreview(base_sha=base, head_sha=head, commits=commits, total_commits=len(commits),
                             files=files, url=data.get("web_url"), ahead_by=ahead_by)

    async def dispatch(self, target: DeployTarget) -> PipelineRun:
        return await self.pipelines.dispatch(target)

    async def find_run(self, target: DeployTarget, *, since: datetime) -> PipelineRun | None:
        return await self.pipelines.find(target, since=since - CLOCK_SKEW)

    async def poll(self, target: DeployTarget, run: PipelineRun) -> PipelineRun:
        return await self.pipelines.poll(target, run)

    async def cancel(self, target: DeployTarget, run: PipelineRun) -> None:
        await self.pipelines.cancel(target, run)

    async def report(self, target: DeployTarget, run: PipelineRun | None, state: str, description: str) -> None:
        await self.deployments.report(target, run, state, description)


def _commit(data: Mapping[str, Any]) -> Commit:
    title = str(data.get("title") or str(data.get("message") or "").split("\n", 1)[0])
    return Commit(sha=str(data.get("id")), title=title, author=str(data.get("author_name") or "unknown"),
                  url=data.get("web_url"),
                  committed_at=instant(data.get("committed_date")) or instant(data.get("created_at")),
                  author_email=_email(data.get("author_email")))


def _email(value: object) -> str | None:
    return value.strip() if isinstance(value, str) and "@" in value else None
